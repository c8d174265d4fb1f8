#include "eval_data.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cli_common.hpp"
#include "vitrt/error.hpp"

namespace fs = std::filesystem;

namespace vitrt::cli {

extern const char* const kImagenetWnidsText;  // generated from models/imagenet_wnids.txt

const std::vector<std::string>& imagenet_wnids() {
    static const std::vector<std::string> wnids = [] {
        std::vector<std::string> v;
        std::istringstream in(kImagenetWnidsText);
        std::string line;
        while (std::getline(in, line))
            if (!line.empty()) v.push_back(line);
        return v;
    }();
    return wnids;
}

namespace {

bool parse_int(const std::string& s, int* out) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    if (b == e) return false;
    const auto r = std::from_chars(s.data() + b, s.data() + e, *out);
    return r.ec == std::errc() && r.ptr == s.data() + e;
}

// One CSV record (RFC 4180 quoting, on one line: no line breaks inside fields). False on an
// unterminated quote.
bool split_csv(const std::string& line, std::vector<std::string>* fields) {
    fields->assign(1, "");
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                fields->back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                fields->back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields->emplace_back();
        } else {
            fields->back() += c;
        }
    }
    return !quoted;
}

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t b = 0;
    while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    return s.substr(b);
}

fs::path absolute_normal(const fs::path& p) {
    std::error_code ec;
    fs::path a = fs::absolute(p, ec);
    return (ec ? p : a).lexically_normal();
}

// True when `file` is `root` or lies below it (lexically, both absolute and normalised).
bool within(const fs::path& file, const fs::path& root) {
    auto f = file.begin();
    for (auto r = root.begin(); r != root.end(); ++r, ++f) {
        if (r->empty()) continue;  // trailing separator of a directory
        if (f == file.end() || *f != *r) return false;
    }
    return true;
}

}  // namespace

EvalSet folder_set(const std::string& dir, int num_classes) {
    std::error_code ec;
    check(fs::is_directory(dir, ec), dir + ": not a directory (give an ImageNet-style folder of class folders, "
                                           "or images with --labels-csv FILE)");
    std::vector<std::string> classes;
    for (const auto& e : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec))
        if (e.is_directory(ec)) classes.push_back(e.path().filename().string());
    check(!ec, dir + ": cannot list: " + ec.message());
    check(!classes.empty(), dir + ": has no class folders; for images listed in a CSV of path,class_index "
                                  "rows use --labels-csv FILE");
    std::sort(classes.begin(), classes.end());

    std::map<std::string, int> imagenet;
    if (num_classes == 1000) {
        const auto& w = imagenet_wnids();
        for (size_t i = 0; i < w.size(); ++i) imagenet[w[i]] = int(i);
    }
    const bool synsets = !imagenet.empty() && std::all_of(classes.begin(), classes.end(),
                                                          [&](const std::string& c) { return imagenet.count(c); });
    EvalSet set;
    if (synsets) {
        set.how = std::to_string(classes.size()) + " ImageNet synset folders, labelled with their ImageNet-1k indices";
    } else {
        check(int(classes.size()) <= num_classes,
              dir + ": has " + std::to_string(classes.size()) + " class folders but the model has " +
                  std::to_string(num_classes) + " classes");
        set.how = std::to_string(classes.size()) + " class folders, labelled by sorted position (0.." +
                  std::to_string(classes.size() - 1) + ")";
        if (int(classes.size()) != num_classes)
            set.how += "; the model has " + std::to_string(num_classes) + " classes";
    }
    for (size_t c = 0; c < classes.size(); ++c) {
        const int label = synsets ? imagenet[classes[c]] : int(c);
        for (auto& p : list_images({(fs::path(dir) / classes[c]).string()})) set.images.push_back({p, label});
    }
    check(!set.images.empty(), dir + ": no .jpg/.jpeg/.png files in its class folders");
    return set;
}

EvalSet csv_set(const std::string& csv, const std::vector<std::string>& data, int num_classes) {
    std::ifstream in(csv);
    check(bool(in), csv + ": cannot open the labels CSV");
    const fs::path base = absolute_normal(fs::path(csv).parent_path());
    std::vector<fs::path> roots;
    for (const auto& d : data) roots.push_back(absolute_normal(d));

    EvalSet set;
    std::string line;
    std::vector<std::string> f;
    size_t path_col = 0, label_col = 1;
    int lineno = 0, rows = 0;
    while (std::getline(in, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
        if (trim(line).empty() || line[0] == '#') continue;
        const std::string where = csv + ":" + std::to_string(lineno);
        check(split_csv(line, &f), where + ": unterminated quoted field");
        int label = 0;
        if (rows == 0 && (f.size() < 2 || !parse_int(f[1], &label))) {  // a header, or not a labels CSV
            std::vector<std::string> names;
            for (auto& x : f) names.push_back(trim(x));
            const auto p = std::find(names.begin(), names.end(), "path");
            const auto l = std::find(names.begin(), names.end(), "class_index");
            check(p != names.end() && l != names.end(),
                  where + ": expected rows of path,class_index (or a header naming the 'path' and 'class_index' "
                          "columns), got '" + line + "'");
            path_col = size_t(p - names.begin());
            label_col = size_t(l - names.begin());
            ++rows;
            continue;
        }
        ++rows;
        check(f.size() > std::max(path_col, label_col),
              where + ": expected path,class_index, got '" + line + "' (" + std::to_string(f.size()) + " field(s))");
        const std::string path = trim(f[path_col]);
        check(!path.empty(), where + ": empty path");
        check(parse_int(f[label_col], &label),
              where + ": class index '" + trim(f[label_col]) + "' is not an integer");
        check(label < num_classes, where + ": class index " + std::to_string(label) + " is out of range: the model has " +
                                       std::to_string(num_classes) + " classes");
        fs::path p(path);
        if (p.is_relative()) {
            std::error_code ec;
            fs::path here = base / p, up = base.parent_path() / p;
            p = (!fs::exists(here, ec) && fs::exists(up, ec)) ? up : here;
        }
        p = p.lexically_normal();
        if (!roots.empty() && std::none_of(roots.begin(), roots.end(), [&](const fs::path& r) { return within(p, r); })) {
            ++set.not_in_data;
            continue;
        }
        if (label < 0) {
            ++set.unlabelled_skipped;
            continue;
        }
        set.images.push_back({p.string(), label});
    }
    check(!set.images.empty(),
          csv + ": no labelled images" +
              (roots.empty() ? std::string() : " under the given DATA path(s) (" + std::to_string(set.not_in_data) +
                                                   " row(s) lie elsewhere)"));
    set.how = std::to_string(set.images.size()) + " images labelled by " + csv;
    return set;
}

void keep_evenly(EvalSet& set, int num) {
    const size_t n = set.images.size();
    if (num <= 0 || size_t(num) >= n) return;
    std::vector<LabelledImage> kept;
    for (size_t i = 0; i < size_t(num); ++i) kept.push_back(set.images[i * n / size_t(num)]);
    set.images = std::move(kept);
    set.how += " (" + std::to_string(num) + " of " + std::to_string(n) + ", evenly spaced)";
}

}  // namespace vitrt::cli
