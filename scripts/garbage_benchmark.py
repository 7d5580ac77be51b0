#!/usr/bin/python3
"""Times a large map with and without raw TCP garbage on this machine.

Runs the same map twice on 127.0.0.1, each time with a sink, a ventilator and
two one-thread workers. The first run is undisturbed. During the second,
garbage senders keep opening raw TCP connections to every port that the sink
and the ventilator bound, and write junk to them. The junk is a mix of random
bytes, a fake ZMTP greeting followed by random bytes, frames with huge length
prefixes, connections that close at once and connections that send one byte
at a time. The senders stop when the run ends.

Prints both wall times, the points per second of each run, the ratio of the
wall times (garbage / clean) and how many garbage connections and bytes were
sent. Exits 1 if that ratio exceeds --max-ratio, if the two map.csv files
differ in a column other than iterations, residual or a timing column, or if
a point did not converge.

Exit status: 0 all checks passed, 1 a run or a check failed, 2 invalid
option. The GarbageSenders class can be imported on its own, for example by
a test that loads this file with importlib.
"""

import argparse
import csv
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROGRAM = "garbage_benchmark.py"
# The only host that the garbage senders and the map processes use.
LOOPBACK = "127.0.0.1"
# Time limit for one run [s]. The default map took 16 to 30 s on a 2-core
# machine that was also compiling.
RUN_TIMEOUT_S = 1200
# A run fails if the sink's progress line does not change for this long [s].
STALL_TIMEOUT_S = 120
AXIS_FORM = "VARIABLE:FROM:TO:POINTS[:lin|log]"


