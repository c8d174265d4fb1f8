// Ops that forward to a backend and, while `observe` is on, feed the input of every watched linear
// layer to a RangeObserver kept under the layer's checkpoint name (calibration of static w8a8).
// Also records the checkpoint name of every linear weight prepared through it, in load order.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ops/forwarding_ops.hpp"
#include "quant/observer.hpp"

namespace vitrt {

class CalibratingOps final : public ForwardingOps {
public:
    CalibratingOps(Ops& inner, CalibMethod method, double percentile)
        : ForwardingOps(inner), method_(method), percentile_(percentile) {}

    Tensor prepare_weight(const HostTensor& w, const WeightSpec& s) override;
    void linear(const Tensor& x, const Tensor& w, const Tensor& y, const LinearOpts& o) override;

    bool observe = false;
    std::set<std::string> watched;  // checkpoint names of the linear weights observed
    const std::vector<std::string>& linear_names() const { return order_; }
    const std::map<std::string, RangeObserver>& observers() const { return observers_; }

private:
    CalibMethod method_;
    double percentile_;
    std::map<const PreparedWeight*, std::string> names_;
    std::vector<std::string> order_;
    std::map<std::string, RangeObserver> observers_;
};

}  // namespace vitrt
