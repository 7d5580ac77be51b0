#include "output/map_assembler.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unistd.h>

#include "kinetics/steady_state.hpp"
#include "model/scan.hpp"

#ifndef MKMAP_VERSION
#define MKMAP_VERSION "unknown"
#endif

namespace mkmap {
namespace {

// Quotes a CSV field that contains a separator, a quote or a line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

nlohmann::json axis_json(const ScanAxis& axis, const Model& model) {
  nlohmann::json json;
  const bool temperature = axis.variable == AxisVariable::temperature;
  json["variable"] = temperature ? "temperature" : "pressure";
  json["gas"] = temperature ? nlohmann::json() : nlohmann::json(model.gases[axis.gas].name);
  json["column"] = axis_column(axis, model);
  json["label"] = axis_label(axis, model);
  json["unit"] = temperature ? "K" : "p/p0, p0 = 101325 Pa";
  json["spacing"] = axis.spacing == AxisSpacing::logarithmic ? "log" : "linear";
  json["values"] = axis_values(axis);
  return json;
}

[[noreturn]] void throw_io_error(const std::string& what, const std::string& path) {
  throw std::runtime_error("cannot " + what + " " + path + ": " + std::strerror(errno));
}

// Closes fd unless it is -1, removes the temporary file and throws. errno is
// saved first because close and unlink may overwrite it.
[[noreturn]] void discard_temporary(int fd, const std::string& temporary, const std::string& what,
                                    const std::string& path) {
  const int error = errno;
  if (fd >= 0) ::close(fd);
  ::unlink(temporary.c_str());
  errno = error;
  throw_io_error(what, path);
}

}  // namespace

MapAssembler::MapAssembler(const RunPlan& plan)
    : plan_(plan),
      points_(plan.total_points()),
      coverage_count_(plan.model().adsorbates.size() + plan.model().sites.size()) {}

std::optional<std::string> MapAssembler::validate(const protocol::Result& result) const {
  if (result.run_id != plan_.run_id()) {
    return "result of run " + result.run_id + ", current run is " + plan_.run_id();
  }
  if (result.chunk_id < 0 || result.chunk_id >= plan_.chunk_count()) {
    return "chunk " + std::to_string(result.chunk_id) + " is outside [0, " +
           std::to_string(plan_.chunk_count()) + ")";
  }
  const std::int64_t begin = plan_.chunk_begin(result.chunk_id);
  const std::int64_t length = plan_.chunk_length(result.chunk_id);
  if (static_cast<std::int64_t>(result.points.size()) != length) {
    return "chunk " + std::to_string(result.chunk_id) + " has " +
           std::to_string(result.points.size()) + " points, expected " + std::to_string(length);
  }
  for (std::int64_t i = 0; i < length; ++i) {
    const PointResult& point = result.points[i];
    if (point.index != begin + i) {
      return "chunk " + std::to_string(result.chunk_id) + " holds point " +
             std::to_string(point.index) + " where " + std::to_string(begin + i) +
             " belongs";
    }
    const bool converged = point.status == PointStatus::converged;
    if (converged && point.coverages.size() != coverage_count_) {
      return "point " + std::to_string(point.index) + " has " +
             std::to_string(point.coverages.size()) + " coverages, expected " +
             std::to_string(coverage_count_);
    }
    const std::size_t steps = plan_.model().steps.size();
    if (converged && (point.net_rates.size() != steps || point.reversibilities.size() != steps)) {
      return "point " + std::to_string(point.index) + " has " +
             std::to_string(point.net_rates.size()) + " net rates and " +
             std::to_string(point.reversibilities.size()) + " reversibilities, expected " +
             std::to_string(steps) + " of each";
    }
    if (converged && point.branch_tofs.empty()) {
      return "converged point " + std::to_string(point.index) + " has no stable steady state";
    }
  }
  return std::nullopt;
}

bool MapAssembler::accept(const protocol::Result& result) {
  if (accepted_.count(result.chunk_id) != 0) return false;
  accepted_[result.chunk_id] = true;
  for (const PointResult& point : result.points) {
    points_[point.index] = point;
    ++done_points_;
    if (point.status == PointStatus::converged) ++converged_points_;
  }
  return true;
}

bool MapAssembler::give_up(std::int64_t chunk_id, const std::string& reason) {
  if (chunk_id < 0 || chunk_id >= plan_.chunk_count()) return false;
  protocol::Result result;
  result.run_id = plan_.run_id();
  result.chunk_id = chunk_id;
  const std::int64_t begin = plan_.chunk_begin(chunk_id);
  for (std::int64_t i = 0; i < plan_.chunk_length(chunk_id); ++i) {
    PointResult point;
    point.index = begin + i;
    point.status = PointStatus::failed;
    point.reason = reason;
    result.points.push_back(std::move(point));
  }
  return accept(result);
}

std::vector<protocol::ChunkRange> MapAssembler::done_chunk_ranges() const {
  std::vector<protocol::ChunkRange> ranges;
  for (const auto& [chunk_id, unused] : accepted_) {
    if (!ranges.empty() && ranges.back().end == chunk_id) {
      ranges.back().end = chunk_id + 1;
    } else {
      ranges.push_back({chunk_id, chunk_id + 1});
    }
  }
  return ranges;
}

std::vector<std::string> MapAssembler::columns() const {
  const Model& model = plan_.model();
  std::vector<std::string> names = {"ix", "iy", axis_column(model.scan[0], model),
                                    axis_column(model.scan[1], model),
                                    "tof_" + model.gases[model.product].name};
  for (const Adsorbate& adsorbate : model.adsorbates) {
    names.push_back("theta_" + adsorbate.name + "_" + model.sites[adsorbate.site].name);
  }
  for (const SiteType& site : model.sites) names.push_back("theta_*_" + site.name);
  for (std::size_t j = 1; j <= model.steps.size(); ++j) {
    names.push_back("net_rate_" + std::to_string(j));
  }
  for (std::size_t j = 1; j <= model.steps.size(); ++j) {
    names.push_back("reversibility_" + std::to_string(j));
  }
  for (const char* name : {"status", "residual", "site_sum_error", "balance_error", "iterations",
                           "solve_time_s", "precision", "stable_states", "branch_tofs", "reason"}) {
    names.push_back(name);
  }
  return names;
}

std::string MapAssembler::csv_text() const {
  const std::vector<std::string> names = columns();
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) text += (i ? "," : "") + csv_field(names[i]);
  text += "\n";

