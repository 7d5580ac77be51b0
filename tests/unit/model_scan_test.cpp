#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "model/parser.hpp"
#include "model/scan.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using mkmap::AxisSpacing;
using mkmap::AxisVariable;
using mkmap::ModelError;
using mkmap::ScanAxis;

namespace {

ScanAxis make_axis(double from, double to, int points, AxisSpacing spacing) {
  ScanAxis axis;
  axis.variable = AxisVariable::pressure;
  axis.gas = 0;
  axis.from = from;
  axis.to = to;
  axis.points = points;
  axis.spacing = spacing;
  return axis;
}

// Returns the message of the ModelError that parsing spec throws.
std::string override_error(const std::string& spec) {
  const mkmap::Model model = mkmap::default_model();
  try {
    mkmap::parse_axis_override(spec, model, "--x");
  } catch (const ModelError& error) {
    return error.what();
  }
  FAIL("parse_axis_override accepted '" << spec << "'");
  return "";
}

}  // namespace

TEST_CASE("axis linear matches numpy", "[model][scan]") {
  // numpy 1.24.2: numpy.linspace(1e-5, 0.5, 10), printed with repr.
  const std::vector<double> expected = {
      1e-05,
      0.055564444444444444,
      0.11111888888888888,
      0.16667333333333334,
      0.22222777777777777,
      0.2777822222222222,
      0.33333666666666667,
      0.3888911111111111,
      0.44444555555555554,
      0.5};
  const std::vector<double> values =
      mkmap::axis_values(make_axis(1e-5, 0.5, 10, AxisSpacing::linear));

  REQUIRE(values.size() == expected.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    INFO("point " << i);
    CHECK(values[i] == expected[i]);
  }
}

TEST_CASE("axis log matches numpy", "[model][scan]") {
  // numpy 1.24.2: numpy.geomspace(1e-5, 0.5, 5), printed with repr.
  const std::vector<double> expected = {
      1e-05, 0.00014953487812212205, 0.0022360679774997894,
      0.033437015248821096, 0.5};
  const std::vector<double> values =
      mkmap::axis_values(make_axis(1e-5, 0.5, 5, AxisSpacing::logarithmic));

  REQUIRE(values.size() == expected.size());
  CHECK(values.front() == expected.front());
  CHECK(values.back() == expected.back());
  for (std::size_t i = 1; i + 1 < values.size(); ++i) {
    INFO("point " << i);
    CHECK(values[i] == Approx(expected[i]).epsilon(1e-14));
  }
}

TEST_CASE("axis log ratio constant", "[model][scan]") {
  const std::vector<double> values =
      mkmap::axis_values(make_axis(1e-6, 1.0, 7, AxisSpacing::logarithmic));

  REQUIRE(values.size() == 7);
  for (std::size_t i = 1; i < values.size(); ++i) {
    CHECK(values[i] / values[i - 1] == Approx(10.0).epsilon(1e-12));
  }
}

TEST_CASE("axis single point", "[model][scan]") {
  const std::vector<double> linear =
      mkmap::axis_values(make_axis(0.2, 0.5, 1, AxisSpacing::linear));
  const std::vector<double> log =
      mkmap::axis_values(make_axis(0.2, 0.5, 1, AxisSpacing::logarithmic));

  CHECK(linear == std::vector<double>{0.2});
  CHECK(log == std::vector<double>{0.2});
}

TEST_CASE("axis descending", "[model][scan]") {
  ScanAxis axis = make_axis(600.0, 400.0, 5, AxisSpacing::linear);
  axis.variable = AxisVariable::temperature;
  axis.gas = -1;

  CHECK(mkmap::axis_values(axis) ==
        std::vector<double>{600.0, 550.0, 500.0, 450.0, 400.0});
}

TEST_CASE("override pressure axis", "[model][scan]") {
  const mkmap::Model model = mkmap::default_model();
  const ScanAxis axis = mkmap::parse_axis_override("O2:1e-5:0.5:10", model);

  CHECK(axis.variable == AxisVariable::pressure);
  CHECK(axis.gas == 1);
  CHECK(axis.from == 1e-5);
  CHECK(axis.to == 0.5);
  CHECK(axis.points == 10);
  CHECK(axis.spacing == AxisSpacing::linear);
}

TEST_CASE("override temperature log axis", "[model][scan]") {
  const mkmap::Model model = mkmap::default_model();
  const ScanAxis axis = mkmap::parse_axis_override("T:400:800:5:log", model);

  CHECK(axis.variable == AxisVariable::temperature);
  CHECK(axis.gas == -1);
  CHECK(axis.from == 400.0);
  CHECK(axis.to == 800.0);
  CHECK(axis.points == 5);
  CHECK(axis.spacing == AxisSpacing::logarithmic);
}

