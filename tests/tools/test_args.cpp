// Argument parsing of the tools: values, flags, positional arguments and every error path.
#include <doctest/doctest.h>

#include <vector>

#include "args.hpp"
#include "common.hpp"
#include "cpu/cpu_backend.hpp"

using namespace pfrt::tools;

namespace {

ArgParser parser() {
  ArgParser a("prog", "MODEL");
  a.flag("json", "json");
  a.option("runs", "N", "runs");
  a.option("eval", "IMAGES LABELS", "eval", 2);
  return a;
}

void parse(ArgParser& a, std::vector<const char*> argv) {
  argv.insert(argv.begin(), "prog");
  a.parse(int(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("args: flags, values, '=' values, two-value options and positionals") {
  ArgParser a = parser();
  parse(a, {"model.pfrt", "--json", "--runs=7", "--eval", "i.idx", "l.idx", "--", "--not-an-option"});
  CHECK(a.has("json"));
  CHECK(a.value("runs") == "7");
  CHECK(a.values("eval") == std::vector<std::string>{"i.idx", "l.idx"});
  CHECK(a.positional() == std::vector<std::string>{"model.pfrt", "--not-an-option"});
  CHECK_FALSE(a.has("help"));
  CHECK(a.value("missing", "fallback") == "fallback");
}

TEST_CASE("args: the last of a repeated option wins; -h is --help") {
  ArgParser a = parser();
  parse(a, {"--runs", "1", "--runs", "2", "-h"});
  CHECK(a.value("runs") == "2");
  CHECK(a.has("help"));
  CHECK(a.help().find("--eval IMAGES LABELS") != std::string::npos);
}

TEST_CASE("args: errors name the option") {
  ArgParser a = parser();
  CHECK_THROWS_WITH_AS(parse(a, {"--bogus"}), "unknown option '--bogus' (see --help)", UsageError);
  ArgParser b = parser();
  CHECK_THROWS_WITH_AS(parse(b, {"--runs"}), "option '--runs' needs a value (N)", UsageError);
  ArgParser c = parser();
  CHECK_THROWS_WITH_AS(parse(c, {"--eval", "x"}), "option '--eval' needs 2 values (IMAGES LABELS)", UsageError);
  ArgParser d = parser();
  CHECK_THROWS_WITH_AS(parse(d, {"--json=1"}), "option '--json' takes no value", UsageError);
  ArgParser e = parser();
  CHECK_THROWS_AS(parse(e, {"-x"}), UsageError);
}

TEST_CASE("args: typed values are checked") {
  CHECK(parse_uint("runs", "42", 1, 100) == 42);
  CHECK_THROWS_WITH_AS(parse_uint("runs", "0", 1, 100), "option '--runs': '0' is out of range [1, 100]", UsageError);
  CHECK_THROWS_WITH_AS(parse_uint("runs", "-3", 1, 100), "option '--runs': '-3' is not a non-negative integer",
                       UsageError);
  CHECK_THROWS_AS(parse_uint("runs", "", 0, 100), UsageError);
  CHECK_THROWS_AS(parse_uint("runs", "99999999999999999999999", 0, UINT64_MAX), UsageError);
  CHECK(parse_double("min-seconds", "0.25", 0, 10) == 0.25);
  CHECK_THROWS_AS(parse_double("min-seconds", "1s", 0, 10), UsageError);
  CHECK_THROWS_AS(parse_double("min-seconds", "nan", 0, 10), UsageError);
  CHECK_THROWS_AS(parse_double("min-seconds", "11", 0, 10), UsageError);
  CHECK(parse_uint_list("branches", "1,2,4,8,12", 1, 64) == std::vector<uint32_t>{1, 2, 4, 8, 12});
  CHECK_THROWS_AS(parse_uint_list("branches", "1,,2", 1, 64), UsageError);
  CHECK_THROWS_AS(parse_uint_list("branches", "1,2,", 1, 64), UsageError);
  CHECK_THROWS_AS(parse_uint_list("branches", "", 1, 64), UsageError);
}

TEST_CASE("args: CPU masks as lists or hexadecimal") {
  CHECK(parse_cpu_mask("affinity", "0") == 0x1);
  CHECK(parse_cpu_mask("affinity", "0,2-3") == 0xD);
  CHECK(parse_cpu_mask("affinity", "63") == uint64_t{1} << 63);
  CHECK(parse_cpu_mask("affinity", "0x5") == 0x5);
  CHECK_THROWS_AS(parse_cpu_mask("affinity", "0x0"), UsageError);
  CHECK_THROWS_AS(parse_cpu_mask("affinity", "0xZ"), UsageError);
  CHECK_THROWS_AS(parse_cpu_mask("affinity", "64"), UsageError);
  CHECK_THROWS_AS(parse_cpu_mask("affinity", "3-1"), UsageError);
  CHECK_THROWS_AS(parse_cpu_mask("affinity", "1,"), UsageError);
}

TEST_CASE("session options: a backend that cannot run is named once, with its reason") {
  // Regression: "backend 'cuda' cannot run here: backend 'cuda' cannot run here: ...".
  pfrt::cpu::set_unavailable_for_testing("no usable instruction set (test hook)");
  ArgParser a("prog", "MODEL");
  add_session_options(a);
  parse(a, {"--backend", "cpu"});
  CHECK_THROWS_WITH_AS(session_options(a), "backend 'cpu' cannot run here: no usable instruction set (test hook)",
                       pfrt::Error);
  pfrt::cpu::set_unavailable_for_testing("");
}
