/* stb_image's implementation, compiled into fuzz_image with the fuzzer's coverage and
 * sanitizer instrumentation (Debian's libstb.so, which pfrt-run links, is built without it).
 * Same header, same defaults as libstb: every format stb_image knows is compiled in. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
