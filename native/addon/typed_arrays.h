// TypedArray ↔ core dtype ↔ element size, as data (STYLE habit 9), and the views of the caller's
// buffers that the core reads. A TypedArray of any other kind is a NativeTypeError.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <napi.h>

#include "../core/losses.h"

namespace segloss::addon {

struct ScalarTypeEntry {
  napi_typedarray_type array;
  ScalarType type;
  size_t elementSize;
};
struct LabelTypeEntry {
  napi_typedarray_type array;
  LabelType type;
  size_t elementSize;
};

inline constexpr std::array<ScalarTypeEntry, 2> kScalarTypes{{
    {napi_float32_array, ScalarType::Float32, sizeof(float)},
    {napi_float64_array, ScalarType::Float64, sizeof(double)},
}};
inline constexpr std::array<LabelTypeEntry, 3> kLabelTypes{{
    {napi_uint8_array, LabelType::UInt8, sizeof(uint8_t)},
    {napi_uint16_array, LabelType::UInt16, sizeof(uint16_t)},
    {napi_int32_array, LabelType::Int32, sizeof(int32_t)},
}};
static_assert(sizeof(float) == 4 && sizeof(double) == 8, "Float32Array / Float64Array element sizes");

// A TypedArray's data and element count, with its core type.
struct ScalarView {
  void* data = nullptr;
  int64_t length = 0;
  ScalarType type = ScalarType::Float32;
};
struct LabelView {
  const void* data = nullptr;
  int64_t length = 0;
  LabelType type = LabelType::Int32;
};

// Float32Array / Float64Array → ScalarView (NativeTypeError otherwise); `name` is for messages.
ScalarView readScalarArray(Napi::Value value, const char* name);
// Uint8Array / Uint16Array / Int32Array → LabelView (NativeTypeError otherwise).
LabelView readLabelArray(Napi::Value value, const char* name);

// The core's view of logits [B, C, N] and target [B, N]; checks lengths against the dims.
// Activation and ignore fields are left at their defaults (each loss term sets them).
LossTensors makeLossTensors(const ScalarView& logits, const LabelView& target, int64_t batch, int64_t channels,
                            int64_t pixels);

}  // namespace segloss::addon
