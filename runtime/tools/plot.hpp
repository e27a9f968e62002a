// pfrt-bench --plot: the sweeps as self-contained SVG pictures, drawn from their JSON reports
// (the object `--json` prints, or a saved one: pfrt-bench --plot-json REPORT.json --plot OUT.svg).
// The depth sweep: p50 latency against depth, one line per kind (parallel branches, serial
// blocks) and thread count. The prefix sweep: p50 latency and accuracy against the prefix k.
// Every point is a <circle class="point"> carrying data-series, data-x and data-y, so a test
// can check the picture against the report; the caption names the machine, pfrt's version and
// the commit.
#pragma once

#include <stdexcept>
#include <string>

namespace pfrt::tools {

class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The SVG of a `pfrt-bench --sweep --json` or `--prefix-sweep --json` report (told apart by its
// "tool"). Throws PlotError naming what is missing from the report.
std::string plot_svg(const std::string& report_json);

}  // namespace pfrt::tools