class GarbageSenders:
    """Threads that keep writing junk over raw TCP connections to loopback ports.

    Each of the `senders` threads opens one connection at a time to
    127.0.0.1, cycling through `ports` so that every port is hit. Every fourth
    thread (index 3, 7, ...) writes one byte at a time with pauses, so fewer
    than 4 threads send no slow connections. The other threads write one of
    the remaining kinds of junk, chosen at random. When the server closes the
    connection, or the thread has written what it planned, the thread closes
    its end and opens the next connection after `pause_s` seconds.

    The threads stop on stop(), after `max_seconds`, or after
    `max_connections` connection attempts in total, whichever comes first.
    Each thread draws from its own generator seeded with `seed` and its index,
    but what it draws later depends on when the servers close connections,
    so two runs with the same seed are similar rather than identical.

    counts() returns the counters, while the threads run or after stop():
    - connections: connections opened, also split up in by_kind and by_port.
    - connect_failures: failed connection attempts, also split up by
      exception class name in failures_by_error.
    - bytes_sent: bytes of junk written.
    - closed_by_server: connections that the server closed or reset before
      the thread was done with them.
    - stalled: connections ended because a write timed out, which happens
      when the server stops reading.
    - errors: unexpected exceptions in a thread, as text.
    """

    KINDS = ("random", "greeting", "huge_length", "connect_close", "slow")
    # Kinds of junk that the threads which do not trickle choose from, with
    # their relative frequencies.
    FAST_KINDS = ("random", "greeting", "huge_length", "connect_close")
    FAST_WEIGHTS = (30, 30, 25, 15)
    # A write that cannot proceed for this long ends the connection [s].
    SEND_TIMEOUT_S = 0.5
    # Junk written per connection by the bulk kinds: up to this many chunks of
    # up to CHUNK_BYTES each.
    MAX_CHUNKS = 64
    CHUNK_BYTES = 4096
    # A slow connection writes one byte every 0.05 to 0.5 s for 2 to 8 s.
    SLOW_GAP_S = (0.05, 0.5)
    SLOW_DURATION_S = (2.0, 8.0)
    # Pause after a failed connection attempt [s].
    RETRY_PAUSE_S = 0.05
    MAX_ERRORS_KEPT = 20

    def __init__(self, ports, seed=0, senders=8, pause_s=0.01, max_seconds=1800.0,
                 max_connections=1_000_000):
        ports = list(ports)
        if not ports:
            raise ValueError("GarbageSenders needs at least one port")
        for port in ports:
            if not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"invalid port {port!r}: expected an integer from 1 to 65535")
        if senders < 1:
            raise ValueError(f"invalid senders {senders!r}: expected 1 or more")
        if pause_s < 0 or max_seconds <= 0 or max_connections < 1:
            raise ValueError(f"invalid limits pause_s={pause_s!r}, max_seconds={max_seconds!r}, "
                             f"max_connections={max_connections!r}: expected pause_s >= 0, "
                             "max_seconds > 0 and max_connections >= 1")
        self.ports = ports
        self.seed = seed
        self.sender_count = senders
        self.pause_s = pause_s
        self.max_seconds = max_seconds
        self.max_connections = max_connections
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._deadline = None
        self._attempts = 0
        self.connections = 0
        self.connect_failures = 0
        self.failures_by_error = {}
        self.bytes_sent = 0
        self.closed_by_server = 0
        self.stalled = 0
        self.by_kind = dict.fromkeys(self.KINDS, 0)
        self.by_port = dict.fromkeys(ports, 0)
        self.errors = []

    def start(self):
        """Start the sender threads and return self."""
        if self._threads:
            raise RuntimeError("GarbageSenders was already started")
        self._deadline = time.monotonic() + self.max_seconds
        for index in range(self.sender_count):
            thread = threading.Thread(target=self._run_sender, args=(index,),
                                      name=f"garbage-{index}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout_s=15.0):
        """Stop the sender threads, wait up to timeout_s for them and return self."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return self

    @property
    def running(self):
        return any(thread.is_alive() for thread in self._threads)

    def counts(self):
        """Return a snapshot of the counters as a dict."""
        with self._lock:
            return {
                "connections": self.connections,
                "connect_failures": self.connect_failures,
                "failures_by_error": dict(self.failures_by_error),
                "bytes_sent": self.bytes_sent,
                "closed_by_server": self.closed_by_server,
                "stalled": self.stalled,
                "by_kind": dict(self.by_kind),
                "by_port": dict(self.by_port),
                "errors": list(self.errors),
            }

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _take_attempt(self):
        """Count one connection attempt, or return False once a limit is reached."""
        with self._lock:
            if self._attempts >= self.max_connections:
                return False
            self._attempts += 1
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _run_sender(self, index):
        rng = random.Random(f"{self.seed}-{index}")
        port_index = index
        while self._take_attempt():
            port = self.ports[port_index % len(self.ports)]
            port_index += 1
            if index % 4 == 3:
                kind = "slow"
            else:
                kind = rng.choices(self.FAST_KINDS, self.FAST_WEIGHTS)[0]
            try:
                connection = socket.create_connection((LOOPBACK, port), timeout=1.0)
            except OSError as error:
                with self._lock:
                    self.connect_failures += 1
                    name = type(error).__name__
                    self.failures_by_error[name] = self.failures_by_error.get(name, 0) + 1
                self._stop.wait(self.RETRY_PAUSE_S)
                continue

            with self._lock:
                self.connections += 1
                self.by_kind[kind] += 1
                self.by_port[port] += 1
            try:
                connection.settimeout(self.SEND_TIMEOUT_S)
                outcome = self._write_junk(connection, kind, rng)
            except Exception as error:  # noqa: BLE001 - a bug in a sender must not end the run
                outcome = "error"
                with self._lock:
                    if len(self.errors) < self.MAX_ERRORS_KEPT:
                        self.errors.append(f"{kind} to port {port}: {error!r}")
            finally:
                self._close(connection, abortive=kind != "connect_close" or rng.random() < 0.5)
            with self._lock:
                if outcome == "closed":
                    self.closed_by_server += 1
                elif outcome == "stalled":
                    self.stalled += 1
            self._stop.wait(self.pause_s)

    def _write_junk(self, connection, kind, rng):
        """Write one kind of junk and return "closed", "stalled" or "done"."""
        if kind == "connect_close":
            return "done"
        if kind == "slow":
            return self._trickle(connection, rng)
        if kind == "random":
            prefix = b""
        elif kind == "greeting":
            # A ZMTP signature: 0xff, 8 bytes of padding and 0x7f.
            prefix = b"\xff" + rng.randbytes(8) + b"\x7f"
        else:
            prefix = self._huge_length_prefix(rng)
        outcome = self._send(connection, prefix)
        for _ in range(rng.randint(1, self.MAX_CHUNKS)):
            if outcome != "done" or self._stop.is_set():
                break
            outcome = self._send(connection, rng.randbytes(rng.randint(1, self.CHUNK_BYTES)))
        return outcome

    @staticmethod
    def _huge_length_prefix(rng):
        """Return bytes that announce a frame larger than the servers accept (64 MiB)."""
        length = struct.pack(">Q", rng.choice((2**63 - 1, 2**64 - 1, 2**40, 2**32 + 1)))
        variant = rng.randrange(3)
        if variant == 2:
            # A ZMTP 1.0 frame header is 0xff, an 8-byte length and a flags byte.
            return b"\xff" + length + b"\x00"
        # A valid 64-byte ZMTP 3.0 greeting for the CURVE mechanism, as a client,
        # followed by a long command frame (flags 0x06) or a long message frame
        # (flags 0x02) with a huge 8-byte length.
        greeting = (b"\xff" + bytes(8) + b"\x7f" + b"\x03\x00" + b"CURVE".ljust(20, b"\x00")
                    + b"\x00" + bytes(31))
        return greeting + (b"\x06" if variant == 0 else b"\x02") + length

    def _trickle(self, connection, rng):
        """Write one byte at a time with pauses, half the time starting with a ZMTP signature."""
        data = b"\xff" + bytes(8) + b"\x7f" if rng.random() < 0.5 else b""
        end = time.monotonic() + rng.uniform(*self.SLOW_DURATION_S)
        position = 0
        while time.monotonic() < end:
            byte = data[position:position + 1] or rng.randbytes(1)
            position += 1
            outcome = self._send(connection, byte)
            if outcome != "done" or self._stop.wait(rng.uniform(*self.SLOW_GAP_S)):
                return outcome
        return "done"

    def _send(self, connection, data):
        """Write all of data and return "closed", "stalled" or "done"."""
        view = memoryview(data)
        while view:
            try:
                written = connection.send(view)
            except socket.timeout:
                return "stalled"
            except OSError:
                # A reset or a broken pipe means that the server closed the connection.
                return "closed"
            with self._lock:
                self.bytes_sent += written
            view = view[written:]
        return "closed" if self._server_closed(connection) else "done"

    def _server_closed(self, connection):
        """Read what the server sent, if anything, and return True once it closed the connection."""
        # A socket with a timeout waits for data in recv(), so read without one.
        connection.setblocking(False)
        try:
            return connection.recv(65536) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            connection.settimeout(self.SEND_TIMEOUT_S)

    @staticmethod
    def _close(connection, abortive):
        """Close a connection. If abortive, send a reset so that no TIME_WAIT entry stays behind."""
        try:
            if abortive:
                reset_on_close = struct.pack("ii", 1, 0)
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset_on_close)
            connection.close()
        except OSError:
            pass


class BenchmarkError(Exception):
    """A run failed or a check of its results failed."""


def endpoint_ports(path):
    """Read an --endpoint-file of role=tcp://127.0.0.1:PORT lines into {role: port}."""
    ports = {}
    for line in Path(path).read_text().split():
        role, _, endpoint = line.partition("=")
        match = re.fullmatch(r"tcp://127\.0\.0\.1:(\d+)", endpoint)
        if not role or not match:
            raise ValueError(f"{path}: expected role=tcp://{LOOPBACK}:PORT lines, found {line!r}")
        ports[role] = int(match.group(1))
    return ports


def read_ports(path):
    try:
        return endpoint_ports(path)
    except ValueError as error:
        raise BenchmarkError(str(error)) from None


def parse_axis(text):
    """Return text if it is an axis of the form VARIABLE:FROM:TO:POINTS[:lin|log]."""
    fields = text.split(":")
    example = "for example CO:1e-5:0.5:150"
    if len(fields) not in (4, 5) or not fields[0]:
        raise argparse.ArgumentTypeError(f"invalid axis {text!r}: expected {AXIS_FORM}, {example}")
    for name, value in (("FROM", fields[1]), ("TO", fields[2])):
        try:
            if not math.isfinite(float(value)):
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid {name} {value!r} in axis {text!r}: expected a finite number, {example}")
    if not fields[3].isdigit() or int(fields[3]) < 1:
        raise argparse.ArgumentTypeError(
            f"invalid POINTS {fields[3]!r} in axis {text!r}: expected a whole number of 1 or more")
    if len(fields) == 5 and fields[4] not in ("lin", "log"):
        raise argparse.ArgumentTypeError(
            f"invalid spacing {fields[4]!r} in axis {text!r}: expected lin or log")
    return text


def bounded_number(kind, low, high, integer=False):
    """Return an argparse type function that accepts a number from low to high."""
    def parse(text):
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"invalid value {text!r}: expected {kind} from {low} to {high}")
        return value
    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=str(Path(__file__).resolve().parents[1] / "build"),
                        help="build folder with the binaries (default: build next to scripts/)")
    parser.add_argument("--x", type=parse_axis, default="CO:1e-5:0.5:150",
                        help=f"x axis as {AXIS_FORM} (default CO:1e-5:0.5:150)")
    parser.add_argument("--y", type=parse_axis, default="O2:1e-5:0.5:150",
                        help=f"y axis as {AXIS_FORM} (default O2:1e-5:0.5:150, "
                             "so 22500 points by default)")
    parser.add_argument("--chunk-size", type=bounded_number("a whole number", 1, 65536, True),
                        default=25, help="grid points per chunk (default 25)")
    parser.add_argument("--connections", type=bounded_number("a whole number", 1, 256, True),
                        default=8, help="garbage senders, each with one connection open at a "
                                        "time (default 8)")
    parser.add_argument("--pause-ms", type=bounded_number("a number of milliseconds", 0, 10000),
                        default=10.0, help="pause of each sender between two connections [ms] "
                                           "(default 10)")
    parser.add_argument("--seed", type=bounded_number("a whole number", 0, 2**63 - 1, True),
                        default=1, help="seed of the garbage's random kinds and bytes (default 1)")
    parser.add_argument("--max-ratio", type=bounded_number("a number", 0.01, 1000),
                        default=1.2, help="exit 1 if the wall time with garbage divided by the "
                                          "clean wall time exceeds this (default 1.2)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the run folders with logs and maps (they are always kept "
                             "after a failure)")
    args = parser.parse_args(argv)

    build = Path(args.build)
    for name in ("mkmap-sink", "mkmap-ventilator", "mkmap-worker", "mkmap-keygen"):
        if not binary_path(build, name).is_file():
            parser.error(f"--build {args.build}: {binary_path(build, name)} not found; build "
                         f"the project first (cmake --build {args.build}) or pass the build "
                         "folder that contains sink/, ventilator/, worker/ and keygen/")
    return args


