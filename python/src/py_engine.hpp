// The object behind the Python module's `_vitrt.Engine`: a vitrt::Engine plus what the binding
// needs to remember. Conveniences for users (defaults, torch/DLPack inputs, classify's batches)
// are in python/vitrt/engine.py; this layer only converts and checks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "vitrt/vitrt.hpp"

namespace vitrt::py_binding {

namespace py = pybind11;

struct PyEngine {
    std::unique_ptr<Engine> engine;
    int threads = 0;  // as asked at load (0 = all cores): also the decode threads of preprocess_into
    // The input pointer the last run() handed to the engine: the tests' proof that arrays are
    // not copied on the way in.
    std::atomic<uintptr_t> last_input{0};
};

// arrays.cpp: the array-facing calls.
py::array_t<float> run(PyEngine& self, const py::array& x, const std::string& output);
py::list preprocess_into(PyEngine& self, const py::sequence& items, const py::sequence& names, const py::array& out);
py::list top_k(const PyEngine& self, const py::array& logits, int k);

// engine_info.cpp: model description as Python values.
py::dict info_dict(const Engine& e);
py::dict data_config_dict(const Engine& e);
Output output_kind(const std::string& name);

}  // namespace vitrt::py_binding
