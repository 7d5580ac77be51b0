#!/usr/bin/env bash
# Starts one more worker against a run that scripts/run-local.sh started,
# reading the endpoints from its output folder. The worker runs in the
# foreground and exits when the run is complete.
#
# Usage: scripts/add-worker.sh [options]
#   --output DIR      output folder of the running run (default: out)
#   --threads N       solver threads (default: one per core)
#   --keys DIR        key folder (default: keys)
#   --name NAME       key name of this worker; its key pair is created and
#                     authorized in the key folder when missing (default: the
#                     first free name added-1, added-2, ...)
#   --build DIR       build folder with the binaries (default: build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
output=out
threads=0
keys=keys
name=
build="$root/build"

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
need_value() {
  if [[ $# -lt 2 || -z $2 || $2 == --* ]]; then
    echo "add-worker.sh: $1 needs a value" >&2
    exit 2
  fi
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --output) need_value "$@"; output=$2; shift 2 ;;
    --threads) need_value "$@"; threads=$2; shift 2 ;;
    --keys) need_value "$@"; keys=$2; shift 2 ;;
    --name) need_value "$@"; name=$2; shift 2 ;;
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

# The servers read the authorized folder at every connection, so a key
# created here is accepted without restarting them.
if [[ -z $name ]]; then
  i=1
  while [[ -f $keys/added-$i.key_secret ]]; do i=$((i + 1)); done
  name=added-$i
fi
if [[ ! -f $keys/$name.key_secret ]]; then
  "$build/keygen/mkmap-keygen" worker "$name" --dir "$keys"
fi

exec "$build/worker/mkmap-worker" --tasks "$(endpoint tasks)" --results "$(endpoint results)" \
  --status "$(endpoint status)" --key "$keys/$name.key_secret" \
  --server-key "$keys/server.key" --threads "$threads"
