# Decides whether the cuda backend is built and with which GPU architectures.
#
# PFRT_CUDA: AUTO (default) builds it when a CUDA compiler (nvcc) and cuBLAS are found and
# says why not otherwise; ON requires them; OFF never builds it. Sets PFRT_HAVE_CUDA.
#
# Architectures: CMAKE_CUDA_ARCHITECTURES, default 87 (Jetson Orin), 80 (A100) and 90 (H100).
# CUDA 13 no longer compiles for 72 (Jetson Xavier); JetPack 5 on Xavier ships CUDA 11.4, which
# does: build there with -DCMAKE_CUDA_ARCHITECTURES=72.

include(PfrtFeatureOption)
pfrt_feature_option(PFRT_CUDA "Build the cuda backend: AUTO (when nvcc and cuBLAS are found), ON or OFF")
set(PFRT_HAVE_CUDA OFF)

set(_pfrt_cuda_enable_hint "install the CUDA toolkit (nvcc, cuBLAS) and put nvcc on PATH or pass \
-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc; -DPFRT_CUDA=ON makes a missing toolkit an error")

# AUTO: a message and no cuda backend; ON: a configure error.
macro(_pfrt_cuda_unavailable why)
  pfrt_feature_unavailable(PFRT_CUDA "cuda backend" "${why}" " (to enable: ${_pfrt_cuda_enable_hint})")
endmacro()

if(PFRT_CUDA STREQUAL "OFF")
  message(STATUS "pfrt: cuda backend off (PFRT_CUDA=OFF)")
else()
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    _pfrt_cuda_unavailable("no CUDA compiler (nvcc) was found")
  else()
    # The toolkit's version decides which architectures it can build, before enable_language
    # tries to compile anything with them.
    execute_process(COMMAND ${CMAKE_CUDA_COMPILER} --version OUTPUT_VARIABLE _pfrt_nvcc_version ERROR_QUIET)
    string(REGEX MATCH "release ([0-9]+)\\.([0-9]+)" _pfrt_nvcc_release "${_pfrt_nvcc_version}")
    set(_pfrt_cuda_version "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
      if(_pfrt_cuda_version VERSION_GREATER_EQUAL 11.8)
        set(_pfrt_default_archs "87;80;90")
      else()
        set(_pfrt_default_archs "87;80")  # CUDA 11.4-11.7 (JetPack 5) cannot build 90
      endif()
      set(CMAKE_CUDA_ARCHITECTURES "${_pfrt_default_archs}" CACHE STRING
          "GPU architectures of the cuda backend (87: Jetson Orin, 72: Jetson Xavier with CUDA < 13)")
    endif()
    if(_pfrt_cuda_version VERSION_GREATER_EQUAL 13.0)
      foreach(_pfrt_arch ${CMAKE_CUDA_ARCHITECTURES})
        if(_pfrt_arch MATCHES "^(72|70)(-real|-virtual)?$")
          message(FATAL_ERROR "pfrt: CMAKE_CUDA_ARCHITECTURES contains ${_pfrt_arch}, which CUDA "
                              "${_pfrt_cuda_version} no longer builds. Jetson Xavier (72): build on the device "
                              "with JetPack 5's CUDA 11.4 and -DCMAKE_CUDA_ARCHITECTURES=72.")
        endif()
      endforeach()
    endif()
    if(CMAKE_CUDA_ARCHITECTURES MATCHES "native")
      message(STATUS "pfrt: CMAKE_CUDA_ARCHITECTURES=native needs a GPU at configure time")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit QUIET)
    if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cudart OR NOT TARGET CUDA::cublas)
      _pfrt_cuda_unavailable("nvcc ${_pfrt_cuda_version} was found but not the CUDA runtime and cuBLAS (find_package(CUDAToolkit))")
    else()
      set(PFRT_HAVE_CUDA ON)
      set(CMAKE_CUDA_STANDARD 17)
      set(CMAKE_CUDA_STANDARD_REQUIRED ON)
      set(CMAKE_CUDA_VISIBILITY_PRESET hidden)
      message(STATUS "pfrt: cuda backend on: CUDA ${CUDAToolkit_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")
    endif()
  endif()
endif()

# Warnings for the CUDA sources of a target (host code through the host compiler).
function(pfrt_set_cuda_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
  if(PFRT_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
endfunction()
