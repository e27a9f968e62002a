// pfrt.Session: one stream of inferences over a model. run() reads the caller's float32 array
// in place and releases the GIL while pfrt runs, so sessions on several Python threads run at
// once; cancel() may come from any thread.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "pfrt/pfrt.hpp"

namespace py = pybind11;

namespace pfrt::python {
namespace {

struct PySession {
  PySession(const Model& m, const SessionOptions& options) : model(m), info(m.info()), session(m, options) {}
  Model model;
  ModelInfo info;
  Session session;
  std::atomic<bool> running{false};  // a pfrt session runs on one thread at a time
};

struct PyRunResult {
  py::array_t<float> logits;
  uint32_t branches_used = 0;
  uint32_t batch = 0;
  bool deadline_reached = false;
  double elapsed_ms = 0.0;
};

// Bit i set for each CPU i: from an int mask or an iterable of CPU indices.
uint64_t affinity_mask(const py::object& affinity) {
  if (affinity.is_none()) return 0;
  if (py::isinstance<py::int_>(affinity)) return affinity.cast<uint64_t>();
  uint64_t mask = 0;
  for (const py::handle cpu : affinity) {
    const int64_t i = cpu.cast<int64_t>();
    if (i < 0 || i > 63) throw py::value_error("affinity: CPU " + std::to_string(i) + " is not in 0..63");
    mask |= uint64_t{1} << i;
  }
  return mask;
}

PyRunResult run(PySession& s, const py::object& x_object, uint32_t branches, double deadline_ms, bool best_prefix,
                const std::optional<py::array>& out) {
  if (!py::isinstance<py::array>(x_object)) {
    throw py::value_error("x must be a numpy array of float32 (N, C, H, W), got " +
                          std::string(py::str(py::type::of(x_object).attr("__name__"))));
  }
  const py::array x = py::reinterpret_borrow<py::array>(x_object);
  const size_t batch = check_input(x, s.info.channels, s.info.image_size, "x");
  py::array_t<float> logits;
  if (out) {
    check_output(*out, batch, s.info.classes);
    logits = py::reinterpret_borrow<py::array_t<float>>(*out);
  } else {
    logits = py::array_t<float>({py::ssize_t(batch), py::ssize_t(s.info.classes)});
  }
  if (std::isnan(deadline_ms)) throw py::value_error("deadline_ms is NaN: give milliseconds >= 0 (0: no deadline)");
  if (!(deadline_ms >= 0.0)) throw py::value_error("deadline_ms must be >= 0 (0: no deadline)");
  RunOptions options;
  options.branches = branches;
  options.budget_ms = deadline_ms;
  options.best_prefix = best_prefix;
  if (s.running.exchange(true)) {
    throw py::value_error(
        "this session is running on another thread: a session runs one batch at a time; "
        "give each thread a session of its own");
  }
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag.store(false); }
  } done{s.running};
  const float* input = static_cast<const float*>(x.data());
  float* to = logits.mutable_data();
  const size_t input_floats = size_t(x.size()), logits_floats = size_t(logits.size());
  RunResult r;
  {
    py::gil_scoped_release release;
    r = s.session.run(input, input_floats, to, logits_floats, options);
  }
  return PyRunResult{logits, r.branches_used, r.batch, r.deadline_reached, r.elapsed_ms};
}

}  // namespace

