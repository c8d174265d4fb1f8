// The backend-neutral model interface the engine drives, and what a model reports about itself.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/arena.hpp"
#include "core/tensor.hpp"
#include "image/image.hpp"
#include "ops/ops.hpp"
#include "ops/precision_policy.hpp"

namespace vitrt {

// Everything `vitrt info` prints, as ordered key/value pairs.
struct ModelDescription {
    std::string family;        // "vit", "fastvit"
    std::string architecture;  // timm name when known, else a description
    std::vector<std::pair<std::string, std::string>> fields;
    int64_t parameters = 0;
    double flops = 0;            // per image, multiply-add = 2 (GEMMs and attention)
    std::string storage_dtype;  // dtype of the checkpoint's tensors
    std::string source_format;  // "timm safetensors", "hf transformers", "google npz", ...
    std::vector<std::string> notes;  // load-time decisions (resampled pos embed, folded BNs, ...)
    std::string precision;           // linear weights by precision: "12 x bf16, 1 x f32"
    // timm create_model kwargs that reproduce the architecture from the tensors (JSON object):
    // what a quantized file records so it loads without its source's config.
    std::string timm_model_args = "{}";
};

// What a forward writes, per image: the classifier's logits [classes]; the pooled pre-logits
// features [D] (timm's forward_head(x, pre_logits=True)); or the token sequence after the final
// norm [T, D] (timm's forward_features; FastViT: the final conv's map as [H*W, C] tokens).
enum class ModelOutput { logits, embedding, tokens };

class Model {
public:
    virtual ~Model() = default;
    virtual const ModelDescription& description() const = 0;
    ModelDescription& mutable_description() { return const_cast<ModelDescription&>(description()); }
    virtual int num_classes() const = 0;  // or the feature width when there is no head
    virtual int input_height() const = 0;
    virtual int input_width() const = 0;

    // Per-image shape of an output.
    virtual Shape output_shape(ModelOutput what) const = 0;

    // Takes the activation buffers for `batch` images from the arena; when the arena is planning,
    // returns right after (the dry run that sizes it). input: [B, 3, H, W], out: [B, output_shape].
    virtual void forward(Ops& ops, Arena& arena, const Tensor& input, const Tensor& out,
                         ModelOutput what = ModelOutput::logits) = 0;
};

// A loaded checkpoint, resolved: the model (weights prepared for `ops`), its preprocessing and
// class labels (empty when the checkpoint has none: the engine falls back to ImageNet names).
struct LoadedModel {
    std::unique_ptr<Model> model;
    image::PreprocessConfig preprocess;
    std::vector<std::string> labels;
};

struct LoadOptions {
    int image_size = 0;  // 0 = the checkpoint's resolution; else square resolution to run at
    std::string arch;    // optional timm architecture name overriding what the checkpoint says
    PrecisionPolicy policy;  // the precision of each weight
};

}  // namespace vitrt
