#include "backends/cuda/gemm_cublaslt.hpp"

#include <algorithm>

#include "backends/cuda/cuda_check.hpp"

namespace vitrt::cuda {
namespace {

void check_lt(cublasStatus_t s, const char* what) {
    if (s != CUBLAS_STATUS_SUCCESS)
        throw Error(std::string("cuBLASLt: ") + what + " failed with status " + std::to_string(int(s)));
}
#define LT_CHECK(call) check_lt((call), #call)

cudaDataType_t cuda_type(DType t) {
    switch (t) {
        case DType::f32: return CUDA_R_32F;
        case DType::f16: return CUDA_R_16F;
        case DType::bf16: return CUDA_R_16BF;
        default: break;  // can_run() admits only the float types
    }
    return CUDA_R_32F;
}

// Largest power of two (<= 256) dividing the address: what cuBLASLt may assume about alignment.
int alignment(const void* p) {
    const auto v = reinterpret_cast<uintptr_t>(p);
    int a = 256;
    while (a > 1 && v % uintptr_t(a)) a /= 2;
    return a;
}

constexpr size_t kWorkspaceBytes = 32u << 20;  // what NVIDIA recommends for Hopper

}  // namespace

struct CublasLtGemm::Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;  // d also describes C
    cublasLtMatmulAlgo_t algo{};
    bool has_bias = false;
    ~Plan() {
        if (desc) cublasLtMatmulDescDestroy(desc);
        for (auto l : {a, b, d})
            if (l) cublasLtMatrixLayoutDestroy(l);
    }
};

CublasLtGemm::CublasLtGemm() {
    LT_CHECK(cublasLtCreate(&handle_));
    VITRT_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
    workspace_bytes_ = kWorkspaceBytes;
}

CublasLtGemm::~CublasLtGemm() {
    plans_.clear();
    if (workspace_) cudaFree(workspace_);
    if (handle_) cublasLtDestroy(handle_);
}

std::string CublasLtGemm::version() const { return "cuBLASLt " + std::to_string(cublasLtGetVersion()); }

bool CublasLtGemm::can_run(const GemmParams& p) {
    if (p.M < 1 || p.N < 1 || p.K < 1) return false;
    if (p.ab_type == DType::f32) return p.d_type == DType::f32;
    if (p.tf32) return false;
    return p.d_type == DType::f32 || p.d_type == p.ab_type;
}

const CublasLtGemm::Plan* CublasLtGemm::plan(const GemmParams& p) {
    VITRT_CUDA_REQUIRE(can_run(p), std::string("cuBLASLt GEMM: unsupported types (") + dtype_name(p.ab_type) + " operands, " +
                          dtype_name(p.d_type) + " output" + (p.tf32 ? ", tf32" : "") + ")");
    const int align = std::min({alignment(p.a), alignment(p.w), alignment(p.d), p.c ? alignment(p.c) : 256,
                                p.bias ? alignment(p.bias) : 256});
    const auto key = std::make_tuple(p.M, p.N, p.K, int(p.ab_type), int(p.d_type), int(p.epilogue), p.c != nullptr,
                                     p.bias != nullptr, int(p.tf32), align);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second.get();

    auto pl = std::make_unique<Plan>();
    const cublasComputeType_t compute = p.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    LT_CHECK(cublasLtMatmulDescCreate(&pl->desc, compute, CUDA_R_32F));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    LT_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    pl->has_bias = p.bias != nullptr;
    switch (p.epilogue) {
        case GemmEpilogue::none: epi = p.bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT; break;
        case GemmEpilogue::relu: epi = p.bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU; break;
    }
    LT_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (p.bias) {
        const int32_t bt = int32_t(cuda_type(p.d_type));
        LT_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
        // The heuristic looks at the pointer for alignment; the real one is set per launch.
        LT_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias, sizeof p.bias));
    }
    const cudaDataType_t ab = cuda_type(p.ab_type), dt = cuda_type(p.d_type);
    // Column-major views: W is K x N (ld K, transposed by the op), X is K x M (ld K), D is N x M (ld N).
    LT_CHECK(cublasLtMatrixLayoutCreate(&pl->a, ab, uint64_t(p.K), uint64_t(p.N), int64_t(p.K)));
    LT_CHECK(cublasLtMatrixLayoutCreate(&pl->b, ab, uint64_t(p.K), uint64_t(p.M), int64_t(p.K)));
    LT_CHECK(cublasLtMatrixLayoutCreate(&pl->d, dt, uint64_t(p.N), uint64_t(p.M), int64_t(p.N)));

    cublasLtMatmulPreference_t pref = nullptr;
    LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t ws = workspace_bytes_;
    const uint32_t al = uint32_t(align);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
        cublasLtMatmulPreferenceSetAttribute(pref, attr, &al, sizeof al);
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t st =
        cublasLtMatmulAlgoGetHeuristic(handle_, pl->desc, pl->a, pl->b, pl->d, pl->d, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
        plans_.emplace(key, nullptr);  // remembered: no second heuristic query
        return nullptr;
    }
    pl->algo = result.algo;
    return plans_.emplace(key, std::move(pl)).first->second.get();
}

void CublasLtGemm::launch(const Plan* pl, const GemmParams& p, cudaStream_t s) {
    if (pl->has_bias)
        LT_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias, sizeof p.bias));
    const float alpha = 1.f, beta = p.c ? 1.f : 0.f;
    LT_CHECK(cublasLtMatmul(handle_, pl->desc, &alpha, p.w, pl->a, p.a, pl->b, &beta, p.c ? p.c : p.d, pl->d, p.d, pl->d,
                            &pl->algo, workspace_, workspace_bytes_, s));
}

}  // namespace vitrt::cuda
