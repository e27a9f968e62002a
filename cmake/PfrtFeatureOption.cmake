# The switch of an optional part of the build (the cuda backend, MPI sharding, NCCL sharding):
# a cache option that is AUTO (built when what it needs is found, else a configure message
# saying why not), ON (a configure error when it cannot be built) or OFF.

# Declares option `var`, default AUTO, described by `doc`; any other value than AUTO, ON or OFF
# is a configure error.
function(pfrt_feature_option var doc)
  set(${var} AUTO CACHE STRING "${doc}")
  set_property(CACHE ${var} PROPERTY STRINGS AUTO ON OFF)
  if(NOT ${var} MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "pfrt: ${var} must be AUTO, ON or OFF, got '${${var}}'")
  endif()
endfunction()

# `feature` ("MPI sharding") is not built because `why`: a configure error when option `var` is
# ON, else a status line, to which any further argument (a hint) is appended.
function(pfrt_feature_unavailable var feature why)
  if(${var} STREQUAL "ON")
    message(FATAL_ERROR "pfrt: ${var}=ON but ${why}")
  endif()
  message(STATUS "pfrt: ${feature} off: ${why}${ARGN}")
endfunction()
