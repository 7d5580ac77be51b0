#!/usr/bin/python3
"""Tests for scripts/reference_check.py and scripts/plot_map.py.

Run with: /usr/bin/python3 -m unittest discover -s tests/scripts -v
The map fixtures come from make_fixture.py, which uses the reference solver,
so a passing comparison shows the checker's plumbing, while the perturbed
fixtures show that it catches wrong values.
"""

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CHECK = os.path.join(ROOT, "scripts", "reference_check.py")
PLOT = os.path.join(ROOT, "scripts", "plot_map.py")
MAKE_FIXTURE = os.path.join(HERE, "make_fixture.py")
DEFAULT_MODEL = os.path.join(ROOT, "examples", "co_oxidation.yaml")

sys.path.insert(0, os.path.join(ROOT, "scripts"))
# reference_check goes first: it configures libgfortran before NumPy loads it.
import reference_check as reference  # noqa: E402
import plot_map  # noqa: E402

import numpy as np  # noqa: E402


def run(*args):
    """Run a script with this interpreter and return the process result."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def make_fixture(folder, *axes):
    """Write a fixture map into folder, with --x/--y options in axes."""
    result = run(MAKE_FIXTURE, folder, *axes)
    if result.returncode != 0:
        raise RuntimeError(f"make_fixture.py failed: {result.stderr}")


def edit_rows(folder, edit):
    """Apply edit(row_dict) to every row of folder/map.csv in place."""
    path = os.path.join(folder, "map.csv")
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        edit(row)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_rows(folder):
    """Return the rows of folder/map.csv as dicts."""
    with open(
        os.path.join(folder, "map.csv"), newline="", encoding="utf-8"
    ) as stream:
        return list(csv.DictReader(stream))


class SharedFixture(unittest.TestCase):
    """A 5 x 4 map of the default model over its linear pressure scan."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mkmap-scripts-")
        cls.base = os.path.join(cls.tmp, "base")
        make_fixture(cls.base, "--x", "CO:1e-5:0.5:5", "--y", "O2:1e-5:0.5:4")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def copy(self, name):
        """Return a fresh copy of the base fixture."""
        folder = os.path.join(self.tmp, name)
        shutil.copytree(self.base, folder)
        return folder


