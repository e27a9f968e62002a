#!/bin/bash
# The checks that need a GPU, in one go (the CI machines have none): build with the CUDA
# backend for this GPU's architecture, run the cuda tests, then the depth sweeps on the GPU (f32,
# f16 and int8 models) and on this machine's CPU cores. Prints every table; exits non-zero when a test fails.
# Usage: platforms/gpu-check.sh [ARCH]   (ARCH: e.g. 90 for Hopper; default: what nvidia-smi says)
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '.')}
if [[ -z $arch ]]; then
  echo "gpu-check.sh: no GPU found (nvidia-smi); give the architecture, e.g. platforms/gpu-check.sh 90" >&2
  exit 2
fi
build=build/gpu-$arch
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPFRT_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" \
      -DCMAKE_CUDA_ARCHITECTURES="$arch" >/dev/null
cmake --build "$build" -j "$(nproc)"
status=0
ctest --test-dir "$build" -L cuda --output-on-failure || status=$?
# The f16 and int8 GEMMs again, for their largest errors against the reference and how many
# GEMMs cublasLt refused (run by pfrt's own int8 kernel instead).
"$build/tests/pfrt_cuda_gpu_tests" --test-case='cuda int8*,cuda f16*,the int8 kernels*' || status=$?
bench=$build/runtime/tools/pfrt-bench
"$bench" --backend cuda --sweep --markdown --no-progress || status=$?
for precision in f16 int8; do
  "$bench" --backend cuda --sweep --precision "$precision" --markdown --no-progress || status=$?
done
cores=$(nproc)
threads=1
for t in 4 8 12 16 32 64; do (( t <= cores )) && threads+=",$t"; done
"$bench" --sweep --threads "$threads" --markdown --no-progress || status=$?
exit $status