void bind_session(py::module_& m) {
  py::class_<PyRunResult>(m, "RunResult", "What Session.run_ex returns: the logits and how they were made.")
      .def_readonly("logits", &PyRunResult::logits, "float32 (batch, classes)")
      .def_readonly("branches_used", &PyRunResult::branches_used, "length of the prefix of branches summed")
      .def_readonly("batch", &PyRunResult::batch)
      .def_readonly("deadline_reached", &PyRunResult::deadline_reached,
                    "True: a best-prefix answer cut short by the deadline")
      .def_readonly("elapsed_ms", &PyRunResult::elapsed_ms)
      .def("__repr__", [](const PyRunResult& r) {
        return "<pfrt.RunResult batch " + std::to_string(r.batch) + ", " + std::to_string(r.branches_used) +
               " branches" + (r.deadline_reached ? ", deadline reached" : "") + ", " + std::to_string(r.elapsed_ms) +
               " ms>";
      });

  const char* run_doc =
      "Runs a batch. x: float32 (N, C, H, W), C-contiguous (read in place, never copied). branches: run only the "
      "prefix of branches 1..branches (0: all). deadline_ms: > 0 gives the run that long; past it the run raises "
      "DeadlineExceededError, or with best_prefix=True answers with the longest prefix of branches that finished. "
      "out: optional float32 (N, classes) array to write the logits into.";
  py::class_<PySession>(m, "Session",
                        "One stream of inferences over a model: use one session per thread. The GIL is released "
                        "while it runs.")
      .def(py::init([](const Model& model, const std::optional<std::string>& backend, int32_t threads, int32_t spin_us,
                       const py::object& affinity) {
             SessionOptions o;
             o.backend = backend.value_or("");
             o.threads = threads;
             o.spin_us = spin_us;
             o.affinity_mask = affinity_mask(affinity);
             py::gil_scoped_release release;  // weight packing
             return new PySession(model, o);
           }),
           py::arg("model"), py::kw_only(), py::arg("backend") = py::none(), py::arg("threads") = 0,
           py::arg("spin_us") = -1, py::arg("affinity") = py::none(),
           "backend: 'cpu' (None: the default), 'reference' or 'cuda'. threads: 0 for every online core. spin_us: "
           "how long idle workers spin before sleeping (-1: the default, 0: never). affinity: a CPU mask (int) or "
           "CPU indices to pin the workers to.")
      .def_property_readonly("backend", [](const PySession& s) { return s.session.backend(); })
      .def_property_readonly("threads", [](const PySession& s) { return s.session.threads(); })
      .def_property_readonly("model", [](const PySession& s) { return s.model; })
      .def(
          "describe", [](const PySession& s) { return s.session.describe(); }, "One line on how the session runs.")
      .def(
          "run",
          [](PySession& s, const py::object& x, uint32_t branches, double deadline_ms, bool best_prefix,
             const std::optional<py::array>& out) { return run(s, x, branches, deadline_ms, best_prefix, out).logits; },
          py::arg("x"), py::kw_only(), py::arg("branches") = 0, py::arg("deadline_ms") = 0.0,
          py::arg("best_prefix") = false, py::arg("out") = py::none(),
          (std::string(run_doc) + " Returns the logits, float32 (N, classes).").c_str())
      .def("run_ex", &run, py::arg("x"), py::kw_only(), py::arg("branches") = 0, py::arg("deadline_ms") = 0.0,
           py::arg("best_prefix") = false, py::arg("out") = py::none(),
           (std::string(run_doc) + " Returns a RunResult: the logits and the branches used.").c_str())
      .def(
          "cancel", [](PySession& s) { s.session.cancel(); },
          "Thread-safe: the run in progress stops at its next check and raises CancelledError.")
      .def(
          "profile",
          [](const PySession& s) {
            const Profile p = s.session.profile();
            py::dict d;
            d["stem_ms"] = p.stem_ms;
            d["branches_ms"] = p.branches_ms;
            d["head_ms"] = p.head_ms;
            d["longest_branch_ms"] = p.longest_branch_ms;
            d["branch_ms"] = p.branch_ms;
            py::dict stages;  // name -> {"ms", "flops"}; empty where the backend does not time stages
            for (const StageTime& t : p.stages) {
              py::dict stage;
              stage["ms"] = t.ms;
              stage["flops"] = t.flops;
              stages[py::str(t.name)] = stage;
            }
            d["stages"] = stages;
            return d;
          },
          "Where the last run's time went: stem_ms, branches_ms, head_ms, longest_branch_ms, branch_ms (per branch), "
          "stages (per kind of stage: ms and flops).")
      .def("__repr__", [](const PySession& s) { return "<pfrt.Session " + s.session.describe() + ">"; });
}

}  // namespace pfrt::python
