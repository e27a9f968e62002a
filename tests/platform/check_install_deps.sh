#!/bin/sh
# platforms/debian/install-deps.sh tells the systems pfrt is built on apart: each case below
# lays out the files a system has (os-release, the Jetson and Raspberry Pi markers, nvcc) in a
# fake root and checks what `install-deps.sh --dry-run` says it detected. Nothing is installed.
#   check_install_deps.sh PATH/TO/install-deps.sh WORK_DIR
set -eu
script=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
failures=0

# fake NAME ARCH OS_RELEASE_LINES...: a root with that /etc/os-release
fake() {
  dir=$work/$1
  mkdir -p "$dir/etc" "$dir/proc/device-tree"
  shift
  printf '%s\n' "$@" >"$dir/etc/os-release"
}

# expect NAME ARCH RC PATTERN [OPTIONS...]: run it on root NAME as ARCH, check the exit code
# and that its output has a line matching PATTERN (grep -E).
expect() {
  name=$1 arch=$2 want_rc=$3 pattern=$4
  shift 4
  rc=0
  PFRT_SYSTEM_ROOT=$work/$name PFRT_ARCH=$arch sh "$script" --dry-run "$@" >"$work/$name.out" 2>&1 || rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -Eq -- "$pattern" "$work/$name.out"; then
    echo "FAIL $name ($arch, $*): exit $rc (wanted $want_rc), no line matching: $pattern"
    sed 's/^/  | /' "$work/$name.out"
    failures=$((failures + 1))
  else
    echo "ok   $name ($arch${*:+, $*}): $(grep -E -- "$pattern" "$work/$name.out" | head -n 1)"
  fi
}

fake debian12 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' ID=debian VERSION_ID='"12"'
expect debian12 amd64 0 'detected Debian GNU/Linux 12 \(bookworm\), amd64$'
expect debian12 amd64 0 'would make the aarch64 sysroot' --test --cross aarch64
expect debian12 amd64 2 "unknown architecture" --cross riscv64
expect debian12 arm64 1 "--cross aarch64 on this arm64 machine: build natively" --cross aarch64

# 64-bit Raspberry Pi OS says ID=debian; the board is in the device tree.
fake rpi5-64 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' ID=debian VERSION_ID='"12"'
printf 'Raspberry Pi 5 Model B Rev 1.0\0' >"$work/rpi5-64/proc/device-tree/model"
expect rpi5-64 arm64 0 'detected .*, arm64, Raspberry Pi 5 Model B Rev 1.0$'
expect rpi5-64 arm64 0 'Raspberry Pi OS: Debian.s packages \(arm64\)'

# 32-bit Raspberry Pi OS says ID=raspbian.
fake rpi4-32 'PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"' ID=raspbian ID_LIKE=debian VERSION_ID='"12"'
touch "$work/rpi4-32/etc/rpi-issue"
expect rpi4-32 armhf 0 'Raspberry Pi OS: Debian.s packages \(armhf\)'

# Jetson Orin, JetPack 6: Ubuntu 22.04, L4T R36, CUDA in /usr/local/cuda.
fake orin 'PRETTY_NAME="Ubuntu 22.04.4 LTS"' ID=ubuntu VERSION_ID='"22.04"'
echo '# R36 (release), REVISION: 3.0, GCID: 36923193, BOARD: generic, EABI: aarch64' >"$work/orin/etc/nv_tegra_release"
printf 'NVIDIA Jetson AGX Orin Developer Kit\0' >"$work/orin/proc/device-tree/model"
mkdir -p "$work/orin/usr/local/cuda/bin"
printf '#!/bin/sh\necho "Cuda compilation tools, release 12.6, V12.6.68"\n' >"$work/orin/usr/local/cuda/bin/nvcc"
chmod +x "$work/orin/usr/local/cuda/bin/nvcc"
expect orin arm64 0 'Jetson, L4T R36\.3\.0'
expect orin arm64 0 'CUDA of JetPack: 12\.6 at /usr/local/cuda'

# A Jetson without JetPack's CUDA: said, and the CPU backends are built.
fake orin-nocuda 'PRETTY_NAME="Ubuntu 22.04.4 LTS"' ID=ubuntu VERSION_ID='"22.04"'
echo '# R36 (release), REVISION: 4.0, GCID: 1, BOARD: generic, EABI: aarch64' >"$work/orin-nocuda/etc/nv_tegra_release"
expect orin-nocuda arm64 0 'no /usr/local/cuda/bin/nvcc: install JetPack'

# Xavier on JetPack 5 is Ubuntu 20.04: refused with the way forward.
fake xavier 'PRETTY_NAME="Ubuntu 20.04.6 LTS"' ID=ubuntu VERSION_ID='"20.04"'
echo '# R35 (release), REVISION: 5.0, GCID: 1, BOARD: t186ref, EABI: aarch64' >"$work/xavier/etc/nv_tegra_release"
expect xavier arm64 1 'Ubuntu 20\.04 is too old .*platforms/jetson\.md'

if [ $failures -ne 0 ]; then
  echo "check_install_deps: $failures case(s) failed"
  exit 1
fi
echo "check_install_deps: every system was told apart"
