#include "args.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace pfrt::tools {

ArgParser::ArgParser(std::string program, std::string synopsis)
    : program_(std::move(program)), synopsis_(std::move(synopsis)) {
  flag("help", "print this help and exit");
  flag("version", "print the version and exit");
}

void ArgParser::alias(const std::string& old_name, const std::string& name) { aliases_[old_name] = name; }

void ArgParser::flag(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{"", help, 0};
}

void ArgParser::option(const std::string& name, const std::string& metavar, const std::string& help, int value_count) {
  order_.push_back(name);
  specs_[name] = Spec{metavar, help, value_count};
}

void ArgParser::parse(int argc, const char* const* argv) {
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      if (!options_done && arg.size() > 1 && arg[0] == '-' && arg != "-") {
        if (arg == "-h") {
          given_["help"] = {};
          continue;
        }
        throw UsageError("unknown option '" + arg + "' (options start with --; see --help)");
      }
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::vector<std::string> vals;
    const size_t eq = name.find('=');
    bool inline_value = false;
    if (eq != std::string::npos) {
      vals.push_back(name.substr(eq + 1));
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (const auto a = aliases_.find(name); a != aliases_.end()) {
      std::fprintf(stderr, "%s: warning: --%s is deprecated: use --%s\n", program_.c_str(), name.c_str(),
                   a->second.c_str());
      name = a->second;
    }
    const auto it = specs_.find(name);
    if (it == specs_.end()) throw UsageError("unknown option '--" + name + "' (see --help)");
    const Spec& spec = it->second;
    if (spec.value_count == 0 && inline_value) throw UsageError("option '--" + name + "' takes no value");
    if (inline_value && spec.value_count != 1) {
      throw UsageError("option '--" + name + "' takes " + std::to_string(spec.value_count) + " values, not '='");
    }
    while (int(vals.size()) < spec.value_count) {
      if (i + 1 >= argc) {
        throw UsageError("option '--" + name + "' needs " +
                         (spec.value_count == 1 ? "a value" : std::to_string(spec.value_count) + " values") + " (" +
                         spec.metavar + ")");
      }
      vals.push_back(argv[++i]);
    }
    given_[name] = vals;  // a repeated option: the last one wins
  }
}

bool ArgParser::has(const std::string& name) const { return given_.count(name) != 0; }

std::string ArgParser::value(const std::string& name, const std::string& fallback) const {
  const auto it = given_.find(name);
  if (it == given_.end() || it->second.empty()) return fallback;
  return it->second.front();
}

std::vector<std::string> ArgParser::values(const std::string& name) const {
  const auto it = given_.find(name);
  return it == given_.end() ? std::vector<std::string>{} : it->second;
}

std::string ArgParser::help() const {
  std::ostringstream out;
  out << "usage: " << program_ << " " << synopsis_ << "\n\noptions:\n";
  for (const std::string& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = "  --" + name + (s.metavar.empty() ? "" : " " + s.metavar);
    if (left.size() < 30) left.append(30 - left.size(), ' ');
    else left += "\n" + std::string(30, ' ');
    out << left << s.help << "\n";
  }
  return out.str();
}

uint64_t parse_uint(const std::string& option, const std::string& text, uint64_t min, uint64_t max) {
  const auto bad = [&](const std::string& why) {
    return UsageError("option '--" + option + "': '" + text + "' " + why);
  };
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    throw bad("is not a non-negative integer");
  }
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE || v < min || v > max) {
    throw bad("is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return v;
}

double parse_double(const std::string& option, const std::string& text, double min, double max) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v)) {
    throw UsageError("option '--" + option + "': '" + text + "' is not a number");
  }
  if (v < min || v > max) {
    std::ostringstream range;
    range << "[" << min << ", " << max << "]";
    throw UsageError("option '--" + option + "': " + text + " is out of range " + range.str());
  }
  return v;
}

std::vector<uint32_t> parse_uint_list(const std::string& option, const std::string& text, uint64_t min, uint64_t max) {
  std::vector<uint32_t> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) out.push_back(uint32_t(parse_uint(option, item, min, max)));
  if (out.empty() || (!text.empty() && text.back() == ',')) {
    throw UsageError("option '--" + option + "': '" + text + "' is not a comma-separated list of integers");
  }
  return out;
}

uint64_t parse_cpu_mask(const std::string& option, const std::string& text) {
  if (text.size() > 2 && (text.compare(0, 2, "0x") == 0 || text.compare(0, 2, "0X") == 0)) {
    const std::string digits = text.substr(2);
    if (digits.size() > 16 || digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      throw UsageError("option '--" + option + "': '" + text + "' is not a 64-bit hexadecimal mask");
    }
    const uint64_t mask = std::strtoull(digits.c_str(), nullptr, 16);
    if (mask == 0) throw UsageError("option '--" + option + "': the mask selects no CPU");
    return mask;
  }
  uint64_t mask = 0;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const size_t dash = item.find('-');
    const uint64_t first = parse_uint(option, item.substr(0, dash), 0, 63);
    const uint64_t last = dash == std::string::npos ? first : parse_uint(option, item.substr(dash + 1), 0, 63);
    if (last < first) throw UsageError("option '--" + option + "': range '" + item + "' is backwards");
    for (uint64_t c = first; c <= last; ++c) mask |= uint64_t{1} << c;
  }
  if (mask == 0 || text.back() == ',') {
    throw UsageError("option '--" + option + "': '" + text + "' is not a CPU list (0,2-3) or a mask (0x5)");
  }
  return mask;
}

}  // namespace pfrt::tools
