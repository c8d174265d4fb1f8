// The error a model load gives, for tests of malformed or hostile checkpoints and configs.
#pragma once

#include <string>

#include "vitrt/vitrt.hpp"

namespace vitrt::test {

// The vitrt::Error message of Engine::load(path) on one thread, or "" when it loads.
inline std::string engine_load_error(const std::string& path) {
    try {
        Engine::load(path, {.threads = 1});
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace vitrt::test
