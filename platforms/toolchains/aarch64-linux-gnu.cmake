# 64-bit ARM Linux: Raspberry Pi 4/5 with 64-bit Raspberry Pi OS, Jetson CPU-only builds.
# Needs g++-aarch64-linux-gnu, qemu-user and platforms/sysroot/make-sysroot.sh aarch64
# (platforms/debian/install-deps.sh --cross aarch64 does all three). Used by the preset aarch64.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(PFRT_CROSS_TRIPLE aarch64-linux-gnu)
set(PFRT_CROSS_NAME aarch64)
set(PFRT_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/pfrt-cross-common.cmake)
