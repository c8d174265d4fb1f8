// safetensors reader and writer.
//
// Format (https://huggingface.co/docs/safetensors): u64 little-endian header length N, N bytes
// of UTF-8 JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data section; offsets are relative to the start of the data section.
//
// The file is untrusted: every number in the header is range-checked before it is used to form
// a pointer, sizes use checked arithmetic, and tensors may not overlap. Tensors are zero-copy
// views into a read-only mmap unless a view would be misaligned for its dtype.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "io/byte_utils.hpp"
#include "io/checkpoint.hpp"
#include "io/mmap_file.hpp"

namespace vitrt {

namespace {

using json = nlohmann::json;
using io::mul_ok;

// The reference implementation refuses headers above 100 MB too; a real header is ~100 bytes
// per tensor, so anything larger is corruption or an attack on the JSON parser's memory.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeInfo {
    const char* name;
    size_t size;
    bool load;  // false: other integer and bool tensors, validated then skipped
    DType dtype;
};

// Everything the format defines except the floats we cannot run (F64, F8_*) is here; those and
// unknown names are rejected.
constexpr DTypeInfo kDTypes[] = {
    {"F32", 4, true, DType::f32},   {"F16", 2, true, DType::f16},   {"BF16", 2, true, DType::bf16},
    {"I64", 8, false, DType::f32},  {"I32", 4, true, DType::i32},   {"I16", 2, false, DType::f32},
    {"I8", 1, true, DType::i8},     {"U64", 8, false, DType::f32},  {"U32", 4, false, DType::f32},
    {"U16", 2, false, DType::f32},  {"U8", 1, true, DType::u8},     {"BOOL", 1, false, DType::f32},
};

const DTypeInfo* find_dtype(const std::string& name) {
    for (const auto& d : kDTypes)
        if (name == d.name) return &d;
    return nullptr;
}

const char* safetensors_name(DType t) {
    switch (t) {
        case DType::f32: return "F32";
        case DType::f16: return "F16";
        case DType::bf16: return "BF16";
        case DType::i8: return "I8";
        case DType::u8: return "U8";
        case DType::i32: return "I32";
    }
    return "?";
}

struct Entry {
    std::string name;
    const DTypeInfo* dt = nullptr;
    Shape shape;
    uint64_t begin = 0, end = 0;
};

// A JSON value as a non-negative integer that fits int64 (shape dims, offsets).
bool as_index(const json& v, uint64_t* out) {
    if (v.is_number_unsigned()) {
        *out = v.get<uint64_t>();
        return *out <= uint64_t(std::numeric_limits<int64_t>::max());
    }
    if (v.is_number_integer()) {  // signed storage: only reached for negative values
        const int64_t s = v.get<int64_t>();
        if (s < 0) return false;
        *out = uint64_t(s);
        return true;
    }
    return false;
}

std::string offsets_str(const Entry& e) {
    // Appends rather than operator+ chains: GCC 12 at -O3 warns falsely (-Wrestrict) on those.
    std::string s = "[";
    s += std::to_string(e.begin);
    s += ", ";
    s += std::to_string(e.end);
    s += "]";
    return s;
}

Entry parse_entry(const std::string& path, const std::string& name, const json& v,
                  uint64_t data_size) {
    const std::string where = path + ": tensor '" + name + "'";
    check(v.is_object(), where + ": header entry is not a JSON object");
    Entry e;
    e.name = name;

    const auto dt = v.find("dtype");
    check(dt != v.end() && dt->is_string(), where + ": missing or non-string \"dtype\"");
    const std::string dtype = dt->get<std::string>();
    e.dt = find_dtype(dtype);
    check(e.dt != nullptr, where + ": unsupported dtype '" + dtype +
                               "'; vitrt loads F32, F16, BF16, I8, U8 and I32 tensors (other integer "
                               "tensors are skipped); convert the checkpoint to one of those");

    const auto sh = v.find("shape");
    check(sh != v.end() && sh->is_array(), where + ": missing or non-array \"shape\"");
    uint64_t count = 1;
    for (const json& d : *sh) {
        uint64_t dim = 0;
        check(as_index(d, &dim),
              where + ": shape " + sh->dump() + " has a negative or non-integer dimension");
        check(e.shape.size() < size_t(Shape::kMaxRank),
              where + ": shape " + sh->dump() + " has more than " + std::to_string(Shape::kMaxRank) +
                  " dimensions (vitrt's limit)");
        e.shape.push_back(int64_t(dim));
        check(mul_ok(count, dim, &count) && count <= uint64_t(std::numeric_limits<int64_t>::max()),
              where + ": shape " + sh->dump() + " has more elements than can be addressed");
    }
    uint64_t nbytes = 0;
    check(mul_ok(count, e.dt->size, &nbytes),
          where + ": shape " + sh->dump() + " is too large for dtype " + dtype);

    const auto off = v.find("data_offsets");
    check(off != v.end() && off->is_array() && off->size() == 2,
          where + ": missing \"data_offsets\" or not a [begin, end] pair");
    check(as_index((*off)[0], &e.begin) && as_index((*off)[1], &e.end),
          where + ": data_offsets " + off->dump() + " are not non-negative integers");
    check(e.end >= e.begin, where + ": data_offsets " + offsets_str(e) + " end before they begin");
    check(e.end <= data_size, where + ": data_offsets " + offsets_str(e) +
                                  " exceed the data section (" + std::to_string(data_size) +
                                  " bytes); file truncated?");
    check(e.end - e.begin == nbytes,
          where + ": data_offsets " + offsets_str(e) + " hold " + std::to_string(e.end - e.begin) +
              " bytes but shape " + shape_str(e.shape) + " of " + dtype + " needs " +
              std::to_string(nbytes));
    return e;
}

json parse_header(const std::string& path, const uint8_t* p, size_t n) {
    // nlohmann keeps the last of duplicate keys silently; a duplicate tensor name means the
    // writer was broken, so it is reported rather than resolved.
    std::set<std::string> seen;
    std::string duplicate;
    const json::parser_callback_t on_event = [&](int depth, json::parse_event_t ev, json& parsed) {
        if (depth == 1 && ev == json::parse_event_t::key && duplicate.empty()) {
            const auto& k = parsed.get_ref<const std::string&>();
            if (!seen.insert(k).second) duplicate = k;
        }
        return true;
    };
    // nlohmann stops at a NUL byte as if the input ended, which would let bytes after it go
    // unchecked; raw NULs are never valid JSON anyway.
    check(std::memchr(p, 0, n) == nullptr,
          path + ": header contains NUL bytes; not valid JSON (corrupt or not a safetensors file)");
    json h;
    try {
        // The parser validates UTF-8 inside strings, so invalid bytes are errors here.
        h = json::parse(p, p + n, on_event, /*allow_exceptions=*/true);
    } catch (const json::exception& ex) {
        throw Error(path + ": header is not valid JSON (" + ex.what() + "); not a safetensors file?");
    }
    check(duplicate.empty(), path + ": header names '" + duplicate + "' more than once");
    check(h.is_object(), path + ": header is not a JSON object");
    return h;
}

}  // namespace

