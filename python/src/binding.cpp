// _vitrt: the pybind11 module under python/vitrt (the public Python API is there). One class,
// Engine, over vitrt::Engine, and the errors: vitrt::Error -> _vitrt.Error (a RuntimeError),
// vitrt::DeviceUnavailable -> _vitrt.DeviceUnavailable (an Error), with the library's message.
#include <pybind11/stl.h>

#include "py_engine.hpp"

namespace py = pybind11;
using namespace vitrt;
using namespace vitrt::py_binding;

namespace {

std::unique_ptr<PyEngine> load(const std::string& path, const std::string& device, const std::string& precision,
                               int threads, int image_size, const std::string& arch, long long max_image_pixels) {
    EngineOptions o;
    o.device = device;
    o.precision = precision;
    o.threads = threads;
    o.image_size = image_size;
    o.arch = arch;
    o.max_image_pixels = max_image_pixels;
    auto r = std::make_unique<PyEngine>();
    r->threads = threads;
    py::gil_scoped_release release;  // loading a large checkpoint takes seconds
    r->engine = Engine::load(path.empty() ? default_model_path() : path, o);
    return r;
}

}  // namespace

PYBIND11_MODULE(_vitrt, m) {
    m.doc() = "vitrt C++ engine (use the `vitrt` package, not this module)";
    // Translators are tried last-registered first: the subclass after its base.
    static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
    static py::exception<DeviceUnavailable> device_unavailable(m, "DeviceUnavailable", error.ptr());
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const DeviceUnavailable& e) {
            device_unavailable(e.what());
        } catch (const Error& e) {
            error(e.what());
        }
    });

    m.def("default_model_path", &default_model_path, "$VITRT_MODEL, else the bundled ViT-Ti/16");
    m.attr("max_threads") = max_threads;
    m.attr("max_image_size") = max_image_size;

    py::class_<PyEngine>(m, "Engine")
        .def_static("load", &load, py::arg("path"), py::arg("device"), py::arg("precision"), py::arg("threads"),
                    py::arg("image_size"), py::arg("arch"), py::arg("max_image_pixels"))
        .def_property_readonly("num_classes", [](const PyEngine& s) { return s.engine->num_classes(); })
        .def_property_readonly("labels", [](const PyEngine& s) { return s.engine->labels(); })
        .def_property_readonly("input_shape",
                               [](const PyEngine& s) { return py::make_tuple(3, s.engine->input_height(), s.engine->input_width()); })
        .def("output_shape",
             [](const PyEngine& s, const std::string& output) {
                 py::tuple t = py::cast(s.engine->output_shape(output_kind(output)));
                 return t;
             })
        .def("info", [](const PyEngine& s) { return info_dict(*s.engine); })
        .def("data_config", [](const PyEngine& s) { return data_config_dict(*s.engine); })
        .def("run", &run, py::arg("x"), py::arg("output") = "logits")
        .def("preprocess_into", &preprocess_into, py::arg("items"), py::arg("names"), py::arg("out"))
        .def("top_k", &top_k, py::arg("logits"), py::arg("k"))
        .def_property_readonly("last_input_address", [](const PyEngine& s) { return s.last_input.load(); });
}
