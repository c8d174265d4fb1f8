// The cuda backend's launch queue and CUDA-graph cache: plan once, run many.
//
// Ops do not launch when called. Each op checks its arguments at once (errors are thrown at the
// call) and appends a launch to the queue with a key: the op and everything that reaches the GPU
// (pointers, shapes, dtypes, scalars, cuBLASLt plan), as 64-bit words, never strings. flush() runs
// the queue: the first time a key sequence is seen it runs eagerly; the second time it is captured
// as a CUDA graph; from then on that graph is replayed. Graphs are found by a 64-bit hash of the
// key sequence and confirmed by comparing the whole sequence, so equal keys mean equal launches and
// a replay can never differ from the eager run (a hash collision only costs a capture).
//
// Scratch that grows while a sequence is recorded (the backend's conversion / im2col buffers, sized
// by the largest request) changes the pointers of the ops after the growth, so the next run of the
// same forward would differ from the first. moved() tells the queue; the key remembered for the
// eager run is rewritten to the new pointers, which is what the next run records: run 1 eager,
// run 2 captured, run 3 replayed. (Only the decision to capture uses the rewritten key; a graph is
// always captured from, and keyed by, the launches it replays.)
//
// Lifetime: hold() keeps what a queued launch reads (prepared weights, retired scratch) alive until
// release_finished(), which the backend calls once the stream is idle, so a weight prepared as a
// temporary and passed to an op cannot be freed before the launch that reads it has run.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace vitrt::cuda {

class LaunchQueue {
public:
    using Launch = std::function<void(cudaStream_t)>;

    explicit LaunchQueue(cudaStream_t stream);
    ~LaunchQueue();
    LaunchQueue(const LaunchQueue&) = delete;
    LaunchQueue& operator=(const LaunchQueue&) = delete;

    // Graphs on (default; VITRT_CUDA_GRAPHS=0 turns them off for the process) or off: every launch
    // then runs at its call. Turning them off flushes what is queued first.
    void set_graphs(bool on);
    bool graphs() const { return graphs_on_ && graphs_allowed_; }

    void enqueue(std::initializer_list<uint64_t> key, Launch fn);
    void hold(std::shared_ptr<const void> what) { held_.push_back(std::move(what)); }
    // A scratch buffer in use by this sequence was replaced by a larger one.
    void moved(const void* from, const void* to);
    void flush();
    // The stream is idle: drop what was held for finished launches.
    void release_finished() { held_.clear(); }

    struct Stats {
        long eager = 0, captured = 0, replayed = 0;
    };
    const Stats& stats() const { return stats_; }

private:
    struct Graph {
        std::vector<uint64_t> key;
        cudaGraphExec_t exec = nullptr;
        uint64_t last_use = 0;
    };
    static constexpr size_t kMaxGraphs = 32;
    static constexpr size_t kMaxSeen = 256;

    void capture_and_launch(uint64_t hash);
    void clear_pending();

    cudaStream_t stream_;
    bool graphs_on_ = true;       // set_graphs()
    bool graphs_allowed_ = true;  // VITRT_CUDA_GRAPHS != 0
    std::vector<Launch> pending_;
    std::vector<uint64_t> key_;
    std::vector<std::pair<uint64_t, uint64_t>> moves_;  // (old, new) scratch addresses, in order
    std::unordered_set<uint64_t> seen_;                 // hashes of sequences run eagerly once
    std::unordered_map<uint64_t, Graph> graphs_;
    std::vector<std::shared_ptr<const void>> held_;
    uint64_t tick_ = 0;
    Stats stats_;
};

}  // namespace vitrt::cuda
