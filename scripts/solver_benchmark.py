#!/usr/bin/python3
"""Stress maps and solve-time comparison of the steady-state solver.

Runs mkmap-point-bench, which solves every point of a map in one process on
one thread, and summarises the map.csv it writes.

--stress solves two stress maps of the default CO-oxidation model and prints,
for each, the points converged, the points that needed extended precision,
the points failed, the worst relative residual, site-sum and balance errors
and the slowest point:
  - temperature 300 to 900 K against pCO 1e-10 to 1e2 (log), 61 x 61;
  - temperature 150 to 300 K against the same pCO range, where the largest
    rate constant divided by the smallest grows from 1e34 at 300 K to 1e78
    at 150 K.

--compare REV builds mkmap-point-bench of git revision REV in a temporary
worktree and times it against this build on the default 10 x 10 map,
alternating the two binaries, and prints both medians and their ratio.

Exit status: 0 when every stress point converged and every run worked,
1 when a point failed or a run broke, 2 on invalid options.
"""

import argparse
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRESS_MAPS = [
    ("T 300-900 K x pCO 1e-10-1e2", "T:300:900:61", "CO:1e-10:1e2:61:log"),
    ("T 150-300 K x pCO 1e-10-1e2 (rate constants span up to 78 orders of magnitude)",
     "T:150:300:61", "CO:1e-10:1e2:61:log"),
]


class BenchmarkError(Exception):
    """A run of the point benchmark failed."""


def point_bench(build):
    path = Path(build) / "tests" / "bench" / "mkmap-point-bench"
    if not path.is_file():
        raise BenchmarkError(f"{path} not found; build first with "
                             "cmake --build build -j2")
    return path


def run(command, **kwargs):
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                            **kwargs)
    if result.returncode != 0:
        raise BenchmarkError(f"{' '.join(map(str, command))} exited with {result.returncode}: "
                             f"{result.stderr.strip()[-2000:]}")
    return result.stdout


def summarise(folder):
    """Return the counts and worst checks of folder/map.csv."""
    with open(folder / "map.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    converged = [row for row in rows if row["status"] == "converged"]
    worst = {column: max((float(row[column]) for row in converged), default=0.0)
             for column in ("residual", "site_sum_error", "balance_error")}
    return {
        "points": len(rows),
        "converged": len(converged),
        "extended": sum(row["precision"] == "extended" for row in converged),
        "failed": len(rows) - len(converged),
        "worst": worst,
        "slowest_s": max(float(row["solve_time_s"]) for row in rows),
        "reasons": sorted({row["reason"] for row in rows if row["status"] != "converged"}),
    }


def stress(build):
    """Solve the stress maps and return True when every point converged."""
    bench = point_bench(build)
    all_converged = True
    for label, x_axis, y_axis in STRESS_MAPS:
        with tempfile.TemporaryDirectory(prefix="mkmap-stress-") as folder:
            output = run([bench, "--repeats", 1, "--x", x_axis, "--y", y_axis,
                          "--write-map", folder])
            summary = summarise(Path(folder))
        timing = re.search(r"median ([\d.]+), p95 ([\d.]+), max ([\d.]+)", output)
        worst = summary["worst"]
        print(f"{label} (--x {x_axis} --y {y_axis}):")
        print(f"  {summary['points']} points: {summary['converged']} converged "
              f"({summary['extended']} in extended precision), {summary['failed']} failed")
        print(f"  worst relative residual {worst['residual']:.3g}, site-sum error "
              f"{worst['site_sum_error']:.3g}, balance error {worst['balance_error']:.3g}")
        if timing:
            print(f"  solve time per point [ms]: median {timing.group(1)}, "
                  f"95th percentile {timing.group(2)}, max {timing.group(3)}")
        for reason in summary["reasons"][:10]:
            print(f"  failure reason: {reason}")
        all_converged = all_converged and summary["failed"] == 0
    return all_converged


def median_ms(bench, repeats):
    output = run([bench, "--repeats", repeats])
    match = re.search(r"median ([\d.]+)", output)
    if not match:
        raise BenchmarkError(f"{bench} printed no median: {output}")
    return float(match.group(1))


def compare(build, revision, rounds, repeats):
    """Time the point benchmark of revision against this build's."""
    current = point_bench(build)
    with tempfile.TemporaryDirectory(prefix="mkmap-compare-") as folder:
        tree = Path(folder) / "tree"
        run(["git", "-C", ROOT, "worktree", "add", "--detach", tree, revision])
        try:
            print(f"building mkmap-point-bench of {revision} in {tree}", flush=True)
            run(["cmake", "-S", tree, "-B", tree / "build", "-DCMAKE_BUILD_TYPE=Release"])
            run(["cmake", "--build", tree / "build", "-j", os.cpu_count() or 2,
                 "--target", "mkmap-point-bench"])
            old = point_bench(tree / "build")
            old_medians, new_medians = [], []
            for _ in range(rounds):
                old_medians.append(median_ms(old, repeats))
                new_medians.append(median_ms(current, repeats))
        finally:
            run(["git", "-C", ROOT, "worktree", "remove", "--force", tree])
    old_median = statistics.median(old_medians)
    new_median = statistics.median(new_medians)
    print(f"default 10 x 10 map, {repeats} solves per point, {rounds} alternating rounds")
    print(f"  {revision}: median per-point solve time {old_median:.3f} ms "
          f"(rounds: {', '.join(f'{m:.3f}' for m in old_medians)})")
    print(f"  this build: median per-point solve time {new_median:.3f} ms "
          f"(rounds: {', '.join(f'{m:.3f}' for m in new_medians)})")
    print(f"  ratio this build / {revision}: {new_median / old_median:.2f}")


def positive_integer(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a whole number >= 1")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=str(ROOT / "build"),
                        help="build folder with mkmap-point-bench (default: build)")
    parser.add_argument("--stress", action="store_true", help="solve the stress maps")
    parser.add_argument("--compare", metavar="REV",
                        help="time the point benchmark of git revision REV against this build")
    parser.add_argument("--rounds", type=positive_integer, default=3,
                        help="alternating rounds of --compare (default: 3)")
    parser.add_argument("--repeats", type=positive_integer, default=20,
                        help="solves per point in each --compare round (default: 20)")
    args = parser.parse_args(argv)
    if not (args.stress or args.compare):
        parser.error("expected --stress, --compare REV or both")
    if args.compare and shutil.which("git") is None:
        parser.error("--compare needs git")

    try:
        ok = True
        if args.stress:
            ok = stress(args.build)
        if args.compare:
            compare(args.build, args.compare, args.rounds, args.repeats)
    except BenchmarkError as error:
        print(f"solver_benchmark.py: {error}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
