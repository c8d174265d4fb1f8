#include "serve/batcher.hpp"

#include <algorithm>
#include <cstring>

namespace vitrt::serve {

Job::Job(int images, size_t floats_per_image, size_t outputs_per_image)
    : images_(images), per_image_(floats_per_image), out_per_image_(outputs_per_image),
      input_(size_t(images) * floats_per_image), output_(size_t(images) * outputs_per_image), remaining_(images) {}

void Job::wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return remaining_ == 0; });
}

void Job::finish_one(const std::string& error) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error.empty() && error_.empty()) error_ = error;
    if (--remaining_ == 0) cv_.notify_all();
}

void Batcher::declare_metrics(Metrics& m, int max_batch) {
    m.declare("vitrt_inference_count_total", "Images inferred (sum of batch sizes)", "counter");
    m.declare("vitrt_execution_count_total", "Engine runs (batches); inference/execution = average batch size", "counter");
    m.declare("vitrt_queue_depth", "Images waiting in the batcher queue", "gauge");
    std::vector<double> sizes;
    for (int b = 1; b <= max_batch; b *= 2) sizes.push_back(b);
    if (sizes.back() != max_batch) sizes.push_back(max_batch);
    m.declare("vitrt_batch_size", "Images per engine run", "histogram", sizes);
    m.declare("vitrt_queue_wait_seconds", "Time an image waited in the batcher queue", "histogram", Metrics::latency_buckets());
    m.declare("vitrt_compute_seconds", "Engine run time per batch", "histogram", Metrics::latency_buckets());
}

Batcher::Batcher(Engine& engine, std::string model, Output what, const BatcherOptions& options, Metrics& metrics)
    : engine_(engine), model_(std::move(model)), what_(what), out_per_image_(engine.output_size(what)),
      labels_{{"model", model_}, {"output", what == Output::embedding ? "embedding" : "logits"}},
      options_(options), metrics_(metrics),
      input_(size_t(options.max_batch) * engine.input_size()),
      output_(size_t(options.max_batch) * out_per_image_) {
    metrics_.set("vitrt_queue_depth", labels_, 0);
    for (const char* name : {"vitrt_inference_count_total", "vitrt_execution_count_total", "vitrt_batch_size",
                             "vitrt_queue_wait_seconds", "vitrt_compute_seconds"})
        metrics_.touch(name, labels_);
    worker_ = std::thread([this] { loop(); });
}

Batcher::~Batcher() { stop(); }

void Batcher::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

bool Batcher::submit(const std::shared_ptr<Job>& job) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_ || queue_.size() + size_t(job->images()) > size_t(options_.max_queue)) return false;
        const auto now = Clock::now();
        for (int i = 0; i < job->images(); ++i) queue_.push_back(Item{job, i, now});
        metrics_.set("vitrt_queue_depth", labels_, double(queue_.size()));
    }
    cv_.notify_all();
    return true;
}

size_t Batcher::depth() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return queue_.size();
}

bool Batcher::has_room(int images) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return !stopping_ && queue_.size() + size_t(images) <= size_t(options_.max_queue);
}

void Batcher::loop() {
    const size_t max_batch = size_t(options_.max_batch);
    const auto delay = std::chrono::microseconds(options_.max_queue_delay_us);
    std::vector<Item> batch;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
            if (queue_.empty()) return;  // stopping, nothing left
            // The oldest image waits at most `delay` for others to join it; a draining server
            // does not wait at all.
            const auto deadline = queue_.front().enqueued + delay;
            cv_.wait_until(lock, deadline, [&] { return queue_.size() >= max_batch || stopping_; });
            const size_t n = std::min(queue_.size(), max_batch);
            batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + long(n)));
            queue_.erase(queue_.begin(), queue_.begin() + long(n));
            metrics_.set("vitrt_queue_depth", labels_, double(queue_.size()));
        }
        run_batch(batch);
        batch.clear();
    }
}

void Batcher::run_batch(std::vector<Item>& items) {
    const Labels& labels = labels_;
    const size_t per = engine_.input_size();
    const size_t outs = out_per_image_;
    const auto start = Clock::now();
    for (size_t i = 0; i < items.size(); ++i) {
        std::memcpy(input_.data() + i * per, items[i].job->input(items[i].index), per * sizeof(float));
        metrics_.observe("vitrt_queue_wait_seconds", labels, std::chrono::duration<double>(start - items[i].enqueued).count());
    }
    std::string error;
    try {
        engine_.run(input_.data(), int(items.size()), output_.data(), what_);
    } catch (const std::exception& e) {
        error = e.what();
        if (error.empty()) error = "inference failed";
    }
    const double compute = std::chrono::duration<double>(Clock::now() - start).count();
    metrics_.observe("vitrt_compute_seconds", labels, compute);
    metrics_.observe("vitrt_batch_size", labels, double(items.size()));
    metrics_.add("vitrt_execution_count_total", labels);
    metrics_.add("vitrt_inference_count_total", labels, double(items.size()));
    for (size_t i = 0; i < items.size(); ++i) {
        Job& job = *items[i].job;
        if (error.empty())
            std::memcpy(job.output_.data() + size_t(items[i].index) * outs, output_.data() + i * outs,
                        outs * sizeof(float));
        job.finish_one(error);
    }
}

}  // namespace vitrt::serve
