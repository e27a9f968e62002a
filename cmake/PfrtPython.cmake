# The Python module (runtime/python): built when pybind11 and Python's headers are found
# (Debian: pybind11-dev, python3-dev) for the interpreter PFRT_PYTHON, in native builds without
# sanitizers. -DPFRT_PYTHON_MODULE=ON makes a missing piece an error, OFF skips it.
set(PFRT_PYTHON_MODULE AUTO CACHE STRING "Build the pfrt Python module: AUTO (when pybind11 is found), ON or OFF")
set_property(CACHE PFRT_PYTHON_MODULE PROPERTY STRINGS AUTO ON OFF)
# Debian's python3 finds modules in /usr/lib/python3/dist-packages (the .deb's prefix is /usr).
set(PFRT_PYTHON_INSTALL_DIR lib/python3/dist-packages CACHE STRING
    "Where the Python module is installed, relative to the prefix")
set(PFRT_HAVE_PYTHON_MODULE OFF)

function(pfrt_python_module_skipped why)
  if(PFRT_PYTHON_MODULE STREQUAL "ON")
    message(FATAL_ERROR "pfrt: PFRT_PYTHON_MODULE=ON, but ${why}")
  endif()
  message(STATUS "pfrt: the Python module is not built: ${why}")
endfunction()

if(PFRT_PYTHON_MODULE STREQUAL "OFF")
  message(STATUS "pfrt: the Python module is not built (PFRT_PYTHON_MODULE=OFF)")
elseif(CMAKE_CROSSCOMPILING)
  pfrt_python_module_skipped("this is a cross build (build it natively on the device)")
elseif(PFRT_SANITIZE)
  pfrt_python_module_skipped("a module built with -fsanitize would need the sanitizer runtime preloaded into python3")
else()
  set(Python_EXECUTABLE ${PFRT_PYTHON})
  find_package(Python 3 QUIET COMPONENTS Interpreter Development.Module)
  if(NOT Python_Development.Module_FOUND)
    pfrt_python_module_skipped("Python's headers for ${PFRT_PYTHON} were not found (${PFRT_INSTALL_HINT} python3-dev)")
  else()
    set(PYBIND11_FINDPYTHON ON)
    find_package(pybind11 2.6 CONFIG QUIET)
    if(NOT pybind11_FOUND)
      pfrt_python_module_skipped("pybind11 was not found (${PFRT_INSTALL_HINT} pybind11-dev)")
    else()
      set(PFRT_HAVE_PYTHON_MODULE ON)
      message(STATUS "pfrt: the Python module is built for ${Python_EXECUTABLE} ${Python_VERSION} (pybind11 ${pybind11_VERSION})")
    endif()
  endif()
endif()
