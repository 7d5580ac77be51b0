#!/usr/bin/env bash
# Prints the per-point solve time of the default map in one process and
# the wall time of whole pipeline runs on this machine.
#
# Usage: scripts/benchmark.sh [--build DIR] [--repeats N] [--large N]
#   --build DIR   build folder with the binaries (default: build)
#   --repeats N   times the point benchmark solves each point (default: 20)
#   --large N     also time an N x N map of the default model (default: 100; 0 skips it)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
repeats=20
large=100
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --large) large=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "benchmark.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo
echo "== per-point solve time, default 10 x 10 map, one process, one thread"
"$build/tests/bench/mkmap-point-bench" --repeats "$repeats"

# Times one run-local.sh run and prints its wall time and the sink's count.
time_pipeline() {
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  (cd "$work" && "$root/scripts/run-local.sh" --build "$build" --output "$work/out" \
    --keys "$work/keys" --no-plot "$@" >"$work/run.log" 2>&1)
  end=$(date +%s.%N)
  echo "== pipeline wall time, $label: $(echo "$end - $start" | bc) s" \
    "(sink, ventilator and $(nproc) workers with 1 thread each, keys already made)"
  /usr/bin/python3 - "$work/out/map.json" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
counts, timings = meta["counts"], meta["timings"]
print(f"   converged {counts['converged']} of {counts['points']}, workers that sent results:"
      f" {counts['workers']}, sink wall time first result to last:"
      f" {timings['wall_time_s']:.2f} s, summed solve time {timings['solve_time_total_s']:.2f} s")
PY
}

echo
# The first run creates the keys, so it is not timed.
(cd "$work" && "$root/scripts/run-local.sh" --build "$build" --output "$work/out" \
  --keys "$work/keys" --no-plot >/dev/null 2>&1)
time_pipeline "default 10 x 10 map"
if [[ $large -gt 0 ]]; then
  time_pipeline "default model on a $large x $large map, chunks of 50" \
    --x "CO:1e-5:0.5:$large" --y "O2:1e-5:0.5:$large" --chunk-size 50
fi
