#!/usr/bin/python3
"""Check an mkmap output folder against an independent microkinetic solver.

The solver here is written from the model description alone and shares no
code with the C++ library. For every grid point in map.csv it computes the
rate constants: transition-state theory, collision-theory adsorption and
ideal-gas free-energy corrections, or the explicit constants of the model.
It integrates the coverage ODEs from the model's initial state (a clean
surface unless initial_coverages sets one) with a stiff SciPy
integrator until the rates balance, refines that state with Newton's method
on the steady-state equations and the conservation laws of the network, and
compares the product's TOF with map.csv.

Units: energies in eV, temperature in K, pressures as p/p0 with
p0 = 101325 Pa, rates and TOF in 1/s per site.

Exit status: 0 when every point converged and matches, 1 when a point
failed or deviates, 2 on invalid input.
"""

import argparse
import contextlib
import csv
import json
import math
import os
import re
import resource
import signal
import sys
import time
import warnings
from fractions import Fraction

# libgfortran buffers VODE's messages and writes them at exit unless this is
# set before SciPy loads it, so quiet_vode() could not silence them.
os.environ.setdefault("GFORTRAN_UNBUFFERED_PRECONNECTED", "y")

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from scipy.integrate import ode  # noqa: E402

try:
    import mpmath  # noqa: E402
except ImportError:  # the extended-precision polish is then skipped
    mpmath = None

# CODATA 2014 constants, the values SCAKS uses.
KB_EV = 8.6173324e-5  # Boltzmann constant [eV/K]
KB_J = 1.38064852e-23  # Boltzmann constant [J/K]
H_EV = 4.135667662e-15  # Planck constant [eV s]
H_J = 6.626070040e-34  # Planck constant [J s]
AMU_KG = 1.66053904e-27  # atomic mass unit [kg]
P0_PA = 101325.0  # reference pressure [Pa]

# Standard atomic weights [amu] of hydrogen to krypton (IUPAC 2007 values;
# C, O and H are the ones SCAKS uses).
ATOMIC_MASSES = {
    "H": 1.00794, "He": 4.002602, "Li": 6.941, "Be": 9.012182,
    "B": 10.811, "C": 12.0107, "N": 14.0067, "O": 15.9994,
    "F": 18.9984032, "Ne": 20.1797, "Na": 22.98976928, "Mg": 24.3050,
    "Al": 26.9815386, "Si": 28.0855, "P": 30.973762, "S": 32.065,
    "Cl": 35.453, "Ar": 39.948, "K": 39.0983, "Ca": 40.078,
    "Sc": 44.955912, "Ti": 47.867, "V": 50.9415, "Cr": 51.9961,
    "Mn": 54.938045, "Fe": 55.845, "Co": 58.933195, "Ni": 58.6934,
    "Cu": 63.546, "Zn": 65.38, "Ga": 69.723, "Ge": 72.64,
    "As": 74.92160, "Se": 78.96, "Br": 79.904, "Kr": 83.798,
}  # fmt: skip

GAS_LABEL = "g"
FREE_SITE_NAME = "*"

# Keys a model file may contain. The reference ignores `scan` itself, but
# map.json carries it in the model text.
MODEL_KEYS = (
    "temperature", "cell_area", "active_ratio", "sites", "gases",
    "reactions", "product", "scan", "rate_constants", "initial_coverages",
    "solver",
)  # fmt: skip
REACTION_KEYS = ("equation", "Ga", "dG", "kf", "kr", "rate_constants")
SOLVER_KEYS = ("residual_tolerance", "starts", "random_starts", "seed")
RATE_CONSTANT_RULES = ("collision", "tst")
START_CHOICES = ("initial", "all")

# Defaults of the model's solver block.
DEFAULT_RESIDUAL_TOLERANCE = 1e-8
DEFAULT_STARTS = "initial"
DEFAULT_RANDOM_STARTS = 4
DEFAULT_SEED = 1

# Steady-state settings of the reference solver.
ODE_RTOL = 1e-10
# Absolute coverage tolerances of the integrator, tried in this order: VODE
# can fail its error test on coverages near 1e-40 when a pressure is 0.
ODE_ATOLS = (1e-40, 1e-30, 1e-20)
# Integration stage ends [s]: 1e-8, 1e-6, ..., 1e20. With a pressure of 0
# the default model needs about 1e16 s to settle.
ODE_STAGE_ENDS = tuple(10.0**e for e in range(-8, 21, 2))
STEADY_NET_OVER_GROSS = 1e-6  # try Newton once every |net|/gross is below this
ODE_MAX_STEPS = 200000  # VODE steps allowed per stage
NEWTON_TOL = 1e-13  # scaled residual that ends the Newton refinement
NEWTON_MAX_ITERATIONS = 60
# Largest scaled residual of a double-precision Newton result that the
# mpmath polish may start from.
MPMATH_START_RESIDUAL = 1e-6
MPMATH_MAX_ITERATIONS = 60
NEAR_RTOL = 1e-3  # refined vs integrated coverage, relative part
NEAR_ATOL = 1e-15  # same, absolute part as a fraction of the site total
STABILITY_TOL = 1e-13  # unresolvable eigenvalues, relative to the largest
# Two steady states are the same when every coverage agrees within
# SAME_STATE_RTOL relative or SAME_STATE_ATOL times its site total.
SAME_STATE_RTOL = 1e-6
SAME_STATE_ATOL = 1e-12

# Guards so that a point the reference cannot solve fails on its own
# instead of taking the machine down: the VODE integration of some hard
# points runs for minutes and grows without bound.
POINT_TIME_LIMIT_S = 60
MEMORY_LIMIT_BYTES = 4 << 30

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_INVALID_INPUT = 2


class InputError(Exception):
    """Invalid user input: the message names the file or value."""


class SolverError(Exception):
    """The reference solver could not reach a steady state."""


# ---------------------------------------------------------------------------
# Model parsing


class Species:
    """A gas, adsorbate, free site or transition state in a reaction."""

    def __init__(self, kind, name, label, site_count):
        self.kind = kind  # "gas", "adsorbate", "free", "ts"
        self.name = name
        self.label = label  # "g" or the site type
        self.site_count = site_count

    @property
    def key(self):
        """Return the identity used to match terms: (name, label)."""
        return (self.name, self.label)

    @property
    def term(self):
        """Return the species as written in equations: O2_2s, CO_s, *_s."""
        sites = str(self.site_count) if self.site_count > 1 else ""
        return f"{self.name}_{sites}{self.label}"


TERM_PATTERN = re.compile(
    r"^(?P<coefficient>\d*)(?P<name>[^\s_]+)_(?P<sites>\d*)"
    r"(?P<label>[A-Za-z][A-Za-z0-9]*)$"
)
ELEMENT_PATTERN = re.compile(r"([A-Z][a-z]?)(\d*)")


def parse_elements(name, context):
    """Return the element counts of a species name such as CO2 or O-O."""
    formula = name.replace("-", "")
    counts = {}
    position = 0
    for match in ELEMENT_PATTERN.finditer(formula):
        if match.start() != position:
            break
        symbol, number = match.group(1), match.group(2)
        counts[symbol] = counts.get(symbol, 0) + (int(number) if number else 1)
        position = match.end()
    if position != len(formula) or not counts:
        raise InputError(f"{context}: '{name}' is not a chemical formula")
    return counts


def parse_term(text, context):
    """Parse `[coefficient]name_[sites]label` into (coefficient, Species)."""
    match = TERM_PATTERN.match(text.strip())
    if not match:
        raise InputError(
            f"{context}: invalid term '{text.strip()}', expected "
            "[coefficient]name_[sites]label such as 2O_s"
        )
    coefficient = int(match["coefficient"] or 1)
    name, label = match["name"], match["label"]
    site_count = int(match["sites"] or 1)
    if coefficient < 1 or site_count < 1:
        raise InputError(
            f"{context}: the coefficient and site count of "
            f"'{text.strip()}' must be positive"
        )
    if label == GAS_LABEL:
        if match["sites"]:
            raise InputError(
                f"{context}: gas term '{text.strip()}' cannot span sites"
            )
        return coefficient, Species("gas", name, label, 0)
    if name == FREE_SITE_NAME:
        return coefficient, Species("free", name, label, 1)
    if "-" in name:
        return coefficient, Species("ts", name, label, site_count)
    return coefficient, Species("adsorbate", name, label, site_count)


def parse_state(text, context):
    """Parse a `+`-separated state into a list of (coefficient, Species)."""
    terms = text.split("+")
    if any(not part.strip() for part in terms):
        raise InputError(f"{context}: empty term in state '{text.strip()}'")
    return [parse_term(part, context) for part in terms]


def parse_equation(equation, context):
    """Split an equation into initial, transition (maybe empty), final."""
    parts = re.split(r"<->|->", equation)
    if len(parts) not in (2, 3):
        raise InputError(
            f"{context}: expected 'IS -> FS' or 'IS <-> TS -> FS', "
            f"got '{equation}'"
        )
    states = [parse_state(part, context) for part in parts]
    if len(states) == 2:
        return states[0], [], states[1]
    return states[0], states[1], states[2]


def count_state(state, elements_of):
    """Return (element counts, site counts per label) of a state."""
    elements = {}
    sites = {}
    for coefficient, species in state:
        if species.kind != "free":
            for symbol, number in elements_of(species).items():
                elements[symbol] = (
                    elements.get(symbol, 0) + coefficient * number
                )
        if species.kind != "gas":
            sites[species.label] = (
                sites.get(species.label, 0) + coefficient * species.site_count
            )
    return elements, sites


def to_number(value, context, minimum=None):
    """Return value as a finite float, or raise InputError naming context.

    YAML 1.1 reads 1e3 (no dot) as a string, so numeric strings are
    accepted. With minimum, values below it are rejected too.
    """
    number = None
    if not isinstance(value, bool) and isinstance(value, (int, float, str)):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise InputError(f"{context} must be a finite number, got {value!r}")
    if minimum is not None and number < minimum:
        raise InputError(f"{context} must be >= {minimum:g}, got {value!r}")
    return number


def to_rule(value, context):
    """Return a rate-constant rule, or raise InputError naming context."""
    if value not in RATE_CONSTANT_RULES:
        raise InputError(
            f"{context}: rate_constants must be 'collision' or 'tst', "
            f"got {value!r}"
        )
    return value


def check_keys(mapping, allowed, context):
    """Raise InputError naming the first key of mapping not in allowed."""
    for key in mapping:
        if key not in allowed:
            raise InputError(
                f"{context}: unknown key {key!r}; allowed keys are "
                f"{', '.join(allowed)}"
            )


