// The `pfrt` Python module: models, sessions and runs over numpy arrays.
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "pfrt/pfrt.h"

PYBIND11_MODULE(pfrt, m) {
  m.doc() = "pfrt: inference runtime for Para-Former networks (parallel-branch vision transformers).";
  m.attr("__version__") = pfrt_version();
  m.def(
      "backends",
      [] {
        std::vector<std::string> names;
        for (size_t i = 0; const char* name = pfrt_backend_name(i); ++i) names.emplace_back(name);
        return names;
      },
      "The backends built into this library, the default (cpu) first.");
  pfrt::python::bind_errors(m);
  pfrt::python::bind_model(m);
  pfrt::python::bind_session(m);
}
