#include "quant/calibrating_ops.hpp"

namespace vitrt {

Tensor CalibratingOps::prepare_weight(const HostTensor& w, const WeightSpec& s) {
    Tensor t = in_.prepare_weight(w, s);
    if (s.role == WeightRole::linear) {
        names_[t.prepared.get()] = s.name;
        order_.push_back(s.name);
    }
    return t;
}

void CalibratingOps::linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) {
    if (observe) {
        auto it = names_.find(w.prepared.get());
        if (it != names_.end() && watched.count(it->second)) {
            auto obs = observers_.find(it->second);
            if (obs == observers_.end()) obs = observers_.emplace(it->second, RangeObserver(method_, percentile_)).first;
            obs->second.observe(x.f32(), x.numel());
        }
    }
    in_.linear(x, w, y, o);
}

}  // namespace vitrt
