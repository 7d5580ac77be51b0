#!/usr/bin/env bash
# Runs a whole map on this machine: sink, workers and ventilator on
# loopback, then draws the map.
#
# Usage: scripts/run-local.sh [options] [-- extra ventilator options]
#   --output DIR      folder for map.csv, map.json, map.png and logs (default: out)
#   --workers N       worker processes (default: one per core)
#   --threads N       solver threads per worker (default: 1)
#   --keys DIR        key folder, created on first use (default: keys)
#   --model FILE      model file (default: the embedded CO-oxidation model)
#   --x SPEC, --y SPEC  axis overrides VARIABLE:FROM:TO:POINTS[:lin|log]
#   --chunk-size N    grid points per chunk (default: 4)
#   --build DIR       build folder with the binaries (default: build)
#   --no-plot         skip the plot
# While it runs, `tail -f DIR/progress.log` shows one progress line per
# second, and scripts/add-worker.sh --output DIR adds a worker.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
output=out
workers=$(nproc)
threads=1
keys=keys
build="$root/build"
plot=1
ventilator_args=()

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
need_value() {
  if [[ $# -lt 2 || -z $2 || $2 == --* ]]; then
    echo "run-local.sh: $1 needs a value" >&2
    exit 2
  fi
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --output) need_value "$@"; output=$2; shift 2 ;;
    --workers) need_value "$@"; workers=$2; shift 2 ;;
    --threads) need_value "$@"; threads=$2; shift 2 ;;
    --keys) need_value "$@"; keys=$2; shift 2 ;;
    --build) need_value "$@"; build=$2; shift 2 ;;
    --model|--x|--y|--chunk-size) need_value "$@"; ventilator_args+=("$1" "$2"); shift 2 ;;
    --no-plot) plot=0; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; ventilator_args+=("$@"); break ;;
    *) echo "run-local.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

if ! [[ $workers =~ ^[1-9][0-9]*$ ]]; then
  echo "run-local.sh: --workers '$workers' is not a positive integer" >&2; exit 2
fi
if ! [[ $threads =~ ^[0-9]+$ ]]; then
  echo "run-local.sh: --threads '$threads' is not a non-negative integer" >&2; exit 2
fi
for binary in sink/mkmap-sink ventilator/mkmap-ventilator worker/mkmap-worker keygen/mkmap-keygen; do
  if [[ ! -x $build/$binary ]]; then
    echo "run-local.sh: $build/$binary not found; build first:" >&2
    echo "  cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build -j" >&2
    exit 2
  fi
done

# Keys: one server pair shared by ventilator and sink, and one pair per
# worker so that the sink counts each worker by its authenticated name.
if [[ ! -f $keys/server.key_secret ]]; then
  "$build/keygen/mkmap-keygen" server --dir "$keys"
fi
for i in $(seq "$workers"); do
  if [[ ! -f $keys/local-$i.key_secret ]]; then
    "$build/keygen/mkmap-keygen" worker "local-$i" --dir "$keys" >/dev/null
  fi
done

if ! mkdir -p "$output" 2>/dev/null || ! touch "$output/progress.log" 2>/dev/null; then
  echo "run-local.sh: cannot write into the output folder '$output'; choose another --output" >&2
  exit 2
fi
# A previous map stays until the sink replaces it, so a run that fails to
# start loses nothing.
rm -f "$output"/{endpoints,sink.endpoints,ventilator.endpoints}
pids=()
worker_pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'echo "run-local.sh: interrupted" >&2; exit 130' INT TERM

# Waits until a process writes its endpoint file, or gives up.
wait_for_file() {
  local file=$1 pid=$2 name=$3
  for _ in $(seq 100); do
    [[ -s $file ]] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run-local.sh: the $name exited before it was ready; see $output/$name.log:" >&2
      tail -n 5 "$output/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "run-local.sh: the $name did not start within 10 s; see $output/$name.log" >&2
  exit 1
}

endpoint() { grep "^$1=" "$2" | cut -d= -f2-; }

"$build/sink/mkmap-sink" --output "$output" --keys "$keys" \
  --results 'tcp://127.0.0.1:*' --status 'tcp://127.0.0.1:*' \
  --endpoint-file "$output/sink.endpoints" >"$output/progress.log" 2>"$output/sink.log" &
sink_pid=$!
pids+=("$sink_pid")
wait_for_file "$output/sink.endpoints" "$sink_pid" sink
results=$(endpoint results "$output/sink.endpoints")
status=$(endpoint status "$output/sink.endpoints")

"$build/ventilator/mkmap-ventilator" --keys "$keys" --tasks 'tcp://127.0.0.1:*' \
  --sink "$results" --status "$status" --endpoint-file "$output/ventilator.endpoints" \
  "${ventilator_args[@]}" >"$output/ventilator.log" 2>&1 &
ventilator_pid=$!
pids+=("$ventilator_pid")
wait_for_file "$output/ventilator.endpoints" "$ventilator_pid" ventilator
tasks=$(endpoint tasks "$output/ventilator.endpoints")
printf 'tasks=%s\nresults=%s\nstatus=%s\n' "$tasks" "$results" "$status" >"$output/endpoints"

for i in $(seq "$workers"); do
  "$build/worker/mkmap-worker" --tasks "$tasks" --results "$results" --status "$status" \
    --key "$keys/local-$i.key_secret" --server-key "$keys/server.key" --threads "$threads" \
    >"$output/worker-$i.log" 2>&1 &
  pids+=($!)
  worker_pids+=($!)
done
echo "run-local.sh: sink, ventilator and $workers workers started; logs in $output/"

tail -n +1 -f "$output/progress.log" --pid="$sink_pid" &
tail_pid=$!

# Waits for the sink; stops the run when every worker has failed.
while kill -0 "$sink_pid" 2>/dev/null; do
  alive=0
  for pid in "${worker_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then alive=$((alive + 1)); fi
  done
  if [[ $alive -eq 0 ]] && kill -0 "$sink_pid" 2>/dev/null; then
    sleep 1  # the sink may be writing the map of a run the workers just finished
    if kill -0 "$sink_pid" 2>/dev/null && ! grep -q " complete: " "$output/progress.log"; then
      echo "run-local.sh: every worker has exited before the run completed; see" \
        "$output/worker-*.log" >&2
      exit 1
    fi
  fi
  sleep 1
done
sink_status=0
wait "$sink_pid" || sink_status=$?
ventilator_status=0
wait "$ventilator_pid" || ventilator_status=$?
wait "$tail_pid" 2>/dev/null || true
if [[ $sink_status -ne 0 || $ventilator_status -ne 0 ]]; then
  echo "run-local.sh: the run failed (sink exit $sink_status, ventilator exit $ventilator_status);" \
    "see $output/sink.log and $output/ventilator.log" >&2
  exit 1
fi
for i in "${!worker_pids[@]}"; do
  if ! wait "${worker_pids[$i]}"; then
    echo "run-local.sh: worker $((i + 1)) failed; see $output/worker-$((i + 1)).log" >&2
  fi
done
trap - EXIT

if [[ $plot -eq 1 ]]; then
  /usr/bin/python3 "$root/scripts/plot_map.py" "$output"
fi

if [[ $plot -eq 1 ]]; then
  echo "run-local.sh: done: $output/map.csv, $output/map.json and $output/map.png"
else
  echo "run-local.sh: done: $output/map.csv and $output/map.json"
fi
