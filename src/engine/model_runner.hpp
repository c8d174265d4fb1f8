// Runs a loaded model on a backend: one planned arena and I/O buffer per batch size (the dry run
// sizes it; later runs allocate nothing), host input in, host output out. The engine and the
// quantization tool both drive models through it. Not thread-safe: callers serialise.
#pragma once

#include <map>
#include <memory>

#include "core/arena.hpp"
#include "models/model.hpp"

namespace vitrt {

class ModelRunner {
public:
    ModelRunner(Ops& ops, Model& model) : ops_(&ops), model_(model) {}
    // input: [batch, 3, H, W] host f32; out: [batch, model.output_shape(what)] host f32.
    void run(const float* input, int batch, float* out, ModelOutput what = ModelOutput::logits);
    // Runs through another Ops (a decorator of the same backend: profiling, calibration).
    void set_ops(Ops& ops) { ops_ = &ops; }

private:
    struct Plan {
        std::shared_ptr<void> arena_mem;
        size_t arena_bytes = 0;
        Tensor input, output;
        std::shared_ptr<void> io_mem;
    };
    Plan& plan_for(int batch, ModelOutput what);
    Ops* ops_;
    Model& model_;
    std::map<std::pair<int, ModelOutput>, Plan> plans_;
};

}  // namespace vitrt
