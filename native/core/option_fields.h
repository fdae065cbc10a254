// Options as data: every loss's options struct lists its fields once (name, member), and one
// generic reader (native/addon/loss_request.cpp), one checker and one binder walk that list, so a
// new loss adds no hand-written reader. Field types: bool, int, double, DoubleArray.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

namespace segloss {

// A numeric array option (class weights, a distance matrix …). `expected` says its length:
// 0 = any, kPerClass = K, kPerClassPair = K·K.
struct DoubleArray {
  std::vector<double> values;  // empty = absent
  bool empty() const { return values.empty(); }
};
inline constexpr int kAnyLength = 0;
inline constexpr int kPerClass = -1;
inline constexpr int kPerClassPair = -2;

template <class Options, class Member>
struct OptionField {
  using MemberPointer = Member Options::*;  // (an alias: nvcc's host pass rewrites the bare form with parentheses)
  const char* name;        // the resolved request's field name (as TypeScript writes it)
  MemberPointer member;
  int expectedLength = kAnyLength;  // DoubleArray only
};

template <class Options, class Member>
constexpr OptionField<Options, Member> optionField(const char* name, Member Options::*member,
                                                   int expectedLength = kAnyLength) {
  return {name, member, expectedLength};
}

// Calls f(field) for each field of Options (Options::fields() returns a tuple of OptionField).
template <class Options, class F>
void forEachField(F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, Options::fields());
}

// The expected length of an array field for K classes, or −1 when any length is allowed.
inline int64_t expectedArrayLength(int expected, int classes) {
  if (expected == kPerClass) return classes;
  if (expected == kPerClassPair) return int64_t(classes) * classes;
  return expected > 0 ? expected : -1;
}

// Where an engine's functors find array options: the host data, or a device copy.
using ArrayBinder = std::function<const double*(const DoubleArray&)>;

// What a functor is built from besides its options.
struct LossContext {
  int classes = 0;     // K
  ArrayBinder bind;    // DoubleArray → pointer valid for the engine call (nullptr when empty)
};

inline const double* hostArray(const DoubleArray& array) { return array.empty() ? nullptr : array.values.data(); }

inline LossContext hostContext(int classes) { return LossContext{classes, hostArray}; }

}  // namespace segloss
