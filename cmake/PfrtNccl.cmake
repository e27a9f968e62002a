# Decides whether libpfrt_nccl (a sharded session's reductions through NCCL on GPUs) is built.
#
# PFRT_NCCL: AUTO (default) builds it when the cuda backend is built (cmake/PfrtCuda.cmake) and
# NCCL's header and library are found beside the CUDA toolkit (or where the system keeps them:
# Debian's libnccl-dev), 2.14 or later, and says why not otherwise; ON requires it; OFF never builds it. Sets
# PFRT_HAVE_NCCL and the imported target pfrt::nccl.

include(PfrtFeatureOption)
pfrt_feature_option(PFRT_NCCL "Build libpfrt_nccl: AUTO (when CUDA and NCCL are found), ON or OFF")
set(PFRT_HAVE_NCCL OFF)

if(PFRT_NCCL STREQUAL "OFF")
  message(STATUS "pfrt: NCCL sharding off (PFRT_NCCL=OFF)")
elseif(NOT PFRT_HAVE_CUDA)
  pfrt_feature_unavailable(PFRT_NCCL "NCCL sharding" "the cuda backend is not built (NCCL needs the CUDA toolkit)")
else()
  find_path(PFRT_NCCL_INCLUDE nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(PFRT_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  set(_pfrt_nccl_version "")  # MAJOR.MINOR.PATCH of the nccl.h found
  if(PFRT_NCCL_INCLUDE AND EXISTS "${PFRT_NCCL_INCLUDE}/nccl.h")
    file(STRINGS ${PFRT_NCCL_INCLUDE}/nccl.h _pfrt_nccl_version_lines REGEX "^#define NCCL_(MAJOR|MINOR|PATCH) +[0-9]+")
    string(REGEX REPLACE "[^0-9;]*([0-9]+)[^;]*" "\\1." _pfrt_nccl_version "${_pfrt_nccl_version_lines}")
    string(REPLACE ";" "" _pfrt_nccl_version "${_pfrt_nccl_version}")
    string(REGEX REPLACE "\\.$" "" _pfrt_nccl_version "${_pfrt_nccl_version}")
  endif()
  if(NOT PFRT_NCCL_LIBRARY OR _pfrt_nccl_version STREQUAL "")
    set(_pfrt_why "nccl.h or libnccl was not found beside CUDA ${CUDAToolkit_VERSION} (${CUDAToolkit_LIBRARY_DIR}); ")
    pfrt_feature_unavailable(PFRT_NCCL "NCCL sharding" "${_pfrt_why}install NCCL (libnccl-dev) or set PFRT_NCCL_INCLUDE and PFRT_NCCL_LIBRARY")
  elseif(_pfrt_nccl_version VERSION_LESS 2.14)
    # Non-blocking communicators (ncclConfig_t, ncclCommInitRankConfig, ncclCommFinalize) came in 2.14.
    pfrt_feature_unavailable(PFRT_NCCL "NCCL sharding" "NCCL ${_pfrt_nccl_version} is older than 2.14 (no non-blocking communicators)")
  else()
    add_library(pfrt::nccl UNKNOWN IMPORTED)
    set_target_properties(pfrt::nccl PROPERTIES IMPORTED_LOCATION ${PFRT_NCCL_LIBRARY}
                                                INTERFACE_INCLUDE_DIRECTORIES ${PFRT_NCCL_INCLUDE})
    set(PFRT_HAVE_NCCL ON)
    message(STATUS "pfrt: NCCL sharding on: libpfrt_nccl with NCCL ${_pfrt_nccl_version} (${PFRT_NCCL_LIBRARY})")
  endif()
endif()
