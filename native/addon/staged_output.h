// An output TypedArray that an async worker fills. The worker never writes into the caller's
// memory: a TypedArray reference keeps the JavaScript object alive but not its backing store, so
// a caller that transfers (structuredClone / postMessage), detaches or shrinks the array while the
// call runs would otherwise have the worker thread write into freed memory. The worker writes into
// bytes this object owns (a copy of the array's contents when the call starts); on the main
// thread, commit() copies them back into the array, or throws NativeTypeError when the array no
// longer has the byte length it had (the promise then rejects).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <napi.h>

#include "errors.h"

namespace segloss::addon {

class StagedOutput {
 public:
  StagedOutput() = default;  // no output
  // `array`: a TypedArray (the caller has checked its type and length); `name` is for messages.
  StagedOutput(Napi::Value array, const char* name) : name_(name) {
    const auto [data, bytes] = bytesOf(array);
    const auto* begin = static_cast<const uint8_t*>(data);
    bytes_.assign(begin, begin + bytes);
    reference_ = Napi::Persistent(array.As<Napi::Object>());
  }
  StagedOutput(StagedOutput&&) = default;
  StagedOutput& operator=(StagedOutput&&) = default;

  bool present() const { return !reference_.IsEmpty(); }
  // The worker's copy, or null when there is no output.
  void* data() { return present() ? bytes_.data() : nullptr; }

  // Main thread, after the worker: copies the result into the array.
  void commit() {
    if (!present()) return;
    const auto [data, bytes] = bytesOf(reference_.Value());
    if (bytes != bytes_.size() || (bytes > 0 && data == nullptr)) {
      throw NativeTypeError(std::string(name_) + " was detached or resized while the call ran");
    }
    if (bytes > 0) std::memcpy(data, bytes_.data(), bytes);
  }

 private:
  struct Bytes {
    void* data;
    size_t bytes;
  };
  static Bytes bytesOf(Napi::Value value) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (!value.IsTypedArray() ||
        napi_get_typedarray_info(value.Env(), value, &type, &length, &data, nullptr, nullptr) != napi_ok) {
      throw NativeTypeError("an output is not a TypedArray");
    }
    return {data, length * elementSize(type)};
  }
  static size_t elementSize(napi_typedarray_type type) {
    switch (type) {
      case napi_int8_array:
      case napi_uint8_array:
      case napi_uint8_clamped_array: return 1;
      case napi_int16_array:
      case napi_uint16_array: return 2;
      case napi_int32_array:
      case napi_uint32_array:
      case napi_float32_array: return 4;
      default: return 8;
    }
  }

  const char* name_ = "out";
  std::vector<uint8_t> bytes_;          // the worker's copy of the array's bytes
  Napi::ObjectReference reference_;     // the caller's array, written by commit()
};

}  // namespace segloss::addon
