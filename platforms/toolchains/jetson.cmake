# NVIDIA Jetson (Orin, Xavier): the aarch64 build plus the CUDA settings of the device.
#   On the Jetson itself (native): sets nvcc (/usr/local/cuda/bin/nvcc, not on PATH by default
#   in L4T), its host compiler and the GPU architecture; nothing is cross-compiled.
#   On an x86 machine: cross-compiles the CPU part like aarch64-linux-gnu.cmake. The CUDA
#   backend is cross-compiled only if NVIDIA's aarch64 CUDA target files are installed
#   (/usr/local/cuda/targets/aarch64-linux, package cuda-cross-aarch64); otherwise CUDA is off
#   and the CUDA backend is built on the Jetson.
# -DPFRT_JETSON=orin (default): sm_87, JetPack 5 (CUDA 11.4) or JetPack 6 (CUDA 12.x).
# -DPFRT_JETSON=xavier: sm_72, JetPack 5 (CUDA 11.4); CUDA 13 no longer compiles for sm_72.
# -DCMAKE_CUDA_ARCHITECTURES=... overrides either.
set(PFRT_JETSON orin CACHE STRING "Jetson module: orin (sm_87) or xavier (sm_72)")
set_property(CACHE PFRT_JETSON PROPERTY STRINGS orin xavier)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PFRT_JETSON)
if(PFRT_JETSON STREQUAL "orin")
  set(_pfrt_cuda_arch 87)
elseif(PFRT_JETSON STREQUAL "xavier")
  set(_pfrt_cuda_arch 72)
else()
  message(FATAL_ERROR "pfrt: PFRT_JETSON='${PFRT_JETSON}': use orin or xavier")
endif()
if(NOT CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES ${_pfrt_cuda_arch} CACHE STRING "CUDA architectures to build for")
endif()

set(_pfrt_cuda_root /usr/local/cuda)
if(CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  # Native on the Jetson: nvcc with the system g++ as its host compiler.
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS ${_pfrt_cuda_root}/bin/nvcc)
    set(CMAKE_CUDA_COMPILER ${_pfrt_cuda_root}/bin/nvcc)
  endif()
  if(NOT CMAKE_CUDA_HOST_COMPILER)
    set(CMAKE_CUDA_HOST_COMPILER g++)
  endif()
else()
  include(${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu.cmake)
  if(EXISTS ${_pfrt_cuda_root}/targets/aarch64-linux/lib AND EXISTS ${_pfrt_cuda_root}/bin/nvcc)
    set(CMAKE_CUDA_COMPILER ${_pfrt_cuda_root}/bin/nvcc)
    set(CMAKE_CUDA_HOST_COMPILER ${PFRT_CROSS_TRIPLE}-g++)
    list(APPEND CMAKE_FIND_ROOT_PATH ${_pfrt_cuda_root}/targets/aarch64-linux)
    set(CUDAToolkit_ROOT ${_pfrt_cuda_root})
  endif()
  # Otherwise CUDA stays off (pfrt-cross-common.cmake): the host's nvcc targets x86 only, and
  # the CUDA backend is built on the Jetson.
endif()