class Step:
    """An elementary step: its states and how its rate constants are made.

    rule is "collision" or "tst" with the energies ga and dg [eV], or
    "explicit" with the constants kf and kr [1/s] used as given.
    """

    def __init__(self, equation, states, rule, values):
        self.equation = equation
        self.initial, self.transition, self.final = states
        self.rule = rule
        self.ga = self.dg = self.kf = self.kr = None
        if rule == "explicit":
            self.kf, self.kr = values
        else:
            ga, dg = values
            # An uphill step cannot be barrierless.
            self.ga = dg if (ga == 0.0 and dg > 0.0) else ga
            self.dg = dg

    def gases(self, state):
        """Return the (coefficient, name) pairs of the gases in a state."""
        return [(c, s.name) for c, s in state if s.kind == "gas"]

    @property
    def kind(self):
        """Return 'adsorption' (a gas in the IS), 'desorption' or 'surface'."""
        if self.gases(self.initial):
            return "adsorption"
        if self.gases(self.final):
            return "desorption"
        return "surface"

    def corrected_gases(self):
        """Return the (coefficient, name) pairs whose Gcorr the rule uses."""
        if self.rule != "collision":
            return []
        if self.kind == "adsorption":
            return self.gases(self.initial)
        return self.gases(self.final)


class SolverSettings:
    """The model's solver block: tolerance and starting states."""

    def __init__(self, data, source):
        context = f"{source}: solver"
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InputError(
                f"{context} must be a mapping such as "
                "{starts: all, random_starts: 4}"
            )
        check_keys(data, SOLVER_KEYS, context)
        self.residual_tolerance = to_number(
            data.get("residual_tolerance", DEFAULT_RESIDUAL_TOLERANCE),
            f"{context}.residual_tolerance",
        )
        if not self.residual_tolerance > 0.0:
            raise InputError(
                f"{context}.residual_tolerance must be > 0, got "
                f"{data['residual_tolerance']!r}"
            )
        self.starts = data.get("starts", DEFAULT_STARTS)
        if self.starts not in START_CHOICES:
            raise InputError(
                f"{context}.starts must be 'initial' or 'all', "
                f"got {self.starts!r}"
            )
        self.random_starts = self._count(
            data, "random_starts", DEFAULT_RANDOM_STARTS, context
        )
        self.seed = self._count(data, "seed", DEFAULT_SEED, context)

    @staticmethod
    def _count(data, key, default, context):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(
                f"{context}.{key} must be an integer >= 0, got {value!r}"
            )
        return value


class Model:
    """A parsed microkinetic model: sites, gases, adsorbates and steps."""

    def __init__(self, document, source):
        self.source = source
        check_keys(document, MODEL_KEYS, source)
        self.temperature = self._number(document, "temperature", source)
        self.cell_area = self._number(document, "cell_area", source)
        if self.temperature <= 0.0 or self.cell_area <= 0.0:
            raise InputError(
                f"{source}: 'temperature' [K] and 'cell_area' [m^2] must "
                f"be > 0, got {self.temperature:g} and {self.cell_area:g}"
            )
        self.active_ratio = to_number(
            document.get("active_ratio", 1.0), f"{source}: active_ratio"
        )
        if not 0.0 < self.active_ratio <= 1.0:
            raise InputError(
                f"{source}: active_ratio must be in (0, 1], got "
                f"{self.active_ratio:g}"
            )
        self.rule = to_rule(
            document.get("rate_constants", "collision"), source
        )
        self.site_totals = self._parse_sites(document.get("sites") or {})
        self.gases = self._parse_gases(document.get("gases") or {})
        self.adsorbates = []  # Species in order of first appearance
        self.steps = self._parse_steps(document.get("reactions"))
        self.product = document.get("product")
        if self.product not in self.gas_names():
            raise InputError(
                f"{source}: product '{self.product}' is not a gas "
                "of any reaction"
            )
        self._check_gas_data()
        self.initial_coverages = self._parse_initial_coverages(
            document.get("initial_coverages")
        )
        self.solver = SolverSettings(document.get("solver"), source)
        self._network = None

    @staticmethod
    def _number(document, key, source):
        if key not in document:
            raise InputError(f"{source}: missing '{key}'")
        return to_number(document[key], f"{source}: '{key}'")

    def _parse_sites(self, sites):
        if not isinstance(sites, dict):
            raise InputError(f"{self.source}: 'sites' must be a mapping")
        totals = {}
        for label, data in sites.items():
            context = f"{self.source}: site type {label}"
            data = data or {}
            if not isinstance(data, dict):
                raise InputError(f"{context}: expected {{total: 1.0}}")
            check_keys(data, ("total",), context)
            total = to_number(data.get("total", 1.0), f"{context}: total")
            if total <= 0.0:
                raise InputError(f"{context}: total must be > 0, got {total:g}")
            totals[str(label)] = total
        return totals

    def _parse_gases(self, gases):
        if not isinstance(gases, dict):
            raise InputError(f"{self.source}: 'gases' must be a mapping")
        parsed = {}
        for name, data in gases.items():
            data = data or {}
            context = f"{self.source}: gas {name}"
            if not isinstance(data, dict):
                raise InputError(
                    f"{context}: expected a mapping such as "
                    "{pressure: 0.1, correction: false}"
                )
            elements = parse_elements(str(name), context)
            symmetry = data.get("symmetry", 1)
            if isinstance(symmetry, bool) or not isinstance(symmetry, int) or (
                symmetry < 1
            ):
                raise InputError(
                    f"{context}: symmetry must be an integer >= 1, "
                    f"got {symmetry!r}"
                )
            parsed[str(name)] = {
                "pressure": to_number(
                    data.get("pressure", 0.0), f"{context}: pressure", 0.0
                ),
                "elements": elements,
                "mass_kg": self._mass_kg(elements, name),
                "symmetry": symmetry,
                "rotational": self._temperatures(
                    data, "rotational_temperatures", context
                ),
                "vibrational": self._temperatures(
                    data, "vibrational_temperatures", context
                ),
                # "correction: false" turns the correction off, as in
                # mkmap's model files; a gas without it needs gas data.
                "correction": bool(data.get("correction", True)),
                "has_data": "rotational_temperatures" in data
                or "vibrational_temperatures" in data,
            }
        return parsed

    @staticmethod
    def _temperatures(data, key, context):
        """Return a gas's list of characteristic temperatures [K]."""
        values = data.get(key, [])
        if not isinstance(values, list):
            raise InputError(f"{context}: {key} must be a list of K values")
        temperatures = [to_number(v, f"{context}: {key}") for v in values]
        if any(value <= 0.0 for value in temperatures):
            raise InputError(f"{context}: {key} must be > 0, got {values}")
        return temperatures

    def _mass_kg(self, elements, name):
        mass = 0.0
        for symbol, number in elements.items():
            if symbol not in ATOMIC_MASSES:
                raise InputError(
                    f"{self.source}: gas {name}: no atomic mass for "
                    f"element {symbol} (known: "
                    f"{', '.join(ATOMIC_MASSES)})"
                )
            mass += number * ATOMIC_MASSES[symbol]
        return mass * AMU_KG

    def _parse_steps(self, reactions):
        if not isinstance(reactions, list) or not reactions:
            raise InputError(
                f"{self.source}: 'reactions' must be a non-empty list"
            )
        steps = []
        for number, entry in enumerate(reactions, start=1):
            context = f"{self.source}: reaction {number}"
            if not isinstance(entry, dict) or "equation" not in entry:
                raise InputError(
                    f"{context}: expected a mapping with 'equation'"
                )
            equation = str(entry["equation"])
            context += f" '{equation}'"
            check_keys(entry, REACTION_KEYS, context)
            states = parse_equation(equation, context)
            for state in states:
                self._register_species(state, context)
            self._check_conservation(*states, context)
            rule, values = self._step_constants(entry, context)
            steps.append(Step(equation, states, rule, values))
        return steps

    def _step_constants(self, entry, context):
        """Return ("explicit", (kf, kr)) or (rule, (Ga, dG)) of a reaction."""
        if "kf" in entry or "kr" in entry:
            given = [k for k in ("Ga", "dG", "rate_constants") if k in entry]
            if given:
                raise InputError(
                    f"{context}: explicit 'kf' and 'kr' exclude "
                    f"{', '.join(repr(k) for k in given)}; remove "
                    "them or remove 'kf' and 'kr'"
                )
            missing = [k for k in ("kf", "kr") if k not in entry]
            if missing:
                raise InputError(
                    f"{context}: explicit rate constants need both 'kf' "
                    f"and 'kr' [1/s]; add '{missing[0]}' (0 makes the "
                    "step irreversible)"
                )
            return "explicit", tuple(
                to_number(entry[k], f"{context}: '{k}' [1/s]", 0.0)
                for k in ("kf", "kr")
            )
        if "Ga" not in entry or "dG" not in entry:
            raise InputError(
                f"{context}: give 'Ga' and 'dG' [eV], or explicit 'kf' "
                "and 'kr' [1/s]"
            )
        values = tuple(
            to_number(entry[k], f"{context}: '{k}' [eV]") for k in ("Ga", "dG")
        )
        rule = self.rule
        if "rate_constants" in entry:
            rule = to_rule(entry["rate_constants"], context)
        return rule, values

    def _register_species(self, state, context):
        for _, species in state:
            if species.kind in ("ts", "gas"):
                continue
            if species.label not in self.site_totals:
                self.site_totals[species.label] = 1.0
            if species.kind == "adsorbate":
                self._add_adsorbate(species, context)

    def _add_adsorbate(self, species, context):
        known = [a for a in self.adsorbates if a.key == species.key]
        if not known:
            self.adsorbates.append(species)
        elif known[0].site_count != species.site_count:
            raise InputError(
                f"{context}: {species.term} spans {species.site_count} "
                f"site(s), but {known[0].term} elsewhere spans "
                f"{known[0].site_count}; use one site count per adsorbate"
            )

    def _elements_of(self, species):
        return parse_elements(species.name, f"{self.source}: {species.name}")

    def _check_conservation(self, initial, transition, final, context):
        reference = count_state(initial, self._elements_of)
        for state, name in (
            (transition, "transition state"),
            (final, "final state"),
        ):
            if state and count_state(state, self._elements_of) != reference:
                raise InputError(
                    f"{context}: elements or sites differ between the "
                    f"initial state and the {name}"
                )

    def _check_gas_data(self):
        for name in self.gas_names():
            if name not in self.gases:
                raise InputError(
                    f"{self.source}: gas {name} has no entry under 'gases'"
                )
            gas = self.gases[name]
            if len(gas["rotational"]) not in (0, 1, 3):
                raise InputError(
                    f"{self.source}: gas {name} needs one (linear) or three "
                    "(nonlinear) rotational temperatures, got "
                    f"{len(gas['rotational'])}"
                )
        for name in self.corrected_gas_names():
            gas = self.gases[name]
            if gas["correction"] and not gas["has_data"]:
                raise InputError(
                    f"{self.source}: gas {name} has no rotational or "
                    "vibrational temperatures for the free-energy "
                    "correction that its collision-theory steps use; give "
                    "them, set 'correction: false', or use "
                    "'rate_constants: tst'"
                )

    def _parse_initial_coverages(self, data):
        """Return {(name, label): coverage} and add spectator adsorbates."""
        context = f"{self.source}: initial_coverages"
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise InputError(
                f"{context} must be a mapping such as {{CO_s: 0.1}}"
            )
        coverages = {}
        occupied = dict.fromkeys(self.site_totals, 0.0)
        for key, value in data.items():
            species = self._initial_species(str(key), context)
            theta = to_number(value, f"{context}: {key}", 0.0)
            coverages[species.key] = theta
            occupied[species.label] += species.site_count * theta
        for label, used in occupied.items():
            total = self.site_totals[label]
            if used > total * (1.0 + 1e-12):
                raise InputError(
                    f"{context}: adsorbates on site type {label} occupy "
                    f"{used:.17g} sites, more than its total {total:g}; "
                    "lower their coverages"
                )
        return coverages

    def _initial_species(self, key, context):
        """Return the adsorbate named by an initial_coverages key."""
        match = TERM_PATTERN.match(key)
        if not match or match["coefficient"]:
            raise InputError(
                f"{context}: invalid key {key!r}, expected an adsorbate "
                "term name_[sites]label such as CO_s or O2_2s"
            )
        coefficient, species = parse_term(key, context)
        if species.kind != "adsorbate":
            raise InputError(
                f"{context}: {key!r} is not an adsorbate; give adsorbates "
                "only (free sites get the rest of each site type)"
            )
        if species.label not in self.site_totals:
            raise InputError(
                f"{context}: site type {species.label!r} of {key!r} is "
                "neither under 'sites' nor in any reaction; declare it "
                "under 'sites'"
            )
        self._add_adsorbate(species, f"{context}: {key!r}")
        return species

    def gas_names(self):
        """Return the names of the gases that occur in reactions, in order."""
        names = []
        for step in self.steps:
            for _, species in step.initial + step.final:
                if species.kind == "gas" and species.name not in names:
                    names.append(species.name)
        return names

    def corrected_gas_names(self):
        """Return the gases whose free-energy correction a step uses."""
        used = set()
        for step in self.steps:
            used.update(name for _, name in step.corrected_gases())
        return [name for name in self.gas_names() if name in used]

    def site_labels(self):
        """Return the site types in the order of the free-site unknowns."""
        return list(self.site_totals)

    def network(self):
        """Return the model's Network, built on first use."""
        if self._network is None:
            self._network = Network(self)
        return self._network


