#!/usr/bin/python3
"""Tests of reference_check.py on general networks with analytic solutions.

Run with: /usr/bin/python3 -m unittest discover -s tests/scripts -v
The models are tests/models/ref_*.yaml; each file's header derives the
values that the tests here check. Rates are in 1/s, pressures in p/p0.
"""

import json
import math
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# test_scripts imports reference_check before NumPy, as libgfortran needs.
from test_scripts import CHECK, MAKE_FIXTURE, ROOT, reference, run  # noqa: E402

import numpy as np  # noqa: E402

MODELS = os.path.join(ROOT, "tests", "models")

KT_500 = 8.6173324e-5 * 500.0  # [eV]
PREFACTOR_500 = KT_500 / 4.135667662e-15  # kB T / h at 500 K [1/s]
GCORR_CO_500 = -0.8162598159659645  # SCAKS 0.1.0 [eV]
GCORR_CO2_500 = -1.0198672830114768  # SCAKS 0.1.0 [eV]


def model_path(name):
    """Return the path of tests/models/NAME."""
    return os.path.join(MODELS, name)


def model_text(name, replacements=()):
    """Return a model file's text with (old, new) replacements applied."""
    with open(model_path(name), encoding="utf-8") as stream:
        text = stream.read()
    for old, new in replacements:
        if old not in text:
            raise AssertionError(f"{old!r} not in {name}")
        text = text.replace(old, new)
    return text


def load(name, replacements=()):
    """Parse a model file, optionally edited."""
    return reference.load_model_text(
        model_text(name, replacements), model_path(name)
    )


def solve(model, temperature=None, **pressures):
    """Return (kinetics, PointSolution) at the model's conditions."""
    values = {name: gas["pressure"] for name, gas in model.gases.items()}
    values.update(pressures)
    kinetics = reference.Kinetics(
        model, temperature or model.temperature, values
    )
    return kinetics, reference.solve_point(kinetics)


def coverages(kinetics, state):
    """Return {term: coverage} of a steady state."""
    return {
        species.term: value
        for species, value in zip(kinetics.species, state.theta)
    }


class AnalyticCase(unittest.TestCase):
    """Shared checks of an accepted steady state."""

    def assert_coverages(self, kinetics, state, expected, rtol=1e-10):
        values = coverages(kinetics, state)
        for term, value in expected.items():
            self.assertLessEqual(
                abs(values[term] - value),
                rtol * value,
                f"{term}: {values[term]!r}, expected {value!r}",
            )

    def assert_checks(self, state, tolerance=1e-8):
        checks = state.checks
        self.assertLessEqual(checks["relative_residual"], tolerance)
        self.assertLessEqual(checks["site_sum_error"], 1e-12)
        self.assertLessEqual(checks["law_error"], 1e-12)
        self.assertLessEqual(checks["balance_error"], tolerance)

    def assert_equilibrium(self, state):
        for j, ratio in enumerate(state.checks["reversibilities"]):
            self.assertAlmostEqual(ratio, 1.0, delta=1e-9, msg=f"step {j + 1}")
        for j, net in enumerate(state.checks["net_rates"]):
            gross = state.checks["forward"][j]
            self.assertLessEqual(abs(net), 1e-12 * gross, f"step {j + 1}")


