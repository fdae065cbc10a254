// TypedArray views (typed_arrays.h).
#include "typed_arrays.h"

#include <limits>
#include <string>

#include "errors.h"

namespace segloss::addon {
namespace {

Napi::TypedArray asTypedArray(Napi::Value value, const char* name) {
  if (!value.IsTypedArray()) throw NativeTypeError(std::string(name) + " is not a TypedArray");
  return value.As<Napi::TypedArray>();
}

// The element pointer of any TypedArray, including one over a SharedArrayBuffer (whose
// ArrayBuffer() accessor fails); null when the buffer is detached.
void* typedArrayData(Napi::TypedArray array) {
  void* data = nullptr;
  const napi_status status =
      napi_get_typedarray_info(array.Env(), array, nullptr, nullptr, &data, nullptr, nullptr);
  if (status != napi_ok) throw NativeTypeError("cannot read the TypedArray's data");
  return data;
}

int64_t checkedProduct(int64_t a, int64_t b) {
  if (a <= 0 || b <= 0) throw LossArgumentError("dimensions must be positive");
  if (a > std::numeric_limits<int64_t>::max() / b) throw LossArgumentError("dimensions overflow int64");
  return a * b;
}

}  // namespace

ScalarView readScalarArray(Napi::Value value, const char* name) {
  const Napi::TypedArray array = asTypedArray(value, name);
  for (const ScalarTypeEntry& entry : kScalarTypes) {
    if (entry.array == array.TypedArrayType()) {
      return {typedArrayData(array), static_cast<int64_t>(array.ElementLength()), entry.type};
    }
  }
  throw NativeTypeError(std::string(name) + " is not a Float32Array or Float64Array");
}

LabelView readLabelArray(Napi::Value value, const char* name) {
  const Napi::TypedArray array = asTypedArray(value, name);
  for (const LabelTypeEntry& entry : kLabelTypes) {
    if (entry.array == array.TypedArrayType()) {
      return {typedArrayData(array), static_cast<int64_t>(array.ElementLength()), entry.type};
    }
  }
  throw NativeTypeError(std::string(name) + " is not a Uint8Array, Uint16Array or Int32Array");
}

LossTensors makeLossTensors(const ScalarView& logits, const LabelView& target, int64_t batch, int64_t channels,
                            int64_t pixels) {
  const int64_t labels = checkedProduct(batch, pixels);
  if (logits.length != checkedProduct(labels, channels)) throw LossArgumentError("logits length is not B·C·N");
  if (target.length != labels) throw LossArgumentError("target length is not B·N");
  LossTensors tensors;
  tensors.logits = logits.data;
  tensors.dtype = logits.type;
  tensors.target = target.data;
  tensors.labelType = target.type;
  tensors.batch = batch;
  tensors.channels = channels;
  tensors.pixels = pixels;
  return tensors;
}

}  // namespace segloss::addon