def load_model_text(text, source):
    """Parse YAML model text, or raise InputError naming source."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputError(f"{source}: invalid YAML: {error}") from None
    if not isinstance(document, dict):
        raise InputError(f"{source}: the model must be a YAML mapping")
    return Model(document, source)


# ---------------------------------------------------------------------------
# Rate constants


def k_tst(barrier, temperature):
    """Return the TST rate constant [1/s] for a barrier [eV]."""
    kt = KB_EV * temperature
    return kt / H_EV * math.exp(-barrier / kt)


def rotational_partition(gas, temperature):
    """Return q_rot of a gas: linear (one temperature) or nonlinear (three)."""
    thetas, sigma = gas["rotational"], gas["symmetry"]
    if not thetas:
        return 1.0
    if len(thetas) == 1:
        ratio = thetas[0] / temperature
        q_rot = temperature / (sigma * thetas[0])
        if ratio > 0.01:
            q_rot *= 1.0 + ratio / 3.0 + ratio**2 / 15.0
        return q_rot
    product = thetas[0] * thetas[1] * thetas[2]
    return math.sqrt(math.pi) / sigma * math.sqrt(temperature**3 / product)


def vibrational_partition(gas, temperature):
    """Return q_vib of a gas.

    With one vibrational temperature the zero-point term is included. With
    several it is left out, as SCAKS does.
    """
    thetas = gas["vibrational"]
    if len(thetas) == 1:
        return math.exp(-thetas[0] / (2.0 * temperature)) / -math.expm1(
            -thetas[0] / temperature
        )
    q_vib = 1.0
    for theta in thetas:
        q_vib /= -math.expm1(-theta / temperature)
    return q_vib


def gas_correction(gas, temperature):
    """Return the ideal-gas free-energy correction at T and p0 [eV]."""
    if not gas["correction"]:
        return 0.0
    m = gas["mass_kg"]
    q_trans = (KB_J * temperature / P0_PA) * (
        2.0 * math.pi * m * KB_J * temperature / H_J**2
    ) ** 1.5
    q_total = (
        q_trans
        * rotational_partition(gas, temperature)
        * vibrational_partition(gas, temperature)
    )
    return -KB_EV * temperature * math.log(q_total)


def gas_count(state, name):
    """Return how many molecules of gas name a state contains."""
    return sum(c for c, s in state if s.kind == "gas" and s.name == name)


def collision_constants(model, step, temperature, corrections):
    """Return (kf, kr) [1/s] of a step under the collision rules.

    An adsorption (a gas in the IS) gets a collision-theory kf with the mass
    of its first IS gas, and its reverse barrier subtracts the corrections of
    the IS gases only, clamped at 0. A desorption (gases in the FS only)
    subtracts the corrections of its FS gases from the reverse barrier.
    """
    kt = KB_EV * temperature
    gar = step.ga - step.dg
    if step.kind == "surface":
        return k_tst(step.ga, temperature), k_tst(gar, temperature)
    correction = sum(
        nu * corrections[name] for nu, name in step.corrected_gases()
    )
    if step.kind == "desorption":
        return k_tst(step.ga, temperature), k_tst(
            gar - correction, temperature
        )
    mass = model.gases[step.gases(step.initial)[0][1]]["mass_kg"]
    forward = (
        model.active_ratio
        * math.exp(-step.ga / kt)
        * P0_PA
        * model.cell_area
        / math.sqrt(2.0 * math.pi * mass * KB_J * temperature)
    )
    equivalent = -kt * math.log(forward * H_EV / kt)
    reverse_barrier = max(equivalent - (step.dg - correction), 0.0)
    return forward, k_tst(reverse_barrier, temperature)


def rate_constants(model, temperature):
    """Return (kf, kr, corrections) for every step at temperature [K].

    kf and kr are in 1/s for the mass-action rates, and corrections maps
    each gas whose correction a step uses to that correction [eV].
    """
    corrections = {
        name: gas_correction(model.gases[name], temperature)
        for name in model.corrected_gas_names()
    }
    kf, kr = [], []
    for step in model.steps:
        if step.rule == "explicit":
            forward, reverse = step.kf, step.kr
        elif step.rule == "tst":
            forward = k_tst(step.ga, temperature)
            reverse = k_tst(step.ga - step.dg, temperature)
        else:
            forward, reverse = collision_constants(
                model, step, temperature, corrections
            )
        kf.append(forward)
        kr.append(reverse)
    return np.array(kf), np.array(kr), corrections


# ---------------------------------------------------------------------------
# Exact linear algebra on integer stoichiometry


def exact_rref(rows):
    """Return (reduced row echelon rows as Fractions, pivot columns)."""
    matrix = [[Fraction(value) for value in row] for row in rows]
    columns = len(matrix[0]) if matrix else 0
    pivots = []
    for column in range(columns):
        top = len(pivots)
        pivot = next(
            (i for i in range(top, len(matrix)) if matrix[i][column] != 0),
            None,
        )
        if pivot is None:
            continue
        matrix[top], matrix[pivot] = matrix[pivot], matrix[top]
        lead = matrix[top][column]
        matrix[top] = [value / lead for value in matrix[top]]
        for i, row in enumerate(matrix):
            factor = row[column]
            if i != top and factor != 0:
                matrix[i] = [a - factor * b for a, b in zip(row, matrix[top])]
        pivots.append(column)
        if len(pivots) == len(matrix):
            break
    return matrix[: len(pivots)], pivots


def exact_rank(rows):
    """Return the rank of a matrix of integers or Fractions."""
    return len(exact_rref(rows)[1]) if rows else 0


def integer_vector(values):
    """Return a rational vector scaled to coprime integers."""
    denominator = 1
    for value in values:
        denominator = math.lcm(denominator, Fraction(value).denominator)
    integers = [int(Fraction(value) * denominator) for value in values]
    divisor = math.gcd(*integers) or 1
    return [value // divisor for value in integers]


def left_null_space(matrix, rows):
    """Return an integer basis of {c : c^T matrix = 0} for a rows x n matrix."""
    transposed = [list(column) for column in zip(*matrix)]
    if not transposed:
        return [[int(i == k) for i in range(rows)] for k in range(rows)]
    reduced, pivots = exact_rref(transposed)
    basis = []
    for free in (column for column in range(rows) if column not in pivots):
        vector = [Fraction(0)] * rows
        vector[free] = Fraction(1)
        for row, pivot in zip(reduced, pivots):
            vector[pivot] = -row[free]
        basis.append(integer_vector(vector))
    return basis


# ---------------------------------------------------------------------------
# Reaction network and its conservation laws


class Network:
    """Stoichiometry and conservation laws of a model's surface species.

    The species are the adsorbates in order of first appearance, then one
    free-site coverage per site type. Keeping the free sites as unknowns
    avoids the cancellation in total - sum(theta) when a surface is nearly
    full. The conservation laws are an integer basis of the left null space
    of the stoichiometric matrix: the site balance of each site type first,
    then one law per fixed species (one that no step changes), then the rest.
    """

    def __init__(self, model):
        self.species = list(model.adsorbates) + [
            Species("free", FREE_SITE_NAME, label, 1)
            for label in model.site_labels()
        ]
        self.caps = [
            model.site_totals[s.label] / s.site_count for s in self.species
        ]
        self._build_stoichiometry(model)
        self._build_laws(model)
        self._choose_dependent()

    def _build_stoichiometry(self, model):
        index = {species.key: i for i, species in enumerate(self.species)}
        count, steps = len(self.species), model.steps
        table = [[0] * len(steps) for _ in range(count)]
        self.forward_terms, self.reverse_terms = [], []
        self.forward_gases, self.reverse_gases = [], []
        for j, step in enumerate(steps):
            for state, sign, terms, gases in (
                (step.initial, -1, self.forward_terms, self.forward_gases),
                (step.final, 1, self.reverse_terms, self.reverse_gases),
            ):
                exponents, gas_exponents = {}, {}
                for coefficient, species in state:
                    if species.kind == "gas":
                        gas_exponents[species.name] = (
                            gas_exponents.get(species.name, 0) + coefficient
                        )
                    elif species.kind != "ts":
                        i = index[species.key]
                        exponents[i] = exponents.get(i, 0) + coefficient
                for i, exponent in exponents.items():
                    table[i][j] += sign * exponent
                terms.append(sorted(exponents.items()))
                gases.append(sorted(gas_exponents.items()))
        self.stoichiometry_int = table
        self.stoichiometry = np.array(table, dtype=float).reshape(
            count, len(steps)
        )
        self.fixed = [all(value == 0 for value in row) for row in table]
        self.gas_names = model.gas_names()
        self.gas_stoichiometry = np.array(
            [
                [
                    gas_count(step.final, name) - gas_count(step.initial, name)
                    for step in steps
                ]
                for name in self.gas_names
            ],
            dtype=float,
        ).reshape(len(self.gas_names), len(steps))
        self.gas_elements = {
            name: parse_elements(name, name) for name in self.gas_names
        }

    def _build_laws(self, model):
        count = len(self.species)
        labels = model.site_labels()
        site_rows = [
            [s.site_count if s.label == label else 0 for s in self.species]
            for label in labels
        ]
        fixed_rows = [
            [int(i == k) for i in range(count)]
            for k in range(count)
            if self.fixed[k]
        ]
        candidates = (
            site_rows
            + fixed_rows
            + left_null_space(self.stoichiometry_int, count)
        )

        # Keep the candidates that are independent of those kept before.
        self.rank = exact_rank(self.stoichiometry_int)
        laws = []
        for row in candidates:
            if len(laws) == count - self.rank:
                break
            if exact_rank(laws + [row]) > len(laws):
                laws.append(row)

        self.laws_int = laws
        self.laws = np.array(laws, dtype=float).reshape(len(laws), count)
        self.site_law_count = len(labels)
        self.totals = np.array([model.site_totals[label] for label in labels])
        # Each law's residual is divided by its largest possible magnitude:
        # the site total for a site balance.
        self.law_scales = np.array(
            [
                self.totals[k]
                if k < len(labels)
                else sum(abs(c) * cap for c, cap in zip(row, self.caps))
                for k, row in enumerate(laws)
            ]
        )

    def _choose_dependent(self):
        """Split the species into independent ones and ones the laws fix.

        The dependent species D are chosen so that the laws restricted to
        them are invertible; then theta_D = L_D^-1 (c - L_I theta_I), and the
        balances of the independent species I with the laws form a square
        system. Free sites and fixed species are preferred in D.
        """
        count = len(self.species)
        order = (
            [i for i in range(count) if self.species[i].kind == "free"]
            + [i for i in range(count) if self.fixed[i]]
            + list(range(count - 1, -1, -1))
        )
        dependent = []
        for i in order:
            if len(dependent) == len(self.laws_int):
                break
            if i in dependent:
                continue
            columns = dependent + [i]
            block = [[row[k] for k in columns] for row in self.laws_int]
            if exact_rank(block) == len(columns):
                dependent.append(i)
        self.dependent = sorted(dependent)
        self.independent = [i for i in range(count) if i not in dependent]
        # theta_D = L_D^-1 c - M theta_I with M = L_D^-1 L_I, exactly.
        augmented = [
            [row[k] for k in self.dependent]
            + [row[k] for k in self.independent]
            for row in self.laws_int
        ]
        reduced, _ = exact_rref(augmented)
        width = len(self.dependent)
        self.dependent_map = np.array(
            [[float(v) for v in row[width:]] for row in reduced],
            dtype=float,
        ).reshape(width, len(self.independent))
        # Orthonormal basis of the stoichiometric subspace: the directions
        # in which the conservation laws let the coverages move.
        if self.rank:
            left, _, _ = np.linalg.svd(self.stoichiometry, full_matrices=False)
            self.moving_basis = left[:, : self.rank]
        else:
            self.moving_basis = np.zeros((count, 0))

    def conserved_values(self, theta):
        """Return the values of the laws: site totals, else the law at theta."""
        values = self.laws @ theta
        values[: self.site_law_count] = self.totals
        return values

    def species_index(self, term):
        """Return the index of the species written as term, or None."""
        for i, species in enumerate(self.species):
            if species.term == term:
                return i
        return None


# ---------------------------------------------------------------------------
# Rates


class Kinetics:
    """Mass-action rates of a model at fixed temperature and pressures.

    The unknowns are all surface species of the model's Network: the
    adsorbates, then one free-site coverage per site type.
    """

    def __init__(self, model, temperature, pressures, constants=None):
        self.model = model
        self.temperature = temperature
        self.pressures = pressures
        if constants is None:
            constants = rate_constants(model, temperature)
        self.kf, self.kr, self.corrections = constants
        self.network = network = model.network()
        self.species = network.species
        self.stoichiometry = network.stoichiometry
        self.forward_terms = network.forward_terms
        self.reverse_terms = network.reverse_terms
        self.kf_effective = self.kf * self._activities(network.forward_gases)
        self.kr_effective = self.kr * self._activities(network.reverse_gases)
        self.product_stoichiometry = network.gas_stoichiometry[
            network.gas_names.index(model.product)
        ]
        self.conservation = network.laws[: network.site_law_count]
        self.totals = network.totals

    def _activities(self, gas_lists):
        """Return the product of gas activities p^nu of each step's state."""
        values = np.ones(len(gas_lists))
        for j, gases in enumerate(gas_lists):
            for name, exponent in gases:
                values[j] *= self.pressures[name] ** exponent
        return values

    @staticmethod
    def _monomials(constants, term_lists, theta):
        """Return constant * prod theta^exponent per step, in theta's type."""
        values = []
        for j, terms in enumerate(term_lists):
            value = constants[j]
            for index, exponent in terms:
                value = value * theta[index] ** exponent
            values.append(value)
        return values

    @staticmethod
    def _monomial_gradients(constants, term_lists, theta, count):
        """Return d(monomial_j)/d(theta_i) as a list of rows."""
        gradients = []
        for j, terms in enumerate(term_lists):
            row = [0.0] * count
            for index, exponent in terms:
                value = (
                    constants[j] * exponent * theta[index] ** (exponent - 1)
                )
                for other, other_exponent in terms:
                    if other != index:
                        value = value * theta[other] ** other_exponent
                row[index] = value
            gradients.append(row)
        return gradients

    def rates(self, theta):
        """Return forward and reverse rates of every step [1/s]."""
        return (
            np.array(
                self._monomials(self.kf_effective, self.forward_terms, theta)
            ),
            np.array(
                self._monomials(self.kr_effective, self.reverse_terms, theta)
            ),
        )

    def derivatives(self, theta):
        """Return d(theta)/dt of every surface species [1/s]."""
        forward, reverse = self.rates(theta)
        return self.stoichiometry @ (forward - reverse)

    def jacobian(self, theta):
        """Return the analytic Jacobian of derivatives() [1/s]."""
        count = len(self.species)
        forward = self._monomial_gradients(
            self.kf_effective, self.forward_terms, theta, count
        )
        reverse = self._monomial_gradients(
            self.kr_effective, self.reverse_terms, theta, count
        )
        difference = np.array(forward) - np.array(reverse)
        return self.stoichiometry @ difference.reshape(-1, count)

    def gross_rates(self, theta):
        """Return production plus consumption of every species [1/s]."""
        forward, reverse = self.rates(theta)
        return np.abs(self.stoichiometry) @ (forward + reverse)

    def net_over_gross(self, theta):
        """Return max over species of |d(theta)/dt| / gross rate."""
        net = np.abs(self.derivatives(theta))
        gross = self.gross_rates(theta)
        active = gross > 0.0
        if not np.any(active):
            return 0.0
        return float(np.max(net[active] / gross[active]))

    def tof(self, theta):
        """Return the turnover frequency of the product [1/s per site]."""
        forward, reverse = self.rates(theta)
        return float(self.product_stoichiometry @ (forward - reverse))

    def clean_surface(self):
        """Return the initial state: initial_coverages, free sites the rest.

        Without initial_coverages this is the clean surface.
        """
        theta = np.zeros(len(self.species))
        occupied = dict.fromkeys(self.model.site_labels(), 0.0)
        for i, species in enumerate(self.species):
            if species.kind == "adsorbate":
                theta[i] = self.model.initial_coverages.get(species.key, 0.0)
                occupied[species.label] += species.site_count * theta[i]
        for i, species in enumerate(self.species):
            if species.kind == "free":
                total = self.model.site_totals[species.label]
                theta[i] = max(total - occupied[species.label], 0.0)
        return theta


