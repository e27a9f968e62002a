// The JSON writer's output parses back (nlohmann::json) to the values written.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "json_writer.hpp"

using namespace pfrt::tools;

TEST_CASE("json: nested objects and arrays, escapes and non-finite numbers round-trip") {
  std::ostringstream out;
  JsonWriter j(out);
  j.begin_object();
  j.field("text", "quote \" backslash \\ newline \n tab \t bell \x07");
  j.field("pi", 3.14159265358979).field("big", uint64_t{18446744073709551615ull}).field("neg", int64_t{-5});
  j.field("yes", true).field("inf", std::numeric_limits<double>::infinity());
  j.key("empty").begin_array().end_array();
  j.key("none").begin_object().end_object();
  j.key("rows").begin_array();
  j.begin_object().field("k", 1).end_object();
  j.begin_array().value(1.5).value("x").null().end_array();
  j.end_array();
  j.end_object();
  const nlohmann::json v = nlohmann::json::parse(out.str());
  CHECK(v["text"] == "quote \" backslash \\ newline \n tab \t bell \x07");
  CHECK(v["pi"].get<double>() == doctest::Approx(3.14159265358979).epsilon(1e-8));
  CHECK(v["big"].get<uint64_t>() == 18446744073709551615ull);
  CHECK(v["neg"] == -5);
  CHECK(v["yes"] == true);
  CHECK(v["inf"].is_null());
  CHECK(v["empty"].empty());
  CHECK(v["none"].is_object());
  CHECK(v["rows"][0]["k"] == 1);
  CHECK(v["rows"][1][0] == 1.5);
  CHECK(v["rows"][1][1] == "x");
  CHECK(v["rows"][1][2].is_null());
}
