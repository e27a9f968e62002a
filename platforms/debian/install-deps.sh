#!/bin/sh
# Installs what pfrt needs to build on Debian 12 (and derivatives) with apt-get.
#   install-deps.sh                 build dependencies: compiler, CMake, Ninja, the libraries
#   install-deps.sh --test          also what the tests use: PyTorch (python3-torch, for the parity
#                                   fixtures), Fashion-MNIST, clang with its sanitizer/fuzzer runtime
#   install-deps.sh --cross ARCH    also a cross build for ARCH (aarch64 or armhf): the cross g++,
#                                   qemu-user (runs its tests here) and the sysroot of the target's
#                                   libraries (platforms/sysroot/make-sysroot.sh; the presets
#                                   aarch64 and armhf use it). Combines with --test.
#   install-deps.sh --dry-run       print what it detected and would install; change nothing
# It prints the system it detected (Debian, Raspberry Pi OS, Ubuntu, Jetson L4T; architecture)
# and installs for it; on a Jetson it uses the CUDA of JetPack already in /usr/local/cuda.
# Packages already installed are not fetched again, so a second run is quick and offline.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
say() { echo "install-deps.sh: $*"; }
die() { echo "install-deps.sh: $*" >&2; exit 1; }
usage_error() { echo "install-deps.sh: $*" >&2; exit 2; }

BUILD_PACKAGES="g++ cmake ninja-build pkg-config git ca-certificates
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libtbb-dev
  libflatbuffers-dev flatbuffers-compiler nlohmann-json3-dev doctest-dev libpng-dev libturbojpeg0-dev zlib1g-dev
  python3-dev pybind11-dev python3-numpy"
TEST_PACKAGES="make dpkg-dev file python3 python3-torch python3-numpy python3-pil python3-pytest libopenblas0-pthread dataset-fashion-mnist clang clang-format libclang-rt-14-dev libopenmpi-dev openmpi-bin"
# python3-dev, pybind11-dev, python3-numpy: the Python module (runtime/python; import pfrt).
# python3-pytest: the Python module's tests.
# clang-format: the format test (every tracked C/C++ file follows .clang-format; skipped without it).
# libopenmpi-dev, openmpi-bin: libpfrt_mpi (sharded sessions) and its mpirun tests (ctest -L mpi);
# without them CMake leaves sharding over MPI out and says so. Cross builds never use them.
# make: the install test builds examples/classify-c through its Makefile (pkg-config);
# dpkg-dev, file: dpkg-shlibdeps and file(1), which cpack -G DEB needs to name Depends (.deb test).
# Test packages a target may lack (python3-torch is not built for armhf): skipped with a note,
# and the tests that need them skip themselves.
OPTIONAL_PACKAGES="python3-torch libopenblas0-pthread libclang-rt-14-dev"

with_test=no
dry_run=no
cross=""
while [ $# -gt 0 ]; do
  case $1 in
    --test) with_test=yes ;;
    --cross) [ $# -ge 2 ] || usage_error "--cross needs an architecture: aarch64 or armhf"; cross=$2; shift ;;
    --cross=*) cross=${1#--cross=} ;;
    --dry-run) dry_run=yes ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option '$1' (use --test, --cross aarch64|armhf, --dry-run, or nothing)" ;;
  esac
  shift
done
case $cross in
  "") ;;
  aarch64|arm64) cross=aarch64; cross_packages="g++-aarch64-linux-gnu qemu-user" ;;
  armhf|arm) cross=armhf; cross_packages="g++-arm-linux-gnueabihf qemu-user" ;;
  *) usage_error "--cross '$cross': unknown architecture (use aarch64 or armhf)" ;;
esac

# --- What system is this? ---------------------------------------------------------------------
# PFRT_SYSTEM_ROOT and PFRT_ARCH stand in for / and dpkg's architecture in the tests of this
# detection (tests/platform); they are not meant for anything else.
root=${PFRT_SYSTEM_ROOT:-}
os_id=unknown; os_version=""; os_name="an unknown system"
if [ -r "$root/etc/os-release" ]; then
  # shellcheck disable=SC1091
  . "$root/etc/os-release"
  os_id=${ID:-unknown}; os_version=${VERSION_ID:-}; os_name=${PRETTY_NAME:-$os_id}
fi
arch=${PFRT_ARCH:-$(dpkg --print-architecture 2>/dev/null || uname -m)}
model=""
[ -r "$root/proc/device-tree/model" ] && model=$(tr -d '\0' <"$root/proc/device-tree/model")
platform=$os_id
if [ -e "$root/etc/nv_tegra_release" ]; then
  platform=jetson
elif [ "$os_id" = raspbian ] || [ -e "$root/etc/rpi-issue" ] || case $model in "Raspberry Pi"*) true ;; *) false ;; esac; then
  platform=raspberrypi  # 64-bit Raspberry Pi OS says ID=debian; 32-bit says raspbian
fi
say "detected $os_name, $arch${model:+, $model}"