# ---------------------------------------------------------------------------
# Checks of a steady state


def point_checks(kinetics, theta, conserved, roundoff=2.0**-52):
    """Return the checks of a state as a dict, in the number type of theta.

    conserved contains the values of the network's conservation laws that
    the state must keep (see Network.conserved_values). roundoff is the
    unit roundoff of theta's number type. The keys are:

    - relative_residual: max over non-fixed adsorbates of |d(theta)/dt|
      divided by the gross rate through the adsorbate;
    - site_sum_error: max over site types of |sum n_i theta_i - total| /
      total, and law_error: the same for every conservation law, divided by
      the law's scale;
    - balance_error: max over elements of |sum_g n_ge R_g| divided by
      sum_g n_ge |R_g|, with R_g the net production of gas g, and 0 where
      the denominator is 0;
    - forward, reverse and net_rates per step [1/s], and reversibilities
      rr/rf per step (None where rf = 0).

    An R_g below the error that the residual and the rounding leave in it,
    100 (roundoff + relative residual) times the gross rate through gas g,
    counts as 0. Without that floor a gas at equilibrium, whose R_g is
    rounding noise, would give a balance error near 1.
    """
    network = kinetics.network
    # Python floats, so that mpf coverages keep their precision.
    forward = kinetics._monomials(
        kinetics.kf_effective.tolist(), kinetics.forward_terms, theta
    )
    reverse = kinetics._monomials(
        kinetics.kr_effective.tolist(), kinetics.reverse_terms, theta
    )
    net = [f - r for f, r in zip(forward, reverse)]
    table = network.stoichiometry_int
    relative = 0.0
    for i, species in enumerate(kinetics.species):
        if species.kind != "adsorbate" or network.fixed[i]:
            continue
        change = sum(s * n for s, n in zip(table[i], net) if s)
        gross = sum(abs(s) * (f + r) for s, f, r in zip(table[i], forward, reverse) if s)
        if gross > 0:
            relative = max(relative, abs(change) / gross)
    law_errors = [
        abs(sum(c * theta[i] for i, c in enumerate(row) if c) - value) / scale
        for row, value, scale in zip(
            network.laws_int,
            [float(v) for v in conserved],
            network.law_scales.tolist(),
        )
    ]
    production = {}
    noise = 100 * (roundoff + relative)
    for name, row in zip(network.gas_names, network.gas_stoichiometry.tolist()):
        rate = sum(v * n for v, n in zip(row, net) if v)
        gross = sum(
            abs(v) * (f + r) for v, f, r in zip(row, forward, reverse) if v
        )
        production[name] = rate if abs(rate) > noise * gross else 0 * rate
    balance = 0.0
    elements = {e for counts in network.gas_elements.values() for e in counts}
    for element in sorted(elements):
        counts = {g: c.get(element, 0) for g, c in network.gas_elements.items()}
        total = sum(counts[g] * production[g] for g in production)
        scale = sum(counts[g] * abs(production[g]) for g in production)
        if scale > 0:
            balance = max(balance, abs(total) / scale)
    return {
        "relative_residual": relative,
        "site_sum_error": max(law_errors[: network.site_law_count], default=0.0),
        "law_error": max(law_errors, default=0.0),
        "balance_error": balance,
        "forward": forward,
        "reverse": reverse,
        "net_rates": net,
        "reversibilities": [r / f if f > 0 else None for f, r in zip(forward, reverse)],
    }


# ---------------------------------------------------------------------------
# Steady state


