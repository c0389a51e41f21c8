// The usual helper for std::visit with one lambda per alternative.
#pragma once

namespace lifeboat {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// C++20 deduces this by itself; spelled out for Clang 16 (the fuzz build), which does not yet.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace lifeboat
