// Per-point solve time of a map in one process, one thread: the cost a
// worker thread pays per grid point, without any transport.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "kinetics/point_solver.hpp"
#include "model/parser.hpp"
#include "model/scan.hpp"
#include "output/map_assembler.hpp"
#include "protocol/run_plan.hpp"

int main(int argc, char** argv) {
  std::string model_file;
  std::string x_spec;
  std::string y_spec;
  int repeats = 5;
  std::string map_folder;

  CLI::App app{"Solves every point of a map in this process and prints the per-point "
               "solve time [ms]: median, 95th percentile, maximum."};
  app.add_option("--model", model_file, "model file; default: the embedded model")
      ->check(CLI::ExistingFile);
  app.add_option("--x", x_spec, "x axis override VARIABLE:FROM:TO:POINTS[:lin|log]");
  app.add_option("--y", y_spec, "y axis override");
  app.add_option("--repeats", repeats, "times each point is solved")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--write-map", map_folder,
                 "also write map.csv and map.json of the first repeat into this folder, as "
                 "the sink would (a single-process reference for pipeline tests)");
  CLI11_PARSE(app, argc, argv);

  try {
    mkmap::Model model =
        model_file.empty() ? mkmap::default_model() : mkmap::parse_model_file(model_file);
    if (!x_spec.empty()) model.scan[0] = mkmap::parse_axis_override(x_spec, model, "--x");
    if (!y_spec.empty()) model.scan[1] = mkmap::parse_axis_override(y_spec, model, "--y");

    const mkmap::RunPlan plan("single-process", model, 1);
    mkmap::MapAssembler map(plan);
    std::vector<double> times_ms;
    int failed = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int repeat = 0; repeat < repeats; ++repeat) {
      for (const mkmap::GridPoint& point : mkmap::grid_points(model)) {
        const auto begin = std::chrono::steady_clock::now();
        const mkmap::PointResult result = mkmap::solve_point(model, point);
        const auto end = std::chrono::steady_clock::now();
        times_ms.push_back(std::chrono::duration<double, std::milli>(end - begin).count());
        if (result.status != mkmap::PointStatus::converged) ++failed;
        if (repeat == 0 && !map_folder.empty()) {
          mkmap::protocol::Result chunk;
          chunk.run_id = plan.run_id();
          chunk.chunk_id = point.index;
          chunk.points = {result};
          map.accept(chunk);
        }
      }
    }
    const double total_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::sort(times_ms.begin(), times_ms.end());
    const auto quantile = [&](double q) {
      return times_ms[static_cast<std::size_t>(q * (times_ms.size() - 1) + 0.5)];
    };
    std::printf("points solved: %zu (%d repeats), failed: %d\n", times_ms.size(), repeats,
                failed);
    std::printf("per-point solve time [ms]: median %.3f, p95 %.3f, max %.3f\n", quantile(0.5),
                quantile(0.95), times_ms.back());
    std::printf("total: %.3f s\n", total_s);
    if (!map_folder.empty()) map.write(map_folder, mkmap::RunSummary{}, "map");
    return failed == 0 ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
}
