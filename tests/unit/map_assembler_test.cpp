// Assembly of chunk results into map.csv and map.json for the default
// 10 x 10 map, with real solver results for the first chunk.

#include <algorithm>
#include <cmath>
#include <catch2/catch.hpp>

#include "temp_dir.hpp"
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kinetics/point_solver.hpp"
#include "model/parser.hpp"
#include "model/scan.hpp"
#include "output/map_assembler.hpp"
#include "protocol/messages.hpp"
#include "protocol/run_plan.hpp"

using Catch::Matchers::Contains;
using mkmap::GridPoint;
using mkmap::MapAssembler;
using mkmap::PointResult;
using mkmap::PointStatus;
using mkmap::RunPlan;
using mkmap::RunSummary;

namespace fs = std::filesystem;
namespace protocol = mkmap::protocol;

namespace {

// 100 points in chunks of 7 make 15 chunks, the last one with 2 points.
constexpr std::int64_t kChunkSize = 7;
constexpr std::int64_t kChunkCount = 15;
constexpr std::size_t kCoverageCount = 3;  // CO_s, O_s and the free s sites
constexpr std::size_t kStepCount = 3;
constexpr std::size_t kColumnCount = 24;
// Column of status: after ix, iy, x, y, TOF, coverages, net rates and
// reversibilities.
constexpr std::size_t kStatusColumn = 5 + kCoverageCount + 2 * kStepCount;

// Points that a test marks as failed, with reasons that need CSV quoting.
constexpr std::int64_t kFailedIndex = 50;
constexpr std::int64_t kFailedIndexLast = 99;
const char* const kFailedReason = "Newton diverged, residual \"1e+03\"\nat t = 1e12 s";
const char* const kFailedReasonLast = "integrator stalled; θ_CO → 1, Überlauf\r\nretry";

const std::string kRunId = "0123456789abcdef";

RunPlan default_plan() { return RunPlan(kRunId, mkmap::default_model(), kChunkSize); }

// Results of the real solver for the points of chunk 0, solved once because
// a Debug build needs about 0.2 s per point (100 default points on 2 cores).
const std::vector<PointResult>& solved_first_chunk() {
  static const std::vector<PointResult> results = [] {
    const mkmap::Model model = mkmap::default_model();
    const std::vector<GridPoint> grid = mkmap::grid_points(model);
    std::vector<PointResult> solved;
    for (std::int64_t i = 0; i < kChunkSize; ++i) {
      solved.push_back(mkmap::solve_point(model, grid.at(static_cast<std::size_t>(i))));
    }
    return solved;
  }();
  return results;
}

// A converged point with digits that a short number format would lose.
PointResult synthetic_point(std::int64_t index) {
  PointResult point;
  point.index = index;
  point.status = PointStatus::converged;
  point.tof = (static_cast<double>(index) + 1.0) / 3.0 * 1e-3;
  const double co = 0.1 + static_cast<double>(index) / 700.0;
  const double oxygen = 0.7 - static_cast<double>(index) / 300.0;
  point.coverages = {co, oxygen, 1.0 - co - oxygen};
  point.residual = 1e-12 * (static_cast<double>(index) + 1.0) / 7.0;
  point.site_sum_error = 1e-16 * static_cast<double>(index % 5);
  point.balance_error = 1e-13 / (static_cast<double>(index) + 3.0);
  point.iterations = static_cast<int>(index % 17) + 3;
  point.solve_time_s = 1e-3 * (static_cast<double>(index) + 0.5);
  point.precision = index % 3 == 0 ? mkmap::Precision::extended_precision
                                   : mkmap::Precision::double_precision;
  point.branch_tofs = {point.tof};
  if (index % 4 == 0) point.branch_tofs.push_back(point.tof * 1e6 / 7.0);
  point.net_rates = {point.tof * 2.0, point.tof, -point.tof / 3.0};
  point.reversibilities = {1.0 / 3.0, std::numeric_limits<double>::quiet_NaN(), 1e-200};
  return point;
}

PointResult failed_point(std::int64_t index, const std::string& reason) {
  PointResult point;
  point.index = index;
  point.status = PointStatus::failed;
  point.reason = reason;
  point.tof = 0.0;
  point.residual = 0.1 / 3.0;
  point.iterations = 200;
  point.solve_time_s = 2.5;
  return point;
}

// The expected result of a point: real for chunk 0, failed at the two
// failed indices, synthetic elsewhere.
PointResult point_result(std::int64_t index) {
  if (index < kChunkSize) return solved_first_chunk().at(static_cast<std::size_t>(index));
  if (index == kFailedIndex) return failed_point(index, kFailedReason);
  if (index == kFailedIndexLast) return failed_point(index, kFailedReasonLast);
  return synthetic_point(index);
}

protocol::Result chunk_result(const RunPlan& plan, std::int64_t chunk) {
  protocol::Result result;
  result.run_id = plan.run_id();
  result.chunk_id = chunk;
  result.attempt = 1;
  result.worker_threads = 2;
  const std::int64_t begin = plan.chunk_begin(chunk);
  for (std::int64_t index = begin; index < begin + plan.chunk_length(chunk); ++index) {
    result.points.push_back(point_result(index));
  }
  return result;
}

void accept_all(MapAssembler& assembler, const RunPlan& plan) {
  for (std::int64_t chunk = 0; chunk < plan.chunk_count(); ++chunk) {
    const protocol::Result result = chunk_result(plan, chunk);
    REQUIRE_FALSE(assembler.validate(result).has_value());
    REQUIRE(assembler.accept(result));
  }
}

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  REQUIRE(file.good());
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::set<std::string> file_names(const std::string& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// Splits CSV text into records of fields as RFC 4180 reads them: a quoted
// field may contain commas, line breaks and quotes doubled.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        field += c;
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.push_back(field);
      field.clear();
    } else if (c == '\n') {
      record.push_back(field);
      field.clear();
      records.push_back(record);
      record.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !record.empty()) {
    record.push_back(field);
    records.push_back(record);
  }
  return records;
}