Checkpoint load_safetensors(const std::string& path) {
    const auto file = MappedFile::open(path);
    const size_t size = file->size();
    check(size >= 8, path + ": " + std::to_string(size) +
                         " bytes is too short for a safetensors file (it starts with an 8-byte "
                         "header length); truncated or not a safetensors file");
    const uint64_t n = io::rd64(file->data());
    check(n <= kMaxHeaderBytes, path + ": header length " + std::to_string(n) +
                                    " is absurd (limit 100 MiB); not a safetensors file?");
    check(n <= size - 8, path + ": header length " + std::to_string(n) + " exceeds the " +
                             std::to_string(size) + "-byte file; file truncated?");
    const uint8_t* data = file->data() + 8 + n;
    const uint64_t data_size = size - 8 - n;

    const json header = parse_header(path, file->data() + 8, size_t(n));

    Checkpoint ck;
    ck.path = path;
    ck.format = "safetensors";
    std::vector<Entry> entries;
    for (const auto& [name, v] : header.items()) {
        if (name == "__metadata__") {
            check(v.is_object(), path + ": \"__metadata__\" is not a JSON object");
            for (const auto& [k, mv] : v.items()) {
                check(mv.is_string(),
                      path + ": \"__metadata__\" value of '" + k + "' is not a string");
                ck.metadata[k] = mv.get<std::string>();
            }
            continue;
        }
        entries.push_back(parse_entry(path, name, v, data_size));
    }

    // Overlap check: sorted by begin, each non-empty tensor must start at or after the end of
    // the previous non-empty one. Empty tensors occupy no bytes and cannot overlap.
    std::vector<const Entry*> order;
    for (const auto& e : entries)
        if (e.end > e.begin) order.push_back(&e);
    std::sort(order.begin(), order.end(),
              [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < order.size(); ++i) {
        const Entry& a = *order[i - 1];
        const Entry& b = *order[i];
        check(b.begin >= a.end, path + ": tensor '" + b.name + "' data_offsets " + offsets_str(b) +
                                    " overlap tensor '" + a.name + "' " + offsets_str(a));
    }

    for (const auto& e : entries) {
        if (!e.dt->load) {
            ck.skipped.push_back(e.name);
            continue;
        }
        Tensor view;
        view.dtype = e.dt->dtype;
        view.shape = e.shape;
        const uint8_t* src = data + e.begin;
        const size_t nbytes = size_t(e.end - e.begin);
        // The header length is only required to keep the data section 8-aligned by convention;
        // a file that breaks it still loads, at the cost of a copy.
        if (io::is_aligned(src, e.dt->size)) {
            view.data = const_cast<uint8_t*>(src);  // read-only mapping: never written through
            ck.tensors[e.name] = HostTensor::borrowed(view, file);
            ck.tensors[e.name].file_backed = true;
        } else {
            auto buf = io::alloc_buffer(nbytes, path + ": tensor '" + e.name + "'");
            std::memcpy(buf.data, src, nbytes);
            view.data = buf.data;
            ck.tensors[e.name] = HostTensor::borrowed(view, buf.owner);
        }
    }
    return ck;
}

void save_safetensors(const std::string& path, const std::map<std::string, HostTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    std::vector<std::pair<std::string, const Tensor*>> order;
    for (const auto& [name, t] : tensors) {
        for (int64_t d : t.view.shape)
            check(d >= 0, path + ": tensor '" + name + "' has a negative dimension " +
                              shape_str(t.view.shape));
        check(t.view.data != nullptr || t.view.nbytes() == 0,
              path + ": tensor '" + name + "' has no data");
        order.emplace_back(name, &t.view);
    }
    // Larger elements first keeps every tensor aligned without gaps (gaps are not allowed by
    // the reference reader); ties by name, which std::map already gives.
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return dtype_size(a.second->dtype) > dtype_size(b.second->dtype);
    });

    json header = json::object();
    if (!metadata.empty()) {
        json meta = json::object();
        for (const auto& [k, v] : metadata) meta[k] = v;
        header["__metadata__"] = meta;
    }
    uint64_t offset = 0;
    for (const auto& [name, t] : order) {
        const uint64_t nb = t->nbytes();
        header[name] = {{"dtype", safetensors_name(t->dtype)},
                        {"shape", t->shape},
                        {"data_offsets", {offset, offset + nb}}};
        offset += nb;
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const json::exception& ex) {
        throw Error(path + ": cannot write header (" + ex.what() + "); names must be UTF-8");
    }
    text.append((8 - text.size() % 8) % 8, ' ');

    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error(path + ": cannot create " + tmp + ": " + std::strerror(errno));
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
    bool ok = std::fwrite(len, 1, 8, f) == 8 &&
              std::fwrite(text.data(), 1, text.size(), f) == text.size();
    for (size_t i = 0; ok && i < order.size(); ++i) {
        const Tensor* t = order[i].second;
        const size_t nb = t->nbytes();
        ok = nb == 0 || std::fwrite(t->data, 1, nb, f) == nb;
    }
    const int err = errno;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) {
        std::remove(tmp.c_str());
        throw Error(path + ": write failed: " + std::strerror(err));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int rerr = errno;
        std::remove(tmp.c_str());
        throw Error(path + ": cannot rename " + tmp + ": " + std::strerror(rerr));
    }
}

}  // namespace vitrt
