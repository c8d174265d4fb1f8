// vitrt — command line: thin named-flag commands over the library.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli_common.hpp"

namespace {

// OpenMP threads that spin at barriers steal the cores other processes need (these machines are
// shared) and collapse our own speed when a core is busy. libgomp reads its wait policy once, at
// load, so the CLI re-executes itself with a passive policy unless the user chose one.
void prefer_passive_openmp(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);  // only returns on failure: carry on with the default policy
}

}  // namespace

int main(int argc, char** argv) {
    prefer_passive_openmp(argv);
    CLI::App app{"vitrt: Vision Transformer inference (ViT, DeiT) on CPU"};
    app.require_subcommand(1);
    vitrt::cli::add_classify(app);
    vitrt::cli::add_info(app);
    vitrt::cli::add_forward(app);
    vitrt::cli::add_bench(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {  // a command's exit status
        return e.get_exit_code();
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const vitrt::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
