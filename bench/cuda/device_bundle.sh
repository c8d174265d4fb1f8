#!/bin/bash
# Run HERE (the development machine) before a device call. The lent GPU machine has the CUDA
# toolkit, the driver, PyTorch and timm but none of vitrt's build dependencies (oneDNN, libjpeg,
# GoogleTest, ...), so: build here, then pack into .devcarry/ (git-ignored, carried by the device
# tool with `carry: [".devcarry"]`):
#   .devcarry/bundle.tar.xz  bin/ (vitrt, libvitrt_cuda.so beside it, test_cuda_ops, test_cuda_model,
#                            test_ops) and lib/ (the non-CUDA shared libraries they need);
#   .devcarry/data/          the shared-data subset the GPU tests read (labelled images, ViT-Ti
#                            PyTorch reference; the model itself is the repo's models/).
# The device tool carries the working tree plus .devcarry: 64 MiB in all; this script checks that.
# On the device: bash bench/cuda/device_check.sh (see bench/cuda/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DATA=${VITRT_SHARED_DATA:-../shared/data}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target vitrt_cli vitrt_cuda test_cuda_ops test_cuda_model test_ops
[ -f "$BUILD/libvitrt_cuda.so" ] || { echo "no $BUILD/libvitrt_cuda.so: configure found no CUDA toolkit" >&2; exit 1; }
exclude=$(git rev-parse --git-path info/exclude)
grep -qx '/.devcarry/' "$exclude" 2>/dev/null || { mkdir -p "$(dirname "$exclude")"; echo '/.devcarry/' >>"$exclude"; }

rm -rf .devcarry && mkdir -p .devcarry/stage/bin .devcarry/stage/lib .devcarry/data/reference
# The plugin sits next to the executables: find_plugin (src/engine/cuda_plugin.cpp) looks there first.
cp "$BUILD/vitrt" "$BUILD/libvitrt_cuda.so" "$BUILD/tests/test_cuda_ops" "$BUILD/tests/test_cuda_model" \
   "$BUILD/tests/test_ops" .devcarry/stage/bin/
# Non-CUDA libraries (the CUDA runtime and cuBLASLt are the device's own, found by device_env.sh).
for lib in libgomp.so.1 libdnnl.so.2 libjpeg.so.62 libpng16.so.16 libOpenCL.so.1; do
    cp -L "/lib/x86_64-linux-gnu/$lib" .devcarry/stage/lib/
done
strip .devcarry/stage/bin/*
git rev-parse --short HEAD >.devcarry/stage/COMMIT
tar -C .devcarry/stage -cJf .devcarry/bundle.tar.xz . && rm -rf .devcarry/stage
if [ -d "$DATA" ]; then
    cp "$DATA/SOURCES.md" .devcarry/data/
    mkdir -p .devcarry/data/images
    cp "$DATA/images/labels.csv" .devcarry/data/images/
    # The labelled images only (not imagenet_calib/: 44 MB would not fit).
    for d in $(cut -d, -f1 "$DATA/images/labels.csv" | tail -n +2 | cut -d/ -f1 | sort -u); do
        cp -r "$DATA/images/$d" .devcarry/data/images/
    done
    cp -r "$DATA/reference/vit_tiny_patch16_224" .devcarry/data/reference/
    # data/models -> the repo's models/ (the same ViT-Ti/16 file, models/SHA256SUMS) is linked by
    # device_env.sh on the device: a link here might be carried as a copy.
else
    echo "warning: $DATA absent: the device tests that need shared data will skip" >&2
fi
carry=$(du -sb .devcarry | cut -f1)
tree=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
echo "bundle: .devcarry $((carry >> 20)) MiB + tracked tree $((tree >> 20)) MiB = $(((carry + tree) >> 20)) MiB (limit 64)"
[ $((carry + tree)) -lt $((62 << 20)) ] || { echo "too large for the device tool (64 MiB)" >&2; exit 1; }
