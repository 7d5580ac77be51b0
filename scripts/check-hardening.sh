#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer and UBSan, then runs
# each libFuzzer target for a fixed time on a copy of its seed corpus.
#
# Usage: scripts/check-hardening.sh [--fuzz-seconds N]
#   --fuzz-seconds N  fuzzing time per target [s] (default: 60)
# Build folders: build-sanitize/ (GCC, RelWithDebInfo, -DMKMAP_SANITIZE=ON)
# and build-fuzz/ (clang++, -DMKMAP_FUZZ=ON). A fuzzer finding is saved in
# build-fuzz/findings/TARGET/. Exits with status 1 when a test fails or a
# fuzzer finds a crash, a leak or a timeout, and 2 on a bad option.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_seconds=60
jobs=$(nproc)
fuzz_targets=(protocol_fuzz model_parser_fuzz)
# An input that takes longer than this is reported as a finding [s].
fuzz_input_timeout_s=10
# A fuzzer whose resident memory exceeds this is reported as a finding [MB].
# ASan's quarantine and its store of allocation stacks grow the model
# parser target to about 830 MB in 60 s. With ASAN_OPTIONS=
# quarantine_size_mb=1:malloc_context_size=2 it stayed at 44 MB for 40 s,
# so that growth is the sanitizer's bookkeeping and not a leak.
fuzz_rss_limit_mb=2048

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --fuzz-seconds)
      [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || {
        echo "check-hardening.sh: --fuzz-seconds needs a positive integer [s], got '${2-}'" >&2; exit 2; }
      fuzz_seconds=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "check-hardening.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

# Debian's clang-14 package installs clang++-14; the clang package adds clang++.
clang_compiler=$(command -v clang++ || command -v clang++-14 || true)
if [[ -z $clang_compiler ]]; then
  echo "check-hardening.sh: neither clang++ nor clang++-14 found; run scripts/install-deps.sh" >&2
  exit 2
fi

failures=()

# --- Test suite under ASan and UBSan ---------------------------------------
sanitize_build="$root/build-sanitize"
echo "check-hardening.sh: building $sanitize_build with ASan and UBSan"
cmake -S "$root" -B "$sanitize_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMKMAP_SANITIZE=ON >/dev/null
cmake --build "$sanitize_build" -j "$jobs"

echo "check-hardening.sh: running the test suite under ASan and UBSan"
if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$sanitize_build" --output-on-failure -j "$jobs"; then
  failures+=("test suite under ASan and UBSan: see the failed tests above")
fi

# --- Fuzz targets -----------------------------------------------------------
fuzz_build="$root/build-fuzz"
echo "check-hardening.sh: building the fuzz targets in $fuzz_build with $clang_compiler"
CXX=$clang_compiler cmake -S "$root" -B "$fuzz_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMKMAP_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$fuzz_build" -j "$jobs" --target "${fuzz_targets[@]}"

# libFuzzer adds new inputs to the corpus folder, so each run gets a copy.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for target in "${fuzz_targets[@]}"; do
  corpus="$work/$target"
  findings="$fuzz_build/findings/$target"
  log="$fuzz_build/findings/$target.log"
  cp -r "$root/tests/fuzz/corpus/$target" "$corpus"
  mkdir -p "$findings"

  echo "check-hardening.sh: fuzzing $target for $fuzz_seconds s"
  status=0
  "$fuzz_build/tests/fuzz/$target" "$corpus" -max_total_time="$fuzz_seconds" \
    -timeout="$fuzz_input_timeout_s" -rss_limit_mb="$fuzz_rss_limit_mb" -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || status=$?

  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  peak_rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
  echo "check-hardening.sh: $target ran ${executions:-an unknown number of} inputs," \
    "peak resident memory ${peak_rss:-unknown} MB, exit status $status"
  if [[ $status -ne 0 ]]; then
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*unexpected exception|.*protocol_fuzz:)' \
      "$log" | head -20 >&2 || true
    failures+=("$target: finding saved in $findings/, full output in $log")
  fi
done

# --- Summary ----------------------------------------------------------------
if [[ ${#failures[@]} -gt 0 ]]; then
  echo "check-hardening.sh: FAILED" >&2
  printf '  %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "check-hardening.sh: passed: test suite under ASan and UBSan, ${fuzz_targets[*]} for $fuzz_seconds s each"
