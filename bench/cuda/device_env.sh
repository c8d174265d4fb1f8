# Sourced on the lent GPU machine from the repository root, after bench/cuda/device_bundle.sh ran here.
R=$PWD
[ -e /work/main ] || { mkdir -p /work; ln -s "$R" /work/main; }  # the test binaries name /work/main paths
mkdir -p /tmp/vitrt-dev && tar -C /tmp/vitrt-dev -xJf .devcarry/bundle.tar.xz
mkdir -p build-cuda/tests && cp /tmp/vitrt-dev/bin/vitrt build-cuda/ && cp /tmp/vitrt-dev/bin/test_cuda_* build-cuda/tests/
mkdir -p build && cp /tmp/vitrt-dev/bin/vitrt build/
LT=$(ls /usr/local/cuda/lib64/libcublasLt.so.13 2>/dev/null || find /usr/local /opt /usr/lib -name 'libcublasLt.so.13' 2>/dev/null | head -1)
CR=$(ls /usr/local/cuda/lib64/libcudart.so.13 2>/dev/null || find /usr/local /opt /usr/lib -name 'libcudart.so.13' 2>/dev/null | head -1)
export LD_LIBRARY_PATH=/tmp/vitrt-dev/lib:$(dirname "$LT"):$(dirname "$CR")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export VITRT_SHARED_DATA=$R/.devcarry/data
echo "repo $R; cublasLt $LT; cudart $CR"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
ldd build-cuda/vitrt | grep "not found" || true
