// Format dispatch by magic bytes, file reading, and interpolation names.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "image/image.hpp"
#include "vitrt/error.hpp"

namespace vitrt::image {
namespace {

// Files larger than this are not images we want to hold in memory (and no 2^28-pixel image
// needs more when compressed).
constexpr int64_t max_file_bytes = int64_t(1) << 31;

bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t n) {
    return size >= n && std::memcmp(data, magic, n) == 0;
}

// Names the formats people most often feed by mistake, so the message says what the file is.
std::string describe_unknown(const uint8_t* data, size_t size) {
    if (starts_with(data, size, "GIF8", 4)) return "a GIF image (not supported)";
    if (starts_with(data, size, "BM", 2)) return "a BMP image (not supported)";
    if (size >= 12 && starts_with(data, size, "RIFF", 4) && std::memcmp(data + 8, "WEBP", 4) == 0)
        return "a WebP image (not supported)";
    if (starts_with(data, size, "II*\0", 4) || starts_with(data, size, "MM\0*", 4))
        return "a TIFF image (not supported)";
    if (size >= 12 && std::memcmp(data + 4, "ftyp", 4) == 0)
        return "an ISO-BMFF file (HEIC/AVIF/MP4; not supported)";
    char hex[3 * 8 + 1] = {0};
    for (size_t i = 0; i < size && i < 8; ++i)
        std::snprintf(hex + 3 * i, sizeof hex - 3 * i, " %02x", data[i]);
    return std::string("not a JPEG or PNG image (first bytes:") + hex + ")";
}

}  // namespace

std::shared_ptr<void> DecodeMemoryBudget::acquire(size_t bytes) {
    std::unique_lock<std::mutex> lock(mutex_);
    // A request over the whole budget waits until nothing else is in flight, then runs alone.
    cv_.wait(lock, [&] { return used_ == 0 || (bytes <= capacity_ && used_ + bytes <= capacity_); });
    used_ += bytes;
    // A non-null pointer whose deleter gives the bytes back (the pointee is never used).
    return std::shared_ptr<void>(this, [bytes](DecodeMemoryBudget* b) { b->release(bytes); });
}

void DecodeMemoryBudget::release(size_t bytes) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        used_ -= bytes;
    }
    cv_.notify_all();
}

size_t DecodeMemoryBudget::in_use() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return used_;
}

void check_image_size(int64_t width, int64_t height, const std::string& name, const char* format,
                      int64_t max_pixels) {
    const std::string dims = std::to_string(width) + "x" + std::to_string(height);
    if (width <= 0 || height <= 0)
        throw Error(name + ": " + format + " header declares an empty image (" + dims + ")");
    if (width > max_image_side || height > max_image_side || width * height > max_image_pixels)
        throw Error(name + ": " + format + " image is too large (" + dims + "); the limit is " +
                    std::to_string(max_image_side) + " pixels per side and " +
                    std::to_string(max_image_pixels) + " pixels in all (corrupt header?)");
    const int64_t limit = std::clamp<int64_t>(max_pixels, 1, max_image_pixels);
    if (width * height > limit)
        throw Error(name + ": " + format + " image is too large (" + dims + " = " +
                    std::to_string(width * height) + " pixels; the limit is " +
                    std::to_string(limit) +
                    ", as PIL's decompression-bomb guard): a corrupt or hostile file, or a huge "
                    "image; raise the limit with --max-image-pixels if it is genuine");
}

void warn_if_large(int64_t width, int64_t height, const std::string& name, const char* format,
                   const DecodeLimits& limits) {
    if (width * height <= warn_image_pixels) return;
    const std::string msg = name + ": " + format + " image has " + std::to_string(width * height) + " pixels (" +
                            std::to_string(width) + "x" + std::to_string(height) +
                            "), more than PIL's decompression-bomb warning threshold of " +
                            std::to_string(warn_image_pixels) + "; decoding it (check the file if it is not expected "
                            "to be this large; --max-image-pixels sets the refusal limit)";
    if (limits.warn) limits.warn(msg);
    else std::fprintf(stderr, "warning: %s\n", msg.c_str());  // one write: lines from threads do not interleave
}

RgbImage decode_memory(const uint8_t* data, size_t size, const std::string& name,
                       const DecodeLimits& limits) {
    if (size == 0 || data == nullptr)
        throw Error(name + ": empty file (0 bytes); expected a JPEG or PNG image");
    // The same signatures PIL's JpegImagePlugin/PngImagePlugin accept.
    if (starts_with(data, size, "\xff\xd8\xff", 3)) return decode_jpeg(data, size, name, limits);
    if (starts_with(data, size, "\x89PNG\r\n\x1a\n", 8))
        return decode_png(data, size, name, limits);
    throw Error(name + ": " + describe_unknown(data, size) + "; supported formats: JPEG, PNG");
}

RgbImage decode_file(const std::string& path, const DecodeLimits& limits) {
    // stat before open and O_NONBLOCK: opening a FIFO for reading would block until a writer
    // appears, and reading a device may never end. Only regular files are images.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw Error(path + ": cannot open image file: " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, not an image file");
    if (!S_ISREG(st.st_mode))
        throw Error(path + ": not a regular file (a FIFO, socket or device); expected a JPEG or "
                           "PNG image file");
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open image file: " + std::strerror(errno));
    struct FileCloser {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, FileCloser> f(::fdopen(fd, "rb"));
    if (!f) {
        const int err = errno;
        ::close(fd);
        throw Error(path + ": cannot open image file: " + std::strerror(err));
    }
    // The path may have been replaced between stat and open: check what was opened.
    if (fstat(fd, &st) != 0)
        throw Error(path + ": cannot stat image file: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file; expected an image file");
    if (int64_t(st.st_size) > max_file_bytes)
        throw Error(path + ": file too large for an image (" + std::to_string(st.st_size) +
                    " bytes)");
    // Read until EOF rather than trusting st_size: pipes and /proc files report 0.
    std::vector<uint8_t> bytes;
    bytes.reserve(size_t(st.st_size));
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
        if (int64_t(bytes.size() + n) > max_file_bytes)
            throw Error(path + ": file too large for an image");
        bytes.insert(bytes.end(), buf, buf + n);
    }
    if (std::ferror(f.get())) throw Error(path + ": read error: " + std::strerror(errno));
    return decode_memory(bytes.data(), bytes.size(), path, limits);
}

Interp parse_interp(const std::string& s) {
    if (s == "bicubic") return Interp::bicubic;
    if (s == "bilinear") return Interp::bilinear;
    if (s == "nearest") return Interp::nearest;
    throw Error("unknown interpolation '" + s +
                "': expected bicubic, bilinear or nearest (box, hamming, lanczos and random are "
                "not supported)");
}

const char* interp_name(Interp i) {
    switch (i) {
        case Interp::nearest: return "nearest";
        case Interp::bilinear: return "bilinear";
        case Interp::bicubic: return "bicubic";
    }
    return "?";
}

}  // namespace vitrt::image
