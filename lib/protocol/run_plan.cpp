#include "protocol/run_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "model/parser.hpp"
#include "model/scan.hpp"

namespace mkmap {
namespace {

Model resolve_model(const std::string& yaml, const std::string& source,
                    const std::string& x_axis, const std::string& y_axis) {
  Model model = parse_model_text(yaml, source);
  model.scan[0] = parse_axis_override(x_axis, model);
  model.scan[1] = parse_axis_override(y_axis, model);
  check_distinct_axes(model, model.scan[0], model.scan[1]);
  return model;
}

}  // namespace

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

std::string derive_run_id(const Model& model, std::int64_t chunk_size) {
  constexpr std::uint64_t kOffsetBasis = 14695981039346656037ull;
  constexpr std::uint64_t kPrime = 1099511628211ull;
  const std::string text = model.source_text + '\0' + format_axis_spec(model.scan[0], model) +
                           '\0' + format_axis_spec(model.scan[1], model) + '\0' +
                           std::to_string(chunk_size);
  std::uint64_t hash = kOffsetBasis;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= kPrime;
  }
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(hash));
  return digits;
}

std::string format_axis_spec(const ScanAxis& axis, const Model& model) {
  const std::string variable =
      axis.variable == AxisVariable::temperature ? "T" : model.gases[axis.gas].name;
  const char* spacing = axis.spacing == AxisSpacing::logarithmic ? "log" : "lin";
  return variable + ":" + format_number(axis.from) + ":" + format_number(axis.to) + ":" +
         std::to_string(axis.points) + ":" + spacing;
}

RunPlan::RunPlan(std::string run_id, Model model, std::int64_t chunk_size)
    : run_id_(std::move(run_id)), model_(std::move(model)), chunk_size_(chunk_size) {
  if (chunk_size < 1 || chunk_size > static_cast<std::int64_t>(protocol::kMaxChunkPoints)) {
    throw std::invalid_argument("chunk size " + std::to_string(chunk_size) +
                                " is outside [1, " +
                                std::to_string(protocol::kMaxChunkPoints) + "]");
  }
  const std::int64_t total = static_cast<std::int64_t>(model_.scan[0].points) *
                            static_cast<std::int64_t>(model_.scan[1].points);
  if (total > kMaxGridPoints) {
    throw std::invalid_argument("the scan has " + std::to_string(model_.scan[0].points) + " x " +
                                std::to_string(model_.scan[1].points) + " = " +
                                std::to_string(total) + " points, more than the limit of " +
                                std::to_string(kMaxGridPoints) + "; split the map into runs");
  }
  points_ = grid_points(model_);
}

RunPlan RunPlan::from_message(const protocol::Run& run) {
  Model model = resolve_model(run.model_yaml, run.model_source, run.x_axis, run.y_axis);
  return RunPlan(run.run_id, std::move(model), run.chunk_size);
}

protocol::Run RunPlan::to_message() const {
  protocol::Run run;
  run.run_id = run_id_;
  run.model_yaml = model_.source_text;
  run.model_source = model_.source_name;
  run.x_axis = format_axis_spec(model_.scan[0], model_);
  run.y_axis = format_axis_spec(model_.scan[1], model_);
  run.chunk_size = chunk_size_;
  return run;
}

protocol::Task RunPlan::make_task(std::int64_t chunk_id, std::int32_t attempt) const {
  protocol::Task task;
  task.run_id = run_id_;
  task.chunk_id = chunk_id;
  task.attempt = attempt;
  task.model_yaml = model_.source_text;
  task.x_axis = format_axis_spec(model_.scan[0], model_);
  task.y_axis = format_axis_spec(model_.scan[1], model_);
  const std::int64_t begin = chunk_begin(chunk_id);
  task.points.assign(points_.begin() + begin, points_.begin() + begin + chunk_length(chunk_id));
  return task;
}

std::int64_t RunPlan::chunk_count() const noexcept {
  return protocol::chunk_count(total_points(), chunk_size_);
}

std::int64_t RunPlan::chunk_begin(std::int64_t chunk_id) const noexcept {
  return chunk_id * chunk_size_;
}

std::int64_t RunPlan::chunk_length(std::int64_t chunk_id) const noexcept {
  return std::min(chunk_size_, total_points() - chunk_begin(chunk_id));
}

Model model_from_task(const protocol::Task& task) {
  return resolve_model(task.model_yaml, "task of run " + task.run_id, task.x_axis, task.y_axis);
}

}  // namespace mkmap
