#!/usr/bin/python3
"""End-to-end tests of mkmap's ventilator, workers and sink on loopback.

Each case starts the real binaries on tcp://127.0.0.1 with ephemeral ports
in a temporary folder and checks exit codes, messages and the map files.
Usage: pipeline_test.py --build BUILD_DIR [--source SOURCE_DIR] CASE
"""

import argparse
import csv
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Upper bound for a whole 10x10 run on a loaded 2-core machine [s].
RUN_TIMEOUT_S = 120
# A refused worker must give up within this time [s].
REFUSAL_TIMEOUT_S = 15


class Failure(Exception):
    """A check of the test failed."""


def check(condition, message):
    if not condition:
        raise Failure(message)


class Pipeline:
    """Starts mkmap processes in one folder and remembers them."""

    def __init__(self, build, folder):
        self.build = Path(build).resolve()
        self.folder = Path(folder)
        self.keys = self.folder / "keys"
        self.output = self.folder / "out"
        self.processes = []
        self.endpoints = {}

    def binary(self, name):
        return str(self.build / name.split("-")[1] / name)

    def keygen(self, *args):
        result = subprocess.run([self.binary("mkmap-keygen"), *args, "--dir", str(self.keys)],
                                capture_output=True, text=True, timeout=30)
        check(result.returncode == 0, f"mkmap-keygen {args} failed: {result.stderr}")

    def start(self, name, args, log, env=None):
        out = open(self.folder / f"{log}.out", "w")
        err = open(self.folder / f"{log}.err", "w")
        process = subprocess.Popen([self.binary(name), *args], stdout=out, stderr=err,
                                   env={**os.environ, **(env or {})})
        process.log = log
        self.processes.append(process)
        return process

    def wait_for_file(self, path, process, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_size > 0:
                return
            check(process.poll() is None,
                  f"{process.log} exited with {process.returncode}: {self.stderr(process)}")
            time.sleep(0.05)
        raise Failure(f"{path} did not appear within {timeout_s} s")

    def read_endpoints(self, path):
        for line in path.read_text().splitlines():
            role, _, endpoint = line.partition("=")
            self.endpoints[role] = endpoint

    def start_sink(self, log="sink", env=None):
        """Starts a sink; a restarted sink binds the endpoints of the first."""
        endpoint_file = self.folder / "sink.endpoints"
        results = self.endpoints.get("results", "tcp://127.0.0.1:*")
        status = self.endpoints.get("status", "tcp://127.0.0.1:*")
        endpoint_file.unlink(missing_ok=True)
        sink = self.start("mkmap-sink", [
            "--output", str(self.output), "--keys", str(self.keys),
            "--results", results, "--status", status,
            "--endpoint-file", str(endpoint_file), "--announce-time", "2"], log, env)
        self.wait_for_file(endpoint_file, sink)
        self.read_endpoints(endpoint_file)
        return sink

    def start_ventilator(self, *extra, log="ventilator", env=None):
        """Starts a ventilator; a restarted one binds the endpoint of the first."""
        endpoint_file = self.folder / "ventilator.endpoints"
        endpoint_file.unlink(missing_ok=True)
        ventilator = self.start("mkmap-ventilator", [
            "--keys", str(self.keys), "--tasks", self.endpoints.get("tasks", "tcp://127.0.0.1:*"),
            "--sink", self.endpoints["results"], "--status", self.endpoints["status"],
            "--endpoint-file", str(endpoint_file), *extra], log, env)
        self.wait_for_file(endpoint_file, ventilator)
        self.read_endpoints(endpoint_file)
        return ventilator

    def start_worker(self, name="worker", threads=1, env=None, extra=(), server_key=None):
        log = f"{name}-{len(self.processes)}"
        out = open(self.folder / f"{log}.out", "w")
        err = open(self.folder / f"{log}.err", "w")
        process = subprocess.Popen([
            self.binary("mkmap-worker"),
            "--tasks", self.endpoints["tasks"], "--results", self.endpoints["results"],
            "--status", self.endpoints["status"], "--threads", str(threads),
            "--key", str(self.keys / f"{name}.key_secret"),
            "--server-key", str(server_key or self.keys / "server.key"), *extra],
            stdout=out, stderr=err, env={**os.environ, **(env or {})})
        process.log = log
        self.processes.append(process)
        return process

    def done_points(self, log="sink"):
        """Returns the done count of the sink's latest progress line."""
        lines = (self.folder / f"{log}.out").read_text().splitlines()
        for line in reversed(lines):
            match = re.search(r": (\d+)/(\d+) points", line)
            if match:
                return int(match.group(1))
        return 0

    def wait_for_progress(self, points, timeout_s=60, log="sink"):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.done_points(log) >= points:
                return
            time.sleep(0.1)
        raise Failure(f"the sink did not reach {points} points within {timeout_s} s")

    def stderr(self, process):
        return (self.folder / f"{process.log}.err").read_text()

    def wait(self, process, timeout_s=RUN_TIMEOUT_S):
        try:
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise Failure(f"{process.log} still running after {timeout_s} s: "
                          f"{self.stderr(process)[-2000:]}") from None

    def wait_for_log(self, process, text, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.stderr(process):
                return
            time.sleep(0.05)
        raise Failure(f"{process.log} did not log '{text}' within {timeout_s} s")

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def read_map(output):
    with open(output / "map.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(output / "map.json") as handle:
        meta = json.load(handle)
    return rows, meta


def check_complete_map(pipeline, points=100):
    rows, meta = read_map(pipeline.output)
    check(len(rows) == points, f"map.csv has {len(rows)} rows, expected {points}")
    statuses = {row["status"] for row in rows}
    check(statuses == {"converged"}, f"statuses in map.csv: {statuses}")
    indices = sorted((int(row["iy"]), int(row["ix"])) for row in rows)
    check(len(set(indices)) == points, "map.csv repeats a grid point")
    check(meta["counts"]["converged"] == points, f"map.json counts: {meta['counts']}")
    for row in rows:
        theta_sum = sum(float(value) for key, value in row.items() if key.startswith("theta_"))
        check(abs(theta_sum - 1.0) < 1e-9, f"coverages of {row['ix']},{row['iy']} sum to {theta_sum}")
    return rows, meta


def case_full(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator()
    workers = [pipeline.start_worker(), pipeline.start_worker()]

    for process in [sink, ventilator, *workers]:
        code = pipeline.wait(process)
        check(code == 0, f"{process.log} exited with {code}: {pipeline.stderr(process)[-2000:]}")
    _, meta = check_complete_map(pipeline)
    check(meta["scan"]["x"]["column"] == "p_CO", f"x column {meta['scan']['x']['column']}")
    check(len(meta["scan"]["x"]["values"]) == 10, "x axis does not have 10 values")

    progress = (pipeline.folder / "sink.out").read_text()
    check("100/100 points" in progress, f"no final progress line in: {progress}")
    check("complete" in progress, "the progress log does not report completion")

    # A worker that starts after the run is over gives up waiting.
    late = pipeline.start_worker(extra=["--idle-timeout", "2"])
    code = pipeline.wait(late, 20)
    check(code == 0, f"a worker after the run exited with {code}: {pipeline.stderr(late)}")
    check("nothing heard from the ventilator" in pipeline.stderr(late),
          "the idle worker did not say why it exits")
    check_no_keys_logged(pipeline)


def check_no_keys_logged(pipeline):
    """Checks that no log or output file contains a public or secret key."""
    keys = set()
    for path in pipeline.keys.rglob("*.key*"):
        keys.update(re.findall(r'-key = "(.{40})"', path.read_text()))
    check(len(keys) >= 3, f"found only {len(keys)} keys in {pipeline.keys}")
    logs = [*pipeline.folder.glob("*.err"), *pipeline.folder.glob("*.out"),
            *pipeline.output.glob("*")]
    for path in logs:
        text = path.read_text(errors="replace")
        for key in keys:
            check(key not in text, f"{path.name} contains the key {key[:4]}...")


def case_late_worker(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator()
    pipeline.wait_for_log(ventilator, "acknowledged the run")
    time.sleep(1.0)  # the worker joins a run whose ventilator is already sending
    check(ventilator.poll() is None, "the ventilator exited before any worker joined")
    worker = pipeline.start_worker(threads=2)

    for process in [sink, ventilator, worker]:
        code = pipeline.wait(process)
        check(code == 0, f"{process.log} exited with {code}: {pipeline.stderr(process)[-2000:]}")
    check_complete_map(pipeline)


def case_unauthorized_worker(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    pipeline.keygen("worker", "intruder", "--no-authorize")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator()

    intruder = pipeline.start_worker("intruder")
    code = pipeline.wait(intruder, REFUSAL_TIMEOUT_S)
    message = pipeline.stderr(intruder)
    check(code == 3, f"refused worker exited with {code}, expected 3: {message}")
    check("rejected this worker's key" in message, f"no rejection message: {message}")
    check(pipeline.endpoints["tasks"] in message or pipeline.endpoints["results"] in message,
          f"the rejection message names no endpoint: {message}")
    check("working on run" not in message, "the refused worker received a task")
    check("rejected client" in pipeline.stderr(sink) or "rejected client" in pipeline.stderr(ventilator),
          "no server logged the rejection")

    worker = pipeline.start_worker()
    for process in [sink, ventilator, worker]:
        code = pipeline.wait(process)
        check(code == 0, f"{process.log} exited with {code}: {pipeline.stderr(process)[-2000:]}")
    _, meta = check_complete_map(pipeline)
    check(meta["counts"]["workers"] == 1, f"workers seen: {meta['counts']['workers']}")


# Exit code of a worker whose handshake keeps failing.
HANDSHAKE_FAILING_EXIT = 4
# Generous bound for a worker to give up on a server it cannot talk to [s];
# it usually takes well under a second.
GIVE_UP_TIMEOUT_S = 30


def check_worker_gives_up(pipeline, worker, *hints):
    """Checks that a worker exits on failed handshakes, naming an endpoint and what to check."""
    code = pipeline.wait(worker, GIVE_UP_TIMEOUT_S)
    message = pipeline.stderr(worker)
    check(code == HANDSHAKE_FAILING_EXIT,
          f"{worker.log} exited with {code}, expected {HANDSHAKE_FAILING_EXIT}: {message}")
    check("giving up" in message, f"{worker.log} does not say that it gives up: {message}")
    endpoints = [pipeline.endpoints[role] for role in ("tasks", "results", "status")]
    check(any(endpoint in message for endpoint in endpoints),
          f"{worker.log} names no endpoint: {message}")
    for hint in hints:
        check(hint in message, f"{worker.log} does not say to check '{hint}': {message}")
    check("working on run" not in message, f"{worker.log} received a task")


def case_wrong_server_key(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    other_keys = pipeline.folder / "other-keys"
    result = subprocess.run([pipeline.binary("mkmap-keygen"), "server", "--dir", str(other_keys)],
                            capture_output=True, text=True, timeout=30)
    check(result.returncode == 0, f"mkmap-keygen server failed: {result.stderr}")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator()

    misled = pipeline.start_worker(server_key=other_keys / "server.key")
    check_worker_gives_up(pipeline, misled, "--server-key")

    worker = pipeline.start_worker()
    finish(pipeline, [sink, ventilator, worker])
    _, meta = check_complete_map(pipeline)
    check(meta["counts"]["workers"] == 1, f"workers seen: {meta['counts']['workers']}")


def case_no_curve_server(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    endpoint_file = pipeline.folder / "sink.endpoints"
    sink = pipeline.start("mkmap-sink", [
        "--no-curve", "--output", str(pipeline.output),
        "--results", "tcp://127.0.0.1:*", "--status", "tcp://127.0.0.1:*",
        "--endpoint-file", str(endpoint_file), "--announce-time", "2"], "sink")
    pipeline.wait_for_file(endpoint_file, sink)
    pipeline.read_endpoints(endpoint_file)
    endpoint_file = pipeline.folder / "ventilator.endpoints"
    ventilator = pipeline.start("mkmap-ventilator", [
        "--no-curve", "--tasks", "tcp://127.0.0.1:*", "--sink", pipeline.endpoints["results"],
        "--status", pipeline.endpoints["status"], "--endpoint-file", str(endpoint_file)],
        "ventilator")
    pipeline.wait_for_file(endpoint_file, ventilator)
    pipeline.read_endpoints(endpoint_file)

    curve_worker = pipeline.start_worker()
    check_worker_gives_up(pipeline, curve_worker, "CURVE")
    check(ventilator.poll() is None, "the ventilator exited although no worker has worked")
    check(sink.poll() is None, "the sink exited although no worker has worked")
    check(pipeline.done_points() == 0, "the sink got points from a worker that gave up")

    plain_worker = pipeline.start_worker(extra=["--no-curve"])
    finish(pipeline, [sink, ventilator, plain_worker])
    _, meta = check_complete_map(pipeline)
    check(meta["counts"]["workers"] == 1, f"workers seen: {meta['counts']['workers']}")


def case_no_zap_handler(pipeline):
    """Without a ZAP handler, ZMQ_ZAP_ENFORCE_DOMAIN must reject even authorized keys."""
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    no_handler = {"MKMAP_TEST_SKIP_ZAP_HANDLER": "1"}
    sink = pipeline.start_sink(env=no_handler)
    ventilator = pipeline.start_ventilator(env=no_handler)
    for process in [sink, ventilator]:
        pipeline.wait_for_log(process, "no ZAP handler")

    worker = pipeline.start_worker()
    check_worker_gives_up(pipeline, worker)
    check(sink.poll() is None, f"the sink exited: {pipeline.stderr(sink)[-2000:]}")
    check(ventilator.poll() is None, f"the ventilator exited: {pipeline.stderr(ventilator)[-2000:]}")
    check(pipeline.done_points() == 0, "the sink got points although no client may connect")
    check("accepted client" not in pipeline.stderr(sink) + pipeline.stderr(ventilator),
          "a server accepted a client without a ZAP handler")

    for process in [sink, ventilator]:
        process.send_signal(signal.SIGTERM)
        code = pipeline.wait(process, STOP_TIMEOUT_S)
        check(code == 130, f"{process.log} exited with {code} after SIGTERM, expected 130")
    check(not (pipeline.output / "map.csv").exists(), "a map was written without any worker")


def case_authorized_mid_run(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "newcomer", "--no-authorize")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator()

    refused = pipeline.start_worker("newcomer")
    code = pipeline.wait(refused, REFUSAL_TIMEOUT_S)
    check(code == 3, f"the unauthorized worker exited with {code}, expected 3")

    # Authorizing the key is copying its public file; no server restarts.
    (pipeline.keys / "authorized").mkdir(mode=0o700, exist_ok=True)
    (pipeline.keys / "authorized" / "newcomer.key").write_bytes(
        (pipeline.keys / "newcomer.key").read_bytes())
    admitted = pipeline.start_worker("newcomer")
    finish(pipeline, [sink, ventilator, admitted])
    check("working on run" in pipeline.stderr(admitted), "the authorized worker got no task")
    check_complete_map(pipeline)


def case_reference(pipeline, source):
    case_full(pipeline)
    result = subprocess.run(
        ["/usr/bin/python3", str(Path(source) / "scripts" / "reference_check.py"),
         str(pipeline.output)], capture_output=True, text=True, timeout=600)
    print(result.stdout)
    check(result.returncode == 0, f"reference check failed: {result.stdout}{result.stderr}")


# A map large enough that faults can be injected while it runs.
FAULT_MAP = ["--x", "CO:1e-5:0.5:50", "--y", "O2:1e-5:0.5:50", "--chunk-size", "5"]
NUMERIC_COLUMNS_SKIP = {"reason", "status", "iterations", "residual", "solve_time_s"}


def single_process_map(pipeline, axes):
    """Solves the map in one process and returns its rows by (ix, iy)."""
    folder = pipeline.folder / "single"
    folder.mkdir()
    bench = pipeline.build / "tests" / "bench" / "mkmap-point-bench"
    args = [str(bench), "--repeats", "1", "--write-map", str(folder)]
    for option, spec in zip(axes[0:4:2], axes[1:4:2]):
        args += [option, spec]
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    rows, _ = read_map(folder)
    return {(row["ix"], row["iy"]): row for row in rows}


def check_same_map(pipeline, reference):
    """Checks the pipeline's map.csv against the single-process one, point by point."""
    rows, _ = read_map(pipeline.output)
    check(len(rows) == len(reference), f"map.csv has {len(rows)} rows, expected {len(reference)}")
    for row in rows:
        expected = reference[(row["ix"], row["iy"])]
        for column, value in row.items():
            if column in NUMERIC_COLUMNS_SKIP:
                continue
            check(value == expected[column],
                  f"point {row['ix']},{row['iy']} {column}: {value} != single-process {expected[column]}")
        check(row["status"] == expected["status"], f"point {row['ix']},{row['iy']} status differs")


def finish(pipeline, processes):
    for process in processes:
        code = pipeline.wait(process)
        check(code == 0, f"{process.log} exited with {code}: {pipeline.stderr(process)[-2000:]}")


def case_worker_killed(pipeline):
    reference = single_process_map(pipeline, FAULT_MAP)
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    # Without backups only the lost-worker detection can recover the chunks.
    ventilator = pipeline.start_ventilator(*FAULT_MAP, "--no-backups")
    doomed = pipeline.start_worker()
    pipeline.wait_for_progress(100)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    survivor = pipeline.start_worker(threads=2)

    finish(pipeline, [sink, ventilator, survivor])
    check_same_map(pipeline, reference)
    log = pipeline.stderr(ventilator)
    check("went silent" in log, "the ventilator did not notice the killed worker")
    progress = (pipeline.folder / "sink.out").read_text()
    redispatched = [int(n) for n in re.findall(r"re-dispatched (\d+)", progress)]
    check(redispatched and max(redispatched) >= 1,
          f"the progress log never shows a re-dispatched chunk: {progress[-600:]}")


def case_worker_frozen(pipeline):
    reference = single_process_map(pipeline, FAULT_MAP)
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator(*FAULT_MAP, "--no-backups", "--worker-timeout", "2")
    frozen = pipeline.start_worker()
    pipeline.wait_for_progress(100)
    frozen.send_signal(signal.SIGSTOP)
    other = pipeline.start_worker()
    pipeline.wait_for_log(ventilator, "went silent", timeout_s=30)
    frozen.send_signal(signal.SIGCONT)

    finish(pipeline, [sink, ventilator, other, frozen])
    check_same_map(pipeline, reference)
    progress = (pipeline.folder / "sink.out").read_text()
    for done, total in re.findall(r": (\d+)/(\d+) points", progress):
        check(int(done) <= int(total), f"progress shows {done}/{total}")
    check("duplicate of chunk" in pipeline.stderr(sink),
          "the sink logged no duplicate after the frozen worker resumed")


def case_sink_killed(pipeline):
    reference = single_process_map(pipeline, FAULT_MAP)
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator(*FAULT_MAP)
    worker = pipeline.start_worker()
    pipeline.wait_for_progress(500)
    sink.send_signal(signal.SIGKILL)
    sink.wait()
    check(not (pipeline.output / "map.csv").exists(), "the killed sink wrote a map")

    restarted = pipeline.start_sink(log="sink-restarted")
    finish(pipeline, [restarted, ventilator, worker])
    check_same_map(pipeline, reference)
    check("resumed from" in pipeline.stderr(restarted), "the restarted sink did not resume")
    check(not (pipeline.output / "journal.mkmap").exists(), "the journal is left after completion")


def case_ventilator_killed(pipeline):
    reference = single_process_map(pipeline, FAULT_MAP)
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator(*FAULT_MAP)
    worker = pipeline.start_worker()
    pipeline.wait_for_progress(500)
    ventilator.send_signal(signal.SIGKILL)
    ventilator.wait()
    done_at_kill = pipeline.done_points()

    restarted = pipeline.start_ventilator(*FAULT_MAP, log="ventilator-restarted")
    finish(pipeline, [sink, restarted, worker])
    check_same_map(pipeline, reference)
    # The restarted ventilator learns the done chunks from the sink and
    # sends only the rest (plus the chunks in flight at the kill).
    sent = re.findall(r"(\d+) chunks sent", pipeline.stderr(restarted))
    check(sent, "the restarted ventilator logged no summary")
    check(done_at_kill >= 500, f"only {done_at_kill} points were done at the kill")
    check(int(sent[-1]) <= 500 - 100 + 10,
          f"the restarted ventilator sent {sent[-1]} of 500 chunks although 100 were done")


# Every process must exit this soon after SIGINT or SIGTERM [s].
STOP_TIMEOUT_S = 5


def case_stop_without_sink(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator(*FAULT_MAP)
    workers = [pipeline.start_worker(), pipeline.start_worker()]
    pipeline.wait_for_progress(100)
    sink.send_signal(signal.SIGKILL)
    sink.wait()

    for process in [ventilator, *workers]:
        process.send_signal(signal.SIGTERM)
    for process in [ventilator, *workers]:
        code = pipeline.wait(process, STOP_TIMEOUT_S)
        check(code == 130, f"{process.log} exited with {code} after SIGTERM, expected 130")


def msgpack(value):
    """Encodes value as msgpack: enough of the format for hand-made mkmap messages."""
    if isinstance(value, bool):
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 128:
            return bytes([value])
        if value >= 0:
            return b"\xcf" + value.to_bytes(8, "big")
        return b"\xd3" + value.to_bytes(8, "big", signed=True)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        return b"\xdb" + len(data).to_bytes(4, "big") + data
    if isinstance(value, list):
        return b"\xdd" + len(value).to_bytes(4, "big") + b"".join(msgpack(item) for item in value)
    raise TypeError(f"cannot encode {value!r}")


# Protocol version and message types of lib/protocol/messages.hpp.
PROTOCOL_VERSION = 2
TASK, RESULT, RUN, STATUS, READY, GIVE_UP, DISPATCH_STATS = range(1, 8)
# ZMQ_MAXMSGSIZE of every mkmap socket (protocol::kMaxMessageBytes) [bytes].
MAX_MESSAGE_BYTES = 64 << 20
# Maximum string length a decoder accepts (protocol::kMaxTextBytes) [bytes].
MAX_TEXT_BYTES = 1 << 20


# Five-byte messages whose msgpack headers announce 4 Gi elements or bytes;
# a decoder with default limits would try to allocate for all of them.
HUGE_HEADERS = {
    "huge-array-header": b"\xdd\xff\xff\xff\xff",
    "huge-map-header": b"\xdf\xff\xff\xff\xff",
    "huge-string-header": b"\xdb\xff\xff\xff\xff",
    "huge-binary-header": b"\xc6\xff\xff\xff\xff",
}
# Allowed growth of a server's peak resident memory while it receives all
# hostile messages [KiB]: far below one message of ZMQ_MAXMSGSIZE.
HOSTILE_MEMORY_GROWTH_KIB = 32 << 10


def peak_memory_kib(process):
    """Returns the peak resident memory (VmHWM) of a running process [KiB]."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))


def result_message(run_id, chunk, points, version=PROTOCOL_VERSION, reason=""):
    """Returns a result of one chunk whose points all converged with made-up values."""
    rows = [[index, 1, 1.0, 0.0, 0.0, 0.0, 1, 0.001, 0, [1.0], [0.25, 0.25, 0.5],
             [1.0, 0.5, 1.0], [0.0, 0.0, 0.0], reason] for index in points]
    return msgpack([version, RESULT, run_id, chunk, 1, 1, rows])


def hostile_sink_messages(run_id):
    """Returns messages that the sink must reject, by name."""
    valid = result_message(run_id, 0, range(5))
    nested = [[[[[[1]]]]]]
    # The sink logs the first five rejections of a second, so the forged
    # messages come first and their rejections show in the log.
    return {
        # Messages only the ventilator may send, sent with a worker's key.
        "forged-run": msgpack([PROTOCOL_VERSION, RUN, "feedfacefeedface", "temperature: 500",
                               "forged.yaml", "CO:0.1:0.2:2", "O2:0.1:0.2:2", 1]),
        "forged-give-up": msgpack([PROTOCOL_VERSION, GIVE_UP, run_id, 0, 3, "forged"]),
        "forged-stats": msgpack([PROTOCOL_VERSION, DISPATCH_STATS, run_id, 0, 0, 0, 0]),
        "truncated": valid[:len(valid) // 2],
        "trailing-bytes": valid + b"\x00",
        "random": bytes(random.Random(1).getrandbits(8) for _ in range(4096)),
        "not-an-array": msgpack("result"),
        "no-header": msgpack([PROTOCOL_VERSION]),
        "wrong-version": result_message(run_id, 0, range(5), version=PROTOCOL_VERSION + 1),
        "unknown-type": msgpack([PROTOCOL_VERSION, 99, run_id]),
        "task-type": msgpack([PROTOCOL_VERSION, TASK, run_id, 0, 1, "", "", "", []]),
        "status-type": msgpack([PROTOCOL_VERSION, STATUS, run_id, 0, 0, True, []]),
        "ready-type": msgpack([PROTOCOL_VERSION, READY, run_id, 1, 0, 1]),
        "wrong-field-type": msgpack([PROTOCOL_VERSION, RESULT, run_id, "zero", 1, 1, []]),
        "wrong-run-id": result_message("0123456789abcdef", 0, range(5)),
        "chunk-out-of-range": result_message(run_id, 10 ** 6, range(5)),
        "wrong-points": result_message(run_id, 0, range(3)),
        "too-deep": msgpack([PROTOCOL_VERSION, RESULT, run_id, 0, 1, 1, nested]),
        "text-above-limit": result_message(run_id, 0, range(5), reason="x" * (MAX_TEXT_BYTES + 1)),
        "array-above-limit": msgpack([PROTOCOL_VERSION, RESULT, run_id, 0, 1, 1,
                                      [0] * 70000]),
        **HUGE_HEADERS,
    }


def hostile_ventilator_messages(run_id):
    """Returns messages that the ventilator must drop, by name; each is one frame."""
    ready = msgpack([PROTOCOL_VERSION, READY, run_id, 0, 0, 1])
    return {
        "truncated": ready[:len(ready) - 1],
        "trailing-bytes": ready + b"\x00",
        "random": bytes(random.Random(2).getrandbits(8) for _ in range(4096)),
        "wrong-version": msgpack([PROTOCOL_VERSION + 1, READY, run_id, 0, 0, 1]),
        "result-type": result_message(run_id, 0, range(5)),
        "status-type": msgpack([PROTOCOL_VERSION, STATUS, run_id, 0, 0, True, []]),
        "wrong-field-type": msgpack([PROTOCOL_VERSION, READY, run_id, -1, 0, 1]),
        "wrong-fields": msgpack([PROTOCOL_VERSION, READY, run_id, 0, 0]),
        "text-above-limit": msgpack([PROTOCOL_VERSION, READY, "x" * (MAX_TEXT_BYTES + 1), 0, 0, 1]),
        **HUGE_HEADERS,
    }


def send_raw(pipeline, socket, endpoint, files):
    """Sends files with mkmap-raw-sender as the authorized worker "hostile"."""
    sender = pipeline.build / "tests" / "integration" / "mkmap-raw-sender"
    result = subprocess.run(
        [str(sender), "--socket", socket, "--endpoint", endpoint,
         "--key", str(pipeline.keys / "hostile.key_secret"),
         "--server-key", str(pipeline.keys / "server.key"), *[str(path) for path in files]],
        capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f"mkmap-raw-sender failed: {result.stdout}{result.stderr}")


def rejected_count(pipeline):
    """Returns the rejected count of the sink's latest progress line."""
    counts = re.findall(r"rejected (\d+)", (pipeline.folder / "sink.out").read_text())
    return int(counts[-1]) if counts else 0


def wait_for_rejected(pipeline, count, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if rejected_count(pipeline) >= count:
            return
        time.sleep(0.1)
    raise Failure(f"the sink's rejected count stayed at {rejected_count(pipeline)}, "
                  f"expected {count}")


def write_messages(folder, messages):
    folder.mkdir()
    paths = []
    for name, data in messages.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def case_hostile_messages(pipeline):
    reference = single_process_map(pipeline, FAULT_MAP)
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    pipeline.keygen("worker", "hostile")
    sink = pipeline.start_sink()
    # The worker is frozen while the hostile messages go in, so the run is
    # still going on when they arrive. If the freeze outlasts the worker
    # timeout, the ventilator sends the frozen worker's chunks again later.
    ventilator = pipeline.start_ventilator(*FAULT_MAP)
    worker = pipeline.start_worker()
    pipeline.wait_for_progress(100)
    worker.send_signal(signal.SIGSTOP)
    run_id = re.search(r"run ([0-9a-f]{16}):", pipeline.stderr(ventilator)).group(1)
    peak_before = {process.log: peak_memory_kib(process) for process in [sink, ventilator]}

    to_sink = write_messages(pipeline.folder / "to-sink", hostile_sink_messages(run_id))
    to_ventilator = hostile_ventilator_messages(run_id)
    ventilator_files = write_messages(pipeline.folder / "to-ventilator", to_ventilator)
    # A message of two frames: the ventilator expects one after the identity.
    ventilator_files.append(f"{ventilator_files[0]}+{ventilator_files[0]}")
    send_raw(pipeline, "push", pipeline.endpoints["results"], to_sink)
    send_raw(pipeline, "dealer", pipeline.endpoints["tasks"], ventilator_files)
    wait_for_rejected(pipeline, len(to_sink))

    # libzmq closes the connection on a message above ZMQ_MAXMSGSIZE before
    # the application receives it, so the servers cannot count it. They must
    # stay up and finish the run with exit status 0.
    oversized = pipeline.folder / "oversized"
    oversized.write_bytes(b"\x00" * (MAX_MESSAGE_BYTES + 1))
    send_raw(pipeline, "push", pipeline.endpoints["results"], [oversized])
    send_raw(pipeline, "dealer", pipeline.endpoints["tasks"], [oversized])
    check(sink.poll() is None, f"the sink exited: {pipeline.stderr(sink)[-2000:]}")
    check(ventilator.poll() is None, f"the ventilator exited: {pipeline.stderr(ventilator)[-2000:]}")
    for process in [sink, ventilator]:
        growth = peak_memory_kib(process) - peak_before[process.log]
        print(f"{process.log}: peak resident memory grew by {growth} KiB under hostile messages")
        check(growth <= HOSTILE_MEMORY_GROWTH_KIB,
              f"the {process.log}'s peak resident memory grew by {growth} KiB under hostile "
              f"messages, more than {HOSTILE_MEMORY_GROWTH_KIB} KiB")

    worker.send_signal(signal.SIGCONT)
    finish(pipeline, [sink, ventilator, worker])
    check_same_map(pipeline, reference)
    _, meta = read_map(pipeline.output)
    check(meta["counts"]["rejected_messages"] == len(to_sink),
          f"the sink counted {meta['counts']['rejected_messages']} rejected messages, "
          f"expected {len(to_sink)}")
    check(rejected_count(pipeline) == len(to_sink),
          f"the progress line shows rejected {rejected_count(pipeline)}, expected {len(to_sink)}")
    dropped = re.findall(r"(\d+) messages dropped", pipeline.stderr(ventilator))
    check(dropped, "the ventilator logged no summary")
    check(int(dropped[-1]) == len(ventilator_files),
          f"the ventilator dropped {dropped[-1]} messages, expected {len(ventilator_files)}")
    sink_log = pipeline.stderr(sink)
    check("only the ventilator announces runs" in sink_log, "the forged run was not rejected")
    check("only the ventilator gives up chunks" in sink_log, "the forged give-up was not rejected")
    check("only the ventilator sends dispatch counts" in sink_log,
          "the forged dispatch counts were not rejected")
    check("feedfacefeedface" not in (pipeline.output / "map.json").read_text(),
          "the forged run reached the map")
    check(meta["counts"]["workers"] == 1, f"workers seen: {meta['counts']['workers']}")


def load_garbage_senders(source):
    """Imports GarbageSenders from scripts/garbage_benchmark.py."""
    import importlib.util
    path = Path(source) / "scripts" / "garbage_benchmark.py"
    spec = importlib.util.spec_from_file_location("garbage_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GarbageSenders


def case_raw_garbage(pipeline, source):
    """Raw TCP junk on every bound port during a run must not change the map."""
    reference = single_process_map(pipeline, FAULT_MAP)
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator(*FAULT_MAP)
    ports = [int(pipeline.endpoints[role].rsplit(":", 1)[1])
             for role in ("results", "status", "tasks")]

    senders = load_garbage_senders(source)(ports, seed=3, senders=6).start()
    try:
        worker = pipeline.start_worker(threads=2)
        finish(pipeline, [sink, ventilator, worker])
    finally:
        senders.stop()
    counts = senders.counts()
    print(f"raw-garbage: {counts['connections']} connections, {counts['bytes_sent']} bytes")
    for port in ports:
        check(counts["by_port"][port] > 0, f"no garbage reached port {port}: {counts}")
    check_same_map(pipeline, reference)
    _, meta = read_map(pipeline.output)
    check(meta["counts"]["workers"] == 1, f"workers seen: {meta['counts']['workers']}")


def case_persistent_worker(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator()
    worker = pipeline.start_worker(extra=["--persistent"])
    finish(pipeline, [sink, ventilator])
    check(worker.poll() is None, "the persistent worker exited after its first run")

    # A second run on the same endpoints, with another map.
    pipeline.output = pipeline.folder / "out-2"
    second_sink = pipeline.start_sink(log="sink-2")
    second = pipeline.start_ventilator("--x", "CO:1e-5:0.5:5", log="ventilator-2")
    finish(pipeline, [second_sink, second])
    check_complete_map(pipeline, points=50)
    check(worker.poll() is None, "the persistent worker exited after its second run")
    check(pipeline.stderr(worker).count("waiting for the next run") == 2,
          "the persistent worker did not report both runs complete")

    worker.send_signal(signal.SIGINT)
    code = pipeline.wait(worker, STOP_TIMEOUT_S)
    check(code == 130, f"the persistent worker exited with {code} after SIGINT, expected 130")


def case_workers_added(pipeline):
    reference = single_process_map(pipeline, FAULT_MAP)
    pipeline.keygen("server")
    for name in ["first", "added-1", "added-2", "added-3"]:
        pipeline.keygen("worker", name)
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator(*FAULT_MAP)
    first = pipeline.start_worker("first")
    added = []
    for count, name in enumerate(["added-1", "added-2", "added-3"], start=1):
        pipeline.wait_for_progress(100 * count)
        added.append(pipeline.start_worker(name))

    finish(pipeline, [sink, ventilator, first, *added])
    check_same_map(pipeline, reference)
    for worker in added:
        check("working on run" in pipeline.stderr(worker), f"{worker.log} never got a task")
    _, meta = read_map(pipeline.output)
    check(meta["counts"]["workers"] == 4, f"workers seen: {meta['counts']['workers']}")


def case_chunk_given_up(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    sink = pipeline.start_sink()
    ventilator = pipeline.start_ventilator("--worker-timeout", "2", "--max-attempts", "2",
                                           "--no-backups")
    # Point 6 lies in chunk 1 (points 4 to 7); these workers abort there.
    # Without prefetch a crashing worker holds only the chunk it solves, so
    # no other chunk is charged with its crash.
    crash = {"MKMAP_TEST_ABORT_AT_POINT": "6"}
    for _ in range(2):
        crasher = pipeline.start_worker(env=crash, extra=["--prefetch", "0"])
        code = pipeline.wait(crasher, 60)
        check(code != 0, f"{crasher.log} should have aborted at point 6, exited with {code}")
    pipeline.wait_for_log(ventilator, "given up", timeout_s=30)
    worker = pipeline.start_worker()

    finish(pipeline, [sink, ventilator, worker])
    rows, meta = read_map(pipeline.output)
    for row in rows:
        index = int(row["iy"]) * 10 + int(row["ix"])
        if 4 <= index <= 7:
            check(row["status"] == "failed", f"point {index} of the given-up chunk: {row['status']}")
            check("given up after 2 attempts" in row["reason"], f"reason: {row['reason']}")
        else:
            check(row["status"] == "converged", f"point {index}: {row['status']}")
    check(meta["counts"]["failed"] == 4, f"counts: {meta['counts']}")


def run_binary(pipeline, name, *args):
    """Runs a binary to completion; returns its exit code and stderr."""
    result = subprocess.run([pipeline.binary(name), *args], capture_output=True, text=True,
                            timeout=30, cwd=pipeline.folder)
    return result.returncode, result.stdout + result.stderr


def expect_error(pipeline, name, args, code, *fragments):
    actual, output = run_binary(pipeline, name, *args)
    check(actual == code, f"{name} {args} exited with {actual}, expected {code}: {output}")
    for fragment in fragments:
        check(fragment in output, f"{name} {args}: message lacks '{fragment}': {output}")


def case_user_errors(pipeline):
    pipeline.keygen("server")
    pipeline.keygen("worker", "worker")
    folder = pipeline.folder
    (folder / "bad.yaml").write_text("temperature: 500\ncell_area: 9e-20\nsites:\n  s: {}\n")
    (folder / "typo.yaml").write_text(
        pipeline_model_text().replace("pressure: 5.26e-7", "presure: 5.26e-7"))

    expect_error(pipeline, "mkmap-ventilator", ["--model", "bad.yaml"], 1, "bad.yaml:1", "gases")
    expect_error(pipeline, "mkmap-ventilator", ["--model", "typo.yaml"], 1,
                 "typo.yaml:", '"presure"', "valid keys")
    expect_error(pipeline, "mkmap-ventilator", ["--model", "missing.yaml"], 2, "missing.yaml")
    expect_error(pipeline, "mkmap-ventilator", ["--x", "CO:1e-5:0.5"], 1,
                 "CO:1e-5:0.5", "VARIABLE:FROM:TO:POINTS")
    expect_error(pipeline, "mkmap-ventilator", ["--x", "Xe:1:2:3"], 1, "Xe", "CO, O2, CO2")
    expect_error(pipeline, "mkmap-ventilator", ["--x", "O2:0.1:0.5:3"], 1, "same variable")
    expect_error(pipeline, "mkmap-ventilator", ["--x", "CO:1e-5:0.5:5000", "--y", "O2:1e-5:0.5:5000"],
                 1, "25000000", "limit")
    expect_error(pipeline, "mkmap-ventilator", ["--chunk-size", "0"], 2, "--chunk-size", "0")
    expect_error(pipeline, "mkmap-ventilator", ["--keys", "nokeys"], 1,
                 "nokeys/server.key_secret", "mkmap-keygen")

    expect_error(pipeline, "mkmap-worker", ["--key", "nokey.key_secret"], 1, "nokey.key_secret")
    loose = folder / "loose.key_secret"
    loose.write_bytes((pipeline.keys / "worker.key_secret").read_bytes())
    loose.chmod(0o644)
    expect_error(pipeline, "mkmap-worker", ["--key", str(loose), "--server-key",
                                            str(pipeline.keys / "server.key")],
                 1, "0644", "chmod 600")
    expect_error(pipeline, "mkmap-worker", ["--threads", "-1"], 2, "--threads")

    # A second sink on the ports of a running one names the endpoint.
    sink = pipeline.start_sink()
    busy = pipeline.endpoints["results"]
    expect_error(pipeline, "mkmap-sink", ["--keys", str(pipeline.keys), "--results", busy,
                                          "--status", "tcp://127.0.0.1:*"], 1, busy)
    sink.terminate()
    check(pipeline.wait(sink, 10) == 130, "a sink stopped by SIGTERM should exit with 130")


def pipeline_model_text():
    """Returns the embedded default model as the ventilator prints it."""
    return subprocess.run([str(Path(ARGS.build).resolve() / "ventilator" / "mkmap-ventilator"),
                           "--print-default-model"], capture_output=True, text=True,
                          check=True, timeout=30).stdout


CASES = {
    "full": case_full,
    "late-worker": case_late_worker,
    "unauthorized-worker": case_unauthorized_worker,
    "reference": case_reference,
    "user-errors": case_user_errors,
    "authorized-mid-run": case_authorized_mid_run,
    "worker-killed": case_worker_killed,
    "workers-added": case_workers_added,
    "worker-frozen": case_worker_frozen,
    "sink-killed": case_sink_killed,
    "ventilator-killed": case_ventilator_killed,
    "stop-without-sink": case_stop_without_sink,
    "persistent-worker": case_persistent_worker,
    "chunk-given-up": case_chunk_given_up,
    "wrong-server-key": case_wrong_server_key,
    "no-curve-server": case_no_curve_server,
    "no-zap-handler": case_no_zap_handler,
    "hostile-messages": case_hostile_messages,
    "raw-garbage": case_raw_garbage,
}
ARGS = None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", required=True, help="CMake build folder with the binaries")
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[2]),
                        help="source folder (for scripts/)")
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    global ARGS
    ARGS = args

    with tempfile.TemporaryDirectory(prefix="mkmap-test-") as folder:
        pipeline = Pipeline(args.build, folder)
        try:
            if args.case in ("reference", "raw-garbage"):
                CASES[args.case](pipeline, args.source)
            else:
                CASES[args.case](pipeline)
        except Failure as failure:
            print(f"FAILED: {failure}", file=sys.stderr)
            for log in sorted(Path(folder).glob("*.err")):
                print(f"--- {log.name}\n{log.read_text()[-3000:]}", file=sys.stderr)
            return 1
        finally:
            pipeline.stop_all()
    print(f"{args.case}: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
