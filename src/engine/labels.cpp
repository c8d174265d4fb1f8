#include "engine/labels.hpp"

#include <fstream>
#include <sstream>

#include "vitrt/error.hpp"

namespace vitrt {

extern const char* const kImagenetClassesText;  // generated from models/imagenet_classes.txt

namespace {
std::vector<std::string> split_lines(std::istream& in) {
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
    }
    while (!out.empty() && out.back().empty()) out.pop_back();
    return out;
}
}  // namespace

std::vector<std::string> default_labels(int num_classes) {
    if (num_classes == 1000) {
        std::istringstream in(kImagenetClassesText);
        auto v = split_lines(in);
        if (v.size() == 1000) return v;
    }
    std::vector<std::string> v;
    for (int i = 0; i < num_classes; ++i) v.push_back("class " + std::to_string(i));
    return v;
}

std::vector<std::string> read_labels_file(const std::string& path) {
    std::ifstream f(path);
    check(bool(f), path + ": cannot open labels file");
    auto v = split_lines(f);
    check(!v.empty(), path + ": labels file is empty");
    return v;
}

}  // namespace vitrt