class LangmuirTest(AnalyticCase):
    """Single-site and dissociative adsorption with explicit constants."""

    def test_langmuir_isotherm(self):
        kinetics, solution = solve(load("ref_langmuir.yaml"))
        state = solution.primary
        self.assert_coverages(
            kinetics, state, {"CO_s": 2.0 / 3.0, "*_s": 1.0 / 3.0}
        )
        self.assert_checks(state)
        self.assert_equilibrium(state)
        self.assertEqual(state.precision, "double")

    def test_langmuir_over_pressures(self):
        model = load("ref_langmuir.yaml")
        for pressure in (1e-9, 1e-5, 1e-1, 10.0):
            kinetics, solution = solve(model, CO=pressure)
            load_factor = 1e5 * pressure
            self.assert_coverages(
                kinetics,
                solution.primary,
                {"CO_s": load_factor / (1.0 + load_factor)},
                rtol=1e-9,
            )

    def test_explicit_constants_ignore_temperature(self):
        model = load("ref_langmuir.yaml")
        for temperature in (300.0, 500.0, 900.0):
            kf, kr, corrections = reference.rate_constants(model, temperature)
            self.assertEqual((kf[0], kr[0]), (1.0e3, 1.0e-2))
            self.assertEqual(corrections, {})

    def test_dissociative_isotherm(self):
        kinetics, solution = solve(load("ref_dissociative.yaml"))
        self.assert_coverages(
            kinetics, solution.primary, {"O_s": 2.0 / 3.0, "*_s": 1.0 / 3.0}
        )
        self.assert_checks(solution.primary)
        self.assert_equilibrium(solution.primary)

    def test_molecule_on_two_sites(self):
        kinetics, solution = solve(load("ref_multisite.yaml"))
        self.assert_coverages(
            kinetics, solution.primary, {"O2_2s": 0.25, "*_s": 0.5}
        )
        self.assertEqual(len(solution.stable_states), 1)
        self.assertEqual(solution.start_count, 4)
        self.assertEqual(solution.failures, [])

    def test_slow_adsorption_reaches_steady_state(self):
        kinetics, solution = solve(load("ref_slow_adsorption.yaml"))
        self.assert_coverages(
            kinetics, solution.primary, {"CO_s": 0.9, "*_s": 0.1}
        )

    def test_slow_adsorption_time_constant(self):
        # theta(t) = 0.9 (1 - exp(-t / 1e4 s)) from a clean surface.
        kinetics, _ = solve(load("ref_slow_adsorption.yaml"))
        integrator = reference.make_integrator(
            kinetics, kinetics.clean_surface(), 1e-20
        )
        for time_s in (1e3, 1e4, 5e4):
            theta = integrator.integrate(time_s)
            expected = 0.9 * -math.expm1(-time_s / 1e4)
            self.assertAlmostEqual(theta[0], expected, delta=1e-7 * expected)


class DetailedBalanceTest(AnalyticCase):
    """A cycle whose gases are at equilibrium has no net rate."""

    def test_cycle_at_equilibrium(self):
        kinetics, solution = solve(load("ref_equilibrium_cycle.yaml"))
        state = solution.primary
        self.assert_coverages(
            kinetics,
            state,
            {"CO_s": 1.0 / 11.0, "O_s": 5.0 / 11.0, "*_s": 5.0 / 11.0},
        )
        self.assert_equilibrium(state)
        self.assert_checks(state)
        self.assertLessEqual(abs(state.tof), 1e-12)

    def test_cycle_off_equilibrium_balances_elements(self):
        kinetics, solution = solve(
            load("ref_equilibrium_cycle.yaml"), CO2=1e-3
        )
        state = solution.primary
        self.assertGreater(state.tof, 0.1)
        self.assertLessEqual(state.checks["balance_error"], 1e-8)
        # 2 CO + O2 -> 2 CO2: CO is used as fast as CO2 forms.
        production = kinetics.network.gas_stoichiometry @ np.array(
            state.checks["net_rates"]
        )
        names = kinetics.network.gas_names
        carbon = production[names.index("CO")] + production[names.index("CO2")]
        self.assertLessEqual(abs(carbon), 1e-12 * state.tof)