def make_integrator(kinetics, theta, atol):
    """Return a VODE BDF integrator of the coverage ODEs starting at t = 0.

    VODE's BDF mode is used because LSODA's switch between its stiff and
    non-stiff methods can stay non-stiff here and take steps of 1e-10 s.
    """
    integrator = ode(
        lambda _t, y: kinetics.derivatives(y),
        lambda _t, y: kinetics.jacobian(y),
    )
    integrator.set_integrator(
        "vode",
        method="bdf",
        with_jacobian=True,
        rtol=ODE_RTOL,
        atol=atol,
        nsteps=ODE_MAX_STEPS,
    )
    integrator.set_initial_value(theta, 0.0)
    return integrator


def scaled_residual(kinetics, theta, conserved):
    """Return (scaled residual, gross rates of the independent species).

    The residual contains the balance of each independent species divided
    by its gross rate, then each conservation law minus its value, divided
    by the law's scale.
    """
    network = kinetics.network
    independent = network.independent
    gross = np.maximum(kinetics.gross_rates(theta)[independent], 1e-300)
    balances = kinetics.derivatives(theta)[independent] / gross
    laws = (network.laws @ theta - conserved) / network.law_scales
    return np.concatenate([balances, laws]), gross


def scaled_jacobian(kinetics, theta, gross, scale):
    """Return d(scaled_residual)/d(theta/scale) at fixed gross rates."""
    network = kinetics.network
    rows = kinetics.jacobian(theta)[network.independent] / gross[:, None]
    laws = network.laws / network.law_scales[:, None]
    return np.vstack([rows, laws]) * scale[None, :]


def refine_newton(kinetics, theta, conserved=None):
    """Refine a near-steady state with damped Newton on balances and laws.

    Each species is scaled by its own coverage, so tiny coverages keep their
    relative precision. conserved defaults to the law values at theta.
    Returns (theta, max scaled residual).
    """
    if conserved is None:
        conserved = kinetics.network.conserved_values(theta)
    residual, gross = scaled_residual(kinetics, theta, conserved)
    for _ in range(NEWTON_MAX_ITERATIONS):
        norm = np.max(np.abs(residual))
        if norm < NEWTON_TOL:
            break
        scale = np.maximum(theta, 1e-300)
        matrix = scaled_jacobian(kinetics, theta, gross, scale)
        step = np.linalg.lstsq(matrix, -residual, rcond=None)[0] * scale
        damping = 1.0
        while damping > 1e-6:
            trial = theta + damping * step
            if np.all(trial >= 0.0):
                trial_residual, trial_gross = scaled_residual(
                    kinetics, trial, conserved
                )
                if np.max(np.abs(trial_residual)) < norm:
                    break
            damping *= 0.5
        else:
            break
        theta, residual, gross = trial, trial_residual, trial_gross
    return theta, float(np.max(np.abs(residual)))


def mpmath_digits(tolerance):
    """Return the decimal digits that resolve a relative residual tolerance."""
    return max(30, int(math.ceil(-math.log10(tolerance))) + 20)


def polish_mpmath(kinetics, theta, conserved, tolerance, digits):
    """Refine a root with Newton's method in mpmath at the given digits.

    Returns the coverages as a list of mpf, or None when Newton does not
    reach a scaled residual of 1e-3 times the tolerance.
    """
    network = kinetics.network
    table = network.stoichiometry_int
    with mpmath.workdps(digits):
        mpf = mpmath.mpf
        forward_constants = [mpf(float(k)) for k in kinetics.kf_effective]
        reverse_constants = [mpf(float(k)) for k in kinetics.kr_effective]
        values = [mpf(float(v)) for v in conserved]
        scales = [mpf(float(v)) for v in network.law_scales]
        target = mpf(10) ** (5 - digits)

        def residual(x):
            forward = Kinetics._monomials(
                forward_constants, kinetics.forward_terms, x
            )
            reverse = Kinetics._monomials(
                reverse_constants, kinetics.reverse_terms, x
            )
            rows, grosses = [], []
            for i in network.independent:
                gross = mpmath.fsum(
                    abs(s) * (f + r)
                    for s, f, r in zip(table[i], forward, reverse)
                    if s
                )
                gross = gross if gross > 0 else mpf(1e-300)
                grosses.append(gross)
                rows.append(
                    mpmath.fsum(
                        s * (f - r)
                        for s, f, r in zip(table[i], forward, reverse)
                        if s
                    )
                    / gross
                )
            for row, value, scale in zip(network.laws_int, values, scales):
                total = mpmath.fsum(c * x[i] for i, c in enumerate(row) if c)
                rows.append((total - value) / scale)
            return rows, grosses

        def jacobian(x, grosses):
            count = len(x)
            forward = Kinetics._monomial_gradients(
                forward_constants, kinetics.forward_terms, x, count
            )
            reverse = Kinetics._monomial_gradients(
                reverse_constants, kinetics.reverse_terms, x, count
            )
            scale = [v if v > 0 else mpf(1e-300) for v in x]
            matrix = mpmath.matrix(len(network.independent) + len(scales), count)
            for r, (i, gross) in enumerate(zip(network.independent, grosses)):
                for k in range(count):
                    matrix[r, k] = mpmath.fsum(
                        s * (f[k] - b[k])
                        for s, f, b in zip(table[i], forward, reverse)
                        if s
                    ) * scale[k] / gross
            offset = len(network.independent)
            for r, (row, law_scale) in enumerate(zip(network.laws_int, scales)):
                for k, c in enumerate(row):
                    matrix[offset + r, k] = c * scale[k] / law_scale
            return matrix, scale

        x = [mpf(float(v)) for v in theta]
        rows, grosses = residual(x)
        norm = max(abs(v) for v in rows)
        for _ in range(MPMATH_MAX_ITERATIONS):
            if norm <= target:
                break
            matrix, scale = jacobian(x, grosses)
            right = mpmath.matrix([-v for v in rows])
            try:
                step = mpmath.lu_solve(matrix, right)
            except ZeroDivisionError:
                step = mpmath.qr_solve(matrix, right)[0]
            damping = mpf(1)
            while damping > mpf(1e-6):
                trial = [
                    v + damping * step[k] * scale[k] for k, v in enumerate(x)
                ]
                if all(v >= 0 for v in trial):
                    trial_rows, trial_grosses = residual(trial)
                    trial_norm = max(abs(v) for v in trial_rows)
                    if trial_norm < norm:
                        break
                damping /= 2
            else:
                break
            x, rows, grosses, norm = trial, trial_rows, trial_grosses, trial_norm
        return x if norm <= mpf(tolerance) * mpf(1e-3) else None


def reduced_jacobian(kinetics, theta):
    """Return the Jacobian on the subspace that keeps the conservation laws.

    The dependent species follow from the independent ones through the laws,
    theta_D = const - M theta_I, so the reduced Jacobian of the independent
    species is J_II - J_ID M. Its eigenvalues are those of the full Jacobian
    restricted to that subspace. The matrix is scaled as
    diag(1/theta) J diag(theta), which has the same eigenvalues but keeps
    tiny coverages from losing precision.
    """
    network = kinetics.network
    independent, dependent = network.independent, network.dependent
    full = kinetics.jacobian(theta)
    reduced = full[np.ix_(independent, independent)] - (
        full[np.ix_(independent, dependent)] @ network.dependent_map
    )
    # Any positive diagonal gives a similar matrix, so absent species use 1.
    values = theta[independent]
    scale = np.where(values > 0.0, values, 1.0)
    return reduced * scale[None, :] / scale[:, None]


def is_stable(kinetics, theta):
    """Return False when an eigenvalue clearly has a positive real part.

    Eigenvalues below STABILITY_TOL times the spectral radius cannot be
    resolved in double precision and count as stable.
    """
    if not kinetics.network.independent:
        return True
    eigenvalues = np.linalg.eigvals(reduced_jacobian(kinetics, theta))
    radius = np.max(np.abs(eigenvalues))
    return bool(np.all(eigenvalues.real <= STABILITY_TOL * radius))


class SteadyState:
    """An accepted steady state with its checks.

    theta contains the coverages in double precision. exact contains them
    as mpf when the mpmath polish produced them, and the checks and the TOF
    are then computed from exact.
    """

    def __init__(self, kinetics, theta, conserved, start, exact=None, digits=0):
        self.theta = theta
        self.exact = exact
        self.precision = "double" if exact is None else f"mpmath {digits} digits"
        self.start = start
        self.tof = kinetics.tof(theta)
        if exact is None:
            self.checks = point_checks(kinetics, theta, conserved)
        else:
            with mpmath.workdps(digits):
                self.checks = point_checks(
                    kinetics, exact, conserved, mpmath.mpf(10) ** -digits
                )
                self.tof = float(
                    mpmath.fsum(
                        s * n
                        for s, n in zip(
                            kinetics.product_stoichiometry.tolist(),
                            self.checks["net_rates"],
                        )
                    )
                )

    def meets(self, tolerance):
        """Return whether the residual and every law are within tolerance."""
        return (
            self.checks["relative_residual"] <= tolerance
            and self.checks["law_error"] <= tolerance
        )

    def balanced(self, tolerance):
        """Return whether the gas element balance is within tolerance."""
        return self.checks["balance_error"] <= tolerance


def polish_state(kinetics, theta, conserved, tolerance, start):
    """Return theta polished in mpmath as a SteadyState, or None.

    The net gas rates of a point whose TOF is tiny next to its gross rates
    are differences of nearly equal rates, so double precision cannot give
    them, and the element balance needs more digits than the residual.
    The digits are doubled up to two times until the state meets the
    tolerance and the balance. Returns the best state that meets the
    tolerance, or None when none does or mpmath is missing.
    """
    if mpmath is None:
        return None
    best = None
    digits = mpmath_digits(tolerance)
    for _ in range(3):
        exact = polish_mpmath(kinetics, theta, conserved, tolerance, digits)
        if exact is not None:
            values = np.array([float(v) for v in exact])
            state = SteadyState(
                kinetics, values, conserved, start, exact, digits
            )
            if state.meets(tolerance):
                best = state
                if state.balanced(tolerance):
                    break
        digits *= 2
    return best


def within_bounds(kinetics, theta):
    """Return whether every coverage lies in [0, total / site count]."""
    caps = np.array(kinetics.network.caps)
    return bool(np.all(theta >= 0.0) and np.all(theta <= caps * (1 + 1e-9)))


