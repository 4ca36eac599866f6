// RAII for C handles (STYLE.md 4.4): take ownership on the line that creates the handle.
// sensor_capture's own copy of the helper; header-only, no state.
#pragma once

#include <memory>

namespace sensor {

template <auto Fn>
struct CDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};

template <class T, auto Fn>
using CPtr = std::unique_ptr<T, CDeleter<Fn>>;

}  // namespace sensor
