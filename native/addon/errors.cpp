// Exception → JavaScript error conversion (errors.h).
#include "errors.h"

#include <new>

namespace segloss::addon {

NativeFailure captureFailure(std::exception_ptr error) noexcept {
  using Kind = NativeFailure::Kind;
  try {
    std::rethrow_exception(error);
  } catch (const NativeTypeError& e) {
    return {Kind::Type, e.what()};
  } catch (const std::invalid_argument& e) {  // includes segloss::LossArgumentError
    return {Kind::Range, e.what()};
  } catch (const std::out_of_range& e) {
    return {Kind::Range, e.what()};
  } catch (const std::bad_alloc&) {
    return {Kind::Generic, "segloss: out of memory"};
  } catch (const std::exception& e) {
    return {Kind::Generic, e.what()};
  } catch (...) {
    return {Kind::Generic, "segloss: unknown native exception"};
  }
}

Napi::Error toJsError(Napi::Env env, const NativeFailure& failure) {
  using Kind = NativeFailure::Kind;
  Napi::Error error = Napi::Error::New(env, failure.message);
  if (failure.kind == Kind::Type) error = Napi::TypeError::New(env, failure.message);
  if (failure.kind == Kind::Range) error = Napi::RangeError::New(env, failure.message);
  error.Set("code", Napi::String::New(env, failure.code));
  return error;
}

}  // namespace segloss::addon
