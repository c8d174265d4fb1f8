// Plan once, run many: a planned forward (same batch size as an earlier run) allocates nothing.
//
// This test binary interposes the C allocation entry points (glibc's __libc_* do the work), so an
// allocation made anywhere in the process (vitrt, libstdc++'s operator new, libgomp, oneDNN) is
// seen, from any thread. It also interposes oneDNN's dnnl_primitive_execute: oneDNN 2.6 builds a
// small std::unordered_map of the call's arguments inside every primitive execution (its
// exec_args_t; not something a caller can avoid), so allocations made while a oneDNN primitive
// executes are counted apart. Asserted: zero allocations outside oneDNN's primitive execution, and
// none of 1 KiB or more anywhere (activations, scratchpads, packed weights and kernels are all
// made by the first run of a plan).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <string>
#include <vector>

#include <dnnl.h>

#include "backends/cpu/gemm_onednn.hpp"
#include "common/test_env.hpp"
#include "vitrt/vitrt.hpp"

namespace {
std::atomic<bool> g_count{false};
std::atomic<int> g_in_onednn{0};  // > 0 while dnnl_primitive_execute runs (the engine calls it from one thread)
std::atomic<long> g_ours{0}, g_onednn{0}, g_large{0}, g_largest{0};

inline void note_alloc(size_t n) {
    if (!g_count.load(std::memory_order_relaxed)) return;
    (g_in_onednn.load(std::memory_order_relaxed) > 0 ? g_onednn : g_ours).fetch_add(1, std::memory_order_relaxed);
    if (n >= 1024) g_large.fetch_add(1, std::memory_order_relaxed);
    long prev = g_largest.load(std::memory_order_relaxed);
    while (long(n) > prev && !g_largest.compare_exchange_weak(prev, long(n))) {
    }
}
}  // namespace

// Under AddressSanitizer (scripts/test-asan.sh) ASan owns malloc: interposing it here would
// hand ASan-unknown pointers to its free(). The counting hooks are left out and the tests skip.
#if defined(__SANITIZE_ADDRESS__)
#define VITRT_NO_ALLOC_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VITRT_NO_ALLOC_HOOKS 1
#endif
#endif

#ifndef VITRT_NO_ALLOC_HOOKS
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void* malloc(size_t n) {
    note_alloc(n);
    return __libc_malloc(n);
}
void* calloc(size_t n, size_t s) {
    note_alloc(n * s);
    return __libc_calloc(n, s);
}
void* realloc(void* p, size_t n) {
    note_alloc(n);
    return __libc_realloc(p, n);
}
void* memalign(size_t a, size_t n) {
    note_alloc(n);
    return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) {
    note_alloc(n);
    return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) {
    note_alloc(n);
    void* p = __libc_memalign(a, n);
    if (!p) return 12;  // ENOMEM
    *out = p;
    return 0;
}
dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t s, int nargs, const dnnl_exec_arg_t* args) {
    using Fn = dnnl_status_t (*)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t*);
    static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "dnnl_primitive_execute"));
    if (!real) return dnnl_runtime_error;
    g_in_onednn.fetch_add(1);
    const dnnl_status_t st = real(p, s, nargs, args);
    g_in_onednn.fetch_sub(1);
    return st;
}
}
#endif  // VITRT_NO_ALLOC_HOOKS

namespace vitrt {
namespace {

struct Counts {
    long ours, onednn, large, largest;  // totals over the 6 counted forwards
};

// Runs batch sizes 1 and 2 until planned, then counts three more rounds of both.
Counts count_steady_state(Engine& e, const std::vector<float>& input) {
    std::vector<float> logits(size_t(2 * e.num_classes()));
    // Plans, primitives, packed weights; twice, since a primitive created for batch 2 may grow the
    // shared scratchpad, which batch 1's primitives then re-point to once.
    for (int r = 0; r < 2; ++r)
        for (int b : {1, 2}) e.run(input.data(), b, logits.data());
    g_ours = 0, g_onednn = 0, g_large = 0, g_largest = 0;
    g_count = true;
    for (int r = 0; r < 3; ++r)
        for (int b : {1, 2}) e.run(input.data(), b, logits.data());
    g_count = false;
    return {g_ours.load(), g_onednn.load(), g_large.load(), g_largest.load()};
}

void expect_no_allocation(const std::string& what, Engine& e, const std::vector<float>& input) {
#ifdef VITRT_NO_ALLOC_HOOKS
    GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
#endif
    const Counts c = count_steady_state(e, input);
    std::cout << "[ allocs   ] " << what << ": " << c.ours / 6.0 << " per forward outside oneDNN, " << c.onednn / 6.0
              << " inside oneDNN's primitive execution (its argument maps), largest " << c.largest << " bytes\n";
    EXPECT_EQ(c.ours, 0) << what << ": heap allocations in 6 planned forwards";
    EXPECT_EQ(c.large, 0) << what << ": buffers allocated in a planned forward (largest " << c.largest << " bytes)";
}

std::vector<float> random_input(const Engine& e) {
    std::vector<float> x(size_t(2 * 3 * e.input_height() * e.input_width()));
    uint32_t s = 12345;
    for (float& v : x) {
        s = s * 1664525u + 1013904223u;
        v = float(s >> 8) / float(1u << 24) * 4.f - 2.f;
    }
    return x;
}

const std::string kBundledVit = std::string(VITRT_TEST_SOURCE_DIR) + "/models/vit_tiny_patch16_224";

// The cpu backend (the ref backend is a scalar oracle and allocates its temporaries freely).
TEST(SteadyState, VitForwardDoesNotAllocate) {
    auto e = Engine::load(kBundledVit, {.device = "cpu"});
    expect_no_allocation("vit_tiny_patch16_224 cpu", *e, random_input(*e));
}

TEST(SteadyState, VitBf16ForwardDoesNotAllocate) {
    if (!cpu::cpu_has_native_bf16()) GTEST_SKIP() << "this CPU has neither AVX512-BF16 nor AMX";
    auto e = Engine::load(kBundledVit, {.device = "cpu", .precision = "bf16"});
    expect_no_allocation("vit_tiny_patch16_224 cpu bf16", *e, random_input(*e));
}

// Integer linear layers: activation quantization buffers, per-token scales and the dequantized
// weight scratch (w8, w4) are sized by the first run of a plan too.
TEST(SteadyState, VitIntegerForwardDoesNotAllocate) {
    for (const char* p : {"w8a8-dynamic", "w8", "w4"}) {
        auto e = Engine::load(kBundledVit, {.device = "cpu", .precision = p});
        expect_no_allocation(std::string("vit_tiny_patch16_224 cpu ") + p, *e, random_input(*e));
    }
}

TEST(SteadyState, FastVitForwardDoesNotAllocate) {
    VITRT_REQUIRE_SHARED_DATA();
    for (const char* name : {"fastvit_t8", "fastvit_sa12"}) {
        const std::string dir = test::shared_data() + "/reference/" + name;
        for (const char* file : {"/model_reparam.safetensors", "/model.safetensors"}) {
            auto e = Engine::load(dir + file);
            expect_no_allocation(std::string(name) + file, *e, test::read_f32(dir + "/input.bin"));
        }
    }
}

}  // namespace
}  // namespace vitrt
