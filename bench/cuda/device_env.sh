# Sourced on the lent GPU machine from the repository root (bench/cuda/device_check.sh does it),
# after bench/cuda/device_bundle.sh ran on the development machine and .devcarry was carried.
# Unpacks the binaries to $VITRT_BIN with the plugin beside them, points the tests at this checkout
# and the carried data, finds the device's CUDA libraries, and checks with ldd that vitrt and the
# plugin resolve every library. Sets VITRT_ENV_OK=1 when all is well.
R=$PWD
VITRT_ENV_OK=0
if [ ! -f .devcarry/bundle.tar.xz ]; then
    echo "no .devcarry/bundle.tar.xz: run bench/cuda/device_bundle.sh on the development machine and carry .devcarry"
    return 1 2>/dev/null || exit 1
fi
D=/tmp/vitrt-dev
rm -rf "$D" && mkdir -p "$D" && tar -C "$D" -xJf .devcarry/bundle.tar.xz
[ -d .devcarry/data ] && [ ! -e .devcarry/data/models ] && ln -s ../../models .devcarry/data/models  # repo's ViT-Ti
export VITRT_BIN=$D/bin
export VITRT_CUDA_PLUGIN=$VITRT_BIN/libvitrt_cuda.so  # also found beside the executables
export VITRT_TEST_SOURCE_DIR=$R VITRT_TEST_CLI=$VITRT_BIN/vitrt VITRT_SHARED_DATA=$R/.devcarry/data
cudalib() {  # the directory holding $1 (the toolkit's, else anywhere usual)
    local f
    f=$(ls /usr/local/cuda/lib64/"$1" /usr/local/cuda/lib/"$1" 2>/dev/null | head -1)
    [ -n "$f" ] || f=$(find /usr/local /opt /usr/lib -name "$1" 2>/dev/null | head -1)
    [ -n "$f" ] && dirname "$f"
}
LT=$(cudalib libcublasLt.so.13)
CR=$(cudalib libcudart.so.13)
export LD_LIBRARY_PATH=$D/lib${LT:+:$LT}${CR:+:$CR}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "repo $R; bundle commit $(cat $D/COMMIT 2>/dev/null); binaries $VITRT_BIN; cublasLt ${LT:-NOT FOUND}; cudart ${CR:-NOT FOUND}"
missing=$(for f in "$VITRT_BIN/vitrt" "$VITRT_CUDA_PLUGIN" "$VITRT_BIN/test_cuda_ops" "$VITRT_BIN/test_cuda_model"; do
              ldd "$f" | grep "not found" | sed "s|^|$(basename "$f"): |"
          done)
if [ -n "$missing" ]; then
    echo "ldd: unresolved libraries:"; echo "$missing"
else
    echo "ldd: vitrt, libvitrt_cuda.so and the tests resolve every library"
    VITRT_ENV_OK=1
fi
