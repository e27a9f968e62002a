# CPack: one Debian package, pfrt_<version>_<arch>.deb, with the library, headers, tools, the
# CMake package and pfrt.pc. `cpack -G DEB` in the build folder (preset: `cpack --preset deb`
# after `cmake --build --preset release`); `apt-get install ./pfrt_*.deb` installs it with the
# Debian runtime packages it depends on.
set(CPACK_PACKAGE_NAME pfrt)
set(CPACK_PACKAGE_VENDOR "pfrt")
set(CPACK_PACKAGE_CONTACT "pfrt maintainers <pfrt@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Runs Para-Former networks (transformers of parallel branches)
 on CPUs and CUDA GPUs of edge devices: libpfrt (C and C++ API), its headers, CMake
 package and pkg-config file, and the tools pfrt-convert, pfrt-bench and pfrt-run.")
# libpfrt.so.N gets a shlibs file and the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# Linking the static library needs the -dev packages of what it links.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libtbb-dev, libxnnpack-dev, libpthreadpool-dev, libcpuinfo-dev")

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
  if("pfrt::xnnpack" IN_LIST _pfrt_shared_links)
    string(APPEND PFRT_DEBIAN_DEPENDS ", libxnnpack0, libpthreadpool0, libcpuinfo0")
  endif()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${PFRT_DEBIAN_DEPENDS}")
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # The tools link libpfrt.so.0 from this very package.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_INSTALL_LIBDIR})
endif()
include(CPack)
