// pfrt-bench --plot: a sweep's report drawn as SVG (plot.hpp) and written as every output file
// is (output_file.hpp: never over a device or FIFO, never half-written).
#include <fstream>
#include <sstream>
#include <vector>

#include "bench.hpp"
#include "output_file.hpp"
#include "plot.hpp"

namespace pfrt::tools {

void write_plot(const std::string& path, const std::string& report_json) {
  const std::string svg = plot_svg(report_json);
  convert::write_output_file(path, std::vector<uint8_t>(svg.begin(), svg.end()));
}

int plot_saved_report(const std::string& report_path, const std::string& plot_path) {
  std::ifstream in(report_path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) throw PlotError(report_path + ": cannot read the file");
  try {
    write_plot(plot_path, text.str());
  } catch (const PlotError& e) {
    throw PlotError(report_path + ": " + e.what());
  }
  return 0;
}

}  // namespace pfrt::tools