class ReferenceCheckTest(SharedFixture):
    """Exit codes and messages of reference_check.py."""

    def test_self_test_passes(self):
        result = run(CHECK, "--self-test")
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("self-test: 13 passed, 0 failed", result.stdout)

    def test_matching_map_passes(self):
        result = run(CHECK, self.base)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("20 points checked, 0 failed", result.stdout)

    def test_perturbed_tof_fails(self):
        folder = self.copy("perturbed")
        rows = read_rows(folder)
        target = max(rows, key=lambda row: float(row["tof_CO2"]))

        def perturb(row):
            if row["ix"] == target["ix"] and row["iy"] == target["iy"]:
                row["tof_CO2"] = repr(float(row["tof_CO2"]) * (1 + 2e-4))

        edit_rows(folder, perturb)
        result = run(CHECK, folder)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn(f"ix={target['ix']} iy={target['iy']}", result.stdout)
        self.assertIn("1 failed", result.stdout)

    def test_perturbation_within_rtol_passes(self):
        folder = self.copy("within-rtol")

        def perturb(row):
            row["tof_CO2"] = repr(float(row["tof_CO2"]) * (1 + 5e-5))

        edit_rows(folder, perturb)
        self.assertEqual(run(CHECK, folder).returncode, 0)

    def test_tiny_tof_uses_absolute_tolerance(self):
        rows = read_rows(self.base)
        tiny = next(row for row in rows if float(row["tof_CO2"]) < 1e-15)
        for value, expected_status in (("5e-9", 0), ("2e-8", 1)):
            folder = self.copy(f"tiny-{value}")

            def replace(row, value=value):
                if row["ix"] == tiny["ix"] and row["iy"] == tiny["iy"]:
                    row["tof_CO2"] = value

            edit_rows(folder, replace)
            self.assertEqual(
                run(CHECK, folder).returncode, expected_status, value
            )

    def test_failed_status_fails(self):
        folder = self.copy("failed-status")

        def fail_one(row):
            if row["ix"] == "2" and row["iy"] == "1":
                row.update(
                    {
                        "tof_CO2": "",
                        "status": "failed",
                        "reason": "Newton did not converge",
                    }
                )

        edit_rows(folder, fail_one)
        result = run(CHECK, folder)
        self.assertEqual(result.returncode, 1)
        self.assertIn(
            "status 'failed' (Newton did not converge)", result.stdout
        )

    def test_missing_folder_is_invalid_input(self):
        result = run(CHECK, os.path.join(self.tmp, "no-such-folder"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("no-such-folder: output folder not found", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_malformed_csv_is_invalid_input(self):
        folder = self.copy("malformed")

        def corrupt(row):
            if row["ix"] == "1" and row["iy"] == "1":
                row["tof_CO2"] = "fast"

        edit_rows(folder, corrupt)
        result = run(CHECK, folder)
        self.assertEqual(result.returncode, 2)
        self.assertIn("map.csv: line", result.stderr)
        self.assertIn("'fast' in column tof_CO2", result.stderr)

    def test_missing_json_is_invalid_input(self):
        folder = self.copy("no-json")
        os.remove(os.path.join(folder, "map.json"))
        result = run(CHECK, folder)
        self.assertEqual(result.returncode, 2)
        self.assertIn("map.json: file not found", result.stderr)

    def test_point_mode_prints_reference_values(self):
        result = run(
            CHECK,
            "--model",
            DEFAULT_MODEL,
            "--point",
            "CO=1.32e-7",
            "O2=5.26e-7",
            "T=500",
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("TOF(CO2) [1/s]       8.10940297666", result.stdout)


class BistableBranchTest(unittest.TestCase):
    """The reference follows the trajectory from a clean surface."""

    def setUp(self):
        with open(DEFAULT_MODEL, encoding="utf-8") as stream:
            self.model = reference.load_model_text(
                stream.read(), DEFAULT_MODEL
            )
        # Two stable steady states exist here: an active one reached from a
        # clean surface and a CO-poisoned one reached from a CO-covered one.
        pressures = {"CO": 1e-9, "O2": 1e-8, "CO2": 1.32e-7}
        self.kinetics = reference.Kinetics(self.model, 500.0, pressures)

    def test_clean_start_reaches_active_state(self):
        theta = reference.solve_steady_state(self.kinetics)
        self.assertAlmostEqual(theta[1], 0.7287, places=3)
        self.assertTrue(reference.is_stable(self.kinetics, theta))

    def test_poisoned_state_is_stable_too(self):
        self.kinetics.clean_surface = lambda: np.array([0.95, 0.0, 0.05])
        theta = reference.solve_steady_state(self.kinetics)
        self.assertGreater(theta[0], 0.999)
        self.assertTrue(reference.is_stable(self.kinetics, theta))

    def test_saddle_between_them_is_unstable(self):
        saddle, residual = reference.refine_newton(
            self.kinetics, np.array([0.7288, 2.75e-11, 0.2712])
        )
        self.assertLess(residual, 1e-12)
        self.assertFalse(reference.is_stable(self.kinetics, saddle))


class ZeroPressureTest(unittest.TestCase):
    """Steady states exist when a gas is absent, if slow to reach."""

    def test_zero_pressures_settle(self):
        with open(DEFAULT_MODEL, encoding="utf-8") as stream:
            model = reference.load_model_text(stream.read(), DEFAULT_MODEL)
        for zero in (("CO",), ("O2",), ("CO", "O2"), ("CO", "O2", "CO2")):
            pressures = {"CO": 1.32e-7, "O2": 5.26e-7, "CO2": 1.32e-7}
            pressures.update({name: 0.0 for name in zero})
            kinetics = reference.Kinetics(model, 500.0, pressures)
            theta = reference.solve_steady_state(kinetics)
            self.assertAlmostEqual(theta.sum(), 1.0, places=12, msg=zero)
            self.assertLess(abs(kinetics.tof(theta)), 1e-20, msg=zero)


class ModelParsingTest(unittest.TestCase):
    """Input checks and rate-constant rules of the reference solver."""

    MODEL = """\
temperature: 500
cell_area: 9.0e-20
gases:
  CO: {pressure: 0.1, symmetry: 1, rotational_temperatures: [2.78],
       vibrational_temperatures: [3120]}
reactions:
  - {equation: "%s", Ga: %s, dG: %s}
product: CO
"""

    def load(self, equation, ga="0.0", dg="-1.0"):
        """Parse a one-step model."""
        return reference.load_model_text(
            self.MODEL % (equation, ga, dg), "test"
        )

    def test_unbalanced_step_is_rejected(self):
        with self.assertRaisesRegex(
            reference.InputError, "elements or sites differ"
        ):
            self.load("CO_g + *_s -> O_s")

    def test_uphill_barrierless_step_gets_barrier(self):
        model = self.load("CO_s -> CO_g + *_s", ga="0.0", dg="0.3")
        self.assertEqual(model.steps[0].ga, 0.3)

    def test_unknown_element_is_rejected(self):
        text = (self.MODEL % ("CO_g + *_s -> CO_s", "0", "-1")).replace(
            "gases:\n",
            "gases:\n  Xe: {pressure: 0.1, correction: false}\n",
        )
        with self.assertRaisesRegex(
            reference.InputError, "no atomic mass for element Xe"
        ):
            reference.load_model_text(text, "test")

    def test_linear_rotor_correction_above_threshold(self):
        gas = {"rotational": [20.0], "symmetry": 1}
        plain = 500.0 / 20.0
        ratio = 20.0 / 500.0
        expected = plain * (1 + ratio / 3 + ratio**2 / 15)
        self.assertAlmostEqual(
            reference.rotational_partition(gas, 500.0), expected
        )

    def test_several_vibrations_omit_zero_point(self):
        gas = {"vibrational": [954.0, 1890.0]}
        expected = 1 / ((1 - np.exp(-954 / 500)) * (1 - np.exp(-1890 / 500)))
        self.assertAlmostEqual(
            reference.vibrational_partition(gas, 500.0), expected
        )


class PlotMapTest(SharedFixture):
    """Output and errors of plot_map.py."""

    def assert_png(self, path):
        with open(path, "rb") as stream:
            self.assertEqual(stream.read(8), b"\x89PNG\r\n\x1a\n")

    def test_default_output_is_png(self):
        folder = self.copy("plot-default")
        result = run(PLOT, folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_png(os.path.join(folder, "map.png"))

    def test_failed_points_and_zero_tof(self):
        folder = self.copy("plot-failed")

        def edit(row):
            if row["ix"] == "1" and row["iy"] == "1":
                row.update(
                    {"tof_CO2": "", "status": "failed", "reason": "test"}
                )
            if row["ix"] == "3" and row["iy"] == "2":
                row["tof_CO2"] = "0"

        edit_rows(folder, edit)
        output = os.path.join(folder, "custom.png")
        result = run(PLOT, folder, "--output", output)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_png(output)

    def test_several_stable_states_are_marked(self):
        folder = self.copy("plot-multiple")
        rows = read_rows(folder)
        for row in rows:
            several = (row["ix"], row["iy"]) == ("2", "1")
            row["stable_states"] = "2" if several else "1"
        with open(os.path.join(folder, "map.csv"), "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

        data = plot_map.load_map(folder)
        self.assertEqual(int(data.multiple.sum()), 1)
        self.assertTrue(data.multiple[1, 2])
        result = run(PLOT, folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_png(os.path.join(folder, "map.png"))

    def test_temperature_and_log_axes(self):
        folder = os.path.join(self.tmp, "plot-temperature")
        make_fixture(folder, "--x", "T:450:600:3", "--y", "CO:1e-6:1e-2:3:log")
        result = run(PLOT, folder)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_png(os.path.join(folder, "map.png"))

    def test_missing_folder_is_invalid_input(self):
        result = run(PLOT, os.path.join(self.tmp, "absent"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("absent: output folder not found", result.stderr)

    def test_malformed_csv_is_invalid_input(self):
        folder = self.copy("plot-malformed")
        with open(
            os.path.join(folder, "map.csv"), "a", encoding="utf-8"
        ) as stream:
            stream.write("1,2,3\n")
        result = run(PLOT, folder)
        self.assertEqual(result.returncode, 2)
        self.assertIn("map.csv: line 22: expected", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
    unittest.main()
