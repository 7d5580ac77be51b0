#!/usr/bin/python3
"""Plot an mkmap output folder: TOF and coverages over the scan plane.

Reads OUTPUT_DIR/map.csv and OUTPUT_DIR/map.json and writes one PNG with a
filled contour of the product's TOF on a logarithmic colour scale and one
panel per coverage column on a linear scale from 0 to the site total.
Points that did not converge are marked with red crosses.

Units: pressures as p/p0 (p0 = 101325 Pa), temperature in K, TOF in 1/s
per site, coverages from 0 to the total of their site type (1 by default).
Exit status: 0 on success, 2 on a missing or invalid input file.
"""

import argparse
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.ticker import LogLocator  # noqa: E402

EXIT_OK = 0
EXIT_INVALID_INPUT = 2

DEFAULT_TOF_FLOOR = 1e-30  # [1/s]
MAX_TOF_LEVELS = 40
COVERAGE_LEVELS = 21
PANEL_SIZE_INCHES = (5.6, 4.4)


class InputError(Exception):
    """A missing or invalid input file: the message names it."""


class MapData:
    """The grid of one map: axes, per-column value arrays and failed points."""

    def __init__(self, description, rows, header, json_path):
        scan = description["scan"]
        self.x_axis, self.y_axis = scan["x"], scan["y"]
        self.product = description.get("product", "")
        self.source = description.get("model", {}).get(
            "source", "<unknown model>"
        )
        self.site_totals = parse_site_totals(description, json_path)
        self.tof_column = f"tof_{self.product}"
        self.coverage_columns = [c for c in header if c.startswith("theta_")]
        shape = (len(self.y_axis["values"]), len(self.x_axis["values"]))
        self.values = {
            c: np.full(shape, np.nan)
            for c in [self.tof_column] + self.coverage_columns
        }
        self.failed = np.zeros(shape, dtype=bool)
        self.present = np.zeros(shape, dtype=bool)
        # Points where the solver found more than one stable steady state.
        self.multiple = np.zeros(shape, dtype=bool)
        for row in rows:
            self._store(row)

    def _store(self, row):
        ix, iy = row["ix"], row["iy"]
        self.present[iy, ix] = True
        if row["status"] != "converged":
            self.failed[iy, ix] = True
            return
        for column in self.values:
            self.values[column][iy, ix] = row[column]
        self.multiple[iy, ix] = row.get("stable_states", 1) > 1

    def site_total(self, column):
        """Return the site total of a coverage column theta_<name>_<site>."""
        site = column.rsplit("_", 1)[-1]
        return self.site_totals.get(site, 1.0)


def parse_site_totals(description, json_path):
    """Return {site type: total} from the model YAML stored in map.json."""
    text = description.get("model", {}).get("yaml", "")
    try:
        document = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as error:
        raise InputError(
            f"{json_path}: model.yaml is not valid YAML: {error}"
        ) from None
    sites = document.get("sites") if isinstance(document, dict) else None
    if not isinstance(sites, dict):
        return {}
    totals = {}
    for label, data in sites.items():
        total = data.get("total", 1.0) if isinstance(data, dict) else 1.0
        totals[str(label)] = float(total)
    return totals


def read_description(path):
    """Return map.json as a dict after checking the fields the plot needs."""
    try:
        with open(path, encoding="utf-8") as stream:
            description = json.load(stream)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: cannot read JSON: {error}") from None
    scan = description.get("scan") if isinstance(description, dict) else None
    if not isinstance(scan, dict):
        raise InputError(f"{path}: 'scan' is missing")
    for name in ("x", "y"):
        axis = scan.get(name)
        if not isinstance(axis, dict):
            raise InputError(f"{path}: scan.{name} is missing")
        for key in ("column", "label", "values"):
            if key not in axis:
                raise InputError(f"{path}: scan.{name}.{key} is missing")
        values = axis["values"]
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, (int, float)) for v in values)
        ):
            raise InputError(
                f"{path}: scan.{name}.values must be a non-empty list "
                "of numbers"
            )
    if not isinstance(description.get("product"), str):
        raise InputError(f"{path}: 'product' is missing")
    return description


def parse_number(row, column, line, path, convert=float):
    """Return one numeric field of a CSV row, or raise InputError naming it."""
    try:
        return convert(row[column])
    except (TypeError, ValueError):
        raise InputError(
            f"{path}: line {line}: invalid number {row[column]!r} in "
            f"column {column}"
        ) from None


