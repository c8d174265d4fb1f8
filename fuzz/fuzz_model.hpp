// Shared by the targets that load a whole model (config, quantized): load_model on the reference
// backend, then, when the model is small, the model's preprocessing on a small image and one
// forward pass: a configuration the loader accepts but preprocessing or the forward cannot run
// faults here (ASan/UBSan) instead of in a user's process.
#pragma once

#include <memory>
#include <vector>

#include "backends/ref/ref_ops.hpp"
#include "image/image.hpp"
#include "load/load.hpp"

namespace vitrt::fuzz {

// Forward passes above this many FLOPs are skipped (the scalar reference backend under ASan does
// ~100 MFLOP/s; the seeds' models are ~0.1 MFLOP).
inline constexpr double kMaxForwardFlops = 2e6;

inline Ops& ref_ops() {
    static std::unique_ptr<Ops> ops = make_ref_ops();
    return *ops;
}

inline void load_and_run(const std::string& path) {
    Ops& ops = ref_ops();
    LoadedModel m = load_model(path, ops, LoadOptions{});
    Model& model = *m.model;
    const int64_t H = model.input_height(), W = model.input_width();
    if (model.description().flops > kMaxForwardFlops || H * W > 64 * 64) return;
    image::RgbImage img;
    img.width = 11, img.height = 7;  // odd sizes: every resize and crop path rounds
    img.pixels.assign(size_t(img.width * img.height * 3), 128);
    std::vector<float> x(size_t(3 * H * W));
    image::preprocess(img, m.preprocess, x.data());

    Tensor in, out;
    in.shape = {1, 3, H, W};
    out.shape = {1, model.num_classes()};
    auto in_mem = ops.allocate(in.nbytes()), out_mem = ops.allocate(out.nbytes());
    in.data = in_mem.get(), out.data = out_mem.get();
    ops.upload(in.data, x.data(), in.nbytes());
    Arena arena;
    arena.reset(nullptr);
    model.forward(ops, arena, in, out);
    auto mem = ops.allocate(arena.used());
    arena.reset(mem.get(), arena.used());
    model.forward(ops, arena, in, out);
    std::vector<float> y(size_t(model.num_classes()));
    ops.download(y.data(), out.data, out.nbytes());
}

}  // namespace vitrt::fuzz
