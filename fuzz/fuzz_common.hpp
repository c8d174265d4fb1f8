// Shared by the libFuzzer targets: the readers under test take a path (they mmap), so the input
// is written to an anonymous in-memory file (memfd) and handed over as /proc/self/fd/N.
//
// Contract checked by every target: any input either parses or throws vitrt::Error. Crashes,
// leaks and undefined behaviour are caught by ASan/UBSan; any other exception type escaping is a
// finding too (std::terminate -> libFuzzer reports "deadly signal").
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace vitrt::fuzz {

class MemFile {
public:
    MemFile() : fd_(memfd_create("vitrt_fuzz", MFD_CLOEXEC)) {
        if (fd_ < 0) std::abort();
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~MemFile() { ::close(fd_); }
    // Replaces the file's content with data.
    const std::string& write(const uint8_t* data, size_t size) {
        if (ftruncate(fd_, 0) != 0 || pwrite(fd_, data, size, 0) != ssize_t(size)) std::abort();
        return path_;
    }

private:
    int fd_;
    std::string path_;
};

// Reads every byte of every tensor of a checkpoint: a view that points outside its mapping or
// buffer faults (or trips ASan) here.
template <class Checkpoint>
void touch_tensors(const Checkpoint& ck) {
    volatile uint8_t sink = 0;
    for (const auto& [name, t] : ck.tensors) {
        const auto* p = static_cast<const uint8_t*>(t.view.data);
        for (size_t i = 0; i < t.view.nbytes(); ++i) sink = sink ^ p[i];
    }
}

}  // namespace vitrt::fuzz