class SitesAndLawsTest(AnalyticCase):
    """Spectators, several site types and conservation laws."""

    def test_spectator_blocks_sites(self):
        kinetics, solution = solve(load("ref_spectator.yaml"))
        state = solution.primary
        self.assert_coverages(
            kinetics,
            state,
            {"S_s": 0.3, "CO_s": 1.4 / 3.0, "*_s": 0.7 / 3.0},
        )
        self.assert_checks(state)
        self.assertTrue(kinetics.network.fixed[1])

    def test_spectator_starts_keep_it(self):
        kinetics, solution = solve(load("ref_spectator.yaml"))
        starts = reference.start_states(kinetics)
        # The initial state, CO saturated, and two random states.
        self.assertEqual(len(starts), 4)
        saturated = dict(zip([s.term for s in kinetics.species], starts[1][1]))
        self.assertAlmostEqual(saturated["CO_s"], 0.7, places=15)
        self.assertEqual(saturated["S_s"], 0.3)
        for label, start in starts:
            self.assertEqual(start[1], 0.3, label)
            self.assertAlmostEqual(start.sum(), 1.0, places=14, msg=label)
        self.assertEqual(len(solution.stable_states), 1)

    def test_small_site_type(self):
        kinetics, solution = solve(load("ref_two_site_types.yaml"))
        state = solution.primary
        self.assert_coverages(
            kinetics,
            state,
            {
                "CO_t": 0.0375,
                "*_t": 0.0125,
                "CO_s": 0.6,
                "H_s": 0.2,
                "*_s": 0.2,
            },
        )
        self.assert_checks(state)
        self.assert_equilibrium(state)

    def test_law_beyond_site_totals(self):
        model = load("ref_conserved_law.yaml")
        network = model.network()
        self.assertEqual(len(network.laws_int), 4)
        terms = [s.term for s in network.species]
        carbon = [0] * len(terms)
        carbon[terms.index("CO_s")] = carbon[terms.index("CO_t")] = 1
        self.assertIn(carbon, network.laws_int)
        kinetics, solution = solve(model)
        self.assert_coverages(
            kinetics,
            solution.primary,
            {
                "CO_t": 1.0 / 42.0,
                "CO_s": 10.0 / 21.0,
                "*_s": 11.0 / 21.0,
                "*_t": 11.0 / 420.0,
                "H_u": 2.0 / 3.0,
                "*_u": 1.0 / 3.0,
            },
        )
        self.assert_checks(solution.primary)

    def test_starts_keep_law(self):
        kinetics, solution = solve(load("ref_conserved_law.yaml"))
        terms = [s.term for s in kinetics.species]
        for label, start in reference.start_states(kinetics):
            carbon = start[terms.index("CO_s")] + start[terms.index("CO_t")]
            self.assertAlmostEqual(carbon, 0.5, places=14, msg=label)
            self.assertTrue(np.all(start >= 0.0), label)
        self.assertEqual(len(solution.stable_states), 1)
        self.assertEqual(solution.failures, [])

    def test_reduced_jacobian_dimension(self):
        kinetics, solution = solve(load("ref_conserved_law.yaml"))
        reduced = reference.reduced_jacobian(kinetics, solution.primary.theta)
        # Six species, four conservation laws.
        self.assertEqual(reduced.shape, (2, 2))
        self.assertTrue(np.all(np.linalg.eigvals(reduced).real < 0.0))


class BistableTest(AnalyticCase):
    """Langmuir-Hinshelwood CO oxidation with two stable branches."""

    ACTIVE = {"CO_s": 0.4, "O_s": 0.4, "*_s": 0.2}
    POISONED = {"CO_s": 0.9, "O_s": 0.025, "*_s": 0.075}
    MIDDLE = np.array([9.0 / 16.0, 0.25, 3.0 / 16.0])

    @classmethod
    def setUpClass(cls):
        cls.kinetics, cls.solution = solve(load("ref_bistable.yaml"))

    def test_cubic_roots(self):
        roots = np.sort(np.roots([6400.0, -2960.0, 426.0, -18.0]).real)
        np.testing.assert_allclose(roots, [3 / 40, 3 / 16, 1 / 5], rtol=1e-9)

    def test_both_stable_branches_found(self):
        states = self.solution.stable_states
        self.assertEqual(len(states), 2)
        self.assertAlmostEqual(states[0].tof, 3.2, delta=1e-9)
        self.assertAlmostEqual(states[1].tof, 0.45, delta=1e-9)
        self.assert_coverages(self.kinetics, states[0], self.ACTIVE, 1e-9)
        self.assert_coverages(self.kinetics, states[1], self.POISONED, 1e-9)
        self.assertEqual(states[0].start, "initial state")

    def test_middle_root_is_unstable(self):
        theta, residual = reference.refine_newton(self.kinetics, self.MIDDLE)
        self.assertLess(residual, 1e-12)
        np.testing.assert_allclose(theta, self.MIDDLE, rtol=1e-12)
        self.assertFalse(reference.is_stable(self.kinetics, theta))
        eigenvalues = np.linalg.eigvals(
            reference.reduced_jacobian(self.kinetics, theta)
        )
        self.assertAlmostEqual(max(eigenvalues.real), 0.5132049, places=6)

    def test_stable_eigenvalues(self):
        for state, largest in zip(
            self.solution.stable_states, (-0.6024317, -2.8967966)
        ):
            eigenvalues = np.linalg.eigvals(
                reference.reduced_jacobian(self.kinetics, state.theta)
            )
            self.assertAlmostEqual(max(eigenvalues.real), largest, places=6)

    def test_oxygen_covered_start_fails(self):
        # Full O coverage is a steady state too, but a saddle.
        labels = [label for label, _ in self.solution.failures]
        self.assertEqual(labels, ["O_s-saturated state"])
        self.assertIn(
            "the root is linearly unstable", self.solution.failures[0][1]
        )


