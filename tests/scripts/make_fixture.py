#!/usr/bin/python3
"""Write a map.csv and map.json in mkmap's format from the reference solver.

The fixture lets the Python scripts be tested without the C++ program. The
grid comes from the model's scan section unless --x or --y overrides it.
Units: pressures as p/p0 (p0 = 101325 Pa), temperature in K, TOF in 1/s.
"""

import argparse
import csv
import json
import os
import sys
import time

sys.path.insert(
    0,
    os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"
    ),
)
# reference_check goes first: it configures libgfortran before NumPy loads it.
import reference_check as reference  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

DEFAULT_MODEL = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "..",
    "examples",
    "co_oxidation.yaml",
)


def axis_description(spec, model):
    """Return the map.json description of an axis from a scan spec dict."""
    variable = str(spec["variable"])
    count = int(spec["points"])
    spacing = spec.get("spacing", "linear")
    first, last = float(spec["from"]), float(spec["to"])
    if spacing == "log":
        values = np.logspace(np.log10(first), np.log10(last), count)
    else:
        values = np.linspace(first, last, count)
    if variable == "T":
        return {
            "variable": "temperature",
            "gas": None,
            "column": "T",
            "label": "T [K]",
            "spacing": spacing,
            "values": list(values),
        }
    if variable not in model.gases:
        raise SystemExit(
            f"error: scan variable {variable!r} is neither T nor a gas"
        )
    return {
        "variable": "pressure",
        "gas": variable,
        "column": f"p_{variable}",
        "label": f"p({variable}) [p/p0, p0 = 101325 Pa]",
        "spacing": spacing,
        "values": list(values),
    }


def parse_axis_spec(text):
    """Parse 'VARIABLE:FROM:TO:POINTS[:linear|log]' into a scan spec dict."""
    parts = text.split(":")
    if len(parts) not in (4, 5):
        raise SystemExit(
            f"error: invalid axis {text!r}, expected "
            "VARIABLE:FROM:TO:POINTS[:linear|log]"
        )
    spec = {
        "variable": parts[0],
        "from": parts[1],
        "to": parts[2],
        "points": parts[3],
    }
    if len(parts) == 5:
        spec["spacing"] = parts[4]
    return spec


def column_names(kinetics, x_axis, y_axis, product):
    """Return the map.csv header for a model."""
    model = kinetics.model
    adsorbates = [f"theta_{s.name}_{s.label}" for s in model.adsorbates]
    free_sites = [f"theta_*_{label}" for label in model.site_labels()]
    return (
        ["ix", "iy", x_axis["column"], y_axis["column"], f"tof_{product}"]
        + adsorbates
        + free_sites
        + ["status", "residual", "iterations", "reason"]
    )


def solve_row(model, cache, x_axis, y_axis, ix, iy):
    """Return the map.csv fields of one grid point."""
    conditions = {
        "temperature": model.temperature,
        "pressures": {n: g["pressure"] for n, g in model.gases.items()},
    }
    for axis, index in ((x_axis, ix), (y_axis, iy)):
        value = axis["values"][index]
        if axis["variable"] == "temperature":
            conditions["temperature"] = value
        else:
            conditions["pressures"][axis["gas"]] = value
    fields = [ix, iy, x_axis["values"][ix], y_axis["values"][iy]]
    try:
        kinetics, theta = cache.solve(conditions)
    except reference.SolverError as error:
        count = len(model.adsorbates) + len(model.site_totals) + 1
        return fields + ["nan"] * count + ["failed", "nan", 0, str(error)]
    fields.append(kinetics.tof(theta))
    fields.extend(theta)
    return fields + ["converged", 0.0, 1, ""]


def format_field(value):
    """Write floats with 17 significant digits like mkmap."""
    if isinstance(value, float):
        return f"{value:.17g}"
    return str(value)


def main():
    """Write the fixture and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", metavar="OUTPUT_DIR")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help="model YAML file"
    )
    parser.add_argument(
        "--x",
        help="x axis VARIABLE:FROM:TO:POINTS[:linear|log], "
        "pressures in p/p0, T in K",
    )
    parser.add_argument("--y", help="y axis, same form as --x")
    args = parser.parse_args()

    with open(args.model, encoding="utf-8") as stream:
        text = stream.read()
    model = reference.load_model_text(text, args.model)
    scan = yaml.safe_load(text).get("scan", {})
    x_axis = axis_description(
        parse_axis_spec(args.x) if args.x else scan["x"], model
    )
    y_axis = axis_description(
        parse_axis_spec(args.y) if args.y else scan["y"], model
    )

    cache = reference.ReferenceCache(model)
    started = time.perf_counter()
    rows = [
        solve_row(model, cache, x_axis, y_axis, ix, iy)
        for iy in range(len(y_axis["values"]))
        for ix in range(len(x_axis["values"]))
    ]
    elapsed = time.perf_counter() - started

    probe = reference.Kinetics(
        model,
        model.temperature,
        {n: g["pressure"] for n, g in model.gases.items()},
    )
    header = column_names(probe, x_axis, y_axis, model.product)
    os.makedirs(args.output_dir, exist_ok=True)
    with open(
        os.path.join(args.output_dir, "map.csv"),
        "w",
        newline="",
        encoding="utf-8",
    ) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([format_field(value) for value in row])

    converged = sum(1 for row in rows if row[-4] == "converged")
    description = {
        "program": "mkmap",
        "version": "fixture",
        "run_id": "fixture",
        "model": {"source": os.path.basename(args.model), "yaml": text},
        "scan": {"x": x_axis, "y": y_axis},
        "product": model.product,
        "columns": header,
        "counts": {
            "points": len(rows),
            "converged": converged,
            "failed": len(rows) - converged,
        },
        "timings": {"solve_seconds": elapsed},
    }
    with open(
        os.path.join(args.output_dir, "map.json"), "w", encoding="utf-8"
    ) as stream:
        json.dump(description, stream, indent=2)
    print(f"wrote {len(rows)} points to {args.output_dir} in {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
