// The array-facing calls of the Python module: run (logits / embedding / tokens), preprocess_into
// and top_k.
//
// No copies on the way in: run() hands the engine the caller's buffer as is, so it accepts only
// what the engine can read in place (float32, C-contiguous, aligned, [N, 3, H, W]); anything else
// is an error that says how to convert (the Python layer turns torch tensors and other DLPack /
// buffer objects into numpy views first, also without copying). The GIL is released while images
// decode and while the engine runs, so Python threads (and Dask's worker threads) overlap.
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "py_engine.hpp"

namespace vitrt::py_binding {

namespace {

// A batch larger than this is a mistake (and the engine's batch is an int).
constexpr py::ssize_t max_batch = 1 << 20;

std::string shape_str(const py::array& x) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < x.ndim(); ++i) s += (i ? ", " : "") + std::to_string(x.shape(i));
    return s + (x.ndim() == 1 ? ",)" : ")");
}

std::string dtype_str(const py::array& x) { return py::str(x.dtype()).cast<std::string>(); }

// x as the float pointer the engine reads in place, or vitrt::Error naming what is wrong.
float* image_batch(const Engine& e, const py::array& x, const std::string& what, bool writable) {
    const std::string want = what + ": expected a C-contiguous float32 array [N, 3, " + std::to_string(e.input_height()) +
                             ", " + std::to_string(e.input_width()) + "] (NCHW, as preprocess() returns)";
    if (!py::isinstance<py::array_t<float>>(x))
        throw Error(want + "; got dtype " + dtype_str(x) + " (convert with x.astype(numpy.float32))");
    if (x.ndim() != 4)
        throw Error(want + "; got " + std::to_string(x.ndim()) + " dimensions, shape " + shape_str(x) +
                    (x.ndim() == 3 ? " (one image: add the batch dimension, x[None])" : ""));
    if (x.shape(1) != 3 || x.shape(2) != e.input_height() || x.shape(3) != e.input_width())
        throw Error(want + "; got shape " + shape_str(x) +
                    (x.shape(3) == 3 ? " (channels last? NCHW is numpy.ascontiguousarray(x.transpose(0, 3, 1, 2)))" : ""));
    if (x.shape(0) < 1 || x.shape(0) > max_batch)
        throw Error(want + "; got a batch of " + std::to_string(x.shape(0)) + " (1 to " + std::to_string(max_batch) + ")");
    if (!(x.flags() & py::array::c_style))
        throw Error(want + "; got a non-contiguous array (a view with strides): pass numpy.ascontiguousarray(x), "
                           "which copies it");
    if (reinterpret_cast<uintptr_t>(x.data()) % alignof(float))
        throw Error(want + "; got a buffer that is not 4-byte aligned: pass x.copy()");
    if (writable && !x.writeable()) throw Error(want + "; got a read-only array");
    return static_cast<float*>(const_cast<void*>(x.data()));
}

// NaN/Inf in the input would come out as NaN logits with no hint why.
void check_finite(const float* x, size_t per_image, size_t images) {
    for (size_t i = 0; i < per_image * images; ++i) {
        if (std::isfinite(x[i])) continue;
        throw Error("input image " + std::to_string(i / per_image) + " holds " + (std::isnan(x[i]) ? "NaN" : "Inf") +
                    " (at flat index " + std::to_string(i % per_image) +
                    "): preprocessed images are finite; check how the array was made");
    }
}

// A Py_buffer held while the GIL is released; released (with the GIL) by its owner.
struct HeldBuffer {
    Py_buffer view{};
    bool held = false;
    HeldBuffer() = default;
    HeldBuffer(const HeldBuffer&) = delete;
    ~HeldBuffer() {
        if (held) PyBuffer_Release(&view);
    }
};

}  // namespace

