#include "serve/server.hpp"

#include <malloc.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <algorithm>
#include <semaphore>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>

#include <httplib.h>

#include "serve/protocol.hpp"

namespace vitrt::serve {
namespace {

using Clock = std::chrono::steady_clock;
using httplib::Request;
using httplib::Response;

struct Model {
    std::string name, path, precision;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<Batcher> batcher;        // logits
    std::unique_ptr<Batcher> embed_batcher;  // pooled features; null when the model has none
    Batcher& for_output(bool embedding) {
        if (embedding && !embed_batcher) throw ClientError(400, "model " + name + " has no embedding output");
        return embedding ? *embed_batcher : *batcher;
    }
};

void log_line(const std::string& s) {
    std::fprintf(stderr, "vitrt serve: %s\n", s.c_str());
    std::fflush(stderr);
}

// Counts requests that are inside an inference handler (the drain waits for zero).
struct InflightGuard {
    explicit InflightGuard(std::atomic<int>& n) : n(n) { ++n; }
    ~InflightGuard() { --n; }
    std::atomic<int>& n;
};

int parse_int_param(const Request& req, const char* key, int lo, int hi, int fallback) {
    return req.has_param(key) ? serve::parse_int_param(key, req.get_param_value(key), lo, hi) : fallback;
}

// The request body, or its multipart parts in order. Content readers (rather than httplib's
// buffered body) so that no Content-Type changes the limits (httplib caps form-urlencoded bodies,
// curl's default for -d, at 8 KiB) and multipart parts keep their order. Throws 413 past max_bytes.
struct Body {
    std::string bytes;
    std::vector<httplib::MultipartFormData> parts;
    bool multipart = false;
};

Body read_body(const Request& req, Response& res, const httplib::ContentReader& reader, size_t max_bytes) {
    Body b;
    size_t total = 0;
    bool too_large = false;
    auto room = [&](size_t n) {
        total += n;
        too_large = total > max_bytes;
        return !too_large;
    };
    bool ok;
    if (req.is_multipart_form_data()) {
        b.multipart = true;
        ok = reader(
            [&](const httplib::MultipartFormData& part) {
                if (b.parts.size() >= 1024) return false;
                b.parts.push_back(part);
                return true;
            },
            [&](const char* data, size_t n) {
                if (!room(n) || b.parts.empty()) return false;
                b.parts.back().content.append(data, n);
                return true;
            });
    } else {
        ok = reader([&](const char* data, size_t n) {
            if (!room(n)) return false;
            b.bytes.append(data, n);
            return true;
        });
    }
    if (too_large || res.status == 413)
        throw ClientError(413, "request body larger than --max-body-mb (" + std::to_string(max_bytes >> 20) + " MiB)");
    if (!ok) throw ClientError(400, "could not read the request body (malformed, truncated or too many multipart parts)");
    return b;
}

class Server {
public:
    explicit Server(const ServeOptions& o)
        : opt_(o), decode_slots_(o.decode_concurrency > 0 ? o.decode_concurrency
                                                          : std::max(1, int(std::thread::hardware_concurrency()) / 2)) {}
    int run(const sigset_t& signals);

private:
    void load_models();
    void routes();
    Model& model_of(const Request& req);  // path match 1; ClientError 404 when unknown
    std::string model_label(const std::string& path) const;
    template <class F>
    void guarded(const Request& req, Response& res, F&& body);
    template <class F>
    void inference(const Request& req, Response& res, F&& body);
    void run_job(Batcher& b, const std::shared_ptr<Job>& job);
    void refuse_if_full(Batcher& b, int images);  // 503 before any decoding work
    void infer(const Request& req, Response& res, const httplib::ContentReader& reader);
    // /v1 classify (embed = false) and embed: encoded images in, one JSON object per image out.
    void images(const Request& req, Response& res, const httplib::ContentReader& reader, bool embed);

    size_t max_body_bytes() const { return size_t(opt_.max_body_mb) << 20; }

