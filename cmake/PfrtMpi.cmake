# Decides whether libpfrt_mpi (sharded sessions over MPI) and its mpirun tests are built.
#
# PFRT_MPI: AUTO (default) builds it when find_package(MPI) finds MPI's C library and says why
# not otherwise; ON requires it; OFF never builds it. Cross builds leave it off: the sysroots
# carry no MPI (build on the board, with libopenmpi-dev, to shard there). Sets PFRT_HAVE_MPI,
# and PFRT_MPIEXEC (mpirun) when the tests can launch ranks.

include(PfrtFeatureOption)
pfrt_feature_option(PFRT_MPI "Build libpfrt_mpi: AUTO (when MPI is found), ON or OFF")
set(PFRT_HAVE_MPI OFF)
set(PFRT_MPIEXEC "")

if(PFRT_MPI STREQUAL "OFF")
  message(STATUS "pfrt: MPI sharding off (PFRT_MPI=OFF)")
elseif(CMAKE_CROSSCOMPILING)
  pfrt_feature_unavailable(PFRT_MPI "MPI sharding" "a cross build (the sysroot has no MPI; build on the board with libopenmpi-dev to shard there)")
else()
  find_package(MPI COMPONENTS C QUIET)
  if(NOT MPI_C_FOUND)
    pfrt_feature_unavailable(PFRT_MPI "MPI sharding" "no MPI found (to enable: apt-get install libopenmpi-dev openmpi-bin)")
  else()
    set(PFRT_HAVE_MPI ON)
    if(MPIEXEC_EXECUTABLE)
      set(PFRT_MPIEXEC ${MPIEXEC_EXECUTABLE})
    endif()
    message(STATUS "pfrt: MPI sharding on: libpfrt_mpi with MPI ${MPI_C_VERSION}; tests through "
                   "'${MPIEXEC_EXECUTABLE}'")
  endif()
endif()