case $platform in
  debian)
    case $os_version in
      12|13) ;;
      *) say "warning: pfrt is built and tested on Debian 12 (bookworm); Debian $os_version may lack packages" ;;
    esac ;;
  raspberrypi)
    say "Raspberry Pi OS: Debian's packages ($arch); see platforms/raspberry-pi-4.md / raspberry-pi-5.md" ;;
  jetson)
    l4t=$(head -n 1 "$root/etc/nv_tegra_release" | sed -n 's/^# *\(R[0-9]*\).*REVISION: *\([0-9.]*\).*/\1.\2/p')
    say "Jetson, L4T ${l4t:-(unknown release)}; see platforms/jetson.md"
    nvcc=$root/usr/local/cuda/bin/nvcc
    if [ -x "$nvcc" ]; then
      say "CUDA of JetPack: $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') at /usr/local/cuda (used as it is; nothing CUDA is installed)"
    else
      say "warning: no /usr/local/cuda/bin/nvcc: install JetPack's CUDA (apt-get install nvidia-jetpack, from" \
          "NVIDIA's L4T apt repository) for the cuda backend; without it pfrt builds the CPU backends only"
    fi ;;
  ubuntu) ;;
  *) say "warning: not Debian, Raspberry Pi OS or Ubuntu: trying Debian's package names" ;;
esac
if [ "$os_id" = ubuntu ]; then
  case $os_version in
    2[2-9].*) ;;
    *) die "Ubuntu $os_version is too old for these packages (XNNPACK, oneTBB, CMake >= 3.25 are missing):" \
           "use Ubuntu 22.04+ (JetPack 6), or follow platforms/jetson.md for JetPack 5 (Ubuntu 20.04)" ;;
  esac
fi
case $arch in
  amd64|arm64|armhf) ;;
  *) say "warning: architecture $arch is not one pfrt is tested on (amd64, arm64, armhf)" ;;
esac
if [ -n "$cross" ]; then
  if { [ "$cross" = aarch64 ] && [ "$arch" = arm64 ]; } || { [ "$cross" = armhf ] && [ "$arch" = armhf ]; }; then
    die "--cross $cross on this $arch machine: build natively instead (install-deps.sh without --cross)"
  fi
  [ "$arch" = amd64 ] || say "warning: cross builds are set up on amd64 hosts; this is $arch"
fi

# --- Packages ---------------------------------------------------------------------------------
packages=$BUILD_PACKAGES
[ $with_test = yes ] && packages="$packages $TEST_PACKAGES"
[ -n "$cross" ] && packages="$packages $cross_packages"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps.sh: apt-get not found. pfrt builds on Debian 12, Raspberry Pi OS bookworm or" >&2
  echo "Ubuntu 22.04+; elsewhere install these packages' equivalents by hand:" >&2
  echo "  $packages" | tr -s ' \n' ' ' >&2; echo >&2
  exit 1
fi

missing=""
for p in $packages; do
  installed "$p" || missing="$missing $p"
done

if [ $dry_run = yes ]; then
  say "would install:${missing:- nothing (all packages are installed)}"
  [ -z "$cross" ] || say "would make the $cross sysroot: platforms/sysroot/make-sysroot.sh $cross"
  exit 0
fi

SUDO=""
if [ -n "$missing" ] && [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps.sh: missing packages:$missing" >&2
    echo "install-deps.sh: run as root (or install sudo) to install them" >&2
    exit 1
  fi
fi
if [ -z "$missing" ]; then
  say "all packages are installed"
else
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # An optional package this system's archive lacks is left out, with a note; a build package
  # it lacks is an error that names it.
  wanted=""
  for p in $missing; do
    if apt-cache show "$p" >/dev/null 2>&1; then
      wanted="$wanted $p"
    elif echo " $OPTIONAL_PACKAGES " | grep -q " $p "; then
      say "note: $p is not available for $os_name/$arch: the tests that need it will be skipped"
    else
      die "package $p is not available from this system's apt sources ($os_name, $arch)"
    fi
  done
  if [ -n "$wanted" ]; then
    say "installing$wanted"
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $wanted
  fi
fi

# CMakePresets.json needs CMake 3.25 (Debian 12 has 3.25; Ubuntu 22.04 has 3.22).
cmake_version=$(cmake --version 2>/dev/null | sed -n 's/^cmake version \([0-9][0-9.]*\).*/\1/p')
if [ -n "$cmake_version" ] && [ "$(printf '%s\n3.25\n' "$cmake_version" | sort -V | head -n 1)" != 3.25 ]; then
  say "warning: CMake $cmake_version is older than the 3.25 the presets need: install a newer one" \
      "(Kitware's APT repository, or 'pip install cmake'); see platforms/jetson.md"
fi

# --- The cross build's sysroot ----------------------------------------------------------------
if [ -n "$cross" ]; then
  # Runs as the caller (it writes into the checkout's build/ folder), not through sudo.
  "$here/../sysroot/make-sysroot.sh" "$cross"
  say "cross build ready: cmake --workflow --preset $cross"
fi
