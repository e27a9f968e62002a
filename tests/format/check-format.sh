#!/bin/sh
# Checks C and C++ files against .clang-format (clang-format 14), or formats them.
#   check-format.sh                  every tracked C/C++ file (what CTest runs): fails, showing
#                                    the diff, when one differs
#   check-format.sh FILE...          those files, the same way
#   check-format.sh --changed [REF]  the C/C++ files changed since REF (default: main), the same way
#   --fix                            with any of the above: rewrites the files instead
# Exits 77 without clang-format.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
fix=no; mode=all; ref=main
while [ $# -gt 0 ]; do
  case $1 in
    --fix) fix=yes ;;
    --all) mode=all ;;
    --changed) mode=changed; if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then ref=$2; shift; fi ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check-format.sh: unknown option '$1'" >&2; exit 2 ;;
    *) mode=files; break ;;
  esac
  shift
done

format=""
for candidate in clang-format-14 clang-format; do
  if command -v "$candidate" >/dev/null 2>&1; then format=$candidate; break; fi
done
if [ -z "$format" ]; then
  echo "check-format.sh: skipped: clang-format is not installed (apt-get install clang-format)"
  exit 77
fi

if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "check-format.sh: skipped: not in a git checkout (the tracked files are the ones checked)"
  exit 77
fi

sources() { grep -E '\.(c|cc|cpp|cu|h|hpp)$' | grep -v '^tests/abi/pfrt-0\.1\.0/' || true; }
case $mode in
  files) files=$* ;;
  changed) files=$(git diff --name-only --diff-filter=d "$ref" -- | sources) ;;
  all) files=$(git ls-files | sources) ;;
esac

if [ $fix = yes ]; then
  # shellcheck disable=SC2086
  [ -z "$files" ] || "$format" -i --style=file $files
  echo "check-format.sh: formatted $(echo "$files" | wc -w) file(s)"
  exit 0
fi

differ=0; lines=0
for f in $files; do
  [ -f "$f" ] || { echo "check-format.sh: $f: no such file"; exit 2; }
  changed=$("$format" --style=file "$f" | diff "$f" - | grep -c '^<' || true)
  if [ "$changed" -ne 0 ]; then
    differ=$((differ + 1)); lines=$((lines + changed))
    echo "$f differs from .clang-format:"
    "$format" --style=file "$f" | diff -u "$f" - | sed 's/^/  /' || true
  fi
done
count=$(echo "$files" | wc -w)
if [ $differ -ne 0 ]; then
  echo "check-format.sh: $differ of $count files differ from .clang-format: $lines line(s); run tests/format/check-format.sh --fix on them"
  exit 1
fi
echo "check-format.sh: $count files follow .clang-format"
