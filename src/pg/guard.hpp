// The C++/Postgres boundary.
//
// Postgres reports errors with ereport(), which longjmps to the nearest
// sigsetjmp; C++ reports them with exceptions, which unwind and run
// destructors. Mixing them is undefined behaviour in both directions: a
// longjmp over a live C++ object skips its destructor, and an exception
// thrown through Postgres frames skips their cleanup. Two mechanisms keep
// the worlds apart:
//
// 1. Into C++: every SQL-callable function is defined with
//    LLMEVAL_PG_FUNCTION(name), which calls name##_impl inside
//    InvokeCpp(). It catches every C++ exception, copies the message into
//    stack buffers, lets the catch block end (so every destructor has run),
//    and only then raises ereport(ERROR) with an SQLSTATE chosen from the
//    exception (core::ErrorKind, a re-thrown Postgres error, bad_alloc).
//
// 2. Out to Postgres: C++ code calls any Postgres function that can
//    ereport through PgCall([&]() noexcept { ... }). PgCall sets its own
//    sigsetjmp; an error inside becomes a PgError C++ exception (carrying
//    the copied ErrorData) thrown after the jump, where unwinding is safe.
//    The lambda body must hold no C++ object with a non-trivial destructor
//    (it is skipped by the jump) and must not throw (noexcept is required).
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "pg/postgres.hpp"

namespace llmeval::pg {

// A Postgres error caught by PgCall. Owns nothing: the ErrorData is palloc'd
// in the memory context that was current when PgCall was entered.
//
// The message and SQLSTATE are also copied onto the C++ heap: a worker
// aborts the transaction (freeing that context) before it logs what().
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData* edata);
  const char* what() const noexcept override;
  // Valid only while the memory context current at PgCall's entry lives
  // (InvokeCpp re-raises it before returning to Postgres).
  ErrorData* edata() const noexcept { return edata_; }
  int sqlerrcode() const noexcept { return sqlerrcode_; }

 private:
  ErrorData* edata_;
  std::shared_ptr<const std::string> message_;
  int sqlerrcode_;
};

namespace detail {
[[noreturn]] void ThrowCaughtPgError(MemoryContext context);
}  // namespace detail

template <typename Fn>
auto PgCall(Fn&& fn) -> decltype(fn()) {
  static_assert(noexcept(fn()), "PgCall needs a noexcept callable: it must not throw");
  using Result = decltype(fn());
  static_assert(std::is_void_v<Result> || std::is_trivially_destructible_v<Result>,
                "PgCall results must be trivially destructible");
  MemoryContext context = CurrentMemoryContext;
  sigjmp_buf* volatile saved_exception_stack = PG_exception_stack;
  ErrorContextCallback* volatile saved_context_stack = error_context_stack;
  sigjmp_buf local_jump;
  if (sigsetjmp(local_jump, 0) == 0) {
    PG_exception_stack = &local_jump;
    if constexpr (std::is_void_v<Result>) {
      fn();
      PG_exception_stack = saved_exception_stack;
      error_context_stack = saved_context_stack;
      return;
    } else {
      Result result = fn();
      PG_exception_stack = saved_exception_stack;
      error_context_stack = saved_context_stack;
      return result;
    }
  }
  PG_exception_stack = saved_exception_stack;
  error_context_stack = saved_context_stack;
  detail::ThrowCaughtPgError(context);
}

// Runs impl(fcinfo) and turns any C++ exception into ereport(ERROR).
Datum InvokeCpp(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo) noexcept;

// CHECK_FOR_INTERRUPTS() from C++: a cancel or termination request becomes a
// PgError that unwinds to InvokeCpp, which re-raises it.
inline void CheckForInterrupts() {
  if (unlikely(INTERRUPTS_PENDING_CONDITION()))
    PgCall([]() noexcept { CHECK_FOR_INTERRUPTS(); });
}

}  // namespace llmeval::pg

// Defines the fmgr entry point `name`, implemented by
// `static Datum name##_impl(FunctionCallInfo fcinfo)` in the same file.
#define LLMEVAL_PG_FUNCTION(name)                                               \
  static Datum name##_impl(FunctionCallInfo fcinfo);                            \
  extern "C" {                                                                  \
  PG_FUNCTION_INFO_V1(name);                                                    \
  Datum name(PG_FUNCTION_ARGS) { return llmeval::pg::InvokeCpp(name##_impl, fcinfo); } \
  }                                                                             \
  static Datum name##_impl(FunctionCallInfo fcinfo)