// Parses a whole CSV field as a double, and returns nothing when text
// remains after the number.
std::optional<double> parse_number(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') return std::nullopt;
  return value;
}

std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  FAIL("expected a std::runtime_error");
  return "";
}

}  // namespace

// ===========================================================================
// Validation

TEST_CASE("assembler columns default model", "[output]") {
  const RunPlan plan = default_plan();
  const MapAssembler assembler(plan);

  const std::vector<std::string> expected = {
      "ix",           "iy",           "p_CO",          "p_O2",
      "tof_CO2",      "theta_CO_s",   "theta_O_s",     "theta_*_s",
      "net_rate_1",   "net_rate_2",   "net_rate_3",    "reversibility_1",
      "reversibility_2", "reversibility_3", "status",  "residual",
      "site_sum_error", "balance_error", "iterations", "solve_time_s",
      "precision",    "stable_states", "branch_tofs",  "reason"};
  CHECK(assembler.columns() == expected);
}

TEST_CASE("assembler validates every chunk", "[output]") {
  const RunPlan plan = default_plan();
  const MapAssembler assembler(plan);
  REQUIRE(plan.chunk_count() == kChunkCount);

  for (std::int64_t chunk = 0; chunk < kChunkCount; ++chunk) {
    INFO("chunk " << chunk);
    const std::optional<std::string> problem = assembler.validate(chunk_result(plan, chunk));
    CHECK_FALSE(problem.has_value());
  }
}

TEST_CASE("assembler real points converge", "[output]") {
  const std::vector<PointResult>& solved = solved_first_chunk();

  REQUIRE(solved.size() == static_cast<std::size_t>(kChunkSize));
  for (const PointResult& point : solved) {
    INFO("point " << point.index << ": " << point.reason);
    CHECK(point.status == PointStatus::converged);
    CHECK(point.coverages.size() == kCoverageCount);
  }
}

TEST_CASE("assembler rejects wrong run id", "[output]") {
  const RunPlan plan = default_plan();
  const MapAssembler assembler(plan);
  protocol::Result result = chunk_result(plan, 0);
  result.run_id = "fedcba9876543210";

  const std::optional<std::string> problem = assembler.validate(result);

  REQUIRE(problem.has_value());
  CHECK_THAT(*problem, Contains("fedcba9876543210"));
  CHECK_THAT(*problem, Contains(kRunId));
}