class RateConstantRulesTest(unittest.TestCase):
    """tst, collision and explicit constants against hand computations."""

    def test_tst_everywhere(self):
        model = load("ref_tst.yaml")
        kf, kr, corrections = reference.rate_constants(model, 500.0)
        expected = [
            (math.exp(-0.5 / KT_500), math.exp(-0.8 / KT_500)),
            (math.exp(-0.2 / KT_500), 1.0),
            (math.exp(-0.9 / KT_500), math.exp(-1.3 / KT_500)),
        ]
        for j, (forward, reverse) in enumerate(expected):
            self.assertAlmostEqual(
                kf[j] / (PREFACTOR_500 * forward), 1.0, delta=1e-13
            )
            self.assertAlmostEqual(
                kr[j] / (PREFACTOR_500 * reverse), 1.0, delta=1e-13
            )
        self.assertEqual((kf[3], kr[3]), (5.0e2, 0.0))
        self.assertEqual(corrections, {})

    def test_tst_steady_state(self):
        kinetics, solution = solve(load("ref_tst.yaml"))
        state = solution.primary
        self.assertLessEqual(state.checks["relative_residual"], 1e-8)
        self.assertLessEqual(state.checks["balance_error"], 1e-8)
        self.assertGreater(state.tof, 0.0)

    def test_rules_per_reaction(self):
        model = load("ref_rules.yaml")
        kf, kr, corrections = reference.rate_constants(model, 500.0)
        self.assertEqual(sorted(corrections), ["CO", "CO2"])
        self.assertAlmostEqual(corrections["CO"], GCORR_CO_500, places=12)
        self.assertAlmostEqual(corrections["CO2"], GCORR_CO2_500, places=12)

        tst = [
            (kf[0], math.exp(-0.5 / KT_500)),
            (kr[0], math.exp(-0.8 / KT_500)),
            (kf[2], math.exp(-0.9 / KT_500)),
            (kr[2], math.exp(-(1.3 - GCORR_CO2_500) / KT_500)),
        ]
        for value, factor in tst:
            self.assertAlmostEqual(value / (PREFACTOR_500 * factor), 1.0, delta=1e-11)
        self.assertEqual((kf[1], kr[1]), (1.0e3, 1.0e-3))

        mass = (12.0107 + 15.9994) * 1.66053904e-27
        collision = (
            0.5
            * math.exp(-0.3 / KT_500)
            * 101325.0
            * 9.0e-20
            / math.sqrt(2 * math.pi * mass * 1.38064852e-23 * 500.0)
        )
        equivalent = -KT_500 * math.log(collision / PREFACTOR_500)
        reverse = max(equivalent - (-1.5 - GCORR_CO_500), 0.0)
        self.assertAlmostEqual(kf[3] / collision, 1.0, delta=1e-13)
        self.assertAlmostEqual(
            kr[3] / (PREFACTOR_500 * math.exp(-reverse / KT_500)),
            1.0,
            delta=1e-11,
        )

    def test_model_rule_with_collision_override(self):
        text = model_text(
            "ref_tst.yaml",
            [
                (
                    'Ga: 0.9, dG: -0.4}',
                    'Ga: 0.9, dG: -0.4, rate_constants: collision}',
                ),
                (
                    "CO2: {pressure: 1.0e-3}",
                    "CO2: {pressure: 1.0e-3, correction: false}",
                ),
            ],
        )
        model = reference.load_model_text(text, "override")
        self.assertEqual(
            [step.rule for step in model.steps],
            ["tst", "tst", "collision", "explicit"],
        )
        self.assertEqual(model.corrected_gas_names(), ["CO2"])


