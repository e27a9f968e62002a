#include "cuda/dynamic_library.hpp"

#include <dlfcn.h>

namespace pfrt::cuda {

DynamicLibrary::DynamicLibrary(const char* file, const std::string& product) : file_(file), product_(product) {
  handle_ = ::dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* why = ::dlerror();
    error_ = "cannot load " + file_ + ": " + (why ? why : "unknown error") + " (install " + product_ +
             " or add its folder to LD_LIBRARY_PATH)";
  }
}

void* DynamicLibrary::lookup(const char* symbol) {
  if (!error_.empty()) return nullptr;
  void* address = ::dlsym(handle_, symbol);
  if (address == nullptr) {
    error_ = file_ + " has no " + symbol + " (older than the " + product_ + " pfrt was built with?)";
  }
  return address;
}

}  // namespace pfrt::cuda
