#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

namespace pfrt::tools {

namespace {

using nlohmann::json;

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), in x order
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool y_from_zero = true;
};

constexpr double kWidth = 820, kPanelHeight = 400;
constexpr double kLeft = 80, kRight = 240, kTop = 50, kBottom = 60;  // margins of each panel
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// Tick step of about `count` ticks over [0, span]: 1, 2 or 5 times a power of ten.
double tick_step(double span, int count) {
  if (!(span > 0)) return 1.0;
  const double raw = span / count, power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10.0 * power;
}

void draw_panel(std::ostringstream& svg, const Panel& p, double top, size_t& colour) {
  double x_min = 1e300, x_max = -1e300, y_min = 1e300, y_max = -1e300;
  for (const Series& s : p.series) {
    for (const auto& [x, y] : s.points) {
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  }
  if (x_min > x_max) x_min = 0, x_max = 1, y_min = 0, y_max = 1;  // no point: empty axes
  if (p.y_from_zero) y_min = std::min(0.0, y_min);
  const double y_step = tick_step(y_max - y_min, 6);
  y_min = std::floor(y_min / y_step) * y_step;
  y_max = std::max(y_min + y_step, std::ceil(y_max / y_step) * y_step);
  const double x_step = tick_step(x_max - x_min, 10) < 1 ? 1 : tick_step(x_max - x_min, 10);
  x_min = std::floor(x_min / x_step) * x_step;
  x_max = std::max(x_min + x_step, std::ceil(x_max / x_step) * x_step);
  const double w = kWidth - kLeft - kRight, h = kPanelHeight - kTop - kBottom, y0 = top + kTop;
  const auto sx = [&](double x) { return kLeft + (x - x_min) / (x_max - x_min) * w; };
  const auto sy = [&](double y) { return y0 + h - (y - y_min) / (y_max - y_min) * h; };

  svg << "<g class=\"panel\">\n";
  svg << "<text class=\"title\" x=\"" << num(kWidth / 2) << "\" y=\"" << num(top + 30)
      << "\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">" << escape(p.title) << "</text>\n";
  svg << "<rect x=\"" << num(kLeft) << "\" y=\"" << num(y0) << "\" width=\"" << num(w) << "\" height=\"" << num(h)
      << "\" fill=\"none\" stroke=\"#000\"/>\n";
  for (double y = y_min; y <= y_max + y_step / 2; y += y_step) {
    svg << "<line x1=\"" << num(kLeft) << "\" x2=\"" << num(kLeft + w) << "\" y1=\"" << num(sy(y)) << "\" y2=\""
        << num(sy(y)) << "\" stroke=\"#ddd\"/>\n";
    svg << "<text x=\"" << num(kLeft - 6) << "\" y=\"" << num(sy(y) + 4) << "\" text-anchor=\"end\" font-size=\"12\">"
        << num(y) << "</text>\n";
  }
  for (double x = x_min; x <= x_max + x_step / 2; x += x_step) {
    svg << "<line x1=\"" << num(sx(x)) << "\" x2=\"" << num(sx(x)) << "\" y1=\"" << num(y0 + h) << "\" y2=\""
        << num(y0 + h + 5) << "\" stroke=\"#000\"/>\n";
    svg << "<text x=\"" << num(sx(x)) << "\" y=\"" << num(y0 + h + 20) << "\" text-anchor=\"middle\" font-size=\"12\">"
        << num(x) << "</text>\n";
  }
  svg << "<text class=\"x-label\" x=\"" << num(kLeft + w / 2) << "\" y=\"" << num(y0 + h + 45)
      << "\" text-anchor=\"middle\" font-size=\"14\">" << escape(p.x_label) << "</text>\n";
  svg << "<text class=\"y-label\" transform=\"translate(" << num(kLeft - 55) << "," << num(y0 + h / 2)
      << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">" << escape(p.y_label) << "</text>\n";
  double legend_y = y0 + 10;
  for (const Series& s : p.series) {
    const std::string c = kColours[colour++ % (sizeof(kColours) / sizeof(kColours[0]))];
    std::string points;
    for (const auto& [x, y] : s.points) points += num(sx(x)) + "," + num(sy(y)) + " ";
    svg << "<polyline class=\"series\" data-series=\"" << escape(s.name) << "\" points=\"" << points
        << "\" fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\"/>\n";
    for (const auto& [x, y] : s.points) {
      svg << "<circle class=\"point\" data-series=\"" << escape(s.name) << "\" data-x=\"" << num(x) << "\" data-y=\""
          << num(y) << "\" cx=\"" << num(sx(x)) << "\" cy=\"" << num(sy(y)) << "\" r=\"3.5\" fill=\"" << c
          << "\"><title>" << escape(s.name) << ": " << num(x) << ", " << num(y) << "</title></circle>\n";
    }
    svg << "<line x1=\"" << num(kLeft + w + 15) << "\" x2=\"" << num(kLeft + w + 40) << "\" y1=\"" << num(legend_y)
        << "\" y2=\"" << num(legend_y) << "\" stroke=\"" << c << "\" stroke-width=\"2\"/>\n";
    svg << "<text class=\"legend\" x=\"" << num(kLeft + w + 45) << "\" y=\"" << num(legend_y + 4)
        << "\" font-size=\"12\">" << escape(s.name) << "</text>\n";
    legend_y += 18;
  }
  svg << "</g>\n";
}

const json& need(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw PlotError(where + ": no \"" + key + "\" field");
  return j.at(key);
}

double number(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  if (!v.is_number()) throw PlotError(where + ": \"" + key + "\" is not a number");
  return v.get<double>();
}

std::string text(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  if (!v.is_string()) throw PlotError(where + ": \"" + key + "\" is not a string");
  return v.get<std::string>();
}

std::string caption(const json& r) {
  const json& m = need(r, "machine", "the report");
  const std::string commit = r.value("commit", r.value("git_commit", std::string("unknown")));
  const std::string version = r.value("version", r.value("pfrt_version", std::string("?")));
  return "pfrt " + version + " (commit " + commit + ") on " + m.value("cpu_model", std::string("?")) + ", " +
         std::to_string(m.value("cores", 0)) + " cores, " + m.value("cpu_isa", std::string("")) + "; backend " +
         r.value("backend", std::string("?")) + ", batch " + std::to_string(r.value("batch", 1));
}

std::vector<Panel> sweep_panels(const json& r) {
  std::map<std::pair<uint64_t, std::string>, Series> lines;  // by threads, then kind
  const json& rows = need(r, "rows", "the sweep report");
  if (!rows.is_array()) throw PlotError("the sweep report: \"rows\" is not an array");
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string where = "rows[" + std::to_string(i) + "]";
    const std::string kind = text(rows[i], "kind", where);
    const auto threads = uint64_t(number(rows[i], "threads", where));
    Series& s = lines[{threads, kind}];
    s.name = (kind == "parallel" ? "parallel branches, " : "serial blocks, ") + std::to_string(threads) +
             (threads == 1 ? " thread" : " threads");
    s.points.emplace_back(number(rows[i], "depth", where), number(rows[i], "p50_ms", where));
  }
  Panel p;
  const json& shape = r.value("shape", json::object());
  p.title = "p50 latency against depth (blocks of D = " + std::to_string(shape.value("embed_dim", 0)) + ", " +
            std::to_string(shape.value("image_size", 0)) + "x" + std::to_string(shape.value("image_size", 0)) +
            " images)";
  p.x_label = "depth (branches B for parallel, blocks L for serial)";
  p.y_label = "p50 latency (ms)";
  for (auto& [key, s] : lines) {
    std::sort(s.points.begin(), s.points.end());
    p.series.push_back(std::move(s));
  }
  return {p};
}

