// .npy parser. The format (numpy.lib.format): "\x93NUMPY", major, minor, a little-endian
// header length (u16 for 1.0, u32 for 2.0/3.0), then a Python dict literal such as
// "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" padded with spaces and '\n',
// then the raw array. Only that literal subset is parsed here; nothing is evaluated.
#include "io/npy.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "io/byte_utils.hpp"

namespace vitrt::io {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// Recursive-descent reader over the header text. Errors carry the header itself: it is short
// and shows at once what the writer produced.
class Literal {
public:
    Literal(std::string_view s, const std::string& where) : s_(s), where_(where) {}

    NpyHeader parse_dict() {
        NpyHeader h;
        bool have_descr = false, have_order = false, have_shape = false;
        expect('{');
        while (!accept('}')) {
            const std::string key = parse_string();
            expect(':');
            if (key == "descr") {
                skip_ws();
                if (peek() != '\'' && peek() != '"')
                    fail("'descr' is not a plain dtype string (structured arrays are not supported)");
                h.descr = parse_string();
                have_descr = true;
            } else if (key == "fortran_order") {
                h.fortran_order = parse_bool();
                have_order = true;
            } else if (key == "shape") {
                h.shape = parse_shape();
                have_shape = true;
            } else {
                fail("unexpected key '" + key + "'");
            }
            if (!accept(',')) {
                expect('}');
                break;
            }
        }
        skip_ws();
        if (pos_ != s_.size()) fail("trailing characters after the dict");
        if (!have_descr || !have_order || !have_shape)
            fail("missing 'descr', 'fortran_order' or 'shape'");
        return h;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        std::string shown(s_.substr(0, 200));
        for (char& c : shown)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
        throw Error(where_ + ": malformed .npy header (" + why + "): " + shown);
    }
    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                    s_[pos_] == '\r'))
            ++pos_;
    }
    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    bool accept(char c) {
        skip_ws();
        if (peek() != c) return false;
        ++pos_;
        return true;
    }
    void expect(char c) {
        if (!accept(c)) fail(std::string("expected '") + c + "'");
    }
    std::string parse_string() {
        skip_ws();
        const char q = peek();
        if (q != '\'' && q != '"') fail("expected a quoted string");
        const size_t end = s_.find(q, pos_ + 1);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string r(s_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        return r;
    }
    bool parse_bool() {
        skip_ws();
        if (s_.substr(pos_, 4) == "True") {
            pos_ += 4;
            return true;
        }
        if (s_.substr(pos_, 5) == "False") {
            pos_ += 5;
            return false;
        }
        fail("'fortran_order' is not True or False");
    }
    Shape parse_shape() {
        Shape shape;
        expect('(');
        while (!accept(')')) {
            skip_ws();
            uint64_t v = 0;
            size_t digits = 0;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
                if (!mul_ok(v, 10, &v) || !add_ok(v, uint64_t(s_[pos_] - '0'), &v) ||
                    v > uint64_t(std::numeric_limits<int64_t>::max()))
                    fail("shape dimension too large");
                ++pos_;
                ++digits;
            }
            if (digits == 0) fail("shape is not a tuple of non-negative integers");
            if (peek() == 'L') ++pos_;  // Python 2 long literal, in files written by old numpy
            if (shape.size() >= size_t(Shape::kMaxRank)) fail("shape has more than 8 dimensions (vitrt's limit)");
            shape.push_back(int64_t(v));
            if (!accept(',')) {
                expect(')');
                break;
            }
        }
        return shape;
    }

    std::string_view s_;
    const std::string& where_;
    size_t pos_ = 0;
};

struct Descr {
    bool big_endian = false;
    size_t itemsize = 4;  // 2, 4 or 8
};

std::optional<Descr> parse_descr(const std::string& d) {
    if (d.size() != 3 || d[1] != 'f') return std::nullopt;
    Descr r;
    // '=' is native order; numpy writes '<' or '>' explicitly, and '|' only for 1-byte types.
    if (d[0] == '>') r.big_endian = true;
    else if (d[0] != '<' && d[0] != '=') return std::nullopt;
    if (d[2] == '2') r.itemsize = 2;
    else if (d[2] == '4') r.itemsize = 4;
    else if (d[2] == '8') r.itemsize = 8;
    else return std::nullopt;
    return r;
}

// IEEE double -> float with round-to-nearest-even, written so that no out-of-range value
// reaches the (formally undefined) narrowing conversion.
float narrow_f64(double v) {
    const double a = std::fabs(v);
    if (std::isnan(v) || a <= double(FLT_MAX)) return float(v);
    // Beyond FLT_MAX + half an ulp (0x1.ffffffp127) rounds to infinity; below it, to FLT_MAX.
    const float mag = a >= 0x1.ffffffp127 ? std::numeric_limits<float>::infinity() : FLT_MAX;
    return v < 0 ? -mag : mag;
}

// Element i of the source (file order) written into dst in the output dtype.
inline void convert_one(const uint8_t* src, const Descr& d, uint8_t* dst) {
    uint8_t b[8];
    std::memcpy(b, src, d.itemsize);
    if (d.big_endian)
        for (size_t i = 0; i < d.itemsize / 2; ++i) std::swap(b[i], b[d.itemsize - 1 - i]);
    if (d.itemsize == 8) {
        double v;
        std::memcpy(&v, b, 8);
        const float f = narrow_f64(v);
        std::memcpy(dst, &f, 4);
    } else {
        std::memcpy(dst, b, d.itemsize);
    }
}

}  // namespace

