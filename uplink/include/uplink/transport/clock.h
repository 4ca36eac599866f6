// The time seam of the uplink's timers (STYLE.md 4.8): retry, resend and heartbeat deadlines use
// a Clock&, so tests drive them with a fake clock instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace uplink {

// Source of monotonic time (deadlines) and wall time (envelope created-at). Implementations
// must be safe to call from the one thread that uses the object that borrows them.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  // µs since the Unix epoch.
  virtual int64_t WallMicros() = 0;
};

// The real clocks. Stateless, thread-safe.
class SystemClock : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  int64_t WallMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace uplink
