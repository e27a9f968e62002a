# Finds pfrt's dependencies; each one that is missing stops the configure step with the Debian
# package that provides it (platforms/debian/install-deps.sh installs them all).

set(PFRT_INSTALL_HINT "run platforms/debian/install-deps.sh, or apt-get install")

function(pfrt_missing what package)
  message(FATAL_ERROR "pfrt: ${what} not found: ${PFRT_INSTALL_HINT} ${package}")
endfunction()

find_package(Threads REQUIRED)

find_package(FlatBuffers CONFIG QUIET)
if(NOT FlatBuffers_FOUND)
  pfrt_missing("FlatBuffers (FlatBuffersConfig.cmake)" "libflatbuffers-dev")
endif()
find_program(PFRT_FLATC flatc)
if(NOT PFRT_FLATC)
  pfrt_missing("the FlatBuffers compiler flatc" "flatbuffers-compiler")
endif()
get_target_property(PFRT_FLATBUFFERS_INCLUDE flatbuffers::flatbuffers INTERFACE_INCLUDE_DIRECTORIES)

find_package(TBB CONFIG QUIET)
if(NOT TBB_FOUND)
  pfrt_missing("oneTBB (TBBConfig.cmake)" "libtbb-dev")
endif()

find_path(PFRT_XNNPACK_INCLUDE xnnpack.h)
find_library(PFRT_XNNPACK_LIBRARY XNNPACK)
find_library(PFRT_PTHREADPOOL_LIBRARY pthreadpool)
find_path(PFRT_PTHREADPOOL_INCLUDE pthreadpool.h)
find_library(PFRT_CPUINFO_LIBRARY cpuinfo)
if(NOT PFRT_XNNPACK_INCLUDE OR NOT PFRT_XNNPACK_LIBRARY)
  pfrt_missing("XNNPACK (xnnpack.h, libXNNPACK)" "libxnnpack-dev")
endif()
if(NOT PFRT_PTHREADPOOL_LIBRARY OR NOT PFRT_PTHREADPOOL_INCLUDE)
  pfrt_missing("pthreadpool (pthreadpool.h, libpthreadpool)" "libpthreadpool-dev")
endif()
if(NOT PFRT_CPUINFO_LIBRARY)
  pfrt_missing("cpuinfo (libcpuinfo)" "libcpuinfo-dev")
endif()
if(NOT TARGET pfrt::xnnpack)
  add_library(pfrt::xnnpack INTERFACE IMPORTED)
  target_include_directories(pfrt::xnnpack SYSTEM INTERFACE ${PFRT_XNNPACK_INCLUDE} ${PFRT_PTHREADPOOL_INCLUDE})
  target_link_libraries(pfrt::xnnpack INTERFACE ${PFRT_XNNPACK_LIBRARY} ${PFRT_PTHREADPOOL_LIBRARY}
                        ${PFRT_CPUINFO_LIBRARY} Threads::Threads)
endif()

if(PFRT_BUILD_CONVERTER)
  find_package(nlohmann_json 3 CONFIG QUIET)
  if(NOT nlohmann_json_FOUND)
    pfrt_missing("nlohmann-json (nlohmann_jsonConfig.cmake)" "nlohmann-json3-dev")
  endif()
endif()

if(PFRT_BUILD_TESTS)
  find_package(doctest CONFIG QUIET)
  if(NOT doctest_FOUND)
    pfrt_missing("doctest (doctestConfig.cmake)" "doctest-dev")
  endif()
endif()

# Python with PyTorch, for the parity fixtures and the reference model (optional: the tests
# that need it are skipped without it). Debian's python3-torch lives in /usr/bin/python3.
set(PFRT_PYTHON /usr/bin/python3 CACHE FILEPATH "Python interpreter that has PyTorch (python3-torch)")

# The tools: libpng and libjpeg-turbo (TurboJPEG) decode images for pfrt-run, zlib reads
# gzip-compressed IDX files.
if(PFRT_BUILD_TOOLS)
  find_package(PNG QUIET)
  if(NOT PNG_FOUND)
    pfrt_missing("libpng (png.h, libpng16)" "libpng-dev")
  endif()
  # Found by hand: Debian's libjpeg-turboConfig.cmake names absolute library paths, wrong in a
  # cross build's sysroot.
  find_path(PFRT_TURBOJPEG_INCLUDE turbojpeg.h)
  find_library(PFRT_TURBOJPEG_LIBRARY turbojpeg)
  if(NOT PFRT_TURBOJPEG_INCLUDE OR NOT PFRT_TURBOJPEG_LIBRARY)
    pfrt_missing("libjpeg-turbo's TurboJPEG (turbojpeg.h, libturbojpeg)" "libturbojpeg0-dev")
  endif()
  if(NOT TARGET pfrt::turbojpeg)
    add_library(pfrt::turbojpeg INTERFACE IMPORTED)
    target_include_directories(pfrt::turbojpeg SYSTEM INTERFACE ${PFRT_TURBOJPEG_INCLUDE})
    target_link_libraries(pfrt::turbojpeg INTERFACE ${PFRT_TURBOJPEG_LIBRARY})
  endif()
  find_package(ZLIB QUIET)
  if(NOT ZLIB_FOUND)
    pfrt_missing("zlib (zlib.h, libz)" "zlib1g-dev")
  endif()
endif()