def parse_row(row, line, path, columns, shape):
    """Convert one CSV row, or raise InputError naming the file and line.

    columns is (axis columns, value columns). A failed point may leave its
    value fields empty, so they are parsed only for converged points.
    """
    axis_columns, value_columns = columns
    parsed = {
        "ix": parse_number(row, "ix", line, path, int),
        "iy": parse_number(row, "iy", line, path, int),
        "status": row["status"],
    }
    for column in axis_columns:
        parse_number(row, column, line, path)
    if parsed["status"] == "converged":
        for column in value_columns:
            parsed[column] = parse_number(row, column, line, path)
        if row.get("stable_states"):
            parsed["stable_states"] = parse_number(row, "stable_states", line, path, int)
    if not (0 <= parsed["ix"] < shape[1] and 0 <= parsed["iy"] < shape[0]):
        raise InputError(
            f"{path}: line {line}: grid index ix={parsed['ix']} "
            f"iy={parsed['iy']} is outside the scan in map.json"
        )
    return parsed


def read_rows(path, description):
    """Return (header, rows) of map.csv, or raise InputError naming it."""
    shape = (
        len(description["scan"]["y"]["values"]),
        len(description["scan"]["x"]["values"]),
    )
    tof_column = f"tof_{description['product']}"
    axis_columns = [description["scan"][name]["column"] for name in ("x", "y")]
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            header = reader.fieldnames or []
            required = ["ix", "iy", *axis_columns, tof_column, "status"]
            missing = [column for column in required if column not in header]
            if missing:
                raise InputError(
                    f"{path}: missing column(s) {', '.join(missing)}"
                )
            numeric = (
                axis_columns,
                [tof_column] + [c for c in header if c.startswith("theta_")],
            )
            rows = []
            for row in reader:
                if None in row or any(value is None for value in row.values()):
                    raise InputError(
                        f"{path}: line {reader.line_num}: expected "
                        f"{len(header)} fields"
                    )
                rows.append(
                    parse_row(row, reader.line_num, path, numeric, shape)
                )
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path}: cannot read CSV: {error}") from None
    if not rows:
        raise InputError(f"{path}: no data rows")
    return header, rows


def load_map(output_dir):
    """Read map.json and map.csv of an output folder into a MapData."""
    if not os.path.isdir(output_dir):
        raise InputError(f"{output_dir}: output folder not found")
    json_path = os.path.join(output_dir, "map.json")
    description = read_description(json_path)
    header, rows = read_rows(os.path.join(output_dir, "map.csv"), description)
    return MapData(description, rows, header, json_path)


def draw_filled(axes, data, values, levels, norm, cmap):
    """Draw a filled contour, or cells when an axis has a single point."""
    x, y = data.x_axis["values"], data.y_axis["values"]
    masked = np.ma.masked_invalid(values)
    if len(x) >= 2 and len(y) >= 2:
        return axes.contourf(x, y, masked, levels=levels, norm=norm, cmap=cmap)
    return axes.pcolormesh(
        x, y, masked, norm=norm, cmap=cmap, shading="nearest"
    )


def style_axes(axes, data):
    """Label the axes with units and use log scales for log-spaced axes."""
    axes.set_xlabel(data.x_axis["label"])
    axes.set_ylabel(data.y_axis["label"])
    if data.x_axis.get("spacing") == "log":
        axes.set_xscale("log")
    if data.y_axis.get("spacing") == "log":
        axes.set_yscale("log")


def mark_points(axes, data, show_grid):
    """Mark failed points, points with several stable steady states and,
    optionally, every grid point."""
    x = np.asarray(data.x_axis["values"])
    y = np.asarray(data.y_axis["values"])
    grid_x, grid_y = np.meshgrid(x, y)
    if show_grid:
        solved = data.present & ~data.failed
        axes.plot(
            grid_x[solved],
            grid_y[solved],
            linestyle="none",
            marker=".",
            markersize=2,
            color="black",
            alpha=0.5,
            clip_on=False,
            label="grid point",
        )
    if data.failed.any():
        axes.plot(
            grid_x[data.failed],
            grid_y[data.failed],
            linestyle="none",
            marker="x",
            markersize=7,
            markeredgewidth=1.5,
            color="red",
            label=f"failed point ({int(data.failed.sum())})",
        )
    if data.multiple.any():
        axes.plot(
            grid_x[data.multiple],
            grid_y[data.multiple],
            linestyle="none",
            marker="o",
            markersize=6,
            markerfacecolor="none",
            markeredgewidth=1.2,
            color="white",
            # A dark outline keeps the white rings visible on the light
            # parts of the maps and in the legend.
            path_effects=[patheffects.withStroke(linewidth=2.4, foreground="black")],
            label=f"several stable steady states ({int(data.multiple.sum())})",
        )
    missing = ~data.present
    if missing.any():
        axes.plot(
            grid_x[missing],
            grid_y[missing],
            linestyle="none",
            marker="s",
            markersize=5,
            markerfacecolor="none",
            color="red",
            label=f"missing from map.csv ({int(missing.sum())})",
        )


