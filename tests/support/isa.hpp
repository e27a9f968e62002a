// Kernel tests run every instruction-set variant of the cpu kernels this machine has (AVX-512,
// AVX2+FMA and SSE2 on most x86-64 machines), not only the one dispatch picks: for_each_isa
// switches the dispatch (kernels::use_isa, a test hook) for each and restores it afterwards;
// for_each_int8_isa does the same for the int8 GEMM kernels (kernels::use_int8_isa).
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "cpu/kernels/kernels.hpp"

namespace pfrt::test {

// Restores the instruction set chosen at start-up when it goes out of scope.
class IsaGuard {
 public:
  IsaGuard() : saved_(cpu::kernels::kernel_isa()) {}
  ~IsaGuard() { cpu::kernels::use_isa(saved_.c_str()); }
  IsaGuard(const IsaGuard&) = delete;
  IsaGuard& operator=(const IsaGuard&) = delete;

 private:
  std::string saved_;
};

// Calls body() once per instruction set this CPU runs, with that set dispatched.
template <class F>
void for_each_isa(const F& body) {
  IsaGuard guard;
  for (const char* isa : cpu::kernels::supported_isas()) {
    CAPTURE(isa);
    cpu::kernels::use_isa(isa);
    body();
  }
}

// Calls body() once per int8 GEMM kernel this CPU runs (all of them, whatever set is in use),
// with that kernel dispatched.
template <class F>
void for_each_int8_isa(const F& body) {
  IsaGuard guard;
  for (const char* name : cpu::kernels::supported_int8_isas()) {
    const std::string isa = name;
    CAPTURE(isa);
    cpu::kernels::use_int8_isa(name);
    body();
  }
}

}  // namespace pfrt::test
