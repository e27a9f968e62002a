# PFRT_SANITIZE="address;undefined" or "thread": applied to every target of the build.
if(PFRT_SANITIZE)
  string(REPLACE ";" "," _pfrt_sanitizers "${PFRT_SANITIZE}")
  add_compile_options(-fsanitize=${_pfrt_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_pfrt_sanitizers})
  message(STATUS "pfrt: building with -fsanitize=${_pfrt_sanitizers}")
endif()
