#!/bin/bash
# For this workplace's lent GPU machine, which has the CUDA toolkit, PyTorch and timm but none of
# vitrt's build dependencies (oneDNN, libjpeg, GoogleTest, ...): build here, then pack the binaries,
# the shared libraries they need and a subset of ../shared/data into .devcarry/ (git-ignored), which
# the device tool carries (`carry: [".devcarry"]`, < 64 MiB with the working tree).
# On the device: `source bench/cuda/device_env.sh` sets everything up (see bench/cuda/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-cuda}
DATA=${VITRT_SHARED_DATA:-../shared/data}
cmake -S . -B "$BUILD" -G Ninja >/dev/null
ninja -C "$BUILD" -j2 vitrt_cli vitrt_cuda test_cuda_ops test_cuda_model
grep -qx '/.devcarry/' "$(git rev-parse --git-path info/exclude)" 2>/dev/null ||
    { mkdir -p "$(dirname "$(git rev-parse --git-path info/exclude)")"; echo '/.devcarry/' >>"$(git rev-parse --git-path info/exclude)"; }
rm -rf .devcarry && mkdir -p .devcarry/stage/bin .devcarry/stage/lib .devcarry/data/reference
cp "$BUILD/vitrt" "$BUILD/libvitrt_cuda.so" "$BUILD/tests/test_cuda_ops" "$BUILD/tests/test_cuda_model" .devcarry/stage/bin/  # the plugin sits next to the executables
for lib in libgomp.so.1 libdnnl.so.2 libjpeg.so.62 libpng16.so.16 libOpenCL.so.1; do
    cp -L "/lib/x86_64-linux-gnu/$lib" .devcarry/stage/lib/
done
strip .devcarry/stage/bin/*
tar -C .devcarry/stage -cJf .devcarry/bundle.tar.xz . && rm -rf .devcarry/stage
if [ -d "$DATA" ]; then
    cp "$DATA/SOURCES.md" .devcarry/data/
    cp -r "$DATA/images" .devcarry/data/
    cp -r "$DATA/reference/vit_tiny_patch16_224" "$DATA/reference/deit_tiny_distilled_patch16_224" .devcarry/data/reference/
    ln -s ../../models .devcarry/data/models   # the bundled ViT-Ti/16 is the same file (sha256 7833df2c...)
fi
du -sh .devcarry