TEST_CASE("override spacing names", "[model][scan]") {
  const mkmap::Model model = mkmap::default_model();

  CHECK(mkmap::parse_axis_override("CO:0:1:3:lin", model).spacing ==
        AxisSpacing::linear);
  CHECK(mkmap::parse_axis_override("CO:0:1:3:linear", model).spacing ==
        AxisSpacing::linear);
}

TEST_CASE("override too few fields", "[model][scan]") {
  CHECK(override_error("CO:1e-5:0.5") ==
        "--x: \"CO:1e-5:0.5\": expected VARIABLE:FROM:TO:POINTS[:lin|log]");
}

TEST_CASE("override default source", "[model][scan]") {
  const mkmap::Model model = mkmap::default_model();
  try {
    mkmap::parse_axis_override("CO:1", model);
    FAIL("parse_axis_override accepted 'CO:1'");
  } catch (const ModelError& error) {
    CHECK(error.source() == "axis override");
    CHECK(error.text() == "CO:1");
    CHECK(error.line() == 0);
  }
}

TEST_CASE("override unknown variable", "[model][scan]") {
  const std::string message = override_error("H2:0:1:3");

  CHECK_THAT(message, StartsWith("--x: \"H2:0:1:3\": unknown variable 'H2'"));
  CHECK_THAT(message, Contains("use T or a gas of the model (CO, O2, CO2)"));
}

TEST_CASE("override bad numbers", "[model][scan]") {
  CHECK_THAT(override_error("CO:abc:1:3"),
             Contains("FROM 'abc' is not a finite number"));
  CHECK_THAT(override_error("CO:0:inf:3"),
             Contains("TO 'inf' is not a finite number"));
  CHECK_THAT(override_error("CO:0:1:ten"),
             Contains("POINTS 'ten' is not an integer"));
  CHECK_THAT(override_error("CO:0:1:2.5"),
             Contains("POINTS '2.5' is not an integer"));
}

TEST_CASE("override range rules", "[model][scan]") {
  CHECK_THAT(override_error("CO:0:1:0"), Contains("points must be >= 1"));
  CHECK_THAT(override_error("CO:-1:1:3"),
             Contains("pressure from must be >= 0"));
  CHECK_THAT(override_error("T:0:500:3"),
             Contains("temperature from must be > 0 K"));
  CHECK_THAT(override_error("CO:0:0.5:10:log"),
             Contains("log spacing needs from > 0"));
}

TEST_CASE("override unknown spacing", "[model][scan]") {
  CHECK(override_error("CO:0:1:3:geo") ==
        "--x: \"CO:0:1:3:geo\": spacing 'geo' is invalid; use lin, linear or "
        "log");
}

TEST_CASE("axis column and label", "[model][scan]") {
  const mkmap::Model model = mkmap::default_model();
  ScanAxis temperature;
  temperature.variable = AxisVariable::temperature;

  CHECK(mkmap::axis_column(model.scan[0], model) == "p_CO");
  CHECK(mkmap::axis_column(temperature, model) == "T");
  CHECK(mkmap::axis_label(model.scan[1], model) ==
        "p(O2) [p/p0, p0 = 101325 Pa]");
  CHECK(mkmap::axis_label(temperature, model) == "T [K]");
}

TEST_CASE("apply axis value", "[model][scan]") {
  mkmap::Model model = mkmap::default_model();
  ScanAxis temperature;
  temperature.variable = AxisVariable::temperature;

  mkmap::apply_axis_value(model, model.scan[1], 0.25);
  mkmap::apply_axis_value(model, temperature, 450.0);

  CHECK(model.gases[1].pressure == 0.25);
  CHECK(model.gases[0].pressure == 1.32e-7);
  CHECK(model.temperature_K == 450.0);
}

TEST_CASE("distinct axes check", "[model][scan]") {
  const mkmap::Model model = mkmap::default_model();

  CHECK_NOTHROW(mkmap::check_distinct_axes(model, model.scan[0], model.scan[1]));
  try {
    mkmap::check_distinct_axes(model, model.scan[0], model.scan[0]);
    FAIL("check_distinct_axes accepted two CO axes");
  } catch (const ModelError& error) {
    CHECK_THAT(error.what(), Contains("\"p_CO\": x and y scan the same "
                                      "variable"));
  }
}