TEST_CASE("assembler rejects chunk out of range", "[output]") {
  const RunPlan plan = default_plan();
  const MapAssembler assembler(plan);

  for (const std::int64_t chunk :
       {std::int64_t{-1}, kChunkCount, kChunkCount + 1, std::numeric_limits<std::int64_t>::max(),
        std::numeric_limits<std::int64_t>::min()}) {
    INFO("chunk " << chunk);
    protocol::Result result = chunk_result(plan, 0);
    result.chunk_id = chunk;
    const std::optional<std::string> problem = assembler.validate(result);
    REQUIRE(problem.has_value());
    CHECK_THAT(*problem, Contains(std::to_string(chunk)));
  }
}

TEST_CASE("assembler rejects wrong point count", "[output]") {
  const RunPlan plan = default_plan();
  const MapAssembler assembler(plan);
  protocol::Result short_chunk = chunk_result(plan, 0);
  short_chunk.points.pop_back();
  protocol::Result long_chunk = chunk_result(plan, 0);
  long_chunk.points.push_back(point_result(kChunkSize));
  protocol::Result empty_chunk = chunk_result(plan, 3);
  empty_chunk.points.clear();
  // The last chunk has 2 points; a full chunk of 7 must not pass.
  protocol::Result full_last_chunk = chunk_result(plan, kChunkCount - 1);
  for (std::int64_t index = 100; index < 105; ++index) {
    full_last_chunk.points.push_back(synthetic_point(index));
  }

  CHECK(assembler.validate(short_chunk).has_value());
  CHECK(assembler.validate(long_chunk).has_value());
  CHECK(assembler.validate(empty_chunk).has_value());
  CHECK(assembler.validate(full_last_chunk).has_value());
}

TEST_CASE("assembler rejects wrong indices", "[output]") {
  const RunPlan plan = default_plan();
  const MapAssembler assembler(plan);
  // Chunk 1 carrying the points of chunk 2.
  protocol::Result shifted = chunk_result(plan, 2);
  shifted.chunk_id = 1;
  protocol::Result swapped = chunk_result(plan, 4);
  std::swap(swapped.points[2], swapped.points[3]);
  protocol::Result repeated = chunk_result(plan, 5);
  repeated.points[6] = repeated.points[5];
  protocol::Result negative = chunk_result(plan, 0);
  negative.points[0].index = -1;

  CHECK(assembler.validate(shifted).has_value());
  CHECK(assembler.validate(swapped).has_value());
  CHECK(assembler.validate(repeated).has_value());
  CHECK(assembler.validate(negative).has_value());
}

TEST_CASE("assembler rejects coverage count", "[output]") {
  const RunPlan plan = default_plan();
  const MapAssembler assembler(plan);

  for (const std::size_t count : {std::size_t{0}, std::size_t{2}, std::size_t{4}}) {
    INFO(count << " coverages");
    protocol::Result result = chunk_result(plan, 2);
    result.points[1].coverages.assign(count, 0.25);
    const std::optional<std::string> problem = assembler.validate(result);
    REQUIRE(problem.has_value());
    CHECK_THAT(*problem, Contains(std::to_string(result.points[1].index)));
  }
}

TEST_CASE("assembler failed point without coverages", "[output]") {
  const RunPlan plan = default_plan();
  const MapAssembler assembler(plan);
  const protocol::Result result = chunk_result(plan, kFailedIndex / kChunkSize);
  const PointResult& failed = result.points[kFailedIndex % kChunkSize];
  REQUIRE(failed.status == PointStatus::failed);
  REQUIRE(failed.coverages.empty());

  CHECK_FALSE(assembler.validate(result).has_value());
}

// ===========================================================================
// Acceptance

TEST_CASE("assembler duplicate chunk", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  const protocol::Result first = chunk_result(plan, kFailedIndex / kChunkSize);
  protocol::Result again = first;
  again.attempt = 2;

  REQUIRE(assembler.accept(first));
  const std::int64_t done_points = assembler.done_points();
  const std::int64_t converged_points = assembler.converged_points();

  CHECK(done_points == kChunkSize);
  CHECK(converged_points == kChunkSize - 1);
  CHECK_FALSE(assembler.accept(again));
  CHECK_FALSE(assembler.accept(first));
  CHECK(assembler.done_points() == done_points);
  CHECK(assembler.converged_points() == converged_points);
  CHECK(assembler.done_chunks() == 1);
}

