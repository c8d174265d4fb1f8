// FastViT checkpoints -> model: architecture name and kwargs, configuration from the tensors,
// load-time reparameterization, preprocessing (timm pretrained_cfg), labels, `vitrt info` text.
#include <set>
#include <sstream>

#include "io/weight_reader.hpp"
#include "load/fastvit_resolve.hpp"
#include "load/load.hpp"
#include "models/fastvit.hpp"
#include "models/fastvit_geometry.hpp"
#include "models/registry/registry.hpp"
#include "load/load.hpp"
#include "load/pretrained_cfg.hpp"

namespace vitrt {
namespace {

image::PreprocessConfig preprocess_from(const ModelSource& src, const std::string& name, std::vector<std::string>& notes) {
    image::PreprocessConfig p = fastvit_default_preprocess(name);
    if (!apply_timm_pretrained_cfg(src, p) && !lookup_fastvit(name)) {
        notes.push_back("no pretrained_cfg known for this checkpoint: using timm's FastViT defaults (256x256, bicubic, "
                        "crop_pct 0.9, ImageNet mean/std)");
    }
    return p;
}

// "60 in MobileOne/large-kernel branches, 10 ConvMlp.conv.bn into the depthwise conv, ...", zeros left out.
std::string bn_parts(const FastVitWeights& w) {
    std::string s;
    auto add = [&](int n, const char* what) {
        if (n) s += (s.empty() ? "" : ", ") + std::to_string(n) + what;
    };
    add(w.branch_batchnorms, " in MobileOne/large-kernel branches");
    add(w.mlp_batchnorms, " ConvMlp.conv.bn into the depthwise conv");
    add(w.attn_batchnorms, " AttentionBlock.norm into qkv");
    return s;
}

std::string ratio(int64_t hidden, int64_t dim) {
    std::ostringstream s;
    s << double(hidden) / double(dim);
    return s.str();
}

void describe(ModelDescription& d, const FastVitConfig& cfg, const FastVitWeights& w, const Checkpoint& ck,
              const image::PreprocessConfig& pre) {
    d.family = "fastvit";
    d.architecture = cfg.name.empty() ? "FastViT (unnamed)" : cfg.name;
    d.source_format = "timm " + ck.format;
    const TensorStats stats = tensor_stats(ck.tensors);
    d.parameters = stats.parameters;
    d.storage_dtype = stats.dtypes;

    const int bns = w.branch_batchnorms + w.mlp_batchnorms + w.attn_batchnorms;
    std::string form;
    if (w.train_modules && !w.reparam_modules) {
        form = "unfused (train-time)";
        d.notes.push_back("read the unfused (train-time) form and reparameterized it at load: folded " +
                          std::to_string(bns) + " BatchNorms (" + bn_parts(w) + ") and merged " +
                          std::to_string(w.branches) + " branches of " + std::to_string(w.train_modules) +
                          " multi-branch modules into single convolutions");
    } else if (!w.train_modules) {
        form = "reparameterized (timm inference_mode)";
        d.notes.push_back("read timm's reparameterized (inference_mode=True) form (" + std::to_string(w.reparam_modules) +
                          " reparam_conv); folded the " + std::to_string(w.mlp_batchnorms + w.attn_batchnorms) +
                          " BatchNorms timm leaves unfolded (" + bn_parts(w) + ")");
    } else {
        form = "mixed (" + std::to_string(w.reparam_modules) + " reparameterized, " + std::to_string(w.train_modules) +
               " train-time modules)";
        d.notes.push_back("read a mixed checkpoint: " + std::to_string(w.reparam_modules) + " reparam_conv used as is, " +
                          std::to_string(w.train_modules) + " train-time modules reparameterized at load; folded " +
                          std::to_string(bns) + " BatchNorms and merged " + std::to_string(w.branches) + " branches");
    }
    if (w.layer_scales)
        d.notes.push_back("folded " + std::to_string(w.layer_scales) +
                          " LayerScale gammas into the weights of the layers they scale (attention proj, ConvFFN fc2)");

    std::vector<int64_t> layers, dims;
    std::string mlp, mixers, pos;
    int64_t heads = 0;
    for (size_t i = 0; i < cfg.stages.size(); ++i) {
        const auto& s = cfg.stages[i];
        layers.push_back(s.depth);
        dims.push_back(s.dim);
        mlp += (i ? ", " : "") + ratio(s.mlp_hidden, s.dim);
        mixers += std::string(i ? ", " : "") + (s.attention ? "attention" : "repmixer");
        pos += std::string(i ? ", " : "") + (s.pos_kernel ? "RepCPE " + std::to_string(s.pos_kernel) + "x" +
                                                                std::to_string(s.pos_kernel)
                                                          : std::string("none"));
        if (s.attention) heads = s.dim / cfg.head_dim;
    }
    const FastVitGeometry geo = fastvit_geometry(cfg, pre.input_height, pre.input_width);
    const int64_t gh = geo.stages.empty() ? 0 : geo.stages.back().h, gw = geo.stages.empty() ? 0 : geo.stages.back().w;
    d.fields = {
        {"checkpoint_form", form},
        {"stages", std::to_string(cfg.stages.size())},
        {"layers", fastvit_list(layers)},
        {"embed_dims", fastvit_list(dims)},
        {"mlp_ratios", mlp},
        {"token_mixers", mixers},
        {"attention", heads ? std::to_string(heads) + " heads x " + std::to_string(cfg.head_dim) + " (last stage: " +
                                  std::to_string(gh * gw) + " tokens)"
                            : std::string("none")},
        {"pos_embed", pos},
        {"stem", std::to_string(cfg.in_chans) + " -> " + std::to_string(cfg.stem_dim) + " (stride 4)"},
        {"final_features", std::to_string(cfg.num_features) + " (squeeze-excite " + std::to_string(cfg.se_hidden) + ")"},
        {"resolution", std::to_string(pre.input_height) + "x" + std::to_string(pre.input_width) + " (last stage " +
                           std::to_string(gh) + "x" + std::to_string(gw) + ")"},
        {"reparameterized_convs", std::to_string(w.train_modules + w.reparam_modules)},
        {"folded_batchnorms", std::to_string(bns)},
        {"classes", cfg.num_classes ? std::to_string(cfg.num_classes) : "none (features out)"},
    };
    d.flops = geo.flops;
}

}  // namespace

LoadedModel load_fastvit(ModelSource& src, Ops& ops, const LoadOptions& opts) {
    const Checkpoint& ck = src.checkpoint;
    check(!ck.metadata.count("vitrt.quantized"),
          ck.path + ": quantized files are supported for ViT-family checkpoints; a FastViT is quantized at load "
                    "instead (--precision w8a8-dynamic, w8 or w4 on its float checkpoint)");
    std::vector<std::string> notes;
    FastVitHints hints;
    const ArchitectureName arch = architecture_name(
        src, opts.arch, [](const std::string& n) { return lookup_fastvit(n).has_value(); }, notes);
    hints.name = arch.name;
    hints.name_source = arch.source;
    hints.name_from_path = arch.from_path;
    hints.model_args = timm_model_args(src, &hints.arg_sources);
    std::map<std::string, Shape> shapes;
    for (const auto& [k, v] : ck.tensors) shapes[k] = v.view.shape;
    FastVitConfig cfg;
    FastVitWeights w;
    try {  // errors name the tensor; say which file too
        cfg = resolve_fastvit_config(shapes, hints, notes);
        check(cfg.in_chans == 3, "FastViT stem takes " + std::to_string(cfg.in_chans) +
                                     " input channels; vitrt feeds RGB images (3)");
        // Checked by their checkpoint names before folding mixes them (WeightPreparer checks the
        // folded results again: a negative running_var folds into NaN).
        for (const auto& [name, t] : ck.tensors) WeightPreparer::check_finite("tensor '" + name + "'", t);
        w = fold_fastvit(cfg, ck.tensors);
    } catch (const Error& e) {
        throw Error(ck.path + ": " + e.what());
    }

    LoadedModel out;
    out.preprocess = preprocess_from(src, cfg.name, notes);
    if (opts.image_size > 0) out.preprocess.input_height = out.preprocess.input_width = opts.image_size;
    out.labels = labels_from(src, cfg.num_classes);
    ModelDescription d;
    describe(d, cfg, w, ck, out.preprocess);
    d.notes.insert(d.notes.end(), notes.begin(), notes.end());
    note_skipped(ck, d);
    WeightPreparer prep(ops, opts.policy);
    try {
        out.model = make_fastvit(cfg, std::move(w), prep, out.preprocess.input_height, out.preprocess.input_width, std::move(d));
    } catch (const Error& e) {
        throw Error(ck.path + ": " + e.what());
    }
    describe_precision(prep, out.model->mutable_description());
    return out;
}

}  // namespace vitrt