NpyHeader parse_npy_header(const uint8_t* p, size_t n, const std::string& where) {
    check(n >= kMagicLen + 4 && std::memcmp(p, kMagic, kMagicLen) == 0,
          where + ": not a .npy array (bad magic; expected \\x93NUMPY)");
    const int major = p[6], minor = p[7];
    check((major == 1 || major == 2 || major == 3) && minor == 0,
          where + ": .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
              " is not supported (1.0, 2.0, 3.0 are)");
    size_t prefix = 10, hlen = rd16(p + 8);
    if (major >= 2) {
        check(n >= 12, where + ": truncated .npy header");
        prefix = 12;
        hlen = rd32(p + 8);
    }
    check(hlen <= n - prefix, where + ": .npy header length " + std::to_string(hlen) +
                                  " runs past the end of the member; truncated?");
    const std::string_view text(reinterpret_cast<const char*>(p + prefix), hlen);
    NpyHeader h = Literal(text, where).parse_dict();
    h.data_offset = prefix + hlen;
    return h;
}

HostTensor parse_npy(const uint8_t* p, size_t n, std::shared_ptr<void> owner,
                     const std::string& where) {
    const NpyHeader h = parse_npy_header(p, n, where);
    const auto descr = parse_descr(h.descr);
    check(descr.has_value(), where + ": dtype '" + h.descr +
                                 "' is not supported; vitrt reads float32, float16 and float64 "
                                 "arrays (convert with arr.astype(np.float32))");

    uint64_t count = 1, nbytes = 0;
    for (int64_t d : h.shape)
        check(mul_ok(count, uint64_t(d), &count) &&
                  count <= uint64_t(std::numeric_limits<int64_t>::max()),
              where + ": shape " + shape_str(h.shape) + " has too many elements");
    check(mul_ok(count, descr->itemsize, &nbytes),
          where + ": shape " + shape_str(h.shape) + " is too large");
    const uint64_t avail = n - h.data_offset;
    check(avail == nbytes, where + ": shape " + shape_str(h.shape) + " of " + h.descr + " needs " +
                               std::to_string(nbytes) + " bytes but the member holds " +
                               std::to_string(avail) + (avail < nbytes ? "; truncated?" : ""));

    Tensor view;
    view.dtype = descr->itemsize == 2 ? DType::f16 : DType::f32;
    view.shape = h.shape;
    const uint8_t* src = p + h.data_offset;
    const size_t rank = h.shape.size();
    // Fortran order matters only when two or more axes are longer than 1.
    size_t long_axes = 0;
    for (int64_t d : h.shape) long_axes += d > 1;
    const bool reorder = h.fortran_order && long_axes > 1;
    const bool convert = descr->big_endian || descr->itemsize == 8;

    if (!reorder && !convert && is_aligned(src, descr->itemsize)) {
        view.data = const_cast<uint8_t*>(src);  // read-only source: never written through
        return HostTensor::borrowed(view, std::move(owner));
    }

    const size_t out_size = dtype_size(view.dtype);
    auto buf = alloc_buffer(size_t(count) * out_size, where);
    const size_t in_size = descr->itemsize;
    if (!reorder) {
        if (!convert) {
            std::memcpy(buf.data, src, size_t(nbytes));
        } else {
            for (uint64_t i = 0; i < count; ++i)
                convert_one(src + i * in_size, *descr, buf.data + i * out_size);
        }
    } else if (count > 0) {
        // Walk the output in C order; the source offset of index (i0..ik) in Fortran order is
        // sum(i_j * fstride_j) with fstride_0 = 1. An odometer keeps it incremental.
        std::vector<uint64_t> fstride(rank), idx(rank, 0);
        uint64_t s = 1;
        for (size_t j = 0; j < rank; ++j) {
            fstride[j] = s;
            s *= uint64_t(h.shape[j]);
        }
        uint64_t f = 0;
        for (uint64_t i = 0; i < count; ++i) {
            convert_one(src + f * in_size, *descr, buf.data + i * out_size);
            for (size_t j = rank; j-- > 0;) {
                f += fstride[j];
                if (++idx[j] < uint64_t(h.shape[j])) break;
                f -= fstride[j] * idx[j];
                idx[j] = 0;
            }
        }
    }
    view.data = buf.data;
    return HostTensor::borrowed(view, buf.owner);
}

void save_npy_f32(const std::string& path, const Shape& shape, const float* data) {
    std::string dims;  // Python tuple syntax: "()", "(5,)", "(3, 4)"
    for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1) dims += ",";
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    const size_t unpadded = 10 + header.size() + 1;  // magic(6) + version(2) + len(2) + header + '\n'
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    check(header.size() <= 65535, path + ": .npy header too long");
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error(path + ": cannot create " + tmp + ": " + std::strerror(errno));
    const uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, uint8_t(header.size() & 0xFF), uint8_t(header.size() >> 8)};
    const size_t n = size_t(numel(shape));
    bool ok = std::fwrite(pre, 1, 10, f) == 10 && std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
              (n == 0 || std::fwrite(data, sizeof(float), n, f) == n);
    const int err = errno;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw Error(path + ": write failed: " + std::strerror(ok ? errno : err));
    }
}

}  // namespace vitrt::io