    const ServeOptions& opt_;
    std::map<std::string, std::unique_ptr<Model>> models_;
    Metrics metrics_;
    httplib::Server http_;
    int listen_fd_ = -1;  // the listening socket, to raise its backlog after bind
    std::atomic<bool> draining_{false};
    std::atomic<int> inflight_{0};
    // Decoding is bounded: dozens of HTTP threads decoding at once preempt the engine's OpenMP
    // team mid-region (every barrier then waits for a descheduled thread).
    std::counting_semaphore<1024> decode_slots_;
};

void Server::load_models() {
    std::vector<ModelSpec> specs = opt_.models;
    if (specs.empty()) specs.push_back({"", default_model_path()});
    for (const auto& s : specs) {
        auto m = std::make_unique<Model>();
        m->path = s.path;
        m->precision = opt_.engine.precision;
        const auto t0 = Clock::now();
        m->engine = Engine::load(s.path, opt_.engine);
        m->name = s.name;
        if (m->name.empty()) m->name = m->engine->info().architecture;
        if (m->name.empty()) m->name = std::filesystem::path(s.path).stem().string();
        check(m->name.find('/') == std::string::npos && !m->name.empty(),
              "--model " + s.path + ": model name \"" + m->name + "\" is not usable in a URL; give one with NAME=PATH");
        check(!models_.count(m->name), "--model: two models are named \"" + m->name + "\"; give names with NAME=PATH");
        // Warm up every batch size the batcher can form: plans are built once, not on a request.
        std::vector<float> in(m->engine->input_size() * size_t(opt_.batcher.max_batch), 0.f);
        for (int b = 1; b <= opt_.batcher.max_batch; ++b) (void)m->engine->run(in.data(), b);
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        m->batcher = std::make_unique<Batcher>(*m->engine, m->name, Output::logits, opt_.batcher, metrics_);
        try {  // a model without pooled features simply has no /embed (its plans are built on first use)
            m->embed_batcher = std::make_unique<Batcher>(*m->engine, m->name, Output::embedding, opt_.batcher, metrics_);
        } catch (const std::exception&) {
        }
        metrics_.touch("vitrt_request_duration_seconds", {{"model", m->name}});
        const ModelInfo& info = m->engine->info();
        char buf[128];
        std::snprintf(buf, sizeof buf, "%.1f s", secs);
        log_line("model " + m->name + ": " + info.architecture + " from " + s.path + ", precision " + m->precision +
                 ", device " + opt_.engine.device + " (" + info.backend + "), threads " +
                 (opt_.engine.threads ? std::to_string(opt_.engine.threads) : std::string("all")) + ", max_batch " +
                 std::to_string(opt_.batcher.max_batch) + ", max_queue_delay_us " +
                 std::to_string(opt_.batcher.max_queue_delay_us) + ", max_queue " +
                 std::to_string(opt_.batcher.max_queue) + " (loaded and warmed up in " + buf + ")");
        models_[m->name] = std::move(m);
    }
}

std::string Server::model_label(const std::string& path) const {
    // Only names of loaded models become label values: clients cannot grow the series set.
    for (const char* prefix : {"/v2/models/", "/v1/models/"}) {
        if (path.rfind(prefix, 0) != 0) continue;
        const size_t start = std::char_traits<char>::length(prefix);
        const std::string name = path.substr(start, path.find('/', start) - start);
        return models_.count(name) ? name : "";
    }
    return "";
}

Model& Server::model_of(const Request& req) {
    const std::string name = req.matches[1];
    auto it = models_.find(name);
    if (it == models_.end()) {
        std::string known;
        for (const auto& [n, m] : models_) known += (known.empty() ? "" : ", ") + n;
        throw ClientError(404, "unknown model \"" + name + "\"; this server has: " + known);
    }
    return *it->second;
}

template <class F>
void Server::guarded(const Request& req, Response& res, F&& body) {
    try {
        body();
    } catch (const ClientError& e) {
        res.status = e.status;
        if (e.status == 503) res.set_header("Retry-After", "1");
        res.set_content(error_json(e.what()), "application/json");
    } catch (const std::exception& e) {
        res.status = 500;
        res.set_content(error_json(std::string("internal error: ") + e.what()), "application/json");
    }
}

template <class F>
void Server::inference(const Request& req, Response& res, F&& body) {
    const auto t0 = Clock::now();
    InflightGuard guard(inflight_);
    std::string name;
    guarded(req, res, [&] {
        Model& m = model_of(req);
        name = m.name;
        if (draining_) throw ClientError(503, "server is shutting down");
        body(m);
    });
    if (!name.empty())
        metrics_.observe("vitrt_request_duration_seconds", {{"model", name}},
                         std::chrono::duration<double>(Clock::now() - t0).count());
}

void Server::refuse_if_full(Batcher& b, int images) {
    if (!b.has_room(images))
        throw ClientError(503, "queue full: " + std::to_string(b.depth()) + " images waiting (--max-queue " +
                                   std::to_string(opt_.batcher.max_queue) + "); retry later");
}

void Server::run_job(Batcher& b, const std::shared_ptr<Job>& job) {
    if (!b.submit(job))
        throw ClientError(503, "queue full: " + std::to_string(b.depth()) + " images waiting (--max-queue " +
                                   std::to_string(opt_.batcher.max_queue) + "); retry later");
    job->wait();
    if (!job->error().empty()) throw std::runtime_error(job->error());
}

void Server::infer(const Request& req, Response& res, const httplib::ContentReader& reader) {
    inference(req, res, [&](Model& m) {
        Engine& e = *m.engine;
        Body body = read_body(req, res, reader, max_body_bytes());
        if (body.multipart) throw ClientError(415, "Content-Type multipart/form-data: send the infer request as JSON");
        refuse_if_full(*m.batcher, 1);
        InferRequest r = parse_infer_request(body.bytes, input_spec(e), opt_.batcher.max_queue, m.embed_batcher != nullptr);
        body = {};
        Batcher& b = m.for_output(r.embedding);
        auto job = std::make_shared<Job>(r.batch, e.input_size(), b.output_size());
        for (int i = 0; i < r.batch; ++i)
            std::copy_n(r.data.data() + size_t(i) * e.input_size(), e.input_size(), job->input(i));
        r.data = {};
        run_job(b, job);
        std::vector<const float*> outputs;
        for (int i = 0; i < r.batch; ++i) outputs.push_back(job->output(i));
        res.set_content(infer_response(m.name, r, e, outputs, b.output_size()), "application/json");
    });
}

void Server::images(const Request& req, Response& res, const httplib::ContentReader& reader, bool embed) {
    inference(req, res, [&](Model& m) {
        Engine& e = *m.engine;
        Batcher& b = m.for_output(embed);
        const int k = parse_int_param(req, "top_k", 1, e.num_classes(), 5);
        const bool with_logits = req.has_param("logits") && req.get_param_value("logits") != "0" &&
                                 req.get_param_value("logits") != "false";
        struct Image {
            std::string name;
            const std::string* bytes;
        };
        std::vector<Image> images;
        const bool multipart = req.is_multipart_form_data();
        if (!multipart) {
            const std::string type = req.get_header_value("Content-Type");
            if (!type.empty() && type.rfind("image/", 0) != 0 && type.rfind("application/octet-stream", 0) != 0)
                throw ClientError(415, "Content-Type " + type +
                                           ": send the JPEG/PNG bytes as image/jpeg, image/png or "
                                           "application/octet-stream, or a multipart/form-data file");
        }
        const Body body = read_body(req, res, reader, max_body_bytes());
        if (multipart) {
            for (const auto& part : body.parts)
                if (!part.filename.empty() || part.content_type.rfind("image/", 0) == 0)
                    images.push_back({part.filename.empty() ? part.name : part.filename, &part.content});
            if (images.empty()) throw ClientError(400, "multipart body has no file part; send the image as a file field");
        } else {
            if (body.bytes.empty()) throw ClientError(400, "empty body: POST the JPEG/PNG bytes");
            images.push_back({req.has_param("name") ? req.get_param_value("name") : std::string("image"), &body.bytes});
        }
        if (int(images.size()) > opt_.batcher.max_queue)
            throw ClientError(400, "too many images in one request (" + std::to_string(images.size()) +
                                       "; at most --max-queue " + std::to_string(opt_.batcher.max_queue) + ")");
        refuse_if_full(b, int(images.size()));
        auto job = std::make_shared<Job>(int(images.size()), e.input_size(), b.output_size());
        for (size_t i = 0; i < images.size(); ++i) {
            decode_slots_.acquire();
            struct Release {
                std::counting_semaphore<1024>& s;
                ~Release() { s.release(); }
            } release{decode_slots_};
            // The server's decoding parallelism is across requests. A large photo would otherwise
            // make this HTTP thread start its own OpenMP team for the resize: a team per HTTP
            // thread (up to --http-threads of them, kept for the process' life) competing with the
            // engine's team for the cores.
            static thread_local const bool serial = (omp_set_num_threads(1), true);
            (void)serial;
            try {  // decode + preprocess here, on the HTTP thread, in parallel with other requests
                e.preprocess_encoded(reinterpret_cast<const unsigned char*>(images[i].bytes->data()),
                                     images[i].bytes->size(), images[i].name, job->input(int(i)));
            } catch (const std::exception& err) {
                throw ClientError(400, err.what());
            }
        }
        run_job(b, job);
        std::string out = multipart ? "[" : "";
        for (size_t i = 0; i < images.size(); ++i) {
            const float* l = job->output(int(i));
            for (size_t c = 0; c < b.output_size(); ++c)
                if (!std::isfinite(l[c]))
                    throw std::runtime_error(images[i].name + ": the model produced NaN/Inf outputs (overflow, or "
                                             "non-finite weights)");
            out += i ? ", " : "";
            if (embed) out += embedding_json(images[i].name, l, b.output_size());
            else out += classify_json(images[i].name, e.top_k(l, k), with_logits ? l : nullptr, e.num_classes());
        }
        if (multipart) out += "]";
        res.set_content(out + "\n", "application/json");
    });
}

void Server::routes() {
    metrics_.declare("vitrt_requests_total", "HTTP requests by model (empty: none) and status code", "counter");
    metrics_.declare("vitrt_request_duration_seconds", "Inference request time in the handler (decode, queue, compute, encode)",
                     "histogram", Metrics::latency_buckets());
    Batcher::declare_metrics(metrics_, opt_.batcher.max_batch);
    metrics_.declare("vitrt_inflight_requests", "Inference requests being handled", "gauge");

    const auto json_reply = [](Response& res, int status, const nlohmann::json& j) {
        res.status = status;
        res.set_content(j.dump(), "application/json");
    };
    http_.Get("/v2/health/live", [](const Request&, Response& res) { res.set_content("{\"live\": true}", "application/json"); });
    http_.Get("/v2/health/ready", [this, json_reply](const Request&, Response& res) {
        json_reply(res, draining_ ? 503 : 200, {{"ready", !draining_}});
    });
    http_.Get("/v2", [json_reply](const Request&, Response& res) {
        json_reply(res, 200, {{"name", "vitrt"}, {"version", "0.1.0"}, {"extensions", {"classification"}}});
    });
    http_.Get(R"(/v2/models/([^/]+))", [this, json_reply](const Request& req, Response& res) {
        guarded(req, res, [&] {
            Model& m = model_of(req);
            json_reply(res, 200, model_metadata(m.name, *m.engine, m.precision, opt_.batcher.max_batch,
                                                m.embed_batcher ? m.embed_batcher->output_size() : 0));
        });
    });
    http_.Get(R"(/v2/models/([^/]+)/ready)", [this, json_reply](const Request& req, Response& res) {
        guarded(req, res, [&] {
            Model& m = model_of(req);
            json_reply(res, draining_ ? 503 : 200, {{"name", m.name}, {"ready", !draining_}});
        });
    });
    http_.Post(R"(/v2/models/([^/]+)/infer)",
               [this](const Request& req, Response& res, const httplib::ContentReader& r) { infer(req, res, r); });
    http_.Post(R"(/v1/models/([^/]+)/classify)",
               [this](const Request& req, Response& res, const httplib::ContentReader& r) { images(req, res, r, false); });
    http_.Post(R"(/v1/models/([^/]+)/embed)",
               [this](const Request& req, Response& res, const httplib::ContentReader& r) { images(req, res, r, true); });
    http_.Get("/metrics", [this](const Request&, Response& res) {
        metrics_.set("vitrt_inflight_requests", {}, inflight_.load());
        res.set_content(metrics_.render(), "text/plain; version=0.0.4");
    });

    http_.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg;
        if (res.status == 404) msg = "no such endpoint: " + req.method + " " + req.path + " (see /v2, /v2/models/NAME)";
        else if (res.status == 413) msg = "request body too large (--max-body-mb)";
        else if (res.status == 414) msg = "request URI too long";
        else msg = "bad request (HTTP " + std::to_string(res.status) + ")";
        res.set_content(error_json(msg), "application/json");
        return httplib::Server::HandlerResponse::Handled;
    }));
    http_.set_exception_handler([](const Request&, Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(error_json("internal error: " + what), "application/json");
    });
    http_.set_logger([this](const Request& req, const Response& res) {
        metrics_.add("vitrt_requests_total", {{"model", model_label(req.path)}, {"code", std::to_string(res.status)}});
    });
    http_.set_payload_max_length(size_t(opt_.max_body_mb) << 20);
    // cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections (64 clients at
    // once) overflows it and clients see resets. Keep the fd to raise it after bind (run()).
    http_.set_socket_options([this](int fd) {
        const int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
        listen_fd_ = fd;
    });
    http_.set_tcp_nodelay(true);  // else Nagle + delayed ACK add ~40 ms to every response
    http_.set_keep_alive_max_count(10000);
    http_.set_keep_alive_timeout(2);  // also bounds how long idle connections delay shutdown
    http_.set_read_timeout(10);
    http_.set_write_timeout(10);
    const int threads = opt_.http_threads;
    http_.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
}

