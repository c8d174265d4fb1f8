// vitrt — command line: thin named-flag commands over the library.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli_common.hpp"

namespace {

// OpenMP threads that spin at barriers for long (libgomp's default: up to 300000 spins) steal the
// cores other processes need (these machines are shared) and collapse our own speed when a core is
// busy; never spinning (passive) makes every one of the ~100 parallel regions of a forward pay a
// futex wake-up. The CLI spins briefly (10000 spins, tens of microseconds: enough to bridge
// back-to-back ops), then sleeps. Measured on ViT-B/16 batch 1 (2 cores): ~5 % faster than
// passive on a quiet machine; with both cores busy (ViT-Ti/16) as fast as passive, while
// OMP_WAIT_POLICY=active was 25x slower. libgomp reads this once, at load, so the CLI re-executes itself with
// it unless the user chose a policy.
void prefer_short_spin_openmp(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
    setenv("GOMP_SPINCOUNT", "10000", 1);
    execv("/proc/self/exe", argv);  // only returns on failure: carry on with the default policy
}

}  // namespace

int main(int argc, char** argv) {
    prefer_short_spin_openmp(argv);
    CLI::App app{"vitrt: Vision Transformer inference (ViT, DeiT, FastViT) on x86 CPUs and NVIDIA GPUs"};
    app.require_subcommand(1);
    vitrt::cli::add_classify(app);
    vitrt::cli::add_info(app);
    vitrt::cli::add_forward(app);
    vitrt::cli::add_bench(app);
    vitrt::cli::add_embed(app);
    vitrt::cli::add_quantize(app);
    vitrt::cli::add_eval(app);
    vitrt::cli::add_serve(app);
    // Output that cannot be written (a full disk, > /dev/full) is a failure, not exit 0.
    auto finish = [](int rc) {
        try {
            vitrt::cli::check_stdout();
        } catch (const vitrt::Error& e) {
            std::cerr << "error: " << e.what() << "\n";
            return rc ? rc : 2;
        }
        return rc;
    };
    try {
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {  // a command's exit status
        return finish(e.get_exit_code());
    } catch (const CLI::ParseError& e) {
        return finish(app.exit(e));
    } catch (const vitrt::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
    return finish(0);
}