def accept_refined(kinetics, integrated, conserved, start):
    """Return (SteadyState near integrated, None) or (None, the reason).

    Newton's root counts only if it lies within NEAR_RTOL (relative) of
    the integrated state, so that it is the state the trajectory is
    settling into. It must also lie within the site totals, meet the
    model's residual tolerance (in mpmath where double precision cannot)
    and be linearly stable.
    """
    tolerance = kinetics.model.solver.residual_tolerance
    refined, residual = refine_newton(kinetics, integrated, conserved)
    allowed = NEAR_RTOL * integrated + NEAR_ATOL * np.max(kinetics.totals)
    if np.any(np.abs(refined - integrated) > allowed):
        return None, (
            f"Newton's root (scaled residual {residual:.3g}) is not near "
            "the integrated state"
        )
    if not within_bounds(kinetics, refined):
        return None, "Newton's root has a coverage outside [0, total]"
    state = SteadyState(kinetics, refined, conserved, start)
    if not (state.meets(tolerance) and state.balanced(tolerance)):
        polished = None
        if residual <= MPMATH_START_RESIDUAL:
            polished = polish_state(
                kinetics, refined, conserved, tolerance, start
            )
        if polished is not None:
            state = polished
        elif not state.meets(tolerance):
            return None, (
                "relative residual "
                f"{float(state.checks['relative_residual']):.3g} or "
                f"conservation error {float(state.checks['law_error']):.3g} "
                f"above the tolerance {tolerance:g}"
            )
    if not is_stable(kinetics, state.theta):
        return None, "the root is linearly unstable"
    return state, None


def integrate_to_steady_state(kinetics, start, atol, label):
    """Return the first stable root near the trajectory from start.

    The ODEs are integrated over decades of time. After each stage whose
    rates are nearly balanced, Newton refines the state. Raises SolverError
    when VODE fails or no root is accepted by the last stage end.
    """
    conserved = kinetics.network.conserved_values(start)
    if not kinetics.network.independent:
        # No step changes any coverage, so the start is the steady state.
        return SteadyState(kinetics, start, conserved, label)
    integrator = make_integrator(kinetics, start, atol)
    rejection = ""
    for end in ODE_STAGE_ENDS:
        theta = np.clip(integrator.integrate(end), 0.0, None)
        if not integrator.successful():
            raise SolverError(
                f"VODE failed before t = {end:g} s with return "
                f"code {integrator.get_return_code()}"
            )
        if kinetics.net_over_gross(theta) < STEADY_NET_OVER_GROSS:
            state, reason = accept_refined(kinetics, theta, conserved, label)
            if state is not None:
                return state
            rejection = f"; at t = {end:g} s {reason}"
    raise SolverError(
        f"no stable steady state by t = {ODE_STAGE_ENDS[-1]:g} s "
        f"(max net/gross rate {kinetics.net_over_gross(theta):.3g}"
        f"{rejection})"
    )


def solve_from(kinetics, start, label="initial state"):
    """Return the SteadyState reached from start.

    Each absolute tolerance of ODE_ATOLS is tried in turn. Raises
    SolverError with every attempt's failure when all of them fail.
    """
    errors = []
    for atol in ODE_ATOLS:
        try:
            with quiet_vode():
                return integrate_to_steady_state(kinetics, start, atol, label)
        except SolverError as error:
            errors.append(f"atol {atol:g}: {error}")
    raise SolverError(f"from the {label}: " + "; ".join(errors))


def solve_steady_state(kinetics):
    """Return the steady-state coverages reached from the initial state."""
    return solve_from(kinetics, kinetics.clean_surface()).theta


def feasible_start(network, base, target):
    """Return the state nearest target, along a line from base, that keeps
    base's conserved quantities and non-negative coverages.

    target - base is projected onto the subspace the steps can move in,
    and the move is shortened where a coverage would turn negative.
    """
    direction = target - base
    drift = np.abs(network.laws @ direction) / network.law_scales
    if np.all(drift <= 1e-12):
        return np.clip(target, 0.0, None)
    basis = network.moving_basis
    direction = basis @ (basis.T @ direction)
    length = 1.0
    shrinking = direction < 0.0
    if np.any(shrinking):
        length = min(1.0, float(np.min(base[shrinking] / -direction[shrinking])))
    return np.clip(base + length * direction, 0.0, None)


def start_states(kinetics):
    """Return the (label, coverages) starts that solver.starts requests.

    The first start is the initial state. With starts: all, each adsorbate
    that a step changes then fills its site type alone (the fixed species
    keep their initial coverages), and solver.random_starts states follow,
    uniformly random per site type, drawn with solver.seed.
    """
    initial = kinetics.clean_surface()
    starts = [("initial state", initial)]
    settings = kinetics.model.solver
    if settings.starts != "all":
        return starts
    network, species = kinetics.network, kinetics.species

    def room(label):
        """Return the moving species on a site type and the sites left."""
        moving = [
            k
            for k, s in enumerate(species)
            if s.label == label and not network.fixed[k]
        ]
        occupied = sum(
            s.site_count * initial[k]
            for k, s in enumerate(species)
            if s.label == label and network.fixed[k]
        )
        total = kinetics.model.site_totals[label]
        return moving, max(total - occupied, 0.0)

    for i, adsorbate in enumerate(species):
        if adsorbate.kind != "adsorbate" or network.fixed[i]:
            continue
        moving, remaining = room(adsorbate.label)
        target = initial.copy()
        target[moving] = 0.0
        target[i] = remaining / adsorbate.site_count
        starts.append(
            (
                f"{adsorbate.term}-saturated state",
                feasible_start(network, initial, target),
            )
        )
    generator = np.random.default_rng(settings.seed)
    for number in range(1, settings.random_starts + 1):
        target = initial.copy()
        for label in kinetics.model.site_labels():
            moving, remaining = room(label)
            if not moving:
                continue
            weights = generator.dirichlet(np.ones(len(moving)))
            for k, weight in zip(moving, weights):
                target[k] = remaining * weight / species[k].site_count
        starts.append(
            (f"random state {number}", feasible_start(network, initial, target))
        )
    return starts


def same_state(kinetics, first, second):
    """Return whether two steady states agree in every coverage."""
    caps = np.array(kinetics.network.caps)
    allowed = SAME_STATE_RTOL * np.maximum(
        np.abs(first.theta), np.abs(second.theta)
    ) + SAME_STATE_ATOL * caps
    return bool(np.all(np.abs(first.theta - second.theta) <= allowed))


class PointSolution:
    """The steady states of one point.

    primary is the state reached from the initial state. stable_states
    lists the distinct stable states found from all starts, primary first.
    failures lists (start label, message) for each start that found none.
    """

    def __init__(self, primary, stable_states, start_count, failures):
        self.primary = primary
        self.stable_states = stable_states
        self.start_count = start_count
        self.failures = failures


def solve_point(kinetics):
    """Return the PointSolution of a point from every start.

    Raises SolverError when the initial state leads to no steady state; a
    later start that fails is recorded in the solution's failures.
    """
    starts = start_states(kinetics)
    states, failures = [], []
    for index, (label, start) in enumerate(starts):
        try:
            state = solve_from(kinetics, start, label)
        except SolverError as error:
            if index == 0:
                raise
            failures.append((label, str(error)))
            continue
        if not any(same_state(kinetics, state, known) for known in states):
            states.append(state)
    return PointSolution(states[0], states, len(starts), failures)


@contextlib.contextmanager
def quiet_vode():
    """Silence VODE's Fortran messages and SciPy's warning about them.

    VODE writes to file descriptor 1 directly, so the descriptor itself is
    pointed at /dev/null. A failure still comes back as a return code,
    which integrate_to_steady_state reports.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
# ---------------------------------------------------------------------------
# Self-test against the published SCAKS 0.1.0 values

SELF_TEST_MODEL = """\
temperature: 500
cell_area: 9.0e-20
active_ratio: 0.4444444444444444
sites:
  s: {total: 1.0}
gases:
  CO:  {pressure: 1.32e-7, symmetry: 1, rotational_temperatures: [2.78],
        vibrational_temperatures: [3120]}
  O2:  {pressure: 5.26e-7, symmetry: 2, rotational_temperatures: [2.08],
        vibrational_temperatures: [2278]}
  CO2: {pressure: 1.32e-7, symmetry: 2, rotational_temperatures: [0.66],
        vibrational_temperatures: [954, 1890, 3360]}
reactions:
  - {equation: "CO_g + *_s -> CO_s", Ga: 0.00, dG: -2.09}
  - {equation: "O2_g + 2*_s <-> O-O_2s -> 2O_s", Ga: 0.07, dG: -2.39}
  - {equation: "CO_s + O_s <-> CO-O_2s -> CO2_g + 2*_s", Ga: 0.39, dG: -0.46}
product: CO2
"""

# SCAKS 0.1.0 on the model above at T = 500 K and the pressures in it.
SELF_TEST_RATE_CONSTANTS = [
    ("kf step 1", 9.02356657025331e7),
    ("kr step 1", 1.3081000299026958e-5),
    ("kf step 2", 1.6630285069181869e7),
    ("kr step 2", 4.3590263268081437e-9),
    ("kf step 3", 1.2211523229673036e9),
    ("kr step 3", 1.4803439985645030e-6),
    ("Gcorr CO [eV]", -0.8162598159659645),
    ("Gcorr O2 [eV]", -0.844147378130546),
    ("Gcorr CO2 [eV]", -1.0198672830114768),
]
SELF_TEST_STEADY_STATE = [
    ("theta_CO_s", 2.08062027496078506e-8),
    ("theta_O_s", 0.319173051647554751),
    ("theta_*_s", 0.680826927546242499),
    ("TOF(CO2) [1/s]", 8.10940297666532792),
]
SELF_TEST_CONSTANT_RTOL = 1e-10
SELF_TEST_STEADY_RTOL = 1e-6


def point_quantities(kinetics, theta):
    """Return [(name, value)] of rate constants, Gcorr, coverages, TOF."""
    rows = []
    for j in range(len(kinetics.model.steps)):
        rows.append((f"kf step {j + 1}", kinetics.kf[j]))
        rows.append((f"kr step {j + 1}", kinetics.kr[j]))
    for name, value in kinetics.corrections.items():
        rows.append((f"Gcorr {name} [eV]", value))
    for species, value in zip(kinetics.species, theta):
        rows.append((f"theta_{species.term}", value))
    rows.append((f"TOF({kinetics.model.product}) [1/s]", kinetics.tof(theta)))
    return rows


def run_self_test():
    """Compare with the SCAKS reference point and return the exit status."""
    model = load_model_text(SELF_TEST_MODEL, "<self-test model>")
    pressures = {name: gas["pressure"] for name, gas in model.gases.items()}
    kinetics = Kinetics(model, model.temperature, pressures)
    theta = solve_steady_state(kinetics)
    computed = dict(point_quantities(kinetics, theta))

    print(
        f"T = {model.temperature:g} K, pressures [p/p0]: "
        + ", ".join(f"{name} {value:g}" for name, value in pressures.items())
    )
    print(
        f"{'quantity':<16} {'computed':>24} {'SCAKS 0.1.0':>24} "
        f"{'rel. dev.':>10}  tolerance"
    )

    failures = 0
    checked = 0
    for table, rtol in (
        (SELF_TEST_RATE_CONSTANTS, SELF_TEST_CONSTANT_RTOL),
        (SELF_TEST_STEADY_STATE, SELF_TEST_STEADY_RTOL),
    ):
        for name, expected in table:
            value = computed[name]
            deviation = abs(value - expected) / abs(expected)
            verdict = "ok" if deviation <= rtol else "FAILED"
            failures += verdict != "ok"
            checked += 1
            print(
                f"{name:<16} {value:>24.17g} {expected:>24.17g} "
                f"{deviation:>10.2e}  {rtol:g} {verdict}"
            )

    print(f"self-test: {checked - failures} passed, {failures} failed")
    return EXIT_OK if failures == 0 else EXIT_MISMATCH


# ---------------------------------------------------------------------------
# Reading an output folder


class Axis:
    """One scan axis of map.json: what it varies and its values [p/p0 or K]."""

    def __init__(self, name, data, path, model):
        if not isinstance(data, dict):
            raise InputError(f"{path}: scan.{name} must be an object")
        self.variable = data.get("variable")
        self.gas = data.get("gas")
        self.column = data.get("column")
        values = data.get("values")
        if self.variable not in ("pressure", "temperature"):
            raise InputError(
                f"{path}: scan.{name}.variable must be 'pressure' or "
                f"'temperature', got {self.variable!r}"
            )
        if self.variable == "pressure" and self.gas not in model.gases:
            raise InputError(
                f"{path}: scan.{name}.gas {self.gas!r} is not a gas of "
                "the model"
            )
        if not isinstance(self.column, str) or not self.column:
            raise InputError(f"{path}: scan.{name}.column is missing")
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, (int, float)) for v in values)
        ):
            raise InputError(
                f"{path}: scan.{name}.values must be a non-empty list "
                "of numbers"
            )
        self.values = [float(v) for v in values]

    def apply(self, value, conditions):
        """Set this axis' temperature or pressure in a conditions dict."""
        if self.variable == "temperature":
            conditions["temperature"] = value
        else:
            conditions["pressures"][self.gas] = value


