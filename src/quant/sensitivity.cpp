#include "quant/sensitivity.hpp"

#include "load/load.hpp"

namespace vitrt {

double SensitivityProbe::gap(const std::string& name, Precision p, const PrecisionPolicy::ActQuant& act) const {
    LoadOptions lo;
    lo.policy = base_;
    lo.policy.per_weight[name] = p;
    if (p == Precision::w8a8) lo.policy.calibrated[name] = act;
    LoadedModel m = load_model(path_, ops_, lo);
    ModelRunner r(ops_, *m.model);
    std::vector<float> logits;
    images_.run(r, n_, batch_, classes_, &logits);
    return mean_cosine_gap(ref_, logits, classes_);
}

}  // namespace vitrt