def binary_path(build, name):
    return Path(build) / name.split("-")[1] / name


def start(build, folder, name, args, log):
    with open(folder / f"{log}.out", "w") as out, open(folder / f"{log}.err", "w") as err:
        return subprocess.Popen([str(binary_path(build, name)), *args], stdout=out, stderr=err)


def wait_for_file(path, process, log, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            raise BenchmarkError(f"{log} {describe_exit(process.returncode)} before writing "
                                 f"{path.name}{last_error(path.parent, log)}")
        if time.monotonic() > deadline:
            raise BenchmarkError(f"timed out after {timeout_s} s waiting for {path}")
        time.sleep(0.05)


def last_progress(folder):
    """Return the sink's last progress line, or an empty string."""
    lines = re.findall(r".*: \d+/\d+ points.*", (folder / "sink.out").read_text())
    return lines[-1] if lines else ""


def last_error(folder, log):
    """Return ": " and the last error line of a process's stderr log, or an empty string."""
    try:
        lines = re.findall(r".*\] (?:error|critical): .*", (folder / f"{log}.err").read_text())
    except OSError:
        return ""
    return f": {lines[-1]}" if lines else ""


def describe_exit(status):
    if status < 0:
        return f"was killed by {signal.Signals(-status).name}"
    return f"exited with status {status}"


def make_keys(build, keys):
    keygen = str(binary_path(build, "mkmap-keygen"))
    commands = [["server"]] + [["worker", f"bench-{index}"] for index in (1, 2)]
    for command in commands:
        result = subprocess.run([keygen, *command, "--dir", str(keys)], capture_output=True,
                                text=True, timeout=30)
        if result.returncode != 0:
            raise BenchmarkError(f"mkmap-keygen {' '.join(command)} failed: {result.stderr}")


def cpu_seconds(process):
    """Return the CPU time [s] that a running child has used so far, or None once it exited."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # proc(5) numbers utime and stime as fields 14 and 15. The text after the ")" starts
    # at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_run(folder, servers, workers, cpu):
    """Wait until the sink and the ventilator exit, and raise BenchmarkError if a process
    crashes, the progress stalls or the run times out.

    Store in cpu the last CPU time [s] read for each process, at most 0.1 s before its exit.
    """
    deadline = time.monotonic() + RUN_TIMEOUT_S
    progress, progress_time = "", time.monotonic()
    while any(process.poll() is None for process in servers.values()):
        for name, process in [*servers.items(), *workers.items()]:
            seconds = cpu_seconds(process) if process.poll() is None else None
            if seconds is not None:
                cpu[name] = seconds
            if process.poll() not in (None, 0):
                raise BenchmarkError(f"{name} {describe_exit(process.returncode)} during the "
                                     f"run{last_error(folder, name)}")
        now = time.monotonic()
        line = last_progress(folder)
        if line != progress:
            progress, progress_time = line, now
        if now > deadline or now - progress_time > STALL_TIMEOUT_S:
            reason = (f"timed out after {RUN_TIMEOUT_S} s" if now > deadline else
                      f"made no progress for {STALL_TIMEOUT_S} s")
            raise BenchmarkError(f"the run {reason}. Last progress line: {progress or 'none'}")
        time.sleep(0.1)


def stop_processes(processes):
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_map(args, folder, keys, garbage):
    """Run one map with or without garbage and return the figures of the run."""
    folder.mkdir()
    axes = ["--x", args.x, "--y", args.y, "--chunk-size", str(args.chunk_size)]
    processes, senders = [], None
    started = time.monotonic()
    try:
        sink = start(args.build, folder, "mkmap-sink", [
            "--keys", str(keys), "--output", str(folder / "out"), "--announce-time", "1",
            "--results", f"tcp://{LOOPBACK}:*", "--status", f"tcp://{LOOPBACK}:*",
            "--endpoint-file", str(folder / "sink.ep")], "sink")
        processes.append(sink)
        wait_for_file(folder / "sink.ep", sink, "sink")
        sink_ports = read_ports(folder / "sink.ep")
        ends = {role: f"tcp://{LOOPBACK}:{port}" for role, port in sink_ports.items()}

        ventilator = start(args.build, folder, "mkmap-ventilator", [
            "--keys", str(keys), *axes, "--tasks", f"tcp://{LOOPBACK}:*",
            "--sink", ends["results"], "--status", ends["status"],
            "--endpoint-file", str(folder / "ventilator.ep")], "ventilator")
        processes.append(ventilator)
        wait_for_file(folder / "ventilator.ep", ventilator, "ventilator")
        ventilator_ports = read_ports(folder / "ventilator.ep")
        ends.update((role, f"tcp://{LOOPBACK}:{port}") for role, port in ventilator_ports.items())
        ports = {**{f"sink {role}": port for role, port in sink_ports.items()},
                 **{f"ventilator {role}": port for role, port in ventilator_ports.items()}}

        cpu_before = time.process_time()
        if garbage:
            senders = GarbageSenders(sorted(ports.values()), seed=args.seed,
                                     senders=args.connections,
                                     pause_s=args.pause_ms / 1000,
                                     max_seconds=RUN_TIMEOUT_S + 60).start()

        workers = {}
        for index in (1, 2):
            workers[f"worker-{index}"] = start(args.build, folder, "mkmap-worker", [
                "--tasks", ends["tasks"], "--results", ends["results"],
                "--status", ends["status"], "--threads", "1",
                "--key", str(keys / f"bench-{index}.key_secret"),
                "--server-key", str(keys / "server.key")], f"worker-{index}")
            processes.append(workers[f"worker-{index}"])

        cpu = {}
        wait_for_run(folder, {"sink": sink, "ventilator": ventilator}, workers, cpu)
        wall_s = time.monotonic() - started
        if senders:
            senders.stop()
        cpu_s = time.process_time() - cpu_before
        for name, process in workers.items():
            try:
                status = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                raise BenchmarkError(f"{name} did not exit within 60 s of the run's end")
            if status != 0:
                raise BenchmarkError(f"{name} {describe_exit(status)} at the end of the run"
                                     f"{last_error(folder, name)}")
    finally:
        if senders:
            senders.stop()
        stop_processes(processes)

    try:
        meta = json.loads((folder / "out" / "map.json").read_text())
        points, sink_window_s = meta["counts"]["points"], meta["timings"]["wall_time_s"]
    except (OSError, ValueError, KeyError) as error:
        raise BenchmarkError(f"cannot read the point count and the timings from "
                             f"{folder / 'out' / 'map.json'}: {error!r}")
    return {
        "wall_s": wall_s,
        "points": points,
        "sink_window_s": sink_window_s,
        "ports": ports,
        "garbage": senders.counts() if senders else None,
        "sender_cpu_s": cpu_s,
        "server_cpu_s": cpu.get("sink", 0.0) + cpu.get("ventilator", 0.0),
        "log_problems": log_problems(folder),
    }


def log_problems(folder):
    """Return {log name: [lines at warning level or above]} for the sink and the ventilator."""
    problems = {}
    for name in ("sink", "ventilator"):
        text = (folder / f"{name}.err").read_text(errors="replace")
        problems[name] = re.findall(r".*\] (?:warning|error|critical): .*", text)
    return problems


def read_map(path):
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    if not rows:
        raise BenchmarkError(f"{path} is empty")
    return rows[0], rows[1:]


def check_converged(path, label):
    """Raise BenchmarkError unless every row of map.csv has the status converged."""
    header, rows = read_map(path)
    if "status" not in header:
        raise BenchmarkError(f"{path} has no status column, so convergence cannot be checked")
    column = header.index("status")
    failed = [row for row in rows if len(row) <= column or row[column] != "converged"]
    if failed:
        raise BenchmarkError(f"{len(failed)} of {len(rows)} points did not converge in the "
                             f"{label} run; first: {','.join(failed[0])} (see {path})")


def compare_maps(clean_path, garbage_path):
    """Raise BenchmarkError unless both maps agree in the columns that they share.

    The columns iterations and residual, and every column with "time" in its name, are
    skipped. Return the names of the compared columns.
    """
    clean_header, clean_rows = read_map(clean_path)
    garbage_header, garbage_rows = read_map(garbage_path)
    compared = [name for name in clean_header if name in garbage_header
                and name not in ("iterations", "residual") and "time" not in name]
    if not compared:
        raise BenchmarkError(f"{clean_path} and {garbage_path} share no column to compare")
    if len(clean_rows) != len(garbage_rows):
        raise BenchmarkError(f"the clean map has {len(clean_rows)} rows but the map with "
                             f"garbage has {len(garbage_rows)}")

    def by_point(header, rows):
        if "ix" in header and "iy" in header:
            ix, iy = header.index("ix"), header.index("iy")
            return {f"ix={row[ix]}, iy={row[iy]}": dict(zip(header, row)) for row in rows}
        return {f"in row {number + 1}": dict(zip(header, row)) for number, row in enumerate(rows)}

    clean, noisy = by_point(clean_header, clean_rows), by_point(garbage_header, garbage_rows)
    differences = []
    for point, row in clean.items():
        other = noisy.get(point)
        if other is None:
            differences.append(f"point {point} is missing from the map with garbage")
            continue
        differences.extend(f"point {point} column {name}: {row.get(name)!r} clean, "
                           f"{other.get(name)!r} with garbage"
                           for name in compared if row.get(name) != other.get(name))
    if differences:
        count = len(differences)
        raise BenchmarkError(f"{clean_path} and {garbage_path} differ in {count} "
                             f"value{'s' if count != 1 else ''}; first: {differences[0]}")
    return compared


def print_report(args, clean, noisy):
    """Print the figures of both runs and return the ratio of their wall times."""
    points = clean["points"]
    print(f"map: {points} points (x {args.x}, y {args.y}) in chunks of {args.chunk_size}, "
          f"2 workers x 1 thread, on {LOOPBACK}")
    for label, run in (("clean", clean), ("with garbage", noisy)):
        print(f"{label}: wall time {run['wall_s']:.2f} s, {points / run['wall_s']:.0f} points/s "
              f"(sink, first to last result: {run['sink_window_s']:.2f} s; CPU time of the "
              f"sink and the ventilator: about {run['server_cpu_s']:.1f} s)")

    garbage = noisy["garbage"]
    ports = ", ".join(f"{role} {port}" for role, port in noisy["ports"].items())
    kinds = ", ".join(f"{kind} {count}" for kind, count in garbage["by_kind"].items())
    failures = ", ".join(f"{name} {count}"
                         for name, count in garbage["failures_by_error"].items()) or "none"
    print(f"garbage: {args.connections} senders to {ports} with a {args.pause_ms:g} ms pause, "
          f"seed {args.seed}: {garbage['connections']} connections ({kinds}), "
          f"{garbage['bytes_sent']} bytes ({garbage['bytes_sent'] / 2**20:.1f} MiB), "
          f"{garbage['closed_by_server']} closed by the server, {garbage['stalled']} stalled, "
          f"{garbage['connect_failures']} failed to connect ({failures}); "
          f"CPU time of the senders: {noisy['sender_cpu_s']:.1f} s")
    for error in garbage["errors"]:
        print(f"garbage sender error: {error}")
    for label, run in (("clean", clean), ("with garbage", noisy)):
        for name, lines in run["log_problems"].items():
            if lines:
                print(f"{label}: {len(lines)} {name} log lines at warning level or above; "
                      f"first: {lines[0]}")

    ratio = noisy["wall_s"] / clean["wall_s"]
    print(f"ratio of wall times, garbage / clean: {ratio:.3f} (limit {args.max_ratio:g}); "
          f"points/s with garbage are {100 / ratio:.1f} % of clean")
    return ratio


def check_maps(work, points):
    """Check that every point converged and that both maps agree, and print the result."""
    clean_csv = work / "clean" / "out" / "map.csv"
    garbage_csv = work / "garbage" / "out" / "map.csv"
    check_converged(clean_csv, "clean")
    check_converged(garbage_csv, "garbage")
    compared = compare_maps(clean_csv, garbage_csv)
    print(f"maps: identical in the {len(compared)} compared columns (all but iterations, "
          f"residual and timing columns); all {points} points converged in both runs")


def main(argv=None):
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mkmap-garbage-bench-"))
    keep = args.keep
    try:
        keys = work / "keys"
        make_keys(args.build, keys)
        print(f"{PROGRAM}: running the clean map in {work}", file=sys.stderr)
        clean = run_map(args, work / "clean", keys, garbage=False)
        print(f"{PROGRAM}: running the map with garbage", file=sys.stderr)
        noisy = run_map(args, work / "garbage", keys, garbage=True)
        ratio = print_report(args, clean, noisy)
        check_maps(work, clean["points"])
    except BenchmarkError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        keep = True
        return 1
    finally:
        sys.stdout.flush()
        if keep:
            print(f"{PROGRAM}: logs and maps kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    if ratio > args.max_ratio:
        print(f"{PROGRAM}: the run with garbage took {ratio:.3f} times as long as the clean run, "
              f"more than --max-ratio {args.max_ratio:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
