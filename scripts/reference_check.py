#!/usr/bin/python3
"""Check an mkmap output folder against an independent microkinetic solver.

The solver here is written from the model description alone and shares no
code with the C++ library. For every grid point in map.csv it computes the
rate constants: transition-state theory, collision-theory adsorption and
ideal-gas free-energy corrections. It integrates the coverage ODEs from a
clean surface with a stiff SciPy integrator until the rates balance, refines
that state with Newton's method and compares the product's TOF with map.csv.

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

# libgfortran buffers VODE's messages and writes them at exit unless this is
# set before SciPy loads it, so quiet_vode() could not silence them.
os.environ.setdefault("GFORTRAN_UNBUFFERED_PRECONNECTED", "y")

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from scipy.integrate import ode  # noqa: E402

# CODATA 2014 constants, the values SCAKS uses.
KB_EV = 8.6173324e-5  # Boltzmann constant [eV/K]
KB_J = 1.38064852e-23  # Boltzmann constant [J/K]
H_EV = 4.135667662e-15  # Planck constant [eV s]
H_J = 6.626070040e-34  # Planck constant [J s]
AMU_KG = 1.66053904e-27  # atomic mass unit [kg]
P0_PA = 101325.0  # reference pressure [Pa]

# Atomic masses [amu].
ATOMIC_MASSES = {"C": 12.0107, "O": 15.9994, "H": 1.00794}

GAS_LABEL = "g"
FREE_SITE_NAME = "*"

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
NEWTON_ACCEPT = 1e-9  # largest scaled residual of an accepted root
NEWTON_MAX_ITERATIONS = 60
NEAR_RTOL = 1e-3  # refined vs integrated coverage, relative part
NEAR_ATOL = 1e-15  # same, absolute part as a fraction of the site total
STABILITY_TOL = 1e-13  # unresolvable eigenvalues, relative to the largest

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
    if coefficient < 1:
        raise InputError(
            f"{context}: coefficient of '{text.strip()}' must be positive"
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


class Step:
    """An elementary step: its states and its energies [eV]."""

    def __init__(self, equation, initial, transition, final, ga, dg):
        self.equation = equation
        self.initial = initial
        self.transition = transition
        self.final = final
        # An uphill step cannot be barrierless.
        self.ga = dg if (ga == 0.0 and dg > 0.0) else ga
        self.dg = dg


class Model:
    """A parsed microkinetic model: sites, gases, adsorbates and steps."""

    def __init__(self, document, source):
        self.source = source
        self.temperature = self._number(document, "temperature", source)
        self.cell_area = self._number(document, "cell_area", source)
        self.active_ratio = float(document.get("active_ratio", 1.0))
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

    @staticmethod
    def _number(document, key, source):
        if key not in document:
            raise InputError(f"{source}: missing '{key}'")
        try:
            return float(document[key])
        except (TypeError, ValueError):
            raise InputError(
                f"{source}: '{key}' must be a number, "
                f"got {document[key]!r}"
            ) from None

    def _parse_sites(self, sites):
        if not isinstance(sites, dict):
            raise InputError(f"{self.source}: 'sites' must be a mapping")
        totals = {}
        for label, data in sites.items():
            totals[str(label)] = float((data or {}).get("total", 1.0))
        return totals

    def _parse_gases(self, gases):
        if not isinstance(gases, dict):
            raise InputError(f"{self.source}: 'gases' must be a mapping")
        parsed = {}
        for name, data in gases.items():
            data = data or {}
            elements = parse_elements(str(name), f"{self.source}: gas {name}")
            parsed[str(name)] = {
                "pressure": float(data.get("pressure", 0.0)),
                "mass_kg": self._mass_kg(elements, name),
                "symmetry": int(data.get("symmetry", 1)),
                "rotational": [
                    float(v) for v in data.get("rotational_temperatures", [])
                ],
                "vibrational": [
                    float(v) for v in data.get("vibrational_temperatures", [])
                ],
                # "correction: false" turns the correction off, as in
                # mkmap's model files; a gas without it needs gas data.
                "correction": bool(data.get("correction", True)),
                "has_data": "rotational_temperatures" in data
                or "vibrational_temperatures" in data,
            }
        return parsed

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
            initial, transition, final = parse_equation(equation, context)
            for state in (initial, transition, final):
                self._register_species(state, context)
            self._check_conservation(initial, transition, final, context)
            try:
                ga, dg = float(entry["Ga"]), float(entry["dG"])
            except (KeyError, TypeError, ValueError):
                raise InputError(
                    f"{context}: 'Ga' and 'dG' must be numbers [eV]"
                ) from None
            steps.append(Step(equation, initial, transition, final, ga, dg))
        return steps

    def _register_species(self, state, context):
        for _, species in state:
            if species.kind in ("ts", "gas"):
                continue
            if species.label not in self.site_totals:
                self.site_totals[species.label] = 1.0
            if species.kind != "adsorbate":
                continue
            known = [a for a in self.adsorbates if a.key == species.key]
            if not known:
                self.adsorbates.append(species)
            elif known[0].site_count != species.site_count:
                raise InputError(
                    f"{context}: {species.name}_{species.label} "
                    "spans a different number of sites than before"
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
            if gas["correction"] and not gas["has_data"]:
                raise InputError(
                    f"{self.source}: gas {name} has no rotational or "
                    "vibrational temperatures for the free-energy "
                    "correction"
                )

    def gas_names(self):
        """Return the names of the gases that occur in reactions, in order."""
        names = []
        for step in self.steps:
            for _, species in step.initial + step.final:
                if species.kind == "gas" and species.name not in names:
                    names.append(species.name)
        return names

    def site_labels(self):
        """Return the site types in the order of the free-site unknowns."""
        return list(self.site_totals)


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


def step_gas(state):
    """Return the (coefficient, name) pairs of the gases in a state."""
    return [(c, s.name) for c, s in state if s.kind == "gas"]


def rate_constants(model, temperature):
    """Return (kf, kr, corrections) for every step at temperature [K].

    kf and kr are in 1/s for the mass-action rates, and corrections maps a
    gas name to its free-energy correction [eV].
    """
    corrections = {
        name: gas_correction(model.gases[name], temperature)
        for name in model.gas_names()
    }
    kt = KB_EV * temperature
    kf, kr = [], []
    for step in model.steps:
        gases_in, gases_out = step_gas(step.initial), step_gas(step.final)
        gar = step.ga - step.dg
        if gases_in and gases_out:
            raise InputError(
                f"{model.source}: step '{step.equation}' has gases in "
                "both states, which no rate-constant rule covers"
            )
        if len(gases_in) > 1 or len(gases_out) > 1:
            raise InputError(
                f"{model.source}: step '{step.equation}' has more than "
                "one gas in a state, which no rate-constant rule covers"
            )
        if gases_in:
            nu, name = gases_in[0]
            mass = model.gases[name]["mass_kg"]
            forward = (
                model.active_ratio
                * math.exp(-step.ga / kt)
                * P0_PA
                * model.cell_area
                / math.sqrt(2.0 * math.pi * mass * KB_J * temperature)
            )
            equivalent = -kt * math.log(forward * H_EV / kt)
            reverse_barrier = max(
                equivalent - (step.dg - nu * corrections[name]), 0.0
            )
            kf.append(forward)
            kr.append(k_tst(reverse_barrier, temperature))
        elif gases_out:
            nu, name = gases_out[0]
            kf.append(k_tst(step.ga, temperature))
            kr.append(k_tst(gar - nu * corrections[name], temperature))
        else:
            kf.append(k_tst(step.ga, temperature))
            kr.append(k_tst(gar, temperature))
    return np.array(kf), np.array(kr), corrections


# ---------------------------------------------------------------------------
# Rates and steady state


class Kinetics:
    """Mass-action rates of a model at fixed temperature and pressures.

    The unknowns are all surface species: the adsorbates in order of first
    appearance, then one free-site coverage per site type. Keeping the free
    sites as unknowns avoids the cancellation in total - sum(theta) when a
    surface is nearly full.
    """

    def __init__(self, model, temperature, pressures, constants=None):
        self.model = model
        self.temperature = temperature
        self.pressures = pressures
        if constants is None:
            constants = rate_constants(model, temperature)
        self.kf, self.kr, self.corrections = constants
        self.species = list(model.adsorbates) + [
            Species("free", FREE_SITE_NAME, label, 1)
            for label in model.site_labels()
        ]
        self._build_tables()

    def _index(self, species):
        for index, known in enumerate(self.species):
            if known.key == species.key:
                return index
        raise KeyError(species.key)

    def _state_terms(self, state):
        """Return (gas activity product, [(species index, exponent)])."""
        activity = 1.0
        exponents = {}
        for coefficient, species in state:
            if species.kind == "gas":
                activity *= self.pressures[species.name] ** coefficient
            elif species.kind != "ts":
                index = self._index(species)
                exponents[index] = exponents.get(index, 0) + coefficient
        return activity, sorted(exponents.items())

    def _build_tables(self):
        count = len(self.species)
        steps = self.model.steps
        self.stoichiometry = np.zeros((count, len(steps)))
        self.forward_terms, self.reverse_terms = [], []
        forward_activity, reverse_activity = [], []
        for j, step in enumerate(steps):
            activity, terms = self._state_terms(step.initial)
            forward_activity.append(activity)
            self.forward_terms.append(terms)
            for index, exponent in terms:
                self.stoichiometry[index, j] -= exponent
            activity, terms = self._state_terms(step.final)
            reverse_activity.append(activity)
            self.reverse_terms.append(terms)
            for index, exponent in terms:
                self.stoichiometry[index, j] += exponent
        self.kf_effective = self.kf * np.array(forward_activity)
        self.kr_effective = self.kr * np.array(reverse_activity)
        product = self.model.product
        self.product_stoichiometry = np.array(
            [
                gas_count(step.final, product)
                - gas_count(step.initial, product)
                for step in steps
            ],
            dtype=float,
        )
        self._build_conservation()

    def _build_conservation(self):
        # NOTE: an adsorbate spanning n sites counts n times in its site
        # type's sum. For one-site adsorbates the sum is the usual
        # free sites + sum(theta) = total.
        labels = self.model.site_labels()
        self.conservation = np.zeros((len(labels), len(self.species)))
        for index, species in enumerate(self.species):
            row = labels.index(species.label)
            self.conservation[row, index] = species.site_count
        self.totals = np.array(
            [self.model.site_totals[label] for label in labels]
        )

    @staticmethod
    def _monomials(constants, term_lists, theta):
        values = np.empty(len(term_lists))
        for j, terms in enumerate(term_lists):
            value = constants[j]
            for index, exponent in terms:
                value *= theta[index] ** exponent
            values[j] = value
        return values

    @staticmethod
    def _monomial_gradients(constants, term_lists, theta):
        gradients = np.zeros((len(term_lists), len(theta)))
        for j, terms in enumerate(term_lists):
            for index, exponent in terms:
                value = (
                    constants[j] * exponent * theta[index] ** (exponent - 1)
                )
                for other, other_exponent in terms:
                    if other != index:
                        value *= theta[other] ** other_exponent
                gradients[j, index] = value
        return gradients

    def rates(self, theta):
        """Return forward and reverse rates of every step [1/s]."""
        return (
            self._monomials(self.kf_effective, self.forward_terms, theta),
            self._monomials(self.kr_effective, self.reverse_terms, theta),
        )

    def derivatives(self, theta):
        """Return d(theta)/dt of every surface species [1/s]."""
        forward, reverse = self.rates(theta)
        return self.stoichiometry @ (forward - reverse)

    def jacobian(self, theta):
        """Return the analytic Jacobian of derivatives() [1/s]."""
        forward = self._monomial_gradients(
            self.kf_effective, self.forward_terms, theta
        )
        reverse = self._monomial_gradients(
            self.kr_effective, self.reverse_terms, theta
        )
        return self.stoichiometry @ (forward - reverse)

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
        """Return the state with no adsorbates and all sites free."""
        theta = np.zeros(len(self.species))
        theta[len(self.model.adsorbates) :] = self.totals
        return theta


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


def scaled_residual(kinetics, theta):
    """Return (scaled residual, gross rates of the adsorbates) at theta.

    The residual contains each adsorbate balance divided by its gross rate,
    then each site sum minus its total, divided by the total.
    """
    count = len(kinetics.model.adsorbates)
    gross = np.maximum(kinetics.gross_rates(theta)[:count], 1e-300)
    balances = kinetics.derivatives(theta)[:count] / gross
    sums = (kinetics.conservation @ theta - kinetics.totals) / kinetics.totals
    return np.concatenate([balances, sums]), gross


def scaled_jacobian(kinetics, theta, gross, scale):
    """Return d(scaled_residual)/d(theta/scale) at fixed gross rates."""
    count = len(kinetics.model.adsorbates)
    rows = kinetics.jacobian(theta)[:count] / gross[:, None]
    sums = kinetics.conservation / kinetics.totals[:, None]
    return np.vstack([rows, sums]) * scale[None, :]


def refine_newton(kinetics, theta):
    """Refine a near-steady state with damped Newton on balances and site sums.

    Each species is scaled by its own coverage, so tiny coverages keep their
    relative precision. Returns (theta, max scaled residual).
    """
    residual, gross = scaled_residual(kinetics, theta)
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
                trial_residual, trial_gross = scaled_residual(kinetics, trial)
                if np.max(np.abs(trial_residual)) < norm:
                    break
            damping *= 0.5
        else:
            break
        theta, residual, gross = trial, trial_residual, trial_gross
    return theta, float(np.max(np.abs(residual)))


def reduced_jacobian(kinetics, theta):
    """Return the Jacobian of the adsorbate ODEs with free sites eliminated.

    The matrix is scaled as diag(1/theta) J diag(theta), which has the same
    eigenvalues but keeps tiny coverages from losing precision.
    """
    count = len(kinetics.model.adsorbates)
    full = kinetics.jacobian(theta)
    reduced = full[:count, :count].copy()
    for site in range(len(kinetics.totals)):
        occupancy = kinetics.conservation[site, :count]
        reduced -= np.outer(full[:count, count + site], occupancy)
    # Any positive diagonal gives a similar matrix, so absent species use 1.
    scale = np.where(theta[:count] > 0.0, theta[:count], 1.0)
    return reduced * scale[None, :] / scale[:, None]


def is_stable(kinetics, theta):
    """Return False when an eigenvalue clearly has a positive real part.

    Eigenvalues below STABILITY_TOL times the spectral radius cannot be
    resolved in double precision and count as stable.
    """
    if not kinetics.model.adsorbates:
        return True
    eigenvalues = np.linalg.eigvals(reduced_jacobian(kinetics, theta))
    radius = np.max(np.abs(eigenvalues))
    return bool(np.all(eigenvalues.real <= STABILITY_TOL * radius))


def accept_refined(kinetics, integrated):
    """Return the Newton-refined steady state near integrated, or None.

    The root counts only if it is linearly stable and every coverage lies
    within NEAR_RTOL (relative) of the integrated one, so it is the state
    the trajectory is settling into.
    """
    refined, residual = refine_newton(kinetics, integrated)
    if residual > NEWTON_ACCEPT:
        return None
    allowed = NEAR_RTOL * integrated + NEAR_ATOL * np.max(kinetics.totals)
    if np.any(np.abs(refined - integrated) > allowed):
        return None
    if not is_stable(kinetics, refined):
        return None
    return refined


def integrate_to_steady_state(kinetics, atol):
    """Return the first stable root near the trajectory from a clean surface.

    The ODEs are integrated over decades of time. After each stage whose
    rates are nearly balanced, Newton refines the state. Raises SolverError
    when VODE fails or no root is accepted by the last stage end.
    """
    integrator = make_integrator(kinetics, kinetics.clean_surface(), atol)
    for end in ODE_STAGE_ENDS:
        theta = np.clip(integrator.integrate(end), 0.0, None)
        if not integrator.successful():
            raise SolverError(
                f"VODE failed before t = {end:g} s with return "
                f"code {integrator.get_return_code()}"
            )
        if kinetics.net_over_gross(theta) < STEADY_NET_OVER_GROSS:
            refined = accept_refined(kinetics, theta)
            if refined is not None:
                return refined
    raise SolverError(
        f"no stable steady state by t = {ODE_STAGE_ENDS[-1]:g} s "
        f"(max net/gross rate {kinetics.net_over_gross(theta):.3g})"
    )


def solve_steady_state(kinetics):
    """Return the steady-state coverages reached from a clean surface.

    Each absolute tolerance of ODE_ATOLS is tried in turn. Raises
    SolverError with every attempt's failure when all of them fail.
    """
    errors = []
    for atol in ODE_ATOLS:
        try:
            with quiet_vode():
                return integrate_to_steady_state(kinetics, atol)
        except SolverError as error:
            errors.append(f"atol {atol:g}: {error}")
    raise SolverError("; ".join(errors))


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
        rows.append((f"theta_{species.name}_{species.label}", value))
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

    def solve(self, conditions):
        """Return (kinetics, theta) at conditions."""
        temperature = conditions["temperature"]
        if temperature not in self.constants:
            self.constants[temperature] = rate_constants(
                self.model, temperature
            )
        kinetics = Kinetics(
            self.model,
            temperature,
            conditions["pressures"],
            self.constants[temperature],
        )
        return kinetics, solve_steady_state(kinetics)


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
    """Solve one point, raising PointTimeout after the given seconds."""

    def on_alarm(_signum, _frame):
        raise PointTimeout(f"no steady state within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        return cache.solve(conditions)
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
        kinetics, theta = solve_within_limit(cache, conditions, options.point_timeout)
    except SolverError as error:
        comparison.fail(f"{label}: reference solver failed: {error}")
        return
    except MemoryError:
        comparison.fail(
            f"{label}: reference solver failed: out of memory "
            f"(limit {MEMORY_LIMIT_BYTES >> 30} GiB)"
        )
        return

    reference, tof = kinetics.tof(theta), row[tof_column]
    deviation = comparison.record(reference, tof, options)
    for species, value in zip(kinetics.species, theta):
        column = f"theta_{species.name}_{species.label}"
        if column in row:
            comparison.record_coverage(row[column], value)
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
    kinetics, theta = ReferenceCache(model).solve(conditions)
    print(
        f"T = {conditions['temperature']:g} K, pressures [p/p0]: "
        + ", ".join(f"{n} {p:g}" for n, p in conditions["pressures"].items())
    )
    for name, value in point_quantities(kinetics, theta):
        print(f"{name:<20} {value:.17g}")
    return EXIT_OK


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
        "and TOF [1/s] at one point: GAS=PRESSURE [p/p0] or "
        "T=TEMPERATURE [K]. Other conditions come from the model.",
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
