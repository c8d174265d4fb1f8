#include "engine/model_runner.hpp"

namespace vitrt {

ModelRunner::Plan& ModelRunner::plan_for(int batch, ModelOutput what) {
    auto it = plans_.find({batch, what});
    if (it != plans_.end()) return it->second;
    Plan p;
    p.input.shape = {batch, 3, model_.input_height(), model_.input_width()};
    p.output.shape = {batch};
    for (int64_t d : model_.output_shape(what)) p.output.shape.push_back(d);
    const size_t in_bytes = p.input.nbytes(), out_bytes = p.output.nbytes();
    p.io_mem = ops_->allocate(in_bytes + out_bytes + 256);
    p.input.data = p.io_mem.get();
    p.output.data = static_cast<char*>(p.io_mem.get()) + (in_bytes + 255) / 256 * 256;
    Arena arena;
    arena.reset(nullptr);
    model_.forward(*ops_, arena, p.input, p.output, what);  // dry run: sizes the arena
    p.arena_bytes = arena.used();
    p.arena_mem = ops_->allocate(p.arena_bytes);
    return plans_.emplace(std::make_pair(batch, what), std::move(p)).first->second;
}

void ModelRunner::run(const float* input, int batch, float* out, ModelOutput what) {
    check(batch > 0, "batch must be positive");
    Plan& p = plan_for(batch, what);
    ops_->upload(p.input.data, input, p.input.nbytes());
    Arena arena;
    arena.reset(p.arena_mem.get(), p.arena_bytes);
    model_.forward(*ops_, arena, p.input, p.output, what);
    ops_->synchronize();
    ops_->download(out, p.output.data, p.output.nbytes());
}

}  // namespace vitrt
