// The pieces of the `pfrt` Python module (module.cpp puts them together). A thin layer over
// the public C++ API (pfrt.hpp): no internal header is included.
#pragma once

#include <pybind11/pybind11.h>

namespace pfrt::python {

// pfrt.Error and its subclasses, and the translation of pfrt::Error into them.
void bind_errors(pybind11::module_& m);
// pfrt.Model and pfrt.ModelInfo.
void bind_model(pybind11::module_& m);
// pfrt.Session and pfrt.RunResult.
void bind_session(pybind11::module_& m);

}  // namespace pfrt::python
