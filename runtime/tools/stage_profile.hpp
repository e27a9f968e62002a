// pfrt-bench --profile stages: where a run's time goes per kind of stage of the execution plan
// (stem GEMM, QKV, attention, projection, LayerNorm, fc1+GELU, fc2, adds, head), with the rate
// each reached, as text, markdown or JSON.
#pragma once

#include <ostream>
#include <vector>

#include "json_writer.hpp"
#include "pfrt/pfrt.hpp"

namespace pfrt::tools {

// Adds `run` into `sum` kind by kind (sum may start empty).
void add_stage_times(std::vector<StageTime>& sum, const std::vector<StageTime>& run);
// Divides every time and operation count by `runs`.
void scale_stage_times(std::vector<StageTime>& stages, double runs);

// A table: stage, ms per run, share of the summed stage time, GFLOP/s of the stage's own time.
// Nothing (but a line saying so) when the backend does not time stages.
void print_stage_table(const std::vector<StageTime>& stages, bool markdown, std::ostream& out);

// "stages": [{"stage": name, "ms": per run, "share": of the summed stage time, "flops": per run,
// "gflops": of the stage's own time}, ...] — an empty array where the backend does not time stages.
void write_stages_json(JsonWriter& json, const std::vector<StageTime>& stages);

}  // namespace pfrt::tools
