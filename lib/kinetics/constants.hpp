#pragma once
// Physical constants, CODATA 2014, the values SCAKS uses so that rate
// constants agree with it to machine precision.

namespace mkmap::constants {

constexpr double kB_eV_per_K = 8.6173324e-5;    ///< Boltzmann constant [eV/K]
constexpr double kB_J_per_K = 1.38064852e-23;   ///< Boltzmann constant [J/K]
constexpr double h_eV_s = 4.135667662e-15;      ///< Planck constant [eV s]
constexpr double h_J_s = 6.626070040e-34;       ///< Planck constant [J s]
constexpr double amu_kg = 1.66053904e-27;       ///< atomic mass unit [kg]
constexpr double p0_Pa = 101325.0;              ///< reference pressure [Pa]
constexpr double pi = 3.14159265358979323846;

}  // namespace mkmap::constants
