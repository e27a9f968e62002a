# CPack: the Debian package pfrt_<version>_<arch>.deb, with the library, headers, tools, the
# CMake package and pfrt.pc, and, where the Python module is built, python3-pfrt_<version>_<arch>.deb
# beside it (the module; depends on pfrt, python3 and python3-numpy). `cd build/release && cpack -G DEB` after the build (or
# `cpack -G DEB --config build/release/CPackConfig.cmake`); `apt-get install ./pfrt_*.deb`
# installs it with the Debian runtime packages it depends on. tests/platform checks the package
# (control fields, contents, the examples built against its files).
set(CPACK_PACKAGE_NAME pfrt)
set(CPACK_PACKAGE_VENDOR "pfrt")
set(CPACK_PACKAGE_CONTACT "pfrt maintainers <pfrt@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
# The long description, after the summary line; CPack indents its lines as Debian wants them.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Runs Para-Former networks (transformers of parallel branches) on CPUs and CUDA GPUs
of edge devices: libpfrt (C and C++ API), its headers, CMake package and pkg-config
file, and the tools pfrt-convert, pfrt-bench and pfrt-run.")
# libpfrt.so.N gets a shlibs file and the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# Linking the static library needs the -dev packages of what it links.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libtbb-dev")

# Depends: computed by dpkg-shlibdeps from what the binaries really link (native builds). For a
# cross build dpkg knows nothing of the target's libraries: there the list is written out, from
# the libraries the runtime links (check with `objdump -p libpfrt.so | grep NEEDED`).
if(CMAKE_CROSSCOMPILING)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE armhf)
  endif()
  set(PFRT_DEBIAN_DEPENDS "libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1")
  get_target_property(_pfrt_shared_links pfrt LINK_LIBRARIES)
  if("TBB::tbb" IN_LIST _pfrt_shared_links)
    string(APPEND PFRT_DEBIAN_DEPENDS ", libtbb12")
  endif()
  # pfrt-bench compares the model's GEMM rate with XNNPACK's fully-connected operator.
  if(TARGET pfrt-bench)
    string(APPEND PFRT_DEBIAN_DEPENDS ", libxnnpack0, libpthreadpool0, libcpuinfo0")
  endif()
  # pfrt-run and pfrt-bench decode images (libpng, libjpeg-turbo) and read gzip'ed IDX files (zlib).
  if(TARGET pfrt-run OR TARGET pfrt-bench)
    string(APPEND PFRT_DEBIAN_DEPENDS ", libpng16-16, libturbojpeg0, zlib1g")
  endif()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${PFRT_DEBIAN_DEPENDS}")
else()
  # dpkg-shlibdeps names the package of each library the binaries link; libraries no package
  # owns (a CUDA toolkit installed by NVIDIA's installer in /usr/local/cuda) are left out.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # The tools link libpfrt.so.0 from this very package; the Python module links it from the
  # pfrt package (named by hand below), found here in the build.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_INSTALL_LIBDIR} ${PROJECT_BINARY_DIR}/runtime)
endif()
if(PFRT_HAVE_CUDA)
  string(APPEND CPACK_DEBIAN_PACKAGE_DESCRIPTION "\nBuilt with the cuda backend: needs the CUDA runtime (and cuBLAS, loaded on first\nuse) of the CUDA toolkit it was built with, which Depends does not name.")
  message(STATUS "pfrt: the .deb (cpack -G DEB) includes the cuda backend; its Depends cannot name the CUDA "
                 "runtime and cuBLAS (not Debian packages here): configure with -DPFRT_CUDA=OFF for a CPU-only package")
endif()
# One package per install component: pfrt, and python3-pfrt where the module is built.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL pfrt)
set(CPACK_DEBIAN_PFRT_PACKAGE_NAME pfrt)
if(PFRT_HAVE_PYTHON_MODULE)
  list(APPEND CPACK_COMPONENTS_ALL python)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-pfrt)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
  set(CPACK_DEBIAN_PYTHON_DESCRIPTION "The Python module of pfrt (import pfrt): models, sessions and runs over numpy
arrays, over libpfrt from the pfrt package.")
  # The module is built for one Python version (its file name says which).
  math(EXPR _pfrt_python_next "${Python_VERSION_MINOR} + 1")
  set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
      "pfrt (= ${PROJECT_VERSION}), python3 (>= ${Python_VERSION_MAJOR}.${Python_VERSION_MINOR}), python3 (<< ${Python_VERSION_MAJOR}.${_pfrt_python_next}), python3-numpy")
endif()
include(CPack)
