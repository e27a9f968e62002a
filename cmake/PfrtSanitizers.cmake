# PFRT_SANITIZE="address;undefined" or "thread": applied to every target of the build.
if(PFRT_SANITIZE)
  string(REPLACE ";" "," _pfrt_sanitizers "${PFRT_SANITIZE}")
  # C and C++ only: nvcc does not take these flags (the .cu files' host code is not instrumented).
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${_pfrt_sanitizers};-fno-omit-frame-pointer;-fno-sanitize-recover=all>")
  add_link_options(-fsanitize=${_pfrt_sanitizers})
  message(STATUS "pfrt: building with -fsanitize=${_pfrt_sanitizers}")
endif()
