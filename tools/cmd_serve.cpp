// vitrt serve: HTTP inference server (KServe v2 / Triton protocol, dynamic batching, metrics).
// Thin: flags -> serve::ServeOptions; everything else is in src/serve/.
#include <memory>

#include "cli_common.hpp"
#include "serve/server.hpp"

namespace vitrt::cli {

void add_serve(CLI::App& root) {
    struct Args {
        std::vector<std::string> models;
        serve::ServeOptions o;
    };
    auto a = std::make_shared<Args>();
    CLI::App* app = root.add_subcommand("serve", "HTTP server: KServe v2 / Triton protocol, dynamic batching, /metrics");
    app->add_option("--model,-m", a->models,
                    "NAME=PATH or PATH (repeatable; name defaults to the architecture); default: bundled ViT-Ti/16");
    app->add_option("--device", a->o.engine.device, "backend: cpu (default), cuda or ref");
    app->add_option("--precision", a->o.engine.precision, "f32 (default), bf16, f16, tf32");
    app->add_option("--threads", a->o.engine.threads, "CPU threads per engine (0 = all cores)")->check(CLI::NonNegativeNumber);
    app->add_option("--host", a->o.host, "address to listen on (default 127.0.0.1: loopback only)");
    app->add_option("--port", a->o.port, "TCP port (0 = any free port; the log says which)")->check(CLI::Range(0, 65535));
    app->add_option("--max-batch", a->o.batcher.max_batch, "largest batch the batcher forms")->check(CLI::Range(1, 1024));
    app->add_option("--max-queue-delay-us", a->o.batcher.max_queue_delay_us,
                    "longest wait for a batch to fill (microseconds)")->check(CLI::Range(0, 10000000));
    app->add_option("--max-queue", a->o.batcher.max_queue, "images waiting per model before 503")->check(CLI::Range(1, 1000000));
    app->add_option("--max-body-mb", a->o.max_body_mb, "largest request body (MiB) before 413")->check(CLI::Range(1, 4096));
    app->add_option("--exit-timeout-s", a->o.exit_timeout_s, "on SIGTERM/SIGINT, longest drain (seconds)")
        ->check(CLI::Range(0, 86400));
    app->add_option("--http-threads", a->o.http_threads,
                    "HTTP worker threads (each open keep-alive connection holds one)")->check(CLI::Range(1, 4096));
    app->add_option("--decode-concurrency", a->o.decode_concurrency,
                    "images decoded at once on the HTTP threads (0 = half the cores, at least 1)")->check(CLI::Range(0, 1024));
    app->final_callback([a]() {
        for (const auto& m : a->models) a->o.models.push_back(serve::parse_model_spec(m));
        throw CLI::RuntimeError(serve::serve(a->o));
    });
}

}  // namespace vitrt::cli