TEST_CASE("assembler complete after all chunks", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  std::vector<std::int64_t> order(static_cast<std::size_t>(kChunkCount));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(11));

  std::int64_t expected_points = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    INFO("chunk " << order[i] << ", accepted as number " << i + 1);
    CHECK_FALSE(assembler.complete());
    REQUIRE(assembler.accept(chunk_result(plan, order[i])));
    expected_points += plan.chunk_length(order[i]);
    CHECK(assembler.done_points() == expected_points);
    CHECK(assembler.done_chunks() == static_cast<std::int64_t>(i + 1));
  }

  CHECK(assembler.complete());
  CHECK(assembler.done_points() == 100);
  CHECK(assembler.converged_points() == 98);
}

// ===========================================================================
// Files

TEST_CASE("assembler write csv", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  accept_all(assembler, plan);
  const mkmap::test::TempDir folder;

  assembler.write(folder.str(), RunSummary{}, "map");
  const std::vector<std::vector<std::string>> records =
      parse_csv(read_text(folder.str() + "/map.csv"));

  REQUIRE(records.size() == 101);
  CHECK(records[0] == assembler.columns());
  for (std::int64_t index = 0; index < 100; ++index) {
    INFO("point " << index);
    const std::vector<std::string>& fields = records[static_cast<std::size_t>(index) + 1];
    const GridPoint& grid = plan.points()[static_cast<std::size_t>(index)];
    const PointResult expected = point_result(index);
    std::string row;
    for (const std::string& field : fields) row += (row.empty() ? "" : " | ") + field;
    INFO("fields: " << row);
    REQUIRE(fields.size() == kColumnCount);

    CHECK(fields[0] == std::to_string(index % 10));
    CHECK(fields[1] == std::to_string(index / 10));
    CHECK(parse_number(fields[2]) == grid.x);
    CHECK(parse_number(fields[3]) == grid.y);
    CHECK(parse_number(fields[4]) == expected.tof);
    for (std::size_t c = 0; c < kCoverageCount; ++c) {
      INFO("coverage " << c);
      if (expected.coverages.empty()) {
        CHECK(fields[5 + c] == "nan");
      } else {
        CHECK(parse_number(fields[5 + c]) == expected.coverages[c]);
      }
    }
    // Returns the field or nan for an entry a failed point lacks.
    auto expected_at = [](const std::vector<double>& values, std::size_t i) {
      return i < values.size() ? values[i] : std::numeric_limits<double>::quiet_NaN();
    };
    for (std::size_t j = 0; j < kStepCount; ++j) {
      INFO("step " << j + 1);
      const double net_rate = expected_at(expected.net_rates, j);
      const double reversibility = expected_at(expected.reversibilities, j);
      const std::string& net_field = fields[5 + kCoverageCount + j];
      const std::string& reversibility_field = fields[5 + kCoverageCount + kStepCount + j];
      CHECK((std::isnan(net_rate) ? net_field == "nan" : parse_number(net_field) == net_rate));
      CHECK((std::isnan(reversibility) ? reversibility_field == "nan"
                                       : parse_number(reversibility_field) == reversibility));
    }
    const std::size_t at = kStatusColumn;
    const bool converged = expected.status == PointStatus::converged;
    CHECK(fields[at] == mkmap::to_string(expected.status));
    CHECK(parse_number(fields[at + 1]) == expected.residual);
    CHECK(parse_number(fields[at + 2]) == expected.site_sum_error);
    CHECK(parse_number(fields[at + 3]) == expected.balance_error);
    CHECK(fields[at + 4] == std::to_string(expected.iterations));
    CHECK(parse_number(fields[at + 5]) == expected.solve_time_s);
    CHECK(fields[at + 6] == (converged ? mkmap::to_string(expected.precision) : ""));
    CHECK(fields[at + 7] == std::to_string(expected.branch_tofs.size()));
    std::string branches;
    for (double tof : expected.branch_tofs) {
      branches += (branches.empty() ? "" : ";") + mkmap::format_number(tof);
    }
    CHECK(fields[at + 8] == branches);
    CHECK(fields[at + 9] == expected.reason);
  }
}

