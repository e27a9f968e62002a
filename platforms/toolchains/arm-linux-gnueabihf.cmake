# 32-bit ARM Linux (ARMv7 hard-float): 32-bit Raspberry Pi OS on a Pi 2/3/4/5.
# Needs g++-arm-linux-gnueabihf, qemu-user and platforms/sysroot/make-sysroot.sh armhf
# (platforms/debian/install-deps.sh --cross armhf does all three). Used by the preset armhf.
# Debian's armhf is ARMv7-A with VFPv3-D16; NEON is not assumed by the compiler (XNNPACK
# detects it at run time).
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(PFRT_CROSS_TRIPLE arm-linux-gnueabihf)
set(PFRT_CROSS_NAME armhf)
set(PFRT_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/pfrt-cross-common.cmake)

# 64-bit file offsets (off_t, ino_t, readdir's d_off), as a 64-bit build has them: without
# them stat() of a file over 2 GiB and readdir() can fail with EOVERFLOW. Under qemu-arm on an
# ext4 host every readdir() does (the host kernel hands out 64-bit directory cookies), so the
# tests that list folders would see them empty.
# -Wno-psabi: GCC notes that passing some std:: types changed ABI in GCC 7.1; everything here
# is built by GCC 12, so the note says nothing (and drowns the build log).
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64")
set(CMAKE_CXX_FLAGS_INIT "-D_FILE_OFFSET_BITS=64 -Wno-psabi")
