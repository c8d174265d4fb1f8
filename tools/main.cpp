// vitrt — command line: thin named-flag commands over the library.
#include <iostream>

#include "cli_common.hpp"

int main(int argc, char** argv) {
    CLI::App app{"vitrt: Vision Transformer inference (ViT, DeiT) on CPU"};
    app.require_subcommand(1);
    vitrt::cli::add_classify(app);
    vitrt::cli::add_info(app);
    vitrt::cli::add_forward(app);
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