def read_json(path):
    """Return the parsed map.json, or raise InputError naming the file."""
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: cannot read JSON: {error}") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: expected a JSON object")
    return document


def load_map_description(path):
    """Return (model, x axis, y axis, counts) from map.json."""
    document = read_json(path)
    model_data = document.get("model")
    if not isinstance(model_data, dict) or not isinstance(
        model_data.get("yaml"), str
    ):
        raise InputError(
            f"{path}: model.yaml (the model's YAML text) is missing"
        )
    source = f"{path}: model {model_data.get('source', '<unknown>')}"
    model = load_model_text(model_data["yaml"], source)
    product = document.get("product", model.product)
    if product not in model.gas_names():
        raise InputError(
            f"{path}: product {product!r} is not a gas of the model"
        )
    model.product = product
    scan = document.get("scan")
    if not isinstance(scan, dict):
        raise InputError(f"{path}: 'scan' is missing")
    x_axis = Axis("x", scan.get("x"), path, model)
    y_axis = Axis("y", scan.get("y"), path, model)
    return model, x_axis, y_axis, document.get("counts") or {}


def parse_number(row, column, line, path, convert=float):
    """Return one numeric field of a map.csv row, or raise InputError."""
    try:
        return convert(row[column])
    except (TypeError, ValueError):
        raise InputError(
            f"{path}: line {line}: invalid number {row[column]!r} in "
            f"column {column}"
        ) from None


def parse_csv_row(row, line, path, columns):
    """Convert one map.csv row into a dict, or raise InputError."""
    parsed = {
        "line": line,
        "status": row["status"],
        "reason": row.get("reason", ""),
    }
    parsed["ix"] = parse_number(row, "ix", line, path, int)
    parsed["iy"] = parse_number(row, "iy", line, path, int)
    # A failed point may leave its value fields empty.
    if parsed["status"] == "converged":
        for column in columns:
            parsed[column] = parse_number(row, column, line, path)
    return parsed


def read_map_csv(path, required, numeric):
    """Return (header, rows) of map.csv, or raise InputError naming it."""
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            header = reader.fieldnames or []
            missing = [column for column in required if column not in header]
            if missing:
                raise InputError(
                    f"{path}: missing column(s) {', '.join(missing)} "
                    f"in header {','.join(header)}"
                )
            rows = []
            for row in reader:
                if None in row or any(value is None for value in row.values()):
                    raise InputError(
                        f"{path}: line {reader.line_num}: expected "
                        f"{len(header)} fields"
                    )
                rows.append(parse_csv_row(row, reader.line_num, path, numeric))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path}: cannot read CSV: {error}") from None
    return header, rows


# ---------------------------------------------------------------------------
# Comparing a map with the reference


def default_conditions(model):
    """Return the model's own temperature [K] and pressures [p/p0]."""
    return {
        "temperature": model.temperature,
        "pressures": {n: g["pressure"] for n, g in model.gases.items()},
    }


class ReferenceCache:
    """Reference steady states, with rate constants reused per temperature."""

    def __init__(self, model):
        self.model = model
        self.constants = {}

    def kinetics(self, conditions):
        """Return the Kinetics at conditions."""
        temperature = conditions["temperature"]
        if temperature not in self.constants:
            self.constants[temperature] = rate_constants(
                self.model, temperature
            )
        return Kinetics(
            self.model,
            temperature,
            conditions["pressures"],
            self.constants[temperature],
        )

    def solve(self, conditions):
        """Return (kinetics, theta) reached from the initial state."""
        kinetics = self.kinetics(conditions)
        return kinetics, solve_steady_state(kinetics)

    def solve_point(self, conditions):
        """Return (kinetics, PointSolution) from every start of the model."""
        kinetics = self.kinetics(conditions)
        return kinetics, solve_point(kinetics)


def tof_matches(tof, reference, options):
    """Return whether a TOF agrees with the reference within the tolerances."""
    if abs(tof - reference) <= options.rtol * abs(reference):
        return True
    return (
        abs(reference) < options.small_tof
        and abs(tof - reference) <= options.atol_small
    )


def describe_point(row, x_axis, y_axis):
    """Return 'ix=.. iy=.. (p_CO=.., p_O2=..)' for messages."""
    return (
        f"ix={row['ix']} iy={row['iy']} ({x_axis.column}="
        f"{x_axis.values[row['ix']]:.6g}, {y_axis.column}="
        f"{y_axis.values[row['iy']]:.6g})"
    )


class Comparison:
    """Running totals of a map check."""

    def __init__(self):
        self.checked = 0
        self.failures = 0
        self.max_deviation_large = 0.0  # over reference TOF >= small-tof
        self.count_large = 0
        self.max_deviation_all = 0.0  # over every nonzero reference TOF
        self.max_coverage_deviation = 0.0
        self.max_checks = dict.fromkeys(
            ("relative_residual", "site_sum_error", "balance_error"), 0.0
        )
        self.multistable = 0  # points with more than one stable state
        self.other_branch = 0  # points matched by a non-primary state

    def fail(self, message):
        """Print one failing point and count it."""
        self.failures += 1
        print(message)

    def record(self, reference, tof, options):
        """Update the TOF deviation maxima; return the relative deviation."""
        if not reference:
            return math.inf
        deviation = abs(tof - reference) / abs(reference)
        self.max_deviation_all = max(self.max_deviation_all, deviation)
        if abs(reference) >= options.small_tof:
            self.count_large += 1
            self.max_deviation_large = max(self.max_deviation_large, deviation)
        return deviation

    def record_checks(self, solution):
        """Update the maxima of the reference's own checks."""
        for name in self.max_checks:
            self.max_checks[name] = max(
                self.max_checks[name], float(solution.primary.checks[name])
            )
        self.multistable += len(solution.stable_states) > 1

    def record_coverage(self, value, reference):
        """Update the maximum absolute coverage deviation."""
        self.max_coverage_deviation = max(
            self.max_coverage_deviation, abs(value - reference)
        )


def axis_mismatch(row, x_axis, y_axis):
    """Return a message when the row's axis values differ from map.json."""
    for axis, index in ((x_axis, row["ix"]), (y_axis, row["iy"])):
        expected = axis.values[index]
        if abs(row[axis.column] - expected) > 1e-12 * abs(expected):
            return (
                f"{axis.column} = {row[axis.column]:.17g} in map.csv, "
                f"{expected:.17g} in map.json"
            )
    return None


class PointTimeout(SolverError):
    """The reference solver exceeded its time limit on one point."""


