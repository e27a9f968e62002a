#!/bin/sh
# Checks C and C++ files against .clang-format (clang-format 14), or formats them.
#   check-format.sh                  the files in tests/format/formatted-files.txt (what CTest runs):
#                                    fails, showing the diff, when one differs
#   check-format.sh FILE...          those files, the same way
#   check-format.sh --changed [REF]  the C/C++ files changed since REF (default: main), the same way
#   check-format.sh --all            every tracked C/C++ file: reports which differ and how many
#                                    lines, and exits 0 (the tree is not all formatted yet)
#   --strict                         with --all: fails when a file differs
#   --fix                            with any of the above: rewrites the files instead
# The tree is formatted once, at a quiet moment, with: tests/format/check-format.sh --fix --all
# (then CTest can run --all --strict instead of the list). Exits 77 without clang-format.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
fix=no; mode=list; ref=main; strict=no
while [ $# -gt 0 ]; do
  case $1 in
    --fix) fix=yes ;;
    --all) mode=all ;;
    --strict) strict=yes ;;
    --changed) mode=changed; if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then ref=$2; shift; fi ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

sources() { grep -E '\.(c|cc|cpp|cu|h|hpp)$' | grep -v '^tests/abi/pfrt-0\.1\.0/' || true; }
case $mode in
  list) files=$(grep -v '^#' tests/format/formatted-files.txt | sed '/^$/d') ;;
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
    if [ $mode = all ] && [ $strict = no ]; then
      echo "$f: $changed line(s) differ"
    else
      echo "$f differs from .clang-format:"
      "$format" --style=file "$f" | diff -u "$f" - | sed 's/^/  /' || true
    fi
  fi
done
count=$(echo "$files" | wc -w)
if [ $mode = all ] && [ $strict = no ]; then
  echo "check-format.sh: $differ of $count files differ from .clang-format ($lines lines); not an error until the tree is formatted (--fix --all)"
  exit 0
fi
if [ $differ -ne 0 ]; then
  echo "check-format.sh: $differ of $count files differ from .clang-format: run tests/format/check-format.sh --fix on them"
  exit 1
fi
echo "check-format.sh: $count files follow .clang-format"
