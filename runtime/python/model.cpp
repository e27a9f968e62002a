// pfrt.Model: a verified model file (shared by any number of sessions and threads), its
// description, labels and input normalisation.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "pfrt/pfrt.hpp"

namespace py = pybind11;

namespace pfrt::python {
namespace {

const char* pooling_name(pfrt_pooling p) { return p == PFRT_POOLING_MEAN ? "mean" : "cls"; }

const char* training_name(pfrt_training t) {
  return t == PFRT_TRAINING_PROGRESSIVE ? "progressive" : t == PFRT_TRAINING_PLAIN ? "plain" : "unknown";
}

std::vector<std::string> labels(const Model& model) {
  std::vector<std::string> out;
  const ModelInfo info = model.info();
  for (uint32_t k = 0; k < info.classes; ++k) {
    const char* label = pfrt_model_get_label(model.get(), k);
    if (label == nullptr) return {};
    out.emplace_back(label);
  }
  return out;
}

std::vector<float> per_channel(const Model& model, const float* values) {
  return std::vector<float>(values, values + model.info().channels);
}

// uint8 pixels, (H, W), (H, W, C) or (N, H, W, C), as (N, C, H, W) float32 network input.
py::array_t<float> normalize(const Model& model, const py::array& pixels) {
  const ModelInfo info = model.info();
  const std::string s = std::to_string(info.image_size), c = std::to_string(info.channels);
  const bool grey = pixels.ndim() == 2 && info.channels == 1;
  const py::ssize_t n = pixels.ndim() == 4 ? pixels.shape(0) : 1;
  const int first = pixels.ndim() == 4 ? 1 : 0;
  const bool fits = (grey || pixels.ndim() == 3 || pixels.ndim() == 4) && n >= 1 &&
                    pixels.shape(first) == info.image_size && pixels.shape(first + 1) == info.image_size &&
                    (grey || pixels.shape(first + 2) == info.channels);
  if (!py::detail::npy_api::get().PyArray_EquivTypes_(pixels.dtype().ptr(), py::dtype::of<uint8_t>().ptr()) || !fits) {
    throw py::value_error("normalize takes uint8 pixels of shape (" + s + ", " + s + ", " + c + ") or (N, " + s + ", " +
                          s + ", " + c + ") (height, width, channels)" +
                          (info.channels == 1 ? ", or (" + s + ", " + s + ")" : "") + "; got " +
                          std::string(py::str(pixels.dtype())) + " of shape " + shape_string(pixels));
  }
  const py::array contiguous = py::array::ensure(pixels, py::array::c_style);
  const size_t image = size_t(info.channels) * info.image_size * info.image_size;
  py::array_t<float> out(
      {py::ssize_t(n), py::ssize_t(info.channels), py::ssize_t(info.image_size), py::ssize_t(info.image_size)});
  const auto* in = static_cast<const uint8_t*>(contiguous.data());
  float* to = out.mutable_data();
  for (py::ssize_t i = 0; i < n; ++i) {
    detail::check(pfrt_model_normalize_u8(model.get(), in + size_t(i) * image, image, to + size_t(i) * image, image));
  }
  return out;
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<ModelInfo>(m, "ModelInfo", "What a model is: its shape, size and cost.")
      .def_readonly("image_size", &ModelInfo::image_size, "input is channels x image_size x image_size")
      .def_readonly("channels", &ModelInfo::channels)
      .def_readonly("patch_size", &ModelInfo::patch_size)
      .def_readonly("embed_dim", &ModelInfo::embed_dim)
      .def_readonly("heads", &ModelInfo::heads)
      .def_readonly("head_dim", &ModelInfo::head_dim)
      .def_readonly("mlp_dim", &ModelInfo::mlp_dim)
      .def_readonly("branches", &ModelInfo::branches)
      .def_readonly("blocks_per_branch", &ModelInfo::blocks_per_branch)
      .def_readonly("classes", &ModelInfo::classes)
      .def_readonly("tokens", &ModelInfo::tokens, "patches + 1 (class token)")
      .def_property_readonly(
          "pooling", [](const ModelInfo& i) { return pooling_name(i.pooling); }, "'cls' or 'mean'")
      .def_property_readonly(
          "training", [](const ModelInfo& i) { return training_name(i.training); },
          "'progressive' (every prefix of branches was trained), 'plain' or 'unknown'")
      .def_readonly("parameters", &ModelInfo::parameters)
      .def_readonly("flops", &ModelInfo::flops, "operations of one image through all branches")
      .def_readonly("flops_per_branch", &ModelInfo::flops_per_branch)
      .def_readonly("file_size", &ModelInfo::file_size)
      .def_property_readonly(
          "precision",
          [](const ModelInfo& i) {
            return i.precision == PFRT_PRECISION_INT8 ? "int8" : i.precision == PFRT_PRECISION_F16 ? "f16" : "f32";
          },
          "how the GEMM weights are stored: 'f32', 'f16' or 'int8'")
      .def_property_readonly(
          "activations",
          [](const ModelInfo& i) {
            return i.activations == PFRT_ACTIVATIONS_DYNAMIC_PER_ROW ? "dynamic per row" : "none";
          },
          "how int8 GEMM inputs are quantised: 'dynamic per row', or 'none'")
      .def("__repr__", [](const ModelInfo& i) {
        return "<pfrt.ModelInfo " + std::to_string(i.branches) + " branches x " + std::to_string(i.blocks_per_branch) +
               " blocks, " + std::to_string(i.image_size) + "x" + std::to_string(i.image_size) + "x" +
               std::to_string(i.channels) + ", " + std::to_string(i.classes) + " classes>";
      });

  py::class_<Model>(m, "Model", "A verified pfrt model file, shared by any number of sessions and threads.")
      .def(py::init([](const std::string& path) {
             py::gil_scoped_release release;  // reading and verifying a large file
             return Model::open(path);
           }),
           py::arg("path"), "Opens and verifies a model file (made by pfrt-convert).")
      .def_static(
          "from_bytes",
          [](const py::bytes& data) {
            const std::string bytes = data;
            return Model::from_buffer(bytes.data(), bytes.size());
          },
          py::arg("data"), "A model from the bytes of a model file.")
      .def_property_readonly("info", &Model::info)
      .def_property_readonly("labels", &labels, "One label per class, or [] when the model stores none.")
      .def_property_readonly("name", &Model::name)
      .def(
          "metadata",
          [](const Model& model, const std::string& key) -> std::optional<std::string> {
            const char* v = pfrt_model_get_metadata(model.get(), key.c_str());
            return v ? std::optional<std::string>(v) : std::nullopt;
          },
          py::arg("key"), "A metadata value (producer, producer_version, source_sha256, ...), or None.")
      .def_property_readonly(
          "mean", [](const Model& model) { return per_channel(model, pfrt_model_get_input_mean(model.get())); })
      .def_property_readonly(
          "std", [](const Model& model) { return per_channel(model, pfrt_model_get_input_std(model.get())); })
      .def_property_readonly(
          "input_shape",
          [](const Model& model) {
            const ModelInfo i = model.info();
            return py::make_tuple(i.channels, i.image_size, i.image_size);
          },
          "(channels, height, width) of one image")
      .def("normalize", &normalize, py::arg("pixels"),
           "uint8 pixels, (H, W, C) or (N, H, W, C) (or (H, W) for a grey model) of the model's size, as the network's "
           "input: float32 (N, C, H, W), (pixel / 255 - mean) / std.")
      .def("__repr__", [](const Model& model) { return "<pfrt.Model '" + model.name() + "'>"; });
}

}  // namespace pfrt::python
