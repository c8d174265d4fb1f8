#include "cli_common.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;

namespace vitrt::cli {

void EngineFlags::add_to(CLI::App& app) {
    app.add_option("--model,-m", model, "model file (.safetensors, .npz) or directory (HF hub layout); default: bundled ViT-Ti/16");
    app.add_option("--device", options.device, "backend: cpu (default), cuda (NVIDIA GPU, sm_80+) or ref (scalar reference)");
    app.add_option("--threads", options.threads, "CPU threads (0 = all cores; at most " + std::to_string(max_threads) + ")")
        ->check(int_range(0, max_threads));
    app.add_option("--precision", options.precision,
                   "f32 (default), bf16 (cpu: AVX512-BF16/AMX; cuda), w8a8-dynamic (alias int8), w8, w4 (cpu: linear "
                   "layers quantized at load), f16 or tf32 (cuda); a quantized file runs in its own scheme");
    app.add_option("--group", options.group_size,
                   "w8 / w4 at load: one weight scale per this many inputs (0 = default: 128 for w8, 32 for w4; "
                   "else a power of two from 16 to 1024)")
        ->check(int_range(0, 1024));
    app.add_option("--image-size", options.image_size,
                   "run at this square resolution (position embedding resampled); at most " + std::to_string(max_image_size))
        ->check(int_range(0, max_image_size));
    app.add_option("--arch", options.arch, "timm architecture name, when the checkpoint does not say");
}

std::unique_ptr<Engine> EngineFlags::load() const {
    return Engine::load(model.empty() ? default_model_path() : model, options);
}

std::vector<std::string> list_images(const std::vector<std::string>& inputs) {
    std::vector<std::string> out;
    for (const auto& in : inputs) {
        std::error_code ec;
        if (!fs::is_directory(in, ec)) {
            out.push_back(in);
            continue;
        }
        std::vector<std::string> found;
        for (auto it = fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (!it->is_regular_file(ec)) continue;
            std::string ext = it->path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
            if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") found.push_back(it->path().string());
        }
        std::sort(found.begin(), found.end());
        out.insert(out.end(), found.begin(), found.end());
    }
    return out;
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t utf8_sequence(const std::string& s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c == 0xe0) n = 3, lo = 0xa0;
    else if (c == 0xed) n = 3, hi = 0x9f;
    else if (c >= 0xe1 && c <= 0xef) n = 3;
    else if (c == 0xf0) n = 4, lo = 0x90;
    else if (c >= 0xf1 && c <= 0xf3) n = 4;
    else if (c == 0xf4) n = 4, hi = 0x8f;
    else return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
    return n;
}

}  // namespace

std::string utf8_escaped(const std::string& s) {
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            r += char(c);
        } else if (const size_t n = utf8_sequence(s, i)) {
            r.append(s, i, n);
            i += n - 1;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            r += buf;
        }
    }
    return r;
}

std::string json_escape(const std::string& raw) {
    // Bytes that are not UTF-8 become the text \xNN first (whose backslash is escaped below), so
    // the result is always valid UTF-8 JSON.
    const std::string s = utf8_escaped(raw);
    std::string r;
    for (const char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': r += "\\\""; break;
            case '\\': r += "\\\\"; break;
            case '\n': r += "\\n"; break;
            case '\t': r += "\\t"; break;
            case '\r': r += "\\r"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    r += buf;
                } else {
                    r += char(c);
                }
        }
    }
    return r;
}

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream o;
    o.precision(9);  // round-trips a float
    o << v;
    return o.str();
}

CLI::Validator int_range(long long lo, long long hi) {
    return CLI::Validator(
        [lo, hi](std::string& in) -> std::string {
            long long v = 0;
            size_t used = 0;
            try {
                v = std::stoll(in, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != in.size()) return "expected an integer, got '" + in + "'";
            if (v < lo) return "must be at least " + std::to_string(lo) + " (got " + in + ")";
            if (v > hi) return "must be at most " + std::to_string(hi) + " (got " + in + ")";
            return {};
        },
        "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

void check_stdout() {
    std::cout.flush();
    const bool failed = !std::cout || std::fflush(stdout) != 0 || std::ferror(stdout);
    if (failed) {
        const int err = errno;
        throw Error(std::string("cannot write to standard output") + (err ? std::string(": ") + std::strerror(err) : ""));
    }
}

}  // namespace vitrt::cli
