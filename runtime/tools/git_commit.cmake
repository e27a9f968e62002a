# Writes OUT, a C++ source defining pfrt::tools::git_commit(): the checkout's commit, with
# "-dirty" when it has uncommitted changes ("unknown" outside git). Runs at every build so a
# benchmark never reports the commit of an older configure; OUT is only rewritten when the
# text changes, so an unchanged commit rebuilds nothing. Inputs: SOURCE_DIR, OUT.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT commit)
  set(commit unknown)
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE changes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(changes)
    string(APPEND commit "-dirty")
  endif()
endif()
string(CONCAT text "// Generated at build time by runtime/tools/git_commit.cmake.\n#include \"common.hpp\"\n\n"
         "namespace pfrt::tools {\nstd::string git_commit() { return \"${commit}\"; }\n}  // namespace pfrt::tools\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
