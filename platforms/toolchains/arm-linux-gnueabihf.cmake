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
