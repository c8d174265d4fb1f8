#include "io/checkpoint.hpp"

#include <algorithm>
#include <fstream>

#include "io/mmap_file.hpp"
#include "io/zip_reader.hpp"

namespace vitrt {

const HostTensor& Checkpoint::get(const std::string& name) const {
    const auto it = tensors.find(name);
    if (it != tensors.end()) return it->second;
    // Point at the nearest names: usually a prefix ("module.", "model.") or a naming scheme
    // (timm vs Hugging Face) differs, which the closest keys make obvious.
    std::string hint;
    auto lb = tensors.lower_bound(name);
    if (lb != tensors.end()) hint = lb->first;
    for (const auto& [k, v] : tensors) {
        if (k.size() > name.size() && k.compare(k.size() - name.size(), name.size(), name) == 0) {
            hint = k;  // a prefixed copy of the wanted name beats the alphabetical neighbour
            break;
        }
    }
    throw Error(path + ": no tensor '" + name + "' in this " + format + " checkpoint (" +
                std::to_string(tensors.size()) + " tensors" +
                (hint.empty() ? std::string() : "; nearest: '" + hint + "'") + ")");
}

Checkpoint load_checkpoint(const std::string& path) {
    // Sniff the content: extensions lie (".bin", no extension) more often than magic bytes do.
    check_regular_file(path);  // a FIFO would block the sniffing read below
    uint8_t head[4] = {0, 0, 0, 0};
    std::ifstream f(path, std::ios::binary);
    if (f) f.read(reinterpret_cast<char*>(head), 4);
    const size_t got = f ? 4 : size_t(std::max<std::streamsize>(f.gcount(), 0));
    if (io::looks_like_zip(head, got)) return load_npz(path);
    const bool npz_ext = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
    if (npz_ext && got < 4) return load_npz(path);  // let the zip reader explain the problem
    return load_safetensors(path);
}

}  // namespace vitrt