def solve_within_limit(cache, conditions, seconds):
    """Solve one point from every start, raising PointTimeout after the
    given seconds. Returns (kinetics, PointSolution)."""

    def on_alarm(_signum, _frame):
        raise PointTimeout(f"no steady state within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        return cache.solve_point(conditions)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def compare_point(row, context, comparison, options):
    """Compare one converged map.csv row with the reference solution."""
    model, cache, x_axis, y_axis, tof_column = context
    label = describe_point(row, x_axis, y_axis)
    mismatch = axis_mismatch(row, x_axis, y_axis)
    if mismatch:
        comparison.fail(f"{label}: {mismatch}")
        return

    conditions = default_conditions(model)
    x_axis.apply(x_axis.values[row["ix"]], conditions)
    y_axis.apply(y_axis.values[row["iy"]], conditions)
    try:
        kinetics, solution = solve_within_limit(
            cache, conditions, options.point_timeout
        )
    except SolverError as error:
        comparison.fail(f"{label}: reference solver failed: {error}")
        return
    except MemoryError:
        comparison.fail(
            f"{label}: reference solver failed: out of memory "
            f"(limit {MEMORY_LIMIT_BYTES >> 30} GiB)"
        )
        return

    comparison.record_checks(solution)
    state = solution.primary
    tof = row[tof_column]
    if math.isfinite(tof) and not tof_matches(tof, state.tof, options):
        # With several stable states, mkmap may report another branch.
        others = [
            s
            for s in solution.stable_states[1:]
            if tof_matches(tof, s.tof, options)
        ]
        if others:
            state = others[0]
            comparison.other_branch += 1
            print(
                f"{label}: TOF {tof:.10g} 1/s matches the stable state "
                f"from the {state.start}, not the one from the initial "
                f"state ({solution.primary.tof:.10g} 1/s)"
            )
    reference = state.tof
    deviation = comparison.record(reference, tof, options)
    for species, value in zip(kinetics.species, state.theta):
        for column in (
            f"theta_{species.term}",
            f"theta_{species.name}_{species.label}",
        ):
            if column in row:
                comparison.record_coverage(row[column], value)
                break
    if not (math.isfinite(tof) and tof_matches(tof, reference, options)):
        comparison.fail(
            f"{label}: TOF {tof:.10g} 1/s, reference {reference:.10g} "
            f"1/s, relative deviation {deviation:.3g}"
        )


def check_grid_complete(rows, x_axis, y_axis, csv_path, comparison, counts):
    """Reject out-of-range or repeated points and report missing ones."""
    seen = set()
    for row in rows:
        key = (row["ix"], row["iy"])
        if not (
            0 <= key[0] < len(x_axis.values)
            and 0 <= key[1] < len(y_axis.values)
        ):
            raise InputError(
                f"{csv_path}: line {row['line']}: grid index "
                f"ix={key[0]} iy={key[1]} is outside the scan"
            )
        if key in seen:
            raise InputError(
                f"{csv_path}: line {row['line']}: point ix={key[0]} "
                f"iy={key[1]} appears twice"
            )
        seen.add(key)
    expected = len(x_axis.values) * len(y_axis.values)
    if len(seen) != expected:
        comparison.fail(
            f"map.csv has {len(seen)} of the {expected} grid points"
        )
    if counts.get("points") not in (None, len(rows)):
        comparison.fail(
            f"map.json counts.points = {counts['points']} but map.csv "
            f"has {len(rows)} points"
        )


def check_output(output_dir, options):
    """Check every point of an output folder and return the exit status."""
    if not os.path.isdir(output_dir):
        raise InputError(f"{output_dir}: output folder not found")
    json_path = os.path.join(output_dir, "map.json")
    csv_path = os.path.join(output_dir, "map.csv")
    model, x_axis, y_axis, counts = load_map_description(json_path)
    tof_column = f"tof_{model.product}"
    header, _ = read_map_csv(csv_path, [], [])
    coverage_columns = [c for c in header if c.startswith("theta_")]
    numeric = [x_axis.column, y_axis.column, tof_column] + coverage_columns
    _, rows = read_map_csv(csv_path, ["ix", "iy", "status"] + numeric, numeric)

    comparison = Comparison()
    check_grid_complete(rows, x_axis, y_axis, csv_path, comparison, counts)
    cache = ReferenceCache(model)
    context = (model, cache, x_axis, y_axis, tof_column)
    started = time.perf_counter()
    for row in rows:
        comparison.checked += 1
        if row["status"] != "converged":
            comparison.fail(
                f"{describe_point(row, x_axis, y_axis)}: status "
                f"{row['status']!r} ({row['reason'] or 'no reason given'})"
            )
            continue
        compare_point(row, context, comparison, options)
    elapsed = time.perf_counter() - started
    print_summary(comparison, options, elapsed, csv_path)
    return EXIT_OK if comparison.failures == 0 else EXIT_MISMATCH


def print_summary(comparison, options, elapsed, csv_path):
    """Print the totals of a map check."""
    print(
        f"{csv_path}: {comparison.checked} points checked, "
        f"{comparison.failures} failed"
    )
    print(
        "max relative TOF deviation: "
        f"{comparison.max_deviation_large:.3g} over "
        f"{comparison.count_large} points with reference TOF >= "
        f"{options.small_tof:g} 1/s; "
        f"{comparison.max_deviation_all:.3g} over all "
        "points with nonzero reference TOF"
    )
    print(
        "max absolute coverage deviation: "
        f"{comparison.max_coverage_deviation:.3g}"
    )
    checks = comparison.max_checks
    print(
        "reference checks, max over points: relative residual "
        f"{checks['relative_residual']:.3g}, site-sum error "
        f"{checks['site_sum_error']:.3g}, balance error "
        f"{checks['balance_error']:.3g}; {comparison.multistable} points "
        "with more than one stable steady state, "
        f"{comparison.other_branch} matched by a state not reached from "
        "the initial state"
    )
    print(f"reference solver time: {elapsed:.2f} s")


# ---------------------------------------------------------------------------
# Command line


def parse_point(assignments, model):
    """Return the model's conditions updated by ['CO=1e-5', 'T=500']."""
    conditions = default_conditions(model)
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        try:
            number = float(value)
        except ValueError:
            raise InputError(
                f"--point: invalid value in {assignment!r}, expected "
                "GAS=PRESSURE or T=KELVIN"
            ) from None
        if not math.isfinite(number) or number < 0.0 or (
            name == "T" and number == 0.0
        ):
            raise InputError(
                f"--point: {assignment!r} is out of range; a pressure "
                "must be finite and >= 0, a temperature finite and > 0"
            )
        if name == "T":
            conditions["temperature"] = number
        elif name in model.gases:
            conditions["pressures"][name] = number
        else:
            raise InputError(
                f"--point: {name!r} is neither T nor a gas of the model "
                f"({', '.join(model.gases)})"
            )
    return conditions


def run_point(args):
    """Print reference quantities at one point and return the exit status."""
    if args.model:
        try:
            with open(args.model, encoding="utf-8") as stream:
                model = load_model_text(stream.read(), args.model)
        except FileNotFoundError:
            raise InputError(f"{args.model}: file not found") from None
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{args.model}: cannot read: {error}") from None
    elif args.output_dir:
        model = load_map_description(
            os.path.join(args.output_dir, "map.json")
        )[0]
    else:
        raise InputError("--point needs --model FILE or an OUTPUT_DIR")
    conditions = parse_point(args.point, model)
    kinetics, solution = ReferenceCache(model).solve_point(conditions)
    if args.json:
        json.dump(point_report(kinetics, solution), sys.stdout, indent=2)
        print()
        return EXIT_OK
    print(
        f"T = {conditions['temperature']:g} K, pressures [p/p0]: "
        + ", ".join(f"{n} {p:g}" for n, p in conditions["pressures"].items())
    )
    for name, value in point_quantities(kinetics, solution.primary.theta):
        print(f"{name:<20} {value:.17g}")
    print_point_checks(kinetics, solution)
    return EXIT_OK


def print_point_checks(kinetics, solution):
    """Print the checks and every stable steady state of a point."""
    state = solution.primary
    checks = state.checks
    for name in ("relative_residual", "site_sum_error", "balance_error"):
        print(f"{name.replace('_', ' '):<20} {float(checks[name]):.3g}")
    print(f"{'precision':<20} {state.precision}")
    for j, (net, ratio) in enumerate(
        zip(checks["net_rates"], checks["reversibilities"]), start=1
    ):
        print(f"{f'net rate step {j}':<20} {float(net):.17g}")
        text = "undefined (rf = 0)" if ratio is None else f"{float(ratio):.17g}"
        print(f"{f'reversibility step {j}':<20} {text}")
    count = len(solution.stable_states)
    print(
        f"{'stable states':<20} {count} distinct from "
        f"{solution.start_count} start(s)"
    )
    product = kinetics.model.product
    for number, stable in enumerate(solution.stable_states, start=1):
        print(
            f"state {number}: TOF({product}) {stable.tof:.17g} 1/s, "
            f"from the {stable.start}"
        )
        for species, value in zip(kinetics.species, stable.theta):
            print(f"  theta_{species.term:<16} {value:.17g}")
    for _, message in solution.failures:
        print(f"no steady state {message}")


def finite_or_none(value):
    """Return value as a float, or None where JSON has no number for it."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def point_report(kinetics, solution):
    """Return the JSON-ready reference quantities of one point."""
    model, state = kinetics.model, solution.primary
    checks = state.checks

    def coverages(theta):
        return {
            species.term: finite_or_none(value)
            for species, value in zip(kinetics.species, theta)
        }

    return {
        "temperature": kinetics.temperature,
        "pressures": {
            name: kinetics.pressures[name] for name in model.gas_names()
        },
        "product": model.product,
        "rate_constants": [
            {
                "equation": step.equation,
                "rule": step.rule,
                "kind": step.kind,
                "kf": finite_or_none(kinetics.kf[j]),
                "kr": finite_or_none(kinetics.kr[j]),
            }
            for j, step in enumerate(model.steps)
        ],
        "gas_corrections": {
            name: finite_or_none(value)
            for name, value in kinetics.corrections.items()
        },
        "coverages": coverages(state.theta),
        "tof": finite_or_none(state.tof),
        "relative_residual": finite_or_none(checks["relative_residual"]),
        "site_sum_error": finite_or_none(checks["site_sum_error"]),
        "balance_error": finite_or_none(checks["balance_error"]),
        "precision": state.precision,
        "steps": [
            {
                "equation": step.equation,
                "net_rate": finite_or_none(net),
                "reversibility": finite_or_none(ratio),
            }
            for step, net, ratio in zip(
                model.steps, checks["net_rates"], checks["reversibilities"]
            )
        ],
        "starts": solution.start_count,
        "stable_steady_states": [
            {
                "tof": finite_or_none(stable.tof),
                "coverages": coverages(stable.theta),
                "start": stable.start,
            }
            for stable in solution.stable_states
        ],
        "failed_starts": [
            {"start": label, "reason": message}
            for label, message in solution.failures
        ],
    }


def parse_arguments(argv):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(
        description="Recompute every point of an mkmap output folder with an "
        "independent SciPy solver and compare the TOF of the product. "
        "TOF is in 1/s per site, pressures in p/p0 (p0 = 101325 Pa), "
        "temperatures in K. Exit status: 0 all points converged and "
        "match, 1 a point failed or deviates, 2 invalid input."
    )

    parser.add_argument(
        "output_dir",
        nargs="?",
        metavar="OUTPUT_DIR",
        help="folder with map.csv and map.json written by mkmap",
    )
    parser.add_argument(
        "--rtol",
        type=float,
        default=1e-4,
        help="relative TOF tolerance (default 1e-4)",
    )
    parser.add_argument(
        "--atol-small",
        type=float,
        default=1e-8,
        help="absolute TOF tolerance [1/s] for points whose "
        "reference TOF is below --small-tof (default 1e-8)",
    )
    parser.add_argument(
        "--small-tof",
        type=float,
        default=1e-12,
        help="reference TOF [1/s] below which --atol-small "
        "applies (default 1e-12)",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this solver against the SCAKS 0.1.0 values of "
        "the CO-oxidation reference point and exit",
    )
    parser.add_argument(
        "--point",
        nargs="+",
        metavar="NAME=VALUE",
        help="print rate constants, gas corrections [eV], coverages "
        "and TOF [1/s] at one point, then the checks (relative residual, "
        "site-sum and balance errors), per-step net rates [1/s] and "
        "reversibilities, and every stable steady state found from the "
        "model's starts: GAS=PRESSURE [p/p0] or T=TEMPERATURE [K]. Other "
        "conditions come from the model.",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="with --point: print one JSON object with the rate constants "
        "[1/s], coverages, TOF [1/s], the checks, per-step net rates "
        "[1/s] and reversibilities, and every stable steady state found",
    )
    parser.add_argument(
        "--model",
        metavar="FILE",
        help="model YAML for --point (default: the model in "
        "OUTPUT_DIR/map.json)",
    )

    parser.add_argument(
        "--point-timeout",
        type=int,
        default=POINT_TIME_LIMIT_S,
        metavar="SECONDS",
        help="time limit of the reference solver per point [s]; a point "
        "that exceeds it fails (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if not (args.self_test or args.point or args.output_dir):
        parser.error("expected OUTPUT_DIR, --point or --self-test")
    if args.json and not args.point:
        parser.error("--json needs --point")
    return args


def main(argv=None):
    """Run the command line and return the exit status."""
    args = parse_arguments(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > MEMORY_LIMIT_BYTES:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, hard))
    try:
        if args.self_test:
            return run_self_test()
        if args.point:
            return run_point(args)
        return check_output(args.output_dir, args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except SolverError as error:
        print(f"error: reference solver failed: {error}", file=sys.stderr)
        return EXIT_MISMATCH
    except BrokenPipeError:
        # The reader of stdout, such as head, exited before the summary.
        # Pointing stdout at /dev/null stops Python's error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_MISMATCH


if __name__ == "__main__":
    sys.exit(main())