  const std::int64_t nx = plan_.model().scan[0].points;
  for (std::int64_t index = 0; index < plan_.total_points(); ++index) {
    const GridPoint& grid = plan_.points()[index];
    text += std::to_string(index % nx) + "," + std::to_string(index / nx) + "," +
            format_number(grid.x) + "," + format_number(grid.y) + ",";
    const std::size_t steps = plan_.model().steps.size();
    if (!points_[index]) {
      // Only a map written before completion has missing points.
      text += "nan";
      for (std::size_t c = 0; c < coverage_count_ + 2 * steps; ++c) text += ",nan";
      text += ",missing,nan,nan,nan,0,0,,0,,\n";
      continue;
    }
    const PointResult& point = *points_[index];
    // Returns values[i] formatted, or nan when a failed point lacks it.
    auto value_at = [](const std::vector<double>& values, std::size_t i) {
      return i < values.size() ? format_number(values[i]) : std::string("nan");
    };
    text += format_number(point.tof);
    for (std::size_t c = 0; c < coverage_count_; ++c) text += "," + value_at(point.coverages, c);
    for (std::size_t j = 0; j < steps; ++j) text += "," + value_at(point.net_rates, j);
    for (std::size_t j = 0; j < steps; ++j) text += "," + value_at(point.reversibilities, j);
    std::string branches;
    for (double tof : point.branch_tofs) branches += (branches.empty() ? "" : ";") + format_number(tof);
    text += std::string(",") + to_string(point.status) + "," + format_number(point.residual) +
            "," + format_number(point.site_sum_error) + "," + format_number(point.balance_error) +
            "," + std::to_string(point.iterations) + "," + format_number(point.solve_time_s) +
            "," + (point.status == PointStatus::converged ? to_string(point.precision) : "") +
            "," + std::to_string(point.branch_tofs.size()) + "," + branches + "," +
            csv_field(point.reason) + "\n";
  }
  return text;
}

