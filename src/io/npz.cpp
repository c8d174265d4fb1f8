// Google-style .npz checkpoints: a zip of NAME.npy members written by numpy.savez or
// numpy.savez_compressed (ViT / big_vision names such as
// "Transformer/encoderblock_0/MlpBlock_3/Dense_0/kernel").
#include <cstring>

#include "io/checkpoint.hpp"
#include "io/npy.hpp"
#include "io/zip_reader.hpp"

namespace vitrt {

Checkpoint load_npz(const std::string& path) {
    const io::ZipReader zip(path);
    Checkpoint ck;
    ck.path = path;
    ck.format = "npz";
    static constexpr std::string_view kSuffix = ".npy";
    for (const io::ZipEntry& e : zip.entries()) {
        const std::string& name = e.name;
        if (!name.empty() && name.back() == '/') continue;  // directory entry: holds no data
        if (name.size() <= kSuffix.size() ||
            name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
            // numpy.load also exposes such members only as raw bytes; they are not tensors.
            ck.skipped.push_back(name);
            continue;
        }
        const std::string tensor_name = name.substr(0, name.size() - kSuffix.size());
        const io::ZipData data = zip.read(e);
        ck.tensors[tensor_name] =
            io::parse_npy(data.data, data.size, data.owner, path + ": member '" + name + "'");
    }
    return ck;
}

}  // namespace vitrt
