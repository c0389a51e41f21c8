// An enum's values paired with what they are elsewhere (their words in stores, lines and JSON, or
// the wire's enum), in one table read both ways, so that the two directions cannot disagree and
// each conversion is a row rather than a switch written twice. For an enum that is only ever
// named, never read back, a switch stays the better tool: the compiler checks it covers every
// value.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace lifeboat {

template <typename A, typename B, size_t N>
class EnumTable {
 public:
  constexpr explicit EnumTable(const std::array<std::pair<A, B>, N>& pairs) : pairs_(pairs) {}

  // What `a` is paired with; nothing for a value the table lacks.
  [[nodiscard]] constexpr std::optional<B> To(A a) const {
    for (const auto& [x, y] : pairs_)
      if (x == a) return y;
    return std::nullopt;
  }
  // The value paired with `b` (words compare as text); nothing for one the table lacks.
  [[nodiscard]] constexpr std::optional<A> From(B b) const {
    for (const auto& [x, y] : pairs_)
      if (Same(y, b)) return x;
    return std::nullopt;
  }

 private:
  static constexpr bool Same(B a, B b) {
    if constexpr (std::is_same_v<B, const char*>)
      return std::string_view(a) == std::string_view(b);
    else
      return a == b;
  }
  std::array<std::pair<A, B>, N> pairs_;
};

// MakeEnumTable<Enum, const char*>({{Enum::kX, "x"}, ...}): the table of those pairs.
template <typename A, typename B, size_t N>
constexpr EnumTable<A, B, N> MakeEnumTable(const std::pair<A, B> (&pairs)[N]) {
  std::array<std::pair<A, B>, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = pairs[i];
  return EnumTable<A, B, N>(out);
}

}  // namespace lifeboat
