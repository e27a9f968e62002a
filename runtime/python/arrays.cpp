#include "arrays.hpp"

#include <stdexcept>

namespace py = pybind11;

namespace pfrt::python {
namespace {

// float32 in this machine's byte order (numpy's own test of equal types).
bool is_float32(const py::array& a) {
  return py::detail::npy_api::get().PyArray_EquivTypes_(a.dtype().ptr(), py::dtype::of<float>().ptr());
}

bool c_contiguous_aligned(const py::array& a) {
  const int flags = py::detail::array_proxy(a.ptr())->flags;
  return (flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) != 0 &&
         (flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0;
}

std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

}  // namespace

std::string shape_string(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

size_t check_input(const py::array& x, uint32_t channels, uint32_t size, const char* what) {
  const std::string expected =
      "(N, " + std::to_string(channels) + ", " + std::to_string(size) + ", " + std::to_string(size) + ")";
  if (!is_float32(x)) {
    throw py::value_error(std::string(what) + " must be float32 (native byte order), got " + dtype_name(x) +
                          ": convert it with x.astype(numpy.float32)");
  }
  if (x.ndim() != 4 || x.shape(0) < 1 || x.shape(1) != channels || x.shape(2) != size || x.shape(3) != size) {
    throw py::value_error(std::string(what) + " has shape " + shape_string(x) + "; the model takes " + expected +
                          " (batch, channels, height, width), N >= 1");
  }
  if (!c_contiguous_aligned(x)) {
    throw py::value_error(std::string(what) +
                          " must be C-contiguous and aligned (pfrt reads it in place): pass "
                          "numpy.ascontiguousarray(x)");
  }
  return size_t(x.shape(0));
}

void check_output(const py::array& out, size_t batch, uint32_t classes) {
  const std::string expected = "(" + std::to_string(batch) + ", " + std::to_string(classes) + ")";
  if (!is_float32(out)) throw py::value_error("out must be float32, got " + dtype_name(out));
  if (out.ndim() != 2 || size_t(out.shape(0)) != batch || out.shape(1) != classes) {
    throw py::value_error("out has shape " + shape_string(out) + "; this run writes " + expected + " (batch, classes)");
  }
  if (!c_contiguous_aligned(out) || !out.writeable()) {
    throw py::value_error("out must be C-contiguous, aligned and writable");
  }
}

}  // namespace pfrt::python
