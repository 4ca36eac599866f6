// The sample municipal LAN ("kommune"): who talks to whom, when, and in which protocol.
#pragma once

#include <cstdint>

#include "net.h"
#include "rules/result.h"

namespace gen_capture {

struct ScenarioOptions {
  uint64_t seed = 1;
  int hosts = 20;    // client machines on 10.20.0.0/16
  int minutes = 10;  // length of the capture
};

// Capture start: 2026-01-05T08:00:00Z.
constexpr int64_t kCaptureStartUs = int64_t{1767600000} * 1000000;

// Fills `capture` with the whole scenario; the same options always give the same frames.
rules::Result<void> GenerateScenario(const ScenarioOptions& options, Capture* capture);

}  // namespace gen_capture
