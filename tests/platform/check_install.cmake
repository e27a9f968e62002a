# Packaging cannot rot: installs this build into a fresh prefix, checks the installed tree,
# then builds the examples against it as a user would, through the CMake package
# (examples/robot-app, examples/classify-c: shared and static) and through pkg-config
# (examples/classify-c/Makefile), and runs them. The three builds of classify must print the
# same classes for the same images.
# With -DCPACK=..., the tree comes from the Debian package instead: `cpack -G DEB`, its control
# fields checked (Package, Architecture, and Depends naming the Debian runtime packages in
# -DDEPENDS), then `dpkg-deb -x` into the work folder (no root, nothing installed system-wide).
# Run as: cmake -DBUILD_DIR= -DSOURCE_DIR= -DWORK_DIR= -DMODEL= -DINPUT= -DTOOLS= -DGENERATOR=
#               -DC_COMPILER= -DCXX_COMPILER= [-DEXTRA_FLAGS=]
#               [-DCPACK= -DDPKG_DEB= -DDEB_ARCH= -DDEPENDS=a;b] [-DPYTHON= -DPYTHON_DIR=] -P check_install.cmake
# With -DPYTHON, the Python module is imported from the tree too (and, from the .deb, it comes
# from python3-pfrt_*.deb, whose Depends are checked).
cmake_minimum_required(VERSION 3.22)  # policies of a script run with -P (IN_LIST)
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR MODEL INPUT GENERATOR C_COMPILER CXX_COMPILER)
  if(NOT ${var})
    message(FATAL_ERROR "check_install: -D${var}= is required")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_install: ${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
if(NOT CPACK)
  set(prefix "${WORK_DIR}/prefix")
  run("cmake --install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
else()
  foreach(var DPKG_DEB DEB_ARCH DEPENDS)
    if(NOT ${var})
      message(FATAL_ERROR "check_install: -D${var}= is required with -DCPACK")
    endif()
  endforeach()
  run("cpack -G DEB" ${CPACK} -G DEB -B "${WORK_DIR}/cpack" --config "${BUILD_DIR}/CPackConfig.cmake")
  file(GLOB debs "${WORK_DIR}/cpack/pfrt_*.deb")
  list(LENGTH debs deb_count)
  if(NOT deb_count EQUAL 1)
    message(FATAL_ERROR "check_install: cpack made ${deb_count} pfrt_*.deb files in ${WORK_DIR}/cpack: [${debs}]")
  endif()
  run("dpkg-deb --field" ${DPKG_DEB} --field "${debs}" Package Architecture Depends)
  set(fields "${output}")
  if(NOT fields MATCHES "Package: pfrt\n" OR NOT fields MATCHES "Architecture: ${DEB_ARCH}\n")
    message(FATAL_ERROR "check_install: ${debs}: expected Package: pfrt and Architecture: ${DEB_ARCH}, got\n${fields}")
  endif()
  if(NOT fields MATCHES "Depends: ([^\n]*)")
    message(FATAL_ERROR "check_install: ${debs} has no Depends field:\n${fields}")
  endif()
  set(depends "${CMAKE_MATCH_1}")
  # The package names: "libc6 (>= 2.34), libtbb12 (>= 2021.5), a | b" -> libc6;libtbb12;a;b
  string(REGEX REPLACE " *\\([^)]*\\)" "" names "${depends}")
  string(REGEX REPLACE " *[,|] *" ";" names "${names}")
  foreach(package IN LISTS DEPENDS)
    if(NOT package IN_LIST names)
      message(FATAL_ERROR "check_install: ${debs}: Depends does not name ${package}: ${depends}")
    endif()
  endforeach()
  # Everything under /usr: nothing in /usr/local or elsewhere that dpkg would own.
  run("dpkg-deb --contents" ${DPKG_DEB} --contents "${debs}")
  string(REGEX MATCHALL "\\./[^\n]*" paths "${output}")
  foreach(path IN LISTS paths)
    if(NOT path MATCHES "^\\./(usr/?)?$" AND NOT path MATCHES "^\\./usr/(bin|include|lib|share)/")
      message(FATAL_ERROR "check_install: ${debs} installs ${path}, outside /usr/{bin,include,lib,share}")
    endif()
    if(path MATCHES "^\\./usr/local")
      message(FATAL_ERROR "check_install: ${debs} installs into /usr/local: ${path}")
    endif()
  endforeach()
  run("dpkg-deb -x" ${DPKG_DEB} -x "${debs}" "${WORK_DIR}/root")
  if(PYTHON)  # the module's package, python3-pfrt, beside it
    file(GLOB python_debs "${WORK_DIR}/cpack/python3-pfrt_*.deb")
    list(LENGTH python_debs python_deb_count)
    if(NOT python_deb_count EQUAL 1)
      message(FATAL_ERROR "check_install: cpack made ${python_deb_count} python3-pfrt_*.deb files: [${python_debs}]")
    endif()
    run("dpkg-deb --field" ${DPKG_DEB} --field "${python_debs}" Depends)
    foreach(package "pfrt \\(= [0-9.]+\\)" python3-numpy "python3 \\(>= 3")
      if(NOT output MATCHES "${package}")
        message(FATAL_ERROR "check_install: ${python_debs}: Depends does not name ${package}: ${output}")
      endif()
    endforeach()
    run("dpkg-deb -x" ${DPKG_DEB} -x "${python_debs}" "${WORK_DIR}/root")
  endif()
  set(prefix "${WORK_DIR}/root/usr")
  message(STATUS "check_install: ${debs}: Depends: ${depends}")
endif()

# The installed tree. Libraries go to lib/ (or lib/<multiarch>/ for the /usr prefix).
file(GLOB config "${prefix}/lib*/cmake/pfrt/pfrtConfig.cmake" "${prefix}/lib/*/cmake/pfrt/pfrtConfig.cmake")
if(NOT config)
  message(FATAL_ERROR "check_install: no lib/cmake/pfrt/pfrtConfig.cmake under ${prefix}")
endif()
get_filename_component(libdir "${config}" DIRECTORY)
get_filename_component(libdir "${libdir}/../.." ABSOLUTE)
foreach(file include/pfrt/pfrt.h include/pfrt/pfrt.hpp)
  if(NOT EXISTS "${prefix}/${file}")
    message(FATAL_ERROR "check_install: ${file} was not installed")
  endif()
endforeach()
foreach(file libpfrt.so libpfrt.so.0 libpfrt.a cmake/pfrt/pfrtConfigVersion.cmake pkgconfig/pfrt.pc)
  if(NOT EXISTS "${libdir}/${file}")
    message(FATAL_ERROR "check_install: ${libdir}/${file} was not installed")
  endif()
endforeach()
if(NOT IS_SYMLINK "${libdir}/libpfrt.so" OR NOT IS_SYMLINK "${libdir}/libpfrt.so.0")
  message(FATAL_ERROR "check_install: libpfrt.so and libpfrt.so.0 must be links to the versioned file")
endif()
foreach(tool IN LISTS TOOLS)
  if(NOT EXISTS "${prefix}/bin/${tool}")
    message(FATAL_ERROR "check_install: bin/${tool} was not installed")
  endif()
  run("installed ${tool} --help" "${prefix}/bin/${tool}" --help)  # finds libpfrt.so from its RPATH
endforeach()

# The Python module, imported from the installed tree by the interpreter it was built for; it
# finds libpfrt.so.0 in the tree through its RUNPATH.
if(PYTHON)
  file(GLOB module "${prefix}/${PYTHON_DIR}/pfrt.*.so")
  if(NOT module)
    message(FATAL_ERROR "check_install: the Python module was not installed into ${prefix}/${PYTHON_DIR}")
  endif()
  run("import pfrt" ${CMAKE_COMMAND} -E env "PYTHONPATH=${prefix}/${PYTHON_DIR}" ${PYTHON} -c
      "import sys, pfrt\nm = pfrt.Model(sys.argv[1])\nprint(pfrt.__file__, pfrt.__version__, m.info.classes)" "${MODEL}")
  if(NOT output MATCHES "^${prefix}/${PYTHON_DIR}/pfrt[^ ]*\\.so [0-9]+\\.[0-9]+\\.[0-9]+ 10\n")
    message(FATAL_ERROR "check_install: import pfrt from the installed tree printed:\n${output}")
  endif()
endif()

set(flags -G "${GENERATOR}" -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
          "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=RelWithDebInfo
          "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror ${EXTRA_FLAGS}" "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror ${EXTRA_FLAGS}"
          "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}")

# robot-app (C++, find_package) over two frames of the model's size.
file(READ "${MODEL}" ignored LIMIT 4)  # the model must exist
run("configure robot-app" ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/robot-app" -B "${WORK_DIR}/robot-app" ${flags})
run("build robot-app" ${CMAKE_COMMAND} --build "${WORK_DIR}/robot-app")
string(REPEAT "A" 784 dark)
string(REPEAT "z" 784 light)
file(WRITE "${WORK_DIR}/frames/0001.pgm" "P5\n28 28\n255\n${dark}")
file(WRITE "${WORK_DIR}/frames/0002.pgm" "P5\n28 28\n255\n${light}")
run("robot-app" "${WORK_DIR}/robot-app/robot-app" "${MODEL}" "${WORK_DIR}/frames" --fps 100)
if(NOT output MATCHES "frame 0 0001.pgm: class [0-9]+.*frame 1 0002.pgm: class [0-9]+.*2 frames")
  message(FATAL_ERROR "check_install: robot-app printed:\n${output}")
endif()

# classify (C): find_package, shared and static.
run("configure classify" ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/classify-c" -B "${WORK_DIR}/classify" ${flags})
run("build classify" ${CMAKE_COMMAND} --build "${WORK_DIR}/classify")
run("classify (libpfrt.so)" "${WORK_DIR}/classify/classify" "${MODEL}" "${INPUT}")
set(shared_output "${output}")
if(NOT shared_output MATCHES "^image 0: class [0-9]+.*\nimage 1: class [0-9]+")
  message(FATAL_ERROR "check_install: classify printed:\n${shared_output}")
endif()
if(NOT EXISTS "${WORK_DIR}/classify/classify-static")
  message(FATAL_ERROR "check_install: pfrtConfig.cmake did not define pfrt::pfrt_static (classify-static not built)")
endif()
run("classify (libpfrt.a)" "${WORK_DIR}/classify/classify-static" "${MODEL}" "${INPUT}")
if(NOT output STREQUAL shared_output)
  message(FATAL_ERROR "check_install: classify-static printed\n${output}\nbut classify printed\n${shared_output}")
endif()

# classify (C) through pkg-config and make.
find_program(MAKE_PROGRAM NAMES make gmake REQUIRED)
file(MAKE_DIRECTORY "${WORK_DIR}/pkg-config")
run("make classify (pkg-config)" ${MAKE_PROGRAM} -f "${SOURCE_DIR}/examples/classify-c/Makefile" "OUT=${WORK_DIR}/pkg-config"
    "PKG_CONFIG_PATH=${libdir}/pkgconfig" "CC=${C_COMPILER}" "CFLAGS=-Wall -Wextra -Werror ${EXTRA_FLAGS}")
run("classify (pkg-config)" ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${libdir}"
    "${WORK_DIR}/pkg-config/classify" "${MODEL}" "${INPUT}")
if(NOT output STREQUAL shared_output)
  message(FATAL_ERROR "check_install: classify (pkg-config) printed\n${output}\nbut classify printed\n${shared_output}")
endif()
message(STATUS "check_install: installed tree, robot-app, classify (shared, static, pkg-config) all good")