def tof_levels(low, high):
    """Return decade-aligned contour levels [1/s] spanning low..high."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last <= first:
        last = first + 1
    step = max(1, math.ceil((last - first) / MAX_TOF_LEVELS))
    exponents = np.arange(first, last + step, step)
    return 10.0**exponents


def draw_tof_panel(figure, axes, data, floor):
    """Draw TOF on a log colour scale and return the number clipped."""
    tof = data.values[data.tof_column]
    clipped = np.isfinite(tof) & (tof < floor)
    plotted = np.where(clipped, floor, tof)
    finite = plotted[np.isfinite(plotted)]
    title = f"TOF({data.product})"
    if finite.size == 0:
        axes.set_title(f"{title}: no converged points")
        style_axes(axes, data)
        return 0
    levels = tof_levels(finite.min(), finite.max())
    norm = LogNorm(vmin=levels[0], vmax=levels[-1])
    filled = draw_filled(axes, data, plotted, levels, norm, "viridis")
    colorbar = figure.colorbar(filled, ax=axes, ticks=LogLocator(numticks=12))
    colorbar.set_label(f"TOF({data.product}) [1/s]")
    if clipped.any():
        title += (
            f"\n{int(clipped.sum())} points with TOF < {floor:g} 1/s "
            f"shown at {floor:g}"
        )
    axes.set_title(title, fontsize=10)
    style_axes(axes, data)
    return int(clipped.sum())


def coverage_title(column):
    """Return 'θ(CO) on site type s' for theta_CO_s."""
    name, site = column[len("theta_") :].rsplit("_", 1)
    species = "free sites θ(*)" if name == "*" else f"θ({name})"
    return f"{species} on site type {site}"


def draw_coverage_panel(figure, axes, data, column):
    """Draw one coverage column on a linear 0..total colour scale."""
    total = data.site_total(column)
    levels = np.linspace(0.0, total, COVERAGE_LEVELS)
    values = np.clip(data.values[column], 0.0, total)
    filled = draw_filled(axes, data, values, levels, None, "magma")
    colorbar = figure.colorbar(
        filled, ax=axes, ticks=np.linspace(0.0, total, 6)
    )
    colorbar.set_label(f"coverage (site total {total:g})")
    axes.set_title(coverage_title(column), fontsize=10)
    style_axes(axes, data)


def plot_map(data, output_path, floor):
    """Draw every panel and save the figure as PNG."""
    count = 1 + len(data.coverage_columns)
    columns = 2 if count <= 4 else 3
    rows = math.ceil(count / columns)
    figure, grid = plt.subplots(
        rows,
        columns,
        squeeze=False,
        figsize=(PANEL_SIZE_INCHES[0] * columns, PANEL_SIZE_INCHES[1] * rows),
    )
    panels = list(grid.flat)
    draw_tof_panel(figure, panels[0], data, floor)
    mark_points(panels[0], data, show_grid=True)
    panels[0].legend(loc="upper right", fontsize=8, framealpha=0.8)
    for axes, column in zip(panels[1:], data.coverage_columns):
        draw_coverage_panel(figure, axes, data, column)
        mark_points(axes, data, show_grid=False)
    for axes in panels[count:]:
        axes.set_visible(False)
    points = int(data.present.sum())
    failed = int(data.failed.sum())
    figure.suptitle(
        f"{data.source}: {points} points, {points - failed} converged, "
        f"{failed} failed"
    )
    figure.tight_layout()
    figure.savefig(output_path, dpi=110)
    plt.close(figure)


def parse_arguments(argv):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(
        description="Plot the TOF [1/s per site] and coverages of an mkmap "
        "output "
        "folder over its scan plane (pressures in p/p0 with "
        "p0 = 101325 Pa, temperature in K)."
    )
    parser.add_argument(
        "output_dir",
        metavar="OUTPUT_DIR",
        help="folder with map.csv and map.json written by mkmap",
    )
    parser.add_argument(
        "--output",
        metavar="PNG",
        help="image file to write (default OUTPUT_DIR/map.png)",
    )
    parser.add_argument(
        "--tof-floor",
        type=float,
        default=DEFAULT_TOF_FLOOR,
        help="TOF [1/s] below which values, including zero and "
        "negative ones, are drawn at this floor on the log "
        f"scale (default {DEFAULT_TOF_FLOOR:g})",
    )
    args = parser.parse_args(argv)
    if not args.tof_floor > 0.0:
        parser.error("--tof-floor must be positive")
    return args


def main(argv=None):
    """Run the command line and return the exit status."""
    args = parse_arguments(argv)
    output_path = args.output or os.path.join(args.output_dir, "map.png")
    try:
        data = load_map(args.output_dir)
        plot_map(data, output_path, args.tof_floor)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except OSError as error:
        print(
            f"error: cannot write {output_path}: {error.strerror}",
            file=sys.stderr,
        )
        return EXIT_INVALID_INPUT
    print(f"wrote {output_path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
