#!/usr/bin/env bash
# Starts one more worker against a run that scripts/run-local.sh started,
# reading the endpoints from its output folder. The worker runs in the
# foreground and exits when the run is complete.
#
# Usage: scripts/add-worker.sh [options]
#   --output DIR      output folder of the running run (default: out)
#   --threads N       solver threads (default: one per core)
#   --keys DIR        key folder (default: keys)
#   --key FILE        this worker's secret key (default: DIR/worker.key_secret)
#   --build DIR       build folder with the binaries (default: build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
output=out
threads=0
keys=keys
key=
build="$root/build"

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
need_value() { [[ $# -ge 2 && -n $2 ]] || { echo "add-worker.sh: $1 needs a value" >&2; exit 2; }; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --output) need_value "$@"; output=$2; shift 2 ;;
    --threads) need_value "$@"; threads=$2; shift 2 ;;
    --keys) need_value "$@"; keys=$2; shift 2 ;;
    --key) need_value "$@"; key=$2; shift 2 ;;
    --build) need_value "$@"; build=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "add-worker.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

endpoints="$output/endpoints"
if [[ ! -f $endpoints ]]; then
  echo "add-worker.sh: $endpoints not found; is a run started by scripts/run-local.sh" \
    "--output $output going on?" >&2
  exit 2
fi
endpoint() { grep "^$1=" "$endpoints" | cut -d= -f2-; }

exec "$build/worker/mkmap-worker" --tasks "$(endpoint tasks)" --results "$(endpoint results)" \
  --status "$(endpoint status)" --key "${key:-$keys/worker.key_secret}" \
  --server-key "$keys/server.key" --threads "$threads"
