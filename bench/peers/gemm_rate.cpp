// oneDNN matmul rate for one GEMM shape: the ceiling vitrt's own GEMMs are measured against.
//
//   g++ -O2 -std=c++17 -fopenmp gemm_rate.cpp -o gemm_rate -ldnnl
//   gemm_rate [--m 1576 --k 768 --n 3072] [--threads T] [--reps 20] [--bf16]
//
// dst[M,N] (f32) = src[M,K] x weights[K,N]. Weights are created in format_tag::any and reordered
// once (as an engine does at load), the scratchpad is user-provided, 3 warm-up calls, then the median
// of --reps timed calls. --bf16: src and weights bf16, dst f32. Prints one JSON object per precision.
// Default shape: ViT-B/16 fc1 at batch 8 (8 x 197 tokens, 768 -> 3072).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <dnnl.hpp>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

static void fill(memory& m, size_t n, dt type, unsigned seed) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    void* p = m.get_data_handle();
    if (type == dt::f32) {
        float* f = static_cast<float*>(p);
        for (size_t i = 0; i < n; ++i) f[i] = u(g);
    } else {  // bf16: upper half of the f32 bits
        uint16_t* b = static_cast<uint16_t*>(p);
        for (size_t i = 0; i < n; ++i) {
            float v = u(g);
            uint32_t bits;
            std::memcpy(&bits, &v, 4);
            b[i] = uint16_t(bits >> 16);
        }
    }
}

static double run(engine& eng, stream& s, memory::dim M, memory::dim K, memory::dim N, dt in_type, int reps,
                  std::string& impl) {
    memory::desc src_md({M, K}, in_type, tag::ab);
    memory::desc w_any({K, N}, in_type, tag::any);
    memory::desc w_user({K, N}, in_type, tag::ab);
    memory::desc dst_md({M, N}, dt::f32, tag::ab);
    primitive_attr attr;
    attr.set_scratchpad_mode(scratchpad_mode::user);
    matmul::primitive_desc pd(matmul::desc(src_md, w_any, dst_md), attr, eng);
    impl = pd.impl_info_str();

    memory src(src_md, eng), w_plain(w_user, eng), dst(dst_md, eng);
    fill(src, size_t(M * K), in_type, 1);
    fill(w_plain, size_t(K * N), in_type, 2);
    memory w = w_plain;
    if (pd.weights_desc() != w_user) {  // reorder once into the layout the kernel wants
        w = memory(pd.weights_desc(), eng);
        reorder(w_plain, w).execute(s, w_plain, w);
    }
    memory scratch(pd.scratchpad_desc(), eng);
    matmul mm(pd);
    auto exec = [&] {
        mm.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, scratch}});
        s.wait();
    };
    for (int i = 0; i < 3; ++i) exec();
    std::vector<double> ms;
    for (int i = 0; i < reps; ++i) {
        auto t = std::chrono::steady_clock::now();
        exec();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
}

int main(int argc, char** argv) {
    memory::dim M = 1576, K = 768, N = 3072;
    int threads = 0, reps = 20;
    bool bf16 = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> long {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "gemm_rate: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return std::atol(argv[++i]);
        };
        if (a == "--m") M = next();
        else if (a == "--k") K = next();
        else if (a == "--n") N = next();
        else if (a == "--threads") threads = int(next());
        else if (a == "--reps") reps = int(next());
        else if (a == "--bf16") bf16 = true;
        else {
            std::fprintf(stderr, "gemm_rate: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (threads > 0) omp_set_num_threads(threads);
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const double flop = 2.0 * double(M) * double(K) * double(N);
    int rc = 0;
    for (dt type : bf16 ? std::vector<dt>{dt::f32, dt::bf16} : std::vector<dt>{dt::f32}) {
        const char* name = type == dt::f32 ? "f32" : "bf16";
        try {
            std::string impl;
            const double med = run(eng, s, M, K, N, type, reps, impl);
            std::printf("{\"precision\": \"%s\", \"m\": %ld, \"k\": %ld, \"n\": %ld, \"threads\": %d, \"reps\": %d, "
                        "\"median_ms\": %.4f, \"gflops\": %.2f, \"impl\": \"%s\"}\n",
                        name, long(M), long(K), long(N), omp_get_max_threads(), reps, med, flop / (med * 1e6),
                        impl.c_str());
        } catch (const dnnl::error& e) {
            std::fprintf(stderr, "gemm_rate: %s matmul failed: %s (status %d)\n", name, e.what(), int(e.status));
            rc = 1;
        }
    }
    return rc;
}
