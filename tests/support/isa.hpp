// Kernel tests run every instruction-set variant of the cpu kernels this machine has (AVX-512,
// AVX2+FMA and SSE2 on most x86-64 machines), not only the one dispatch picks: for_each_isa
// switches the dispatch (kernels::use_isa, a test hook) for each and restores it afterwards;
// for_each_int8_isa does the same for the int8 GEMM kernels (kernels::use_int8_isa), and
// for_each_f16_isa for the f16 GEMM kernels (kernels::use_f16_isa).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "cpu/kernels/kernels.hpp"

namespace pfrt::test {

// Calls use(saved) when it goes out of scope: a test hook's choice restored.
class Restore {
 public:
  Restore(std::string saved, void (*use)(const char*)) : saved_(std::move(saved)), use_(use) {}
  ~Restore() { use_(saved_.c_str()); }
  Restore(const Restore&) = delete;
  Restore& operator=(const Restore&) = delete;

 private:
  std::string saved_;
  void (*use_)(const char*);
};

// Restores the instruction set in use when it goes out of scope.
struct IsaGuard : Restore {
  IsaGuard() : Restore(cpu::kernels::kernel_isa(), &cpu::kernels::use_isa) {}
};

// Restores the f16 kernel (or "widened") in use when it goes out of scope.
struct F16Guard : Restore {
  F16Guard()
      : Restore(cpu::kernels::f16_gemm_kernel() != nullptr ? cpu::kernels::f16_gemm_kernel()->isa : "widened",
                &cpu::kernels::use_f16_isa) {}
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

// Calls body() once per f16 GEMM kernel this CPU runs, with that kernel dispatched; where there
// is none (x86), says so and calls nothing.
template <class F>
void for_each_f16_isa(const F& body) {
  F16Guard guard;
  if (cpu::kernels::supported_f16_isas().empty()) {
    MESSAGE("skipped: this CPU has no f16 arithmetic (ARMv8.2 FP16), f16 models run widened to f32");
  }
  for (const char* name : cpu::kernels::supported_f16_isas()) {
    const std::string isa = name;
    CAPTURE(isa);
    cpu::kernels::use_f16_isa(name);
    body();
  }
}

}  // namespace pfrt::test
