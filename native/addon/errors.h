// The one place where C++ exceptions become JavaScript errors (STYLE habit 7). Every binding runs
// its native work through guardNative(); an async worker captures the failure in Execute() with
// captureFailure() (no Node-API there) and turns it into a JS error on the main thread with
// toJsError(). User-facing wording lives in TypeScript: these messages report broken invariants.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include <napi.h>

namespace segloss::addon {

// The `code` property of every error raised by native code.
inline constexpr const char* kNativeErrorCode = "SEGLOSS_NATIVE";

// Thrown by the conversions when a JavaScript value has the wrong type (→ TypeError).
class NativeTypeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// What went wrong, detached from Node-API so a worker thread can hold it.
struct NativeFailure {
  enum class Kind { Type, Range, Generic };
  Kind kind = Kind::Generic;
  std::string message;
  std::string code = kNativeErrorCode;  // the JavaScript error's `code`
};

// Classifies an exception: NativeTypeError → Type, LossArgumentError / std::invalid_argument /
// std::out_of_range → Range, any other std::exception → Generic, anything else → Generic.
NativeFailure captureFailure(std::exception_ptr error) noexcept;

// TypeError, RangeError or Error with the failure's message and code (default 'SEGLOSS_NATIVE').
Napi::Error toJsError(Napi::Env env, const NativeFailure& failure);

// Runs f(); a C++ exception becomes a thrown JavaScript error (a Napi::Error passes unchanged).
template <class F>
decltype(auto) guardNative(Napi::Env env, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw toJsError(env, captureFailure(std::current_exception()));
  }
}

}  // namespace segloss::addon
