#!/usr/bin/python3
"""Times a large map with and without faults on this machine.

Runs the same map twice on loopback, each with a sink, a ventilator and two
one-thread workers: once undisturbed, once with one worker killed (SIGKILL)
at 30 % progress and a new worker added at 50 %. Prints both wall times,
their ratio, the ventilator's re-dispatch count and how soon the added
worker got its first task.
"""

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start(build, folder, name, args, log):
    binary = Path(build) / name.split("-")[1] / name
    return subprocess.Popen([str(binary), *args], stdout=open(folder / f"{log}.out", "w"),
                            stderr=open(folder / f"{log}.err", "w"))


def wait_for(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    sys.exit(f"fault_benchmark.py: timed out waiting for {what}")


def endpoints(path):
    return dict(line.split("=", 1) for line in path.read_text().split())


def done_points(folder):
    found = re.findall(r": (\d+)/\d+ points", (folder / "sink.out").read_text())
    return int(found[-1]) if found else 0


def run(build, folder, keys, axes, faults):
    """Runs one map; returns the wall time [s] and the re-dispatch count."""
    folder.mkdir()
    started = time.monotonic()
    sink = start(build, folder, "mkmap-sink", [
        "--keys", str(keys), "--output", str(folder / "out"), "--announce-time", "1",
        "--results", "tcp://127.0.0.1:*", "--status", "tcp://127.0.0.1:*",
        "--endpoint-file", str(folder / "sink.ep")], "sink")
    wait_for(lambda: (folder / "sink.ep").exists(), 20, "the sink")
    ends = endpoints(folder / "sink.ep")
    ventilator = start(build, folder, "mkmap-ventilator", [
        "--keys", str(keys), *axes, "--tasks", "tcp://127.0.0.1:*",
        "--sink", ends["results"], "--status", ends["status"],
        "--endpoint-file", str(folder / "ventilator.ep")], "ventilator")
    wait_for(lambda: (folder / "ventilator.ep").exists(), 20, "the ventilator")
    ends.update(endpoints(folder / "ventilator.ep"))

    def worker(index):
        return start(build, folder, "mkmap-worker", [
            "--tasks", ends["tasks"], "--results", ends["results"], "--status", ends["status"],
            "--threads", "1", "--key", str(keys / f"bench-{index}.key_secret"),
            "--server-key", str(keys / "server.key")], f"worker-{index}")

    workers = [worker(1), worker(2)]
    if faults:
        total = int(re.search(r"(\d+) points", axes_points(axes)).group(1))
        wait_for(lambda: done_points(folder) >= 0.3 * total, 600, "30 % progress")
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        wait_for(lambda: done_points(folder) >= 0.5 * total, 600, "50 % progress")
        workers.append(worker(3))
    for process, log in [(sink, "sink"), (ventilator, "ventilator")]:
        code = process.wait(timeout=1200)
        if code != 0:
            # The temporary folder is deleted on exit, so the message carries
            # the end of the log itself.
            tail = (folder / f"{log}.err").read_text()[-1500:]
            sys.exit(f"fault_benchmark.py: the {log} exited with status {code}; "
                     f"end of its log:\n{tail}")
    wall_s = time.monotonic() - started
    for process in workers:
        process.wait(timeout=60)

    meta = json.loads((folder / "out" / "map.json").read_text())
    summary = re.findall(r"(\d+) re-dispatched", (folder / "ventilator.err").read_text())
    counts = dict(meta["counts"])
    if faults:
        counts["added_worker_first_task_s"] = first_task_latency(folder / "worker-3.err")
    return wall_s, int(summary[-1]) if summary else 0, counts


def first_task_latency(log):
    """Returns the time [s] from a worker's start line to its first task."""
    stamps = {}
    for line in log.read_text().splitlines():
        for key, text in (("start", "solver thread"), ("task", "working on run")):
            if text in line and key not in stamps:
                clock = line.split(" ")[1]
                hours, minutes, seconds = clock.split(":")
                stamps[key] = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if len(stamps) < 2:
        return float("nan")
    return stamps["task"] - stamps["start"]


def axes_points(axes):
    x_points = int(axes[1].split(":")[3])
    y_points = int(axes[3].split(":")[3])
    return f"{x_points * y_points} points"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=str(Path(__file__).resolve().parents[1] / "build"),
                        help="build folder with the binaries")
    parser.add_argument("--points", type=int, default=150,
                        help="grid points per axis (default 150, so 22500 points)")
    parser.add_argument("--chunk-size", type=int, default=25, help="points per chunk")
    args = parser.parse_args()
    axes = ["--x", f"CO:1e-5:0.5:{args.points}", "--y", f"O2:1e-5:0.5:{args.points}",
            "--chunk-size", str(args.chunk_size)]

    with tempfile.TemporaryDirectory(prefix="mkmap-bench-") as work:
        work = Path(work)
        keygen = Path(args.build) / "keygen" / "mkmap-keygen"
        keys = work / "keys"
        subprocess.run([str(keygen), "server", "--dir", str(keys)], check=True,
                       capture_output=True)
        for index in (1, 2, 3):
            subprocess.run([str(keygen), "worker", f"bench-{index}", "--dir", str(keys)],
                           check=True, capture_output=True)

        clean_s, _, clean_counts = run(args.build, work / "clean", keys, axes, faults=False)
        fault_s, redispatched, fault_counts = run(args.build, work / "faults", keys, axes,
                                                  faults=True)

    print(f"map: {axes_points(axes)} in chunks of {args.chunk_size}, 2 workers x 1 thread")
    print(f"without faults: {clean_s:.1f} s, converged {clean_counts['converged']}")
    print(f"worker killed at 30 %, one added at 50 %: {fault_s:.1f} s, converged "
          f"{fault_counts['converged']}, re-dispatched chunks {redispatched}, "
          f"duplicate chunks {fault_counts['duplicate_chunks']}")
    print(f"ratio with faults / without: {fault_s / clean_s:.2f}")
    print("added worker: first task "
          f"{1000 * fault_counts['added_worker_first_task_s']:.0f} ms after its start line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
