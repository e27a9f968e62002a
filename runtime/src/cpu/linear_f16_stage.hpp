// A linear stage of an f16 model with f16 arithmetic (PackedModel::f16): the cpu backend's
// StageRunner hands it such stages.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/packed_linear_f16.hpp"
#include "cpu/worker_team.hpp"
#include "plan/execution_plan.hpp"

namespace pfrt::cpu {

// Stage `s` (its first `rows` rows, for branch `branch`) on `team`: the input rows converted to
// f16 once into the stage's scratch (the plan's f16_scratch; rows split over the team), then
// the GEMM's GemmTiling items. Adds the conversion's time to `convert_ms`.
void run_linear_f16(const plan::ExecutionPlan& plan, const plan::Memory& memory, const plan::Stage& s,
                    const PackedLinearF16& layer, Activation activation, uint32_t branch, size_t rows, WorkerTeam& team,
                    double& convert_ms);

}  // namespace pfrt::cpu
