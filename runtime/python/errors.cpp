// pfrt's statuses as Python exceptions: pfrt.Error (a RuntimeError) and one subclass per kind
// of failure, each carrying pfrt's message and, as `.status`, pfrt_status_string's name.
// Invalid arguments are also ValueErrors, files that cannot be read OSErrors.
#include <Python.h>

#include "bindings.hpp"
#include "pfrt/pfrt.hpp"

namespace py = pybind11;

namespace pfrt::python {
namespace {

struct ErrorClass {
  pfrt_status status;
  const char* name;
  PyObject* also;  // a built-in base besides pfrt.Error, or null
  const char* doc;
  PyObject* type = nullptr;
};

ErrorClass g_classes[] = {
    {PFRT_INVALID_ARGUMENT, "InvalidArgumentError", PyExc_ValueError, "A null, a wrong size or an unknown option."},
    {PFRT_IO_ERROR, "FileError", PyExc_OSError, "The file cannot be opened or read."},
    {PFRT_INVALID_MODEL, "InvalidModelError", nullptr, "Not a valid pfrt model (corrupt, truncated, inconsistent)."},
    {PFRT_UNSUPPORTED, "UnsupportedError", nullptr, "Valid, but needs a newer pfrt or a feature this build lacks."},
    {PFRT_BACKEND_ERROR, "BackendError", nullptr, "The backend cannot run (no GPU for cuda, say)."},
    {PFRT_OUT_OF_MEMORY, "OutOfMemoryError", PyExc_MemoryError, "pfrt ran out of memory."},
    {PFRT_CANCELLED, "CancelledError", nullptr, "Session.cancel() stopped the run."},
    {PFRT_DEADLINE_EXCEEDED, "DeadlineExceededError", nullptr, "The run's deadline passed before it had an answer."},
};
PyObject* g_error = nullptr;  // pfrt.Error

void raise(const pfrt::Error& e) {
  PyObject* type = g_error;
  for (const ErrorClass& c : g_classes) {
    if (c.status == e.status()) type = c.type;
  }
  py::object error = py::reinterpret_borrow<py::object>(type)(e.what());
  error.attr("status") = pfrt_status_string(e.status());
  PyErr_SetObject(type, error.ptr());
}

}  // namespace

void bind_errors(py::module_& m) {
  g_error = PyErr_NewExceptionWithDoc("pfrt.Error", "A failed pfrt call: pfrt's message, and .status (its kind).",
                                      PyExc_RuntimeError, nullptr);
  if (g_error == nullptr) throw py::error_already_set();
  m.add_object("Error", py::handle(g_error));
  for (ErrorClass& c : g_classes) {
    py::tuple bases =
        c.also ? py::make_tuple(py::handle(g_error), py::handle(c.also)) : py::make_tuple(py::handle(g_error));
    c.type = PyErr_NewExceptionWithDoc((std::string("pfrt.") + c.name).c_str(), c.doc, bases.ptr(), nullptr);
    if (c.type == nullptr) throw py::error_already_set();
    m.add_object(c.name, py::handle(c.type));
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const pfrt::Error& e) {
      raise(e);
    }
  });
}

}  // namespace pfrt::python