class ExtendedPrecisionTest(AnalyticCase):
    """mpmath refines points that double precision cannot finish."""

    def test_tight_tolerance_uses_mpmath(self):
        model = load(
            "ref_dissociative.yaml",
            [("product: O2", "product: O2\nsolver: {residual_tolerance: 1.0e-25}")],
        )
        kinetics, solution = solve(model)
        state = solution.primary
        self.assertTrue(state.precision.startswith("mpmath"), state.precision)
        self.assertLessEqual(state.checks["relative_residual"], 1e-25)
        self.assertAlmostEqual(float(state.exact[0]), 2.0 / 3.0, places=15)

    def test_tiny_tof_balances_in_mpmath(self):
        # A CO-poisoned point of the default model: TOF 1e-20 next to gross
        # rates near 1e-5, so the gas net rates need more than 16 digits.
        with open(
            os.path.join(ROOT, "examples", "co_oxidation.yaml"), encoding="utf-8"
        ) as stream:
            model = reference.load_model_text(stream.read(), "default")
        kinetics, solution = solve(model, CO=0.5, O2=0.5)
        state = solution.primary
        self.assertLess(state.tof, 1e-12)
        self.assertLessEqual(state.checks["balance_error"], 1e-8)
        self.assertTrue(state.precision.startswith("mpmath"), state.precision)