std::string MapAssembler::json_text(const RunSummary& summary) const {
  const Model& model = plan_.model();
  double solve_time_total = 0.0;
  std::vector<double> solve_times;
  for (const auto& point : points_) {
    if (!point) continue;
    solve_time_total += point->solve_time_s;
    solve_times.push_back(point->solve_time_s);
  }
  std::sort(solve_times.begin(), solve_times.end());
  const double median = solve_times.empty() ? 0.0 : solve_times[solve_times.size() / 2];

  nlohmann::json json;
  json["program"] = "mkmap";
  json["version"] = MKMAP_VERSION;
  json["run_id"] = plan_.run_id();
  json["model"] = {{"source", model.source_name}, {"yaml", model.source_text}};
  json["scan"] = {{"x", axis_json(model.scan[0], model)}, {"y", axis_json(model.scan[1], model)}};
  json["product"] = model.gases[model.product].name;
  // With a temperature axis the model's own temperature applies to no point.
  const bool scans_temperature = model.scan[0].variable == AxisVariable::temperature ||
                                 model.scan[1].variable == AxisVariable::temperature;
  json["temperature_K"] =
      scans_temperature ? nlohmann::json() : nlohmann::json(model.temperature_K);
  json["columns"] = columns();
  json["units"] = {
      {"tof", "1/s per site"},
      {"theta", "coverage, fraction of sites"},
      {"net_rate", "rf - rr of the step, 1/s per site"},
      {"reversibility", "rr / rf of the step, nan when rf = 0"},
      {"residual", "max over adsorbates of |dtheta/dt| / gross flux"},
      {"site_sum_error", "max over site types of |sum of coverages - total| / total"},
      {"balance_error", "max over elements of |net gas production| / gross gas flux"},
      {"solve_time_s", "s"},
      {"precision", "double, or extended (long double) when double stalled"},
      {"branch_tofs", "TOF of every stable steady state found, ';'-separated, 1/s per site"}};
  nlohmann::json steps = nlohmann::json::array();
  for (const Step& step : model.steps) steps.push_back(step.equation);
  json["steps"] = steps;
  nlohmann::json held = nlohmann::json::array();
  for (int unknown : held_unknowns(model)) {
    const int adsorbates = static_cast<int>(model.adsorbates.size());
    held.push_back(unknown < adsorbates
                       ? "theta_" + model.adsorbates[unknown].name + "_" +
                             model.sites[model.adsorbates[unknown].site].name
                       : "theta_*_" + model.sites[unknown - adsorbates].name);
  }
  // Coverages no step changes keep their initial value at every point.
  json["held_coverages"] = held;
  json["solver"] = {{"residual_tolerance", model.solver.residual_tolerance},
                    {"starts", model.solver.starts == StartSet::all ? "all" : "initial"},
                    {"random_starts", model.solver.random_starts},
                    {"seed", model.solver.seed}};
  json["chunk_size"] = plan_.chunk_size();
  json["counts"] = {{"points", plan_.total_points()},
                    {"converged", converged_points_},
                    {"failed", done_points_ - converged_points_},
                    {"missing", plan_.total_points() - done_points_},
                    {"chunks", plan_.chunk_count()},
                    {"duplicate_chunks", summary.duplicate_chunks},
                    {"rejected_messages", summary.rejected_messages},
                    {"workers", summary.workers_seen}};
  json["timings"] = {{"wall_time_s", summary.wall_time_s},
                     {"solve_time_total_s", solve_time_total},
                     {"solve_time_median_s", median}};
  // JSON text must be UTF-8, but the model text, its file name and the run
  // id may contain other bytes, e.g. a Latin-1 comment. Replacing those with
  // U+FFFD keeps the finished map writable.
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void MapAssembler::write(const std::string& folder, const RunSummary& summary,
                         const std::string& basename) const {
  write_file_atomically(folder + "/" + basename + ".csv", csv_text());
  write_file_atomically(folder + "/" + basename + ".json", json_text(summary));
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_io_error("create", temporary);

  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      discard_temporary(fd, temporary, "write", temporary);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) discard_temporary(fd, temporary, "flush", temporary);
  ::close(fd);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    discard_temporary(-1, temporary, "rename to", path);
  }
}

}  // namespace mkmap
