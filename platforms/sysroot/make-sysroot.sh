#!/bin/bash
# Makes the sysroot folder a cross build of pfrt finds its target libraries in: Debian 12's
# packages for the target architecture, fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`. Nothing is installed system-wide (installing the arm64 -dev packages beside the
# amd64 ones removes the amd64 XNNPACK), and the host's dpkg architectures are left alone: apt
# runs on a private copy of its state that knows only the target architecture.
#   make-sysroot.sh ARCH [DIR]   ARCH: aarch64 (arm64) or armhf (arm); DIR defaults to
#                                build/sysroot-ARCH in the checkout (what the toolchain files use)
# A sysroot already made from the same package list is left as it is (quick, offline). The new
# one is assembled in a temporary folder beside DIR and renamed into place when complete.
# The compiler's own runtime (glibc, libstdc++, libgcc) comes from the cross toolchain
# (g++-aarch64-linux-gnu / g++-arm-linux-gnueabihf), not from here.
set -euo pipefail

usage() { sed -n '6,8p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "make-sysroot.sh: $*" >&2; exit 1; }

[[ $# -ge 1 && $# -le 2 ]] || { usage >&2; exit 2; }
case $1 in
  -h|--help) usage; exit 0 ;;
  aarch64|arm64) name=aarch64; deb_arch=arm64 ;;
  armhf|arm) name=armhf; deb_arch=armhf ;;
  *) die "unknown architecture '$1' (use aarch64 or armhf)" ;;
esac
root_dir=$(cd "$(dirname "$0")/../.." && pwd)
dir=${2:-$root_dir/build/sysroot-$name}

# Headers, CMake configs and link-time libraries of install-deps.sh's build dependencies, and
# the shared libraries those link against (the runtime packages the .so links point into).
DEV_PACKAGES="libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libtbb-dev libflatbuffers-dev
  nlohmann-json3-dev doctest-dev libpng-dev libturbojpeg0-dev zlib1g-dev"
RUNTIME_PACKAGES="libxnnpack0 libpthreadpool0 libcpuinfo0 libtbb12 libtbbmalloc2 libtbbbind-2-5
  libflatbuffers2 libpng16-16 libturbojpeg0 zlib1g"
# One line, single spaces (the stamp compares it); the lists split on purpose here and below.
# shellcheck disable=SC2086,SC2116
packages=$(echo $DEV_PACKAGES $RUNTIME_PACKAGES)
stamp="pfrt sysroot (merged /usr) for $deb_arch: $packages"

if [[ -f $dir/.pfrt-sysroot && $(cat "$dir/.pfrt-sysroot") == "$stamp" ]]; then
  echo "make-sysroot.sh: $dir is up to date"
  exit 0
fi
for tool in apt-get dpkg-deb; do
  command -v $tool >/dev/null || die "$tool not found: the sysroot is made from Debian packages (run on Debian/Ubuntu)"
done

mkdir -p "$(dirname "$dir")"
work=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/debs" "$work/root"
apt_options=(-q -o "APT::Architecture=$deb_arch" -o "APT::Architectures::=$deb_arch"
  -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache"
  -o "Dir::State::status=/dev/null" -o Debug::NoLocking=1)
# As root apt downloads as the _apt user, which may not write here; download as ourselves.
[[ $(id -u) -eq 0 ]] && apt_options+=(-o APT::Sandbox::User=root)

echo "make-sysroot.sh: reading the $deb_arch package lists"
if ! apt-get "${apt_options[@]}" update >"$work/update.log" 2>&1; then
  # One failing index (a mirror mid-sync) need not matter: the download below says if it does.
  echo "make-sysroot.sh: warning: apt-get update reported errors (see below); trying anyway" >&2
  grep -E '^(E|W):' "$work/update.log" >&2 || true
fi
echo "make-sysroot.sh: downloading $packages"
# shellcheck disable=SC2086
if ! (cd "$work/debs" && apt-get "${apt_options[@]}" download $packages) >"$work/download.log" 2>&1; then
  cat "$work/download.log" >&2
  die "could not download the $deb_arch packages above (no network, or no $deb_arch in the apt sources?)"
fi
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/root" || die "could not unpack $(basename "$deb")"
done

# Debian 12 is merged-/usr (/lib is a link to usr/lib) but some packages still ship files under
# /lib (zlib1g: /lib/<triple>/libz.so.1): lay the sysroot out the same way, so one folder holds
# every library, for the linker's -rpath-link and for qemu's LD_LIBRARY_PATH.
if [[ -d $work/root/lib && ! -L $work/root/lib ]]; then
  mkdir -p "$work/root/usr/lib"
  cp -a "$work/root/lib/." "$work/root/usr/lib/"
  rm -rf "$work/root/lib"
  ln -s usr/lib "$work/root/lib"
fi

# Absolute symbolic links would point into the host: make them relative to the sysroot.
while IFS= read -r link; do
  target=$(readlink "$link")
  [[ $target == /* ]] || continue
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$work/root$target")" "$link"
done < <(find "$work/root" -type l)

lib_dir=$work/root/usr/lib/$([[ $name == aarch64 ]] && echo aarch64-linux-gnu || echo arm-linux-gnueabihf)
for required in "$work/root/usr/include/xnnpack.h" "$lib_dir/libXNNPACK.so" "$lib_dir/cmake/TBB/TBBConfig.cmake"; do
  [[ -e $required ]] || die "the unpacked packages lack ${required#"$work/root"}"
done
echo "$stamp" >"$work/root/.pfrt-sysroot"

# Swap the finished folder in: a reader sees the old sysroot or the new one, never a partial one.
if [[ -e $dir ]]; then
  mv "$dir" "$work/old"
fi
mv "$work/root" "$dir"
echo "make-sysroot.sh: made $dir ($(du -sh "$dir" | cut -f1))"