py::array_t<float> run(PyEngine& self, const py::array& x, const std::string& output) {
    const Engine& e = *self.engine;
    const Output kind = output_kind(output);
    const float* in = image_batch(e, x, "run", false);
    const auto n = x.shape(0);
    std::vector<py::ssize_t> shape{n};
    for (long long d : e.output_shape(kind)) shape.push_back(py::ssize_t(d));
    py::array_t<float> out(shape);
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        check_finite(in, e.input_size(), size_t(n));
        self.last_input.store(reinterpret_cast<uintptr_t>(in));
        self.engine->run(in, int(n), o, kind);
    }
    return out;
}

py::list preprocess_into(PyEngine& self, const py::sequence& items, const py::sequence& names, const py::array& out) {
    const Engine& e = *self.engine;
    const size_t n = items.size();
    check(names.size() == n, "preprocess: " + std::to_string(names.size()) + " names for " + std::to_string(n) + " items");
    float* dst = nullptr;
    if (n > 0) {
        dst = image_batch(e, out, "preprocess output", true);
        check(size_t(out.shape(0)) == n, "preprocess: the output holds " + std::to_string(out.shape(0)) + " images, not " +
                                             std::to_string(n));
    }
    // Gather everything the decoders need while the GIL is held: paths as file-system bytes (any
    // file name, even one that is not UTF-8), encoded images as held buffers (no copy).
    std::vector<std::string> paths(n), labels(n), err(n);
    std::vector<HeldBuffer> bufs(n);
    for (size_t i = 0; i < n; ++i) {
        py::object item = items[i];
        labels[i] = py::str(names[i]).cast<std::string>();
        if (py::isinstance<py::str>(item)) {
            auto fs = py::reinterpret_steal<py::object>(PyUnicode_EncodeFSDefault(item.ptr()));
            if (!fs) throw py::error_already_set();
            paths[i] = std::string(PyBytes_AS_STRING(fs.ptr()), size_t(PyBytes_GET_SIZE(fs.ptr())));
        } else if (PyObject_CheckBuffer(item.ptr())) {
            if (PyObject_GetBuffer(item.ptr(), &bufs[i].view, PyBUF_SIMPLE) != 0) throw py::error_already_set();
            bufs[i].held = true;
        } else {
            throw Error("preprocess: item " + std::to_string(i) + " is a " +
                        py::str(py::type::handle_of(item).attr("__name__")).cast<std::string>() +
                        "; expected a path (str or os.PathLike) or the bytes of a JPEG/PNG file");
        }
    }
    {
        py::gil_scoped_release release;
        const size_t per = e.input_size();
        const int threads = self.threads > 0 ? self.threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) num_threads(threads)
        for (long i = 0; i < long(n); ++i) {
            const size_t k = size_t(i);
            try {
                if (bufs[k].held)
                    e.preprocess_encoded(static_cast<const unsigned char*>(bufs[k].view.buf), size_t(bufs[k].view.len),
                                         labels[k], dst + k * per);
                else
                    e.preprocess_file(paths[k], dst + k * per);
            } catch (const std::exception& ex) {
                err[k] = ex.what();
            }
        }
    }
    py::list r;
    for (const auto& m : err) r.append(m.empty() ? py::object(py::none()) : py::object(py::str(m)));
    return r;
}

py::list top_k(const PyEngine& self, const py::array& logits, int k) {
    const Engine& e = *self.engine;
    const std::string want = "top_k: expected a C-contiguous float32 array of " + std::to_string(e.num_classes()) + " logits";
    if (!py::isinstance<py::array_t<float>>(logits)) throw Error(want + "; got dtype " + dtype_str(logits));
    if (logits.ndim() != 1 || logits.shape(0) != e.num_classes() || !(logits.flags() & py::array::c_style))
        throw Error(want + "; got shape " + shape_str(logits));
    check(k >= 1, "top_k: k must be at least 1 (got " + std::to_string(k) + ")");
    py::list r;
    for (const Prediction& p : e.top_k(static_cast<const float*>(logits.data()), k))
        r.append(py::make_tuple(p.label, p.index, double(p.prob)));
    return r;
}

}  // namespace vitrt::py_binding
