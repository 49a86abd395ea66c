#pragma once

namespace berth::util {

// The usual visitor helper: Overloaded{[](A){...}, [](B){...}} for std::visit.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace berth::util
