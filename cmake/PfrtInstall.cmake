# Installation and packaging: headers, libpfrt.so (+ soname links), libpfrt.a, the tools,
# the CMake package (pfrtConfig.cmake: targets pfrt::pfrt and pfrt::pfrt_static) and pfrt.pc,
# and a Debian package built by CPack (`cpack -G DEB` in the build folder).
# Included at the end of the top-level CMakeLists.txt, once every target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Everything here is the `pfrt` package's; the Python module (runtime/python) installs as the
# `python` component, packaged as python3-pfrt.
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME pfrt)

set(PFRT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pfrt)
set(PFRT_PKGCONFIG_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# What the static library needs at link time (libpfrt.so hides it all): read from the
# target, so a backend that links one more library is packaged right or fails here, loudly.
# Each entry gives the config's find_package and pkg-config's Libs.private.
get_target_property(_pfrt_static_links pfrt_static LINK_LIBRARIES)
set(PFRT_STATIC_PACKAGES "")
set(PFRT_STATIC_LIBS_PRIVATE "")
set(PFRT_STATIC_NEEDS_XNNPACK OFF)
foreach(link IN LISTS _pfrt_static_links)
  string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" link "${link}")
  if(link STREQUAL "Threads::Threads")
    list(APPEND PFRT_STATIC_PACKAGES Threads)
    list(APPEND PFRT_STATIC_LIBS_PRIVATE -pthread)
  elseif(link STREQUAL "TBB::tbb")
    list(APPEND PFRT_STATIC_PACKAGES TBB)
    list(APPEND PFRT_STATIC_LIBS_PRIVATE -ltbb)
  elseif(link STREQUAL "pfrt::xnnpack")
    set(PFRT_STATIC_NEEDS_XNNPACK ON)
    list(APPEND PFRT_STATIC_LIBS_PRIVATE -lXNNPACK -lpthreadpool -lcpuinfo)
  elseif(link MATCHES "^CUDA::(.*)$")
    list(APPEND PFRT_STATIC_PACKAGES CUDAToolkit)
    list(APPEND PFRT_STATIC_LIBS_PRIVATE -l${CMAKE_MATCH_1})
  elseif(link MATCHES "^-|^(m|dl|rt|pthread)$")
    list(APPEND PFRT_STATIC_LIBS_PRIVATE ${link})
  else()
    message(FATAL_ERROR "pfrt: libpfrt.a links '${link}', which cmake/PfrtInstall.cmake does not know how "
                        "to package: teach it the find_dependency and pkg-config flags for it")
  endif()
endforeach()
list(REMOVE_DUPLICATES PFRT_STATIC_PACKAGES)
list(JOIN PFRT_STATIC_PACKAGES " " PFRT_STATIC_PACKAGES)
list(REMOVE_DUPLICATES PFRT_STATIC_LIBS_PRIVATE)
list(APPEND PFRT_STATIC_LIBS_PRIVATE -lstdc++ -lm)
list(JOIN PFRT_STATIC_LIBS_PRIVATE " " PFRT_STATIC_LIBS_PRIVATE)

# Libraries and headers. The shared and static targets are exported separately so an app that
# links libpfrt.so needs none of the static library's dependencies installed.
install(TARGETS pfrt EXPORT pfrtTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_SKIP
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS pfrt LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_ONLY)
install(TARGETS pfrt_static EXPORT pfrtStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/pfrt DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# libpfrt_mpi (sharded sessions over MPI: pfrt/pfrt_mpi.h) where this build has MPI. Linked by
# hand (-lpfrt_mpi -lpfrt plus the MPI compiler wrapper's flags); the tools then need libmpi too.
if(TARGET pfrt_mpi)
  install(TARGETS pfrt_mpi LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_SKIP)
  install(TARGETS pfrt_mpi LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_ONLY)
endif()
# libpfrt_nccl (a sharded session's reductions through NCCL: pfrt/pfrt_nccl.h) where this build
# has CUDA and NCCL. Linked by hand (-lpfrt_nccl -lpfrt); it needs libnccl and libcudart at run time.
if(TARGET pfrt_nccl)
  install(TARGETS pfrt_nccl LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_SKIP)
  install(TARGETS pfrt_nccl LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_ONLY)
endif()

# Tools that exist in this build; they find libpfrt.so beside them in any prefix.
foreach(tool pfrt-convert pfrt-bench pfrt-run)
  if(TARGET ${tool})
    set_target_properties(${tool} PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# CMake package.
install(EXPORT pfrtTargets NAMESPACE pfrt:: DESTINATION ${PFRT_CMAKE_INSTALL_DIR})
install(EXPORT pfrtStaticTargets NAMESPACE pfrt:: DESTINATION ${PFRT_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/install/pfrtConfig.cmake.in
  ${PROJECT_BINARY_DIR}/pfrtConfig.cmake INSTALL_DESTINATION ${PFRT_CMAKE_INSTALL_DIR})
# libpfrt.so.<major> runs programs built for any earlier minor version (runtime/src/pfrt.map), so a
# newer 0.x serves find_package(pfrt 0.1).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pfrtConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pfrtConfig.cmake ${PROJECT_BINARY_DIR}/pfrtConfigVersion.cmake
        DESTINATION ${PFRT_CMAKE_INSTALL_DIR})

# pkg-config file, relocatable: its prefix is found from its own place (${pcfiledir}).
file(RELATIVE_PATH PFRT_PC_TO_PREFIX /prefix/${PFRT_PKGCONFIG_INSTALL_DIR} /prefix)
string(REGEX REPLACE "/$" "" PFRT_PC_TO_PREFIX "${PFRT_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/install/pfrt.pc.in ${PROJECT_BINARY_DIR}/pfrt.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pfrt.pc DESTINATION ${PFRT_PKGCONFIG_INSTALL_DIR})

include(PfrtPackage)
