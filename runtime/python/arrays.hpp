// numpy arrays in and out of pfrt: the checks that turn a wrong dtype, shape or layout into a
// ValueError saying what was expected, before pfrt sees a pointer.
#pragma once

#include <pybind11/numpy.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pfrt::python {

// The model's input: (N, C, H, W) float32, C-contiguous, aligned, N >= 1. Returns N. `what`
// names the argument in the message. Never copies.
size_t check_input(const pybind11::array& x, uint32_t channels, uint32_t size, const char* what);

// A caller's output buffer: (batch, classes) float32, C-contiguous, aligned, writable.
void check_output(const pybind11::array& out, size_t batch, uint32_t classes);

// "(2, 3, 28, 28)": an array's shape as Python writes it.
std::string shape_string(const pybind11::array& a);

}  // namespace pfrt::python
