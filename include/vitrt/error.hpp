// vitrt — errors. Every failure caused by input (files, images, options) is reported as a
// vitrt::Error carrying what went wrong, where, and (when known) how to fix it. The library never
// aborts on input.
#pragma once

#include <stdexcept>
#include <string>

namespace vitrt {

// Default visibility: errors thrown inside the cuda plugin must be catchable as vitrt::Error.
class __attribute__((visibility("default"))) Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A device or backend that cannot start on this machine (no cuda plugin built, no GPU, no driver):
// callers (tests, benchmarks) may skip on this kind; every other Error is a real failure.
class __attribute__((visibility("default"))) DeviceUnavailable : public Error {
public:
    using Error::Error;
};

// Throws vitrt::Error with the message when cond is false.
inline void check(bool cond, const std::string& msg) {
    if (!cond) throw Error(msg);
}
// Same for a literal: builds no std::string unless it throws (hot paths check shapes every call).
inline void check(bool cond, const char* msg) {
    if (!cond) throw Error(msg);
}

}  // namespace vitrt
