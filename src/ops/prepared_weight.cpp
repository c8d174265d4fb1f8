#include "ops/prepared_weight.hpp"

#include "ops/ops.hpp"

namespace vitrt {

const char* role_name(WeightRole r) {
    switch (r) {
        case WeightRole::linear: return "linear";
        case WeightRole::param: return "param";
        case WeightRole::conv: return "conv";
    }
    return "?";
}

void throw_foreign_weight(const Tensor& w, const Ops* self, WeightRole role, const char* op) {
    const PreparedWeight* p = w.prepared.get();
    std::string why;
    if (!p) why = "it was not prepared (pass it through prepare_weight first)";
    else if (p->owner != self) why = "it was prepared by another backend";
    else why = std::string("it was prepared as a ") + role_name(p->role) + " weight";
    throw Error(std::string(op) + ": the " + role_name(role) + " weight " + shape_str(w.shape) + " cannot be used: " +
                why);
}

}  // namespace vitrt
