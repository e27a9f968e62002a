# PFRT_SANITIZE="address;undefined" or "thread": applied to every target of the build.
if(PFRT_SANITIZE)
  string(REPLACE ";" "," _pfrt_sanitizers "${PFRT_SANITIZE}")
  # C and C++ only: nvcc does not take these flags (the .cu files' host code is not instrumented).
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${_pfrt_sanitizers};-fno-omit-frame-pointer;-fno-sanitize-recover=all>")
  add_link_options(-fsanitize=${_pfrt_sanitizers})
  message(STATUS "pfrt: building with -fsanitize=${_pfrt_sanitizers}")
endif()

# PFRT_FUZZ=ON: libFuzzer targets under tests/fuzz (clang only). Every target is instrumented
# for coverage (-fsanitize=fuzzer-no-link); only the fuzz executables link libFuzzer's main.
option(PFRT_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
set(PFRT_FUZZ_SECONDS 30 CACHE STRING "Seconds each fuzz target runs in its CTest test")
# A fixed seed makes the CTest runs explore the same inputs every time (CI must not turn red on
# a machine's luck); 0 lets libFuzzer pick one, as long runs should.
set(PFRT_FUZZ_SEED 1 CACHE STRING "libFuzzer -seed of the CTest fuzz runs (0: random)")
if(PFRT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "pfrt: PFRT_FUZZ=ON needs clang (libFuzzer); configure with the 'fuzz' preset")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
