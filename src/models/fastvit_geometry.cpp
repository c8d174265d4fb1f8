#include "models/fastvit_geometry.hpp"

#include <algorithm>
#include <string>

namespace vitrt {

FastVitGeometry fastvit_geometry(const FastVitConfig& c, int64_t height, int64_t width) {
    FastVitGeometry g;
    int64_t H = height, W = width;
    g.max_activation = H * W * c.in_chans;
    auto conv = [&](int64_t cin_per_group, int64_t out, int64_t k, int64_t stride) {
        H = conv_out(H, k, stride, k / 2), W = conv_out(W, k, stride, k / 2);
        check(H >= 1 && W >= 1, "image size " + std::to_string(height) + "x" + std::to_string(width) +
                                    " is too small for FastViT's strided convolutions (use at least 32x32)");
        g.flops += 2.0 * double(H * W) * double(out) * double(cin_per_group * k * k);
        g.max_activation = std::max(g.max_activation, H * W * out);
    };
    conv(c.in_chans, c.stem_dim, 3, 2);
    conv(1, c.stem_dim, 3, 2);
    conv(c.stem_dim, c.stem_dim, 1, 1);
    for (const auto& st : c.stages) {
        if (st.downsample) {
            conv(1, st.dim, st.down_kernel, c.down_stride);
            conv(st.dim, st.dim, 1, 1);
        }
        if (st.pos_kernel) conv(1, st.dim, st.pos_kernel, 1);
        g.stages.push_back({H, W});
        g.max_activation = std::max(g.max_activation, H * W * st.dim);
        if (st.depth > 0) g.max_hidden = std::max(g.max_hidden, H * W * std::max(st.mlp_hidden, 3 * st.dim));
        const double T = double(H * W), D = double(st.dim);
        for (int64_t j = 0; j < st.depth; ++j) {
            if (st.attention) g.flops += 2.0 * T * D * 4.0 * D + 4.0 * T * T * D;  // qkv + proj, QK^T and PV
            else conv(1, st.dim, st.mixer_kernel, 1);
            conv(1, st.dim, st.mlp_kernel, 1);
            g.flops += 4.0 * T * D * double(st.mlp_hidden);
        }
    }
    conv(1, c.num_features, 3, 1);
    g.final_grid = {H, W};
    g.flops += 4.0 * double(c.num_features * c.se_hidden) + 2.0 * double(c.num_features * c.num_classes);
    return g;
}

}  // namespace vitrt
