// Dynamic batcher: gathers the images of concurrent requests for one model into batches of up to
// max_batch, waiting at most max_queue_delay for a batch to fill, and runs them on the model's
// Engine from one worker thread (Engine::run is serialised anyway).
//
// The queue is bounded (max_queue images): submit() refuses at once when a request does not fit,
// so the HTTP layer can answer 503 instead of letting memory grow. A request's images stay in
// the queue in order and may be split across consecutive batches.
//
// Results are those of a batch-1 run: on AVX-512 CPUs oneDNN's f32 matmul gives every row the same
// bits whatever the number of rows (measured: batch 2..16 vs 1, all identical); on AVX2-only CPUs
// rows differ from batch 1 by up to ~1e-5 absolute in the logits. --max-batch 1 gives batch-1 bits
// everywhere.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve/metrics.hpp"
#include "vitrt/vitrt.hpp"

namespace vitrt::serve {

struct BatcherOptions {
    int max_batch = 8;
    int max_queue_delay_us = 2000;
    int max_queue = 256;  // images waiting, all requests together
};

// One request's images (input filled by the caller) and, once wait() returns, their outputs.
class Job {
public:
    Job(int images, size_t floats_per_image, size_t outputs_per_image);
    int images() const { return images_; }
    float* input(int i) { return input_.data() + size_t(i) * per_image_; }
    const float* output(int i) const { return output_.data() + size_t(i) * out_per_image_; }
    void wait();
    const std::string& error() const { return error_; }  // non-empty when the engine failed

private:
    friend class Batcher;
    void finish_one(const std::string& error);
    int images_;
    size_t per_image_;
    size_t out_per_image_;
    std::vector<float> input_, output_;
    std::mutex mutex_;
    std::condition_variable cv_;
    int remaining_;
    std::string error_;
};

class Batcher {
public:
    using Clock = std::chrono::steady_clock;
    // One batcher per (model, output): logits, or embedding (Engine::run's Output).
    Batcher(Engine& engine, std::string model, Output what, const BatcherOptions& options, Metrics& metrics);
    Output output() const { return what_; }
    size_t output_size() const { return out_per_image_; }
    ~Batcher();  // stop(): runs what is queued, then joins
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    // Queues every image of the job, or none and returns false when they do not fit.
    bool submit(const std::shared_ptr<Job>& job);
    size_t depth() const;
    // Whether `images` more would fit now (a hint: submit() decides). Lets a request be refused
    // before the work of decoding it.
    bool has_room(int images) const;
    void stop();
    static void declare_metrics(Metrics& metrics, int max_batch);

private:
    struct Item {
        std::shared_ptr<Job> job;
        int index;
        Clock::time_point enqueued;
    };
    void loop();
    void run_batch(std::vector<Item>& items);

    Engine& engine_;
    std::string model_;
    Output what_;
    size_t out_per_image_;
    Labels labels_;  // model, output
    BatcherOptions options_;
    Metrics& metrics_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    std::vector<float> input_, output_;  // the batch, max_batch images
    std::thread worker_;
};

}  // namespace vitrt::serve
