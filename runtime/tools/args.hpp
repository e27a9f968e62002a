// Command-line parsing for the tools: options are declared with their help text, then parse()
// fills their values and the positional arguments, or throws UsageError naming what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace pfrt::tools {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ArgParser {
 public:
  ArgParser(std::string program, std::string synopsis);

  // --name (no value).
  void flag(const std::string& name, const std::string& help);
  // --name VALUE... (value_count values; "--name=VALUE" also accepted when value_count is 1).
  void option(const std::string& name, const std::string& metavar, const std::string& help, int value_count = 1);

  // --old_name is accepted as a deprecated spelling of --name (a warning on stderr).
  void alias(const std::string& old_name, const std::string& name);

  // argv[0] is skipped. "--" ends the options. Throws UsageError.
  void parse(int argc, const char* const* argv);

  bool has(const std::string& name) const;
  // The value of a one-value option, or `fallback` when absent.
  std::string value(const std::string& name, const std::string& fallback = "") const;
  // All values of an option (empty when absent).
  std::vector<std::string> values(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string help() const;

 private:
  struct Spec {
    std::string metavar;
    std::string help;
    int value_count = 0;
  };
  std::string program_, synopsis_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> aliases_;  // deprecated spelling -> option
  std::map<std::string, std::vector<std::string>> given_;
  std::vector<std::string> positional_;
};

// Typed option values, checked against a range; UsageError names the option and the text.
uint64_t parse_uint(const std::string& option, const std::string& text, uint64_t min, uint64_t max);
double parse_double(const std::string& option, const std::string& text, double min, double max);
// "1,2,4,8" -> {1, 2, 4, 8}, each in [min, max].
std::vector<uint32_t> parse_uint_list(const std::string& option, const std::string& text, uint64_t min, uint64_t max);
// A CPU affinity mask: hexadecimal "0x3", or a CPU list "0,2-3" (bit i = CPU i, CPUs 0..63).
uint64_t parse_cpu_mask(const std::string& option, const std::string& text);

}  // namespace pfrt::tools