std::vector<Panel> prefix_panels(const json& r) {
  Panel latency, accuracy;
  Series p50{"p50", {}}, p99{"p99", {}}, acc{"accuracy", {}};
  const json& rows = need(r, "rows", "the prefix-sweep report");
  if (!rows.is_array()) throw PlotError("the prefix-sweep report: \"rows\" is not an array");
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string where = "rows[" + std::to_string(i) + "]";
    const double k = number(rows[i], "branches", where);
    p50.points.emplace_back(k, number(rows[i], "p50_ms", where));
    p99.points.emplace_back(k, number(rows[i], "p99_ms", where));
    const json& a = need(rows[i], "accuracy", where);
    if (a.is_number()) acc.points.emplace_back(k, 100.0 * a.get<double>());
  }
  const json& model = r.value("model", json::object());
  const std::string name = model.is_object()   ? model.value("path", std::string("model"))
                           : model.is_string() ? model.get<std::string>()
                                               : std::string("model");
  latency.title = "Latency of the prefix of branches 1..k (" + name + ")";
  latency.x_label = "prefix k (branches)";
  latency.y_label = "latency (ms)";
  latency.series = {p50, p99};
  std::vector<Panel> panels{latency};
  if (!acc.points.empty()) {
    accuracy.title = "Accuracy of each prefix (" + r.value("training", std::string("unknown")) + " training)";
    accuracy.x_label = "prefix k (branches)";
    accuracy.y_label = "accuracy (%)";
    accuracy.y_from_zero = false;
    accuracy.series = {acc};
    panels.push_back(accuracy);
  }
  return panels;
}

}  // namespace

std::string plot_svg(const std::string& report_json) {
  json r;
  try {
    r = json::parse(report_json);
  } catch (const json::exception& e) {
    throw PlotError(std::string("not a JSON report (") + e.what() + ")");
  }
  const std::string tool = text(r, "tool", "the report");
  std::vector<Panel> panels;
  std::string under;
  try {
    if (tool == "pfrt-bench --sweep") panels = sweep_panels(r);
    else if (tool == "pfrt-bench --prefix-sweep") panels = prefix_panels(r);
    else throw PlotError("a \"" + tool + "\" report has no plot (only --sweep and --prefix-sweep reports do)");
    under = caption(r);
  } catch (const json::exception& e) {  // a field of another type than the report's (docs/json.md)
    throw PlotError(std::string("a malformed report (") + e.what() + ")");
  }
  const double height = kPanelHeight * double(panels.size()) + 40;
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(kWidth) << "\" height=\"" << num(height)
      << "\" viewBox=\"0 0 " << num(kWidth) << " " << num(height) << "\" font-family=\"sans-serif\">\n";
  svg << "<title>" << escape(tool) << "</title>\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  size_t colour = 0;
  for (size_t i = 0; i < panels.size(); ++i) draw_panel(svg, panels[i], kPanelHeight * double(i), colour);
  svg << "<text class=\"caption\" x=\"10\" y=\"" << num(height - 14) << "\" font-size=\"11\" fill=\"#444\">"
      << escape(under) << "</text>\n";
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace pfrt::tools
