#include "backends/cuda/launch_queue.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backends/cuda/cuda_check.hpp"

namespace vitrt::cuda {
namespace {

uint64_t hash_key(const std::vector<uint64_t>& key) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ key.size();
    for (uint64_t v : key) {  // splitmix64 finaliser per word
        h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
        h ^= h >> 30;
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 27;
        h *= 0x94D049BB133111EBull;
        h ^= h >> 31;
    }
    return h;
}

}  // namespace

LaunchQueue::LaunchQueue(cudaStream_t stream) : stream_(stream) {
    if (const char* g = std::getenv("VITRT_CUDA_GRAPHS"); g && std::strcmp(g, "0") == 0) graphs_allowed_ = false;
    pending_.reserve(1024);
    key_.reserve(16384);
    held_.reserve(1024);
}

LaunchQueue::~LaunchQueue() {
    for (auto& [h, g] : graphs_) cudaGraphExecDestroy(g.exec);
}

void LaunchQueue::set_graphs(bool on) {
    flush();
    graphs_on_ = on;
}

void LaunchQueue::enqueue(std::initializer_list<uint64_t> key, Launch fn) {
    if (!graphs()) {
        fn(stream_);
        return;
    }
    key_.push_back(~uint64_t(0));  // op separator
    key_.insert(key_.end(), key);
    pending_.push_back(std::move(fn));
}

void LaunchQueue::moved(const void* from, const void* to) {
    if (graphs() && from) moves_.emplace_back(uint64_t(reinterpret_cast<uintptr_t>(from)), uint64_t(reinterpret_cast<uintptr_t>(to)));
}

void LaunchQueue::clear_pending() {
    pending_.clear();
    key_.clear();
    moves_.clear();
}

void LaunchQueue::flush() {
    if (pending_.empty()) {
        moves_.clear();
        return;
    }
    try {
        const uint64_t h = hash_key(key_);
        if (auto it = graphs_.find(h); it != graphs_.end() && it->second.key == key_) {
            it->second.last_use = ++tick_;
            VITRT_CUDA_CHECK(cudaGraphLaunch(it->second.exec, stream_));
            ++stats_.replayed;
        } else if (seen_.count(h)) {
            capture_and_launch(h);
            ++stats_.captured;
        } else {
            for (auto& f : pending_) f(stream_);
            ++stats_.eager;
            // Remember the sequence as the next run will record it: with grown scratch's new
            // addresses (old buffers are held until the stream is idle, so no other allocation can
            // share an old address within this sequence).
            for (const auto& [from, to] : moves_) std::replace(key_.begin(), key_.end(), from, to);
            if (seen_.size() >= kMaxSeen) seen_.clear();
            seen_.insert(moves_.empty() ? h : hash_key(key_));
        }
    } catch (...) {
        clear_pending();
        throw;
    }
    clear_pending();
}

void LaunchQueue::capture_and_launch(uint64_t hash) {
    cudaGraph_t graph = nullptr;
    VITRT_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    try {
        for (auto& f : pending_) f(stream_);
    } catch (...) {
        cudaStreamEndCapture(stream_, &graph);
        if (graph) cudaGraphDestroy(graph);
        cudaGetLastError();
        throw;
    }
    VITRT_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    check_cuda(e, "cudaGraphInstantiate");
    auto old = graphs_.find(hash);  // a hash collision: the newer sequence wins
    if (old == graphs_.end() && graphs_.size() >= kMaxGraphs)  // evict the least recently used
        old = std::min_element(graphs_.begin(), graphs_.end(),
                               [](const auto& a, const auto& b) { return a.second.last_use < b.second.last_use; });
    if (old != graphs_.end()) {
        VITRT_CUDA_CHECK(cudaStreamSynchronize(stream_));
        cudaGraphExecDestroy(old->second.exec);
        graphs_.erase(old);
    }
    Graph& g = graphs_[hash];
    g.key = key_;
    g.exec = exec;
    g.last_use = ++tick_;
    seen_.erase(hash);
    VITRT_CUDA_CHECK(cudaGraphLaunch(exec, stream_));
}

}  // namespace vitrt::cuda
