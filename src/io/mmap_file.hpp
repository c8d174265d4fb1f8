// A read-only memory mapping of a whole file, shared by the tensors that view into it.
//
// Checkpoint readers hand out zero-copy views into the mapping; each view's HostTensor::owner
// holds a shared_ptr<MappedFile> so the mapping outlives the Checkpoint if a tensor does.
// Limitation: if another process truncates the file while it is mapped, touching the lost pages
// raises SIGBUS; that is inherent to mmap and not guarded against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace vitrt {

// Throws vitrt::Error naming the path when it is missing or not a regular file (a FIFO, socket,
// device or directory), without opening it: opening a FIFO for reading blocks until a writer
// appears. Call before any open of a path a user gave.
void check_regular_file(const std::string& path);

class MappedFile {
public:
    // Maps `path` read-only; throws vitrt::Error (naming the path and the OS reason) when it is
    // missing, unreadable or not a regular file. An empty file maps to size() == 0, data() null.
    static std::shared_ptr<MappedFile> open(const std::string& path);

    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    MappedFile() = default;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    std::string path_;
};

}  // namespace vitrt
