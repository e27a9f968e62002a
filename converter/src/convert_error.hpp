// The converter reports every problem with its input as a ConvertError whose message names the
// file and the tensor or field at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace pfrt::convert {

class ConvertError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pfrt::convert
