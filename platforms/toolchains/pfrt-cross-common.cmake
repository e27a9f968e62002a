# Shared by the Linux cross toolchain files: included after they set PFRT_CROSS_TRIPLE (the
# GNU triple of the Debian cross compiler), PFRT_CROSS_NAME (the sysroot's name) and
# PFRT_CROSS_QEMU (the qemu-user program that runs the target's binaries here).
#
# The target's libraries come from a sysroot folder of unpacked Debian packages
# (platforms/sysroot/make-sysroot.sh); glibc and libstdc++ come from the cross toolchain in
# /usr/<triple>. Every target program runs through qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so
# `ctest` and doctest's test discovery work in the cross build as in a native one.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${PFRT_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${PFRT_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${PFRT_CROSS_TRIPLE})

# The sysroot: -DPFRT_SYSROOT=..., else $PFRT_SYSROOT, else build/sysroot-<name> in the checkout.
get_filename_component(_pfrt_source_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
if(NOT PFRT_SYSROOT)
  if(DEFINED ENV{PFRT_SYSROOT})
    set(PFRT_SYSROOT "$ENV{PFRT_SYSROOT}")
  else()
    set(PFRT_SYSROOT "${_pfrt_source_root}/build/sysroot-${PFRT_CROSS_NAME}")
  endif()
endif()
set(PFRT_SYSROOT "${PFRT_SYSROOT}" CACHE PATH "Folder of the target's unpacked Debian packages")
# try_compile projects (compiler checks, FindThreads) read this file again: hand them the value.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PFRT_SYSROOT)
if(NOT EXISTS "${PFRT_SYSROOT}/.pfrt-sysroot")
  message(FATAL_ERROR "pfrt: no ${PFRT_CROSS_NAME} sysroot at ${PFRT_SYSROOT}: make it with\n"
                      "  platforms/sysroot/make-sysroot.sh ${PFRT_CROSS_NAME} ${PFRT_SYSROOT}\n"
                      "(or platforms/debian/install-deps.sh --cross ${PFRT_CROSS_NAME}, which also installs the cross compiler)")
endif()
set(_pfrt_toolchain_root /usr/${PFRT_CROSS_TRIPLE})
set(_pfrt_sysroot_libs "${PFRT_SYSROOT}/usr/lib/${PFRT_CROSS_TRIPLE}")

# Libraries, headers and CMake packages only from the sysroot (never the host's amd64 ones);
# programs (flatc) from the host.
set(CMAKE_FIND_ROOT_PATH "${PFRT_SYSROOT}" "${_pfrt_toolchain_root}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The host's nvcc builds for x86 only: without this, check_language(CUDA) finds it and the
# cross build configures an x86 CUDA backend it cannot link. jetson.cmake sets its own nvcc
# where NVIDIA's aarch64 target files exist.
set(CMAKE_CUDA_COMPILER CMAKE_CUDA_COMPILER-NOTFOUND CACHE FILEPATH
    "nvcc for the target (the host's nvcc cannot build for ${CMAKE_SYSTEM_PROCESSOR})")

# The sysroot's libraries pull in others (libXNNPACK -> libcpuinfo, libpthreadpool): let the
# linker find those too. Installed programs get their own RPATH (see cmake/PfrtInstall.cmake).
set(_pfrt_link_flags "-Wl,-rpath-link,${_pfrt_sysroot_libs}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_pfrt_link_flags}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_pfrt_link_flags}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_pfrt_link_flags}")

# The cross glibc's folder goes first: with a second glibc in reach, qemu can mix two builds of
# it and threaded programs hang.
find_program(PFRT_QEMU ${PFRT_CROSS_QEMU})
if(PFRT_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${PFRT_QEMU};-L;${_pfrt_toolchain_root};-E;LD_LIBRARY_PATH=${_pfrt_toolchain_root}/lib:${_pfrt_sysroot_libs}")
else()
  message(WARNING "pfrt: ${PFRT_CROSS_QEMU} not found (apt-get install qemu-user): "
                  "the cross build compiles, but its tests cannot run here")
endif()