class PointCommandTest(unittest.TestCase):
    """--point on the model files, as a user runs it."""

    def point_json(self, name, *assignments):
        result = run(
            CHECK, "--model", model_path(name), "--point", *assignments, "--json"
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_json_bistable(self):
        report = self.point_json("ref_bistable.yaml", "CO=1")
        self.assertAlmostEqual(report["tof"], 3.2, delta=1e-9)
        self.assertEqual(
            [s["start"] for s in report["stable_steady_states"]],
            ["initial state", "CO_s-saturated state"],
        )
        self.assertAlmostEqual(
            report["stable_steady_states"][1]["coverages"]["CO_s"], 0.9, delta=1e-9
        )
        self.assertEqual(report["starts"], 7)
        self.assertEqual(len(report["failed_starts"]), 1)
        self.assertEqual(
            [s["kf"] for s in report["rate_constants"]], [18.0, 40.0, 20.0]
        )
        self.assertEqual(report["steps"][1]["reversibility"], 0.0)

    def test_json_fields(self):
        report = self.point_json("ref_equilibrium_cycle.yaml", "T=500")
        for key in (
            "rate_constants",
            "coverages",
            "tof",
            "relative_residual",
            "site_sum_error",
            "balance_error",
            "steps",
            "stable_steady_states",
        ):
            self.assertIn(key, report)
        self.assertEqual(set(report["coverages"]), {"CO_s", "O_s", "*_s"})
        for step in report["steps"]:
            self.assertAlmostEqual(step["reversibility"], 1.0, delta=1e-9)
            self.assertLessEqual(abs(step["net_rate"]), 1e-12)

    def test_json_rule_names(self):
        report = self.point_json("ref_rules.yaml", "T=500")
        self.assertEqual(
            [(s["rule"], s["kind"]) for s in report["rate_constants"]],
            [
                ("tst", "adsorption"),
                ("explicit", "adsorption"),
                ("collision", "desorption"),
                ("collision", "adsorption"),
            ],
        )
        self.assertEqual(set(report["gas_corrections"]), {"CO", "CO2"})

    def test_text_lists_checks(self):
        result = run(
            CHECK, "--model", model_path("ref_spectator.yaml"), "--point", "CO=1"
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        for line in (
            "theta_S_s            0.29999999999999999",
            "relative residual",
            "site sum error",
            "balance error",
            "reversibility step 1",
            "stable states        1 distinct from 4 start(s)",
        ):
            self.assertIn(line, result.stdout)

    def test_json_needs_point(self):
        result = run(CHECK, "--json", "--self-test")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--json needs --point", result.stderr)

    def test_bad_point_values(self):
        for assignment in ("T=0", "T=-5", "CO=-1", "CO=nan", "CO=inf"):
            result = run(
                CHECK,
                "--model",
                model_path("ref_langmuir.yaml"),
                "--point",
                assignment,
            )
            self.assertEqual(result.returncode, 2, assignment)
            self.assertIn("out of range", result.stderr)


class MapCheckTest(unittest.TestCase):
    """The map comparison on a general model with two stable branches."""

    def test_other_branch_is_accepted(self):
        with tempfile.TemporaryDirectory(prefix="mkmap-ref-") as folder:
            result = run(
                MAKE_FIXTURE,
                folder,
                "--model",
                model_path("ref_bistable.yaml"),
                "--x",
                "CO:1:1:1",
                "--y",
                "O2:1:1:1",
            )
            self.assertEqual(result.returncode, 0, result.stderr)
            result = run(CHECK, folder)
            self.assertEqual(result.returncode, 0, result.stdout)
            self.assertIn("1 points with more than one stable", result.stdout)

            path = os.path.join(folder, "map.csv")
            with open(path, encoding="utf-8") as stream:
                lines = stream.read().splitlines()
            fields = lines[1].split(",")
            self.assertAlmostEqual(float(fields[4]), 3.2, delta=1e-9)
            fields[4] = "0.45"
            lines[1] = ",".join(fields)
            with open(path, "w", encoding="utf-8") as stream:
                stream.write("\n".join(lines) + "\n")
            result = run(CHECK, folder)
            self.assertEqual(result.returncode, 0, result.stdout)
            self.assertIn("matches the stable state from the CO_s-saturated", result.stdout)

            fields[4] = "2.8125"  # the unstable root's TOF
            lines[1] = ",".join(fields)
            with open(path, "w", encoding="utf-8") as stream:
                stream.write("\n".join(lines) + "\n")
            result = run(CHECK, folder)
            self.assertEqual(result.returncode, 1, result.stdout)


class InvalidModelTest(unittest.TestCase):
    """Invalid new keys: InputError in-process, exit status 2 on the CLI."""

    CASES = [
        (
            "ref_langmuir.yaml",
            ("temperature: 500", "temperature: 500\nrate_constants: fast"),
            "rate_constants must be 'collision' or 'tst', got 'fast'",
        ),
        (
            "ref_tst.yaml",
            ("Ga: 0.5, dG: -0.3}", "Ga: 0.5, dG: -0.3, rate_constants: TST}"),
            "rate_constants must be 'collision' or 'tst', got 'TST'",
        ),
        (
            "ref_langmuir.yaml",
            ("kf: 1.0e3, kr: 1.0e-2", "kf: 1.0e3"),
            "need both 'kf' and 'kr' [1/s]; add 'kr'",
        ),
        (
            "ref_langmuir.yaml",
            ("kf: 1.0e3, kr: 1.0e-2", "kf: 1.0e3, kr: 1.0e-2, Ga: 0.1"),
            "explicit 'kf' and 'kr' exclude 'Ga'",
        ),
        (
            "ref_langmuir.yaml",
            ("kf: 1.0e3, kr: 1.0e-2", "kf: -1.0, kr: 1.0e-2"),
            "'kf' [1/s] must be >= 0, got -1.0",
        ),
        (
            "ref_langmuir.yaml",
            ("kf: 1.0e3, kr: 1.0e-2", "kf: .inf, kr: 1.0e-2"),
            "'kf' [1/s] must be a finite number, got inf",
        ),
        (
            "ref_langmuir.yaml",
            ("kf: 1.0e3, kr: 1.0e-2", "kf: 1.0e3, kr: fast"),
            "'kr' [1/s] must be a finite number, got 'fast'",
        ),
        (
            "ref_langmuir.yaml",
            ("kf: 1.0e3, kr: 1.0e-2", "Ga: 0.1"),
            "give 'Ga' and 'dG' [eV], or explicit 'kf' and 'kr' [1/s]",
        ),
        (
            "ref_langmuir.yaml",
            ("kf: 1.0e3, kr: 1.0e-2", "kf: 1.0e3, kr: 1.0e-2, k: 1"),
            "unknown key 'k'",
        ),
        (
            "ref_langmuir.yaml",
            ("product: CO", "product: CO\ninitial_coverage: {CO_s: 0.1}"),
            "unknown key 'initial_coverage'",
        ),
        (
            "ref_spectator.yaml",
            ("{S_s: 0.3}", "{S_s: 0.8, CO_s: 0.3}"),
            "occupy 1.1000000000000001 sites, more than its total 1",
        ),
        (
            "ref_spectator.yaml",
            ("{S_s: 0.3}", "{S_s: -0.3}"),
            "initial_coverages: S_s must be >= 0, got -0.3",
        ),
        (
            "ref_spectator.yaml",
            ("{S_s: 0.3}", "{'*_s': 0.3}"),
            "'*_s' is not an adsorbate",
        ),
        (
            "ref_spectator.yaml",
            ("{S_s: 0.3}", "{CO_g: 0.3}"),
            "'CO_g' is not an adsorbate",
        ),
        (
            "ref_spectator.yaml",
            ("{S_s: 0.3}", "{2CO_s: 0.3}"),
            "invalid key '2CO_s'",
        ),
        (
            "ref_spectator.yaml",
            ("{S_s: 0.3}", "{S_x: 0.3}"),
            "site type 'x' of 'S_x' is neither under 'sites'",
        ),
        (
            "ref_spectator.yaml",
            ("{S_s: 0.3}", "{CO_2s: 0.3}"),
            "CO_2s spans 2 site(s), but CO_s elsewhere spans 1",
        ),
        (
            "ref_spectator.yaml",
            ("starts: all", "starts: some"),
            "solver.starts must be 'initial' or 'all', got 'some'",
        ),
        (
            "ref_spectator.yaml",
            ("random_starts: 2", "random_starts: -1"),
            "solver.random_starts must be an integer >= 0, got -1",
        ),
        (
            "ref_spectator.yaml",
            ("seed: 7", "seed: 1.5"),
            "solver.seed must be an integer >= 0, got 1.5",
        ),
        (
            "ref_spectator.yaml",
            ("seed: 7", "seed: 7, residual_tolerance: 0"),
            "solver.residual_tolerance must be > 0, got 0",
        ),
        (
            "ref_spectator.yaml",
            ("seed: 7", "seed: 7, tolerance: 1e-9"),
            "unknown key 'tolerance'",
        ),
        (
            "ref_two_site_types.yaml",
            ("t: {total: 0.05}", "t: {total: 0}"),
            "site type t: total must be > 0, got 0",
        ),
        (
            "ref_rules.yaml",
            (
                "CO: {pressure: 0.1, symmetry: 1, rotational_temperatures: "
                "[2.78], vibrational_temperatures: [3120]}",
                "CO: {pressure: 0.1}",
            ),
            "gas CO has no rotational or vibrational temperatures",
        ),
    ]

    def test_invalid_models_raise(self):
        for name, replacement, message in self.CASES:
            with self.subTest(message=message):
                with self.assertRaises(reference.InputError) as caught:
                    load(name, [replacement])
                self.assertIn(message, str(caught.exception))

    def test_invalid_model_exit_status(self):
        name, replacement, message = self.CASES[0]
        with tempfile.TemporaryDirectory(prefix="mkmap-ref-") as folder:
            path = os.path.join(folder, "bad.yaml")
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(model_text(name, [replacement]))
            result = run(CHECK, "--model", path, "--point", "T=500")
        self.assertEqual(result.returncode, 2)
        self.assertIn(f"bad.yaml: {message}", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_tst_needs_no_gas_data(self):
        model = load("ref_tst.yaml")
        self.assertEqual(model.corrected_gas_names(), [])

    def test_repeated_terms_merge(self):
        text = model_text(
            "ref_dissociative.yaml",
            [('"O2_g + 2*_s -> 2O_s"', '"O2_g + *_s + *_s -> O_s + O_s"')],
        )
        kinetics, solution = solve(reference.load_model_text(text, "merged"))
        self.assertAlmostEqual(solution.primary.theta[0], 2.0 / 3.0, places=12)


if __name__ == "__main__":
    unittest.main()