int Server::run(const sigset_t& signals) {
    routes();  // declares the metrics the batchers use
    load_models();
    int port = opt_.port;
    if (port == 0) {
        port = http_.bind_to_any_port(opt_.host);
        check(port > 0, "cannot bind " + opt_.host + " to any port");
    } else {
        check(http_.bind_to_port(opt_.host, port),
              "cannot listen on " + opt_.host + ":" + std::to_string(port) + " (in use? try --port)");
    }
    check(listen_fd_ >= 0 && ::listen(listen_fd_, SOMAXCONN) == 0, "cannot listen on the bound socket");
    std::thread listener([this] { http_.listen_after_bind(); });
    log_line("listening on http://" + opt_.host + ":" + std::to_string(port) + " (KServe v2: /v2/models/NAME/infer; "
             "POST an image to /v1/models/NAME/classify; /metrics)");

    // Wait for SIGTERM/SIGINT; once a second meanwhile, hand the pages that requests freed back to
    // the kernel (glibc keeps them in its arenas otherwise), so the resident size follows the
    // live set instead of the high-water mark of every HTTP thread.
    int sig = -1;
    const timespec tick{1, 0};
    while (sig < 0) {
        sig = sigtimedwait(&signals, nullptr, &tick);
        if (sig < 0) malloc_trim(0);
    }
    draining_ = true;  // readiness is 503 from here; new inference requests are refused
    log_line(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", draining (up to " +
             std::to_string(opt_.exit_timeout_s) + " s)");
    const auto deadline = Clock::now() + std::chrono::seconds(opt_.exit_timeout_s);
    auto busy = [&] {
        size_t queued = 0;
        for (const auto& [n, m] : models_)
            queued += m->batcher->depth() + (m->embed_batcher ? m->embed_batcher->depth() : 0);
        return inflight_.load() + int(queued);
    };
    while (busy() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int left = busy();
    if (left > 0) {
        log_line("exit timeout: " + std::to_string(left) + " request(s)/image(s) still pending; exiting");
        std::_Exit(0);  // the engine may be mid-run; nothing left to save
    }
    http_.stop();
    listener.join();
    for (auto& [n, m] : models_) {
        m->batcher->stop();
        if (m->embed_batcher) m->embed_batcher->stop();
    }
    log_line("stopped");
    return 0;
}

}  // namespace

ModelSpec parse_model_spec(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos) return {"", text};
    check(eq > 0, "--model " + text + ": empty NAME in NAME=PATH");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

int serve(const ServeOptions& options) {
    check(options.batcher.max_batch >= 1, "--max-batch must be >= 1");
    check(options.batcher.max_queue >= options.batcher.max_batch, "--max-queue must be >= --max-batch");
    // Block the shutdown signals in every thread (engines, HTTP workers inherit the mask) and take
    // them synchronously in run(); a peer closing its socket must not kill the server.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);
    // Hundreds of HTTP threads would each get a glibc malloc arena holding freed request buffers;
    // a few shared arenas keep the resident size flat at this request rate.
    mallopt(M_ARENA_MAX, 4);
    // Request buffers (a JPEG body, a 600 KB input tensor per image) come and go by the thousand;
    // glibc's sliding mmap threshold would move them into the arenas, where fragmentation grows the
    // resident size for minutes. A fixed threshold keeps them mmapped: freed means returned.
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    Server server(options);
    return server.run(signals);
}

}  // namespace vitrt::serve