TEST_CASE("assembler csv quotes reasons", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  accept_all(assembler, plan);
  const mkmap::test::TempDir folder;

  assembler.write(folder.str(), RunSummary{}, "map");
  const std::string text = read_text(folder.str() + "/map.csv");

  // RFC 4180: the field is enclosed in quotes and inner quotes are doubled.
  CHECK_THAT(text, Contains(",\"Newton diverged, residual \"\"1e+03\"\"\nat t = 1e12 s\"\n"));
  CHECK_THAT(text, Contains(",\"integrator stalled; θ_CO → 1, Überlauf\r\nretry\"\n"));
}

TEST_CASE("assembler csv tof round trip", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  accept_all(assembler, plan);
  const mkmap::test::TempDir folder;

  assembler.write(folder.str(), RunSummary{}, "map");
  const std::vector<std::vector<std::string>> records =
      parse_csv(read_text(folder.str() + "/map.csv"));

  // The real TOFs of chunk 0 carry all 17 significant digits of a double.
  REQUIRE(records.size() == 101);
  for (std::size_t i = 0; i < solved_first_chunk().size(); ++i) {
    INFO("point " << i << ", field " << records[i + 1].at(4));
    const std::optional<double> tof = parse_number(records[i + 1].at(4));
    REQUIRE(tof.has_value());
    CHECK(*tof == solved_first_chunk()[i].tof);
    CHECK(*tof > 0.0);
  }
}

TEST_CASE("assembler write json", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  accept_all(assembler, plan);
  const mkmap::test::TempDir folder;
  RunSummary summary;
  summary.wall_time_s = 12.5;
  summary.workers_seen = 3;
  summary.duplicate_chunks = 2;
  summary.rejected_messages = 5;

  assembler.write(folder.str(), summary, "map");
  const nlohmann::json json = nlohmann::json::parse(read_text(folder.str() + "/map.json"));

  const nlohmann::json& counts = json.at("counts");
  CHECK(counts.at("points").get<std::int64_t>() == 100);
  CHECK(counts.at("converged").get<std::int64_t>() == assembler.converged_points());
  CHECK(counts.at("converged").get<std::int64_t>() == 98);
  CHECK(counts.at("failed").get<std::int64_t>() == 2);
  CHECK(counts.at("missing").get<std::int64_t>() == 0);
  CHECK(counts.at("chunks").get<std::int64_t>() == kChunkCount);
  CHECK(counts.at("duplicate_chunks").get<std::int64_t>() == 2);
  CHECK(counts.at("rejected_messages").get<std::int64_t>() == 5);
  CHECK(counts.at("workers").get<std::int64_t>() == 3);
  CHECK(json.at("run_id").get<std::string>() == kRunId);
  CHECK(json.at("chunk_size").get<std::int64_t>() == kChunkSize);
  CHECK(json.at("product").get<std::string>() == "CO2");
  CHECK(json.at("columns").get<std::vector<std::string>>() == assembler.columns());
  CHECK(json.at("model").at("yaml").get<std::string>() == mkmap::default_model_text());
  CHECK(json.at("timings").at("wall_time_s").get<double>() == 12.5);
}

TEST_CASE("assembler json scan values", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  accept_all(assembler, plan);
  const mkmap::test::TempDir folder;

  assembler.write(folder.str(), RunSummary{}, "map");
  const nlohmann::json json = nlohmann::json::parse(read_text(folder.str() + "/map.json"));

  const nlohmann::json& x = json.at("scan").at("x");
  const nlohmann::json& y = json.at("scan").at("y");
  CHECK(x.at("values").size() == 10);
  CHECK(x.at("values").get<std::vector<double>>() == mkmap::axis_values(plan.model().scan[0]));
  CHECK(x.at("column").get<std::string>() == "p_CO");
  CHECK(x.at("spacing").get<std::string>() == "linear");
  CHECK(y.at("values").size() == 10);
  CHECK(y.at("values").get<std::vector<double>>() == mkmap::axis_values(plan.model().scan[1]));
  CHECK(y.at("column").get<std::string>() == "p_O2");
}

