# Decides whether libpfrt_mpi (sharded sessions over MPI) and its mpirun tests are built.
#
# PFRT_MPI: AUTO (default) builds it when find_package(MPI) finds MPI's C library and says why
# not otherwise; ON requires it; OFF never builds it. Cross builds leave it off: the sysroots
# carry no MPI (build on the board, with libopenmpi-dev, to shard there). Sets PFRT_HAVE_MPI,
# and PFRT_MPIEXEC (mpirun) when the tests can launch ranks.

set(PFRT_MPI AUTO CACHE STRING "Build libpfrt_mpi: AUTO (when MPI is found), ON or OFF")
set_property(CACHE PFRT_MPI PROPERTY STRINGS AUTO ON OFF)
set(PFRT_HAVE_MPI OFF)
set(PFRT_MPIEXEC "")

macro(_pfrt_mpi_unavailable why)
  if(PFRT_MPI STREQUAL "ON")
    message(FATAL_ERROR "pfrt: PFRT_MPI=ON but ${why}")
  endif()
  message(STATUS "pfrt: MPI sharding off: ${why}")
endmacro()

if(NOT PFRT_MPI MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "pfrt: PFRT_MPI must be AUTO, ON or OFF, got '${PFRT_MPI}'")
elseif(PFRT_MPI STREQUAL "OFF")
  message(STATUS "pfrt: MPI sharding off (PFRT_MPI=OFF)")
elseif(CMAKE_CROSSCOMPILING)
  _pfrt_mpi_unavailable("a cross build (the sysroot has no MPI; build on the board with libopenmpi-dev to shard there)")
else()
  find_package(MPI COMPONENTS C QUIET)
  if(NOT MPI_C_FOUND)
    _pfrt_mpi_unavailable("no MPI found (to enable: apt-get install libopenmpi-dev openmpi-bin)")
  else()
    set(PFRT_HAVE_MPI ON)
    if(MPIEXEC_EXECUTABLE)
      set(PFRT_MPIEXEC ${MPIEXEC_EXECUTABLE})
    endif()
    message(STATUS "pfrt: MPI sharding on: libpfrt_mpi with MPI ${MPI_C_VERSION}; tests through "
                   "'${MPIEXEC_EXECUTABLE}'")
  endif()
endif()
