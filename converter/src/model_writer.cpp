#include "model_writer.hpp"

#include <cstring>

#include "convert_error.hpp"
#include "pfrt_generated.h"

namespace pfrt::convert {

namespace fb = pfrt::fb;

std::vector<uint8_t> serialize_model(const format::ModelConfig& c, const std::vector<WriterTensor>& tensors,
                                     const WriterHeader& header) {
  flatbuffers::FlatBufferBuilder builder(1024);

  // Tensor data first: each vector is placed at the requested alignment of the final buffer.
  std::vector<flatbuffers::Offset<fb::Tensor>> tensor_offsets;
  std::vector<flatbuffers::Offset<flatbuffers::Vector<uint8_t>>> data_offsets;
  for (const WriterTensor& t : tensors) {
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data;
    if (t.shares_data_of >= 0 && size_t(t.shares_data_of) < data_offsets.size()) {
      data = data_offsets[size_t(t.shares_data_of)];
    } else {
      builder.ForceVectorAlignment(t.data.size(), 1, header.data_alignment);
      data = builder.CreateVector(t.data);
    }
    data_offsets.push_back(data);
    auto name = builder.CreateString(t.name);
    auto shape = builder.CreateVector(t.shape);
    tensor_offsets.push_back(fb::CreateTensor(builder, name, fb::DType(t.dtype), shape, data));
  }
  auto tensor_vector = builder.CreateVector(tensor_offsets);

  std::vector<flatbuffers::Offset<flatbuffers::String>> labels;
  for (const std::string& l : c.labels) labels.push_back(builder.CreateString(l));
  auto config = fb::CreateConfig(builder, c.image_size, c.channels, c.patch_size, c.embed_dim, c.heads, c.head_dim,
                                 c.mlp_dim, c.branches, c.blocks_per_branch, c.classes, fb::Pooling(c.pooling),
                                 fb::Residual(c.residual), fb::Gelu(c.gelu), c.layernorm_eps,
                                 c.merge_weights.empty() ? 0 : builder.CreateVector(c.merge_weights),
                                 builder.CreateVector(c.mean), builder.CreateVector(c.std),
                                 labels.empty() ? 0 : builder.CreateVector(labels), fb::TrainingMode(c.training));

  std::vector<flatbuffers::Offset<fb::KeyValue>> metadata;
  for (const auto& [key, value] : header.metadata) {
    metadata.push_back(fb::CreateKeyValue(builder, builder.CreateString(key), builder.CreateString(value)));
  }
  auto model = fb::CreateModel(builder, header.format_version, header.min_reader_version,
                               builder.CreateString(header.producer), builder.CreateString(header.producer_version),
                               builder.CreateString(header.source_sha256), builder.CreateString(header.name), config,
                               tensor_vector, builder.CreateVectorOfSortedTables(&metadata));
  const char* identifier = header.identifier.size() == 4 ? header.identifier.c_str() : nullptr;
  if (header.size_prefixed) {
    builder.FinishSizePrefixed(model, identifier);
  } else {
    builder.Finish(model, identifier);
  }
  return std::vector<uint8_t>(builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize());
}

WriterTensor f32_tensor(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
  WriterTensor t;
  t.name = std::move(name);
  t.dtype = int8_t(fb::DType::F32);
  t.shape = std::move(shape);
  t.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

}  // namespace pfrt::convert