TEST_CASE("assembler json with Latin-1 text", "[output]") {
  // The YAML parser passes Latin-1 bytes in a comment or a file name
  // through, but JSON text must be UTF-8.
  const std::string yaml = mkmap::default_model_text() + "# Temp\xe9rature in K\n";
  const RunPlan plan("run-\xff", mkmap::parse_model_text(yaml, "mod\xe8le.yaml"), kChunkSize);
  MapAssembler assembler(plan);
  accept_all(assembler, plan);
  const mkmap::test::TempDir folder;

  CHECK_NOTHROW(assembler.write(folder.str(), RunSummary{}, "map"));
  const nlohmann::json json = nlohmann::json::parse(read_text(folder.str() + "/map.json"));

  // U+FFFD REPLACEMENT CHARACTER, encoded in UTF-8, stands for each bad byte.
  const std::string replacement = "\xef\xbf\xbd";
  CHECK(json.at("counts").at("points").get<std::int64_t>() == 100);
  CHECK(json.at("run_id").get<std::string>() == "run-" + replacement);
  CHECK(json.at("model").at("source").get<std::string>() == "mod" + replacement + "le.yaml");
  CHECK_THAT(json.at("model").at("yaml").get<std::string>(),
             Contains("# Temp" + replacement + "rature in K"));
}

TEST_CASE("assembler write partial map", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  REQUIRE(assembler.accept(chunk_result(plan, 1)));
  const mkmap::test::TempDir folder;

  assembler.write(folder.str(), RunSummary{}, "partial");
  const std::vector<std::vector<std::string>> records =
      parse_csv(read_text(folder.str() + "/partial.csv"));
  const nlohmann::json json = nlohmann::json::parse(read_text(folder.str() + "/partial.json"));

  REQUIRE(records.size() == 101);
  CHECK(records[1].size() == kColumnCount);
  CHECK(records[1][kStatusColumn] == "missing");
  CHECK(records[1][4] == "nan");
  CHECK(records[kChunkSize + 1][kStatusColumn] == "converged");
  CHECK(json.at("counts").at("missing").get<std::int64_t>() == 100 - kChunkSize);
  CHECK(json.at("counts").at("converged").get<std::int64_t>() == kChunkSize);
}

TEST_CASE("assembler write leaves no temporary files", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  accept_all(assembler, plan);
  const mkmap::test::TempDir folder;

  // A second write replaces the files of the first.
  assembler.write(folder.str(), RunSummary{}, "map");
  assembler.write(folder.str(), RunSummary{}, "map");

  CHECK(file_names(folder.str()) == std::set<std::string>{"map.csv", "map.json"});
}

TEST_CASE("assembler write missing folder", "[output]") {
  const RunPlan plan = default_plan();
  MapAssembler assembler(plan);
  accept_all(assembler, plan);
  const mkmap::test::TempDir parent;
  const std::string missing = parent.str() + "/absent";

  const std::string message =
      error_message([&] { assembler.write(missing, RunSummary{}, "map"); });

  CHECK_THAT(message, Contains(missing + "/map.csv"));
  CHECK(file_names(parent.str()).empty());
}

TEST_CASE("write file atomically replaces content", "[output]") {
  const mkmap::test::TempDir folder;
  const std::string path = folder.str() + "/notes.txt";
  mkmap::write_file_atomically(path, "first version, longer than the second\n");

  mkmap::write_file_atomically(path, "second\n");

  CHECK(read_text(path) == "second\n");
  CHECK(file_names(folder.str()) == std::set<std::string>{"notes.txt"});
}

TEST_CASE("write file atomically failed rename", "[output]") {
  // rename(2) cannot replace a directory that has entries.
  const mkmap::test::TempDir folder;
  const std::string path = folder.str() + "/map.csv";
  fs::create_directories(path + "/entry");

  const std::string message =
      error_message([&] { mkmap::write_file_atomically(path, "ix,iy\n"); });

  CHECK_THAT(message, Contains(path));
  CHECK(file_names(folder.str()) == std::set<std::string>{"map.csv"});
  CHECK(fs::is_directory(path));
}
