#!/bin/sh
# Installs what pfrt needs to build on Debian 12 (and derivatives) with apt-get.
#   install-deps.sh          build dependencies: compiler, CMake, Ninja, the libraries
#   install-deps.sh --test   also what the tests use: PyTorch (python3-torch, for the parity
#                            fixtures), Fashion-MNIST, clang with its sanitizer/fuzzer runtime
# Packages already installed are not fetched again, so a second run is quick and offline.
set -eu

BUILD_PACKAGES="g++ cmake ninja-build pkg-config git ca-certificates
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libtbb-dev
  libflatbuffers-dev flatbuffers-compiler nlohmann-json3-dev doctest-dev libstb-dev"
TEST_PACKAGES="python3 python3-torch python3-numpy libopenblas0-pthread dataset-fashion-mnist clang libclang-rt-14-dev"

packages=$BUILD_PACKAGES
for arg in "$@"; do
  case $arg in
    --test) packages="$packages $TEST_PACKAGES" ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (use --test or nothing)" >&2; exit 2 ;;
  esac
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps.sh: apt-get not found. pfrt builds on Debian 12, Raspberry Pi OS bookworm or" >&2
  echo "Ubuntu 22.04+; elsewhere install these packages' equivalents by hand:" >&2
  echo "  $packages" | tr -s ' \n' ' ' >&2; echo >&2
  exit 1
fi

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "install-deps.sh: all packages are installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps.sh: missing packages:$missing" >&2
    echo "install-deps.sh: run as root (or install sudo) to install them" >&2
    exit 1
  fi
fi
echo "install-deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
