// Application classification of flows with nDPI 4.2 (Debian). One per capture thread; not
// thread-safe. A flow's nDPI state is allocated on its first packet and freed as soon as the flow
// is classified or given up, so memory does not grow with traffic.
#pragma once

#include <cstdint>
#include <memory>

#include "rules/result.h"
#include "sensor/decode/packet.h"
#include "sensor/flow/flow_record.h"

namespace sensor {

struct ClassifierConfig {
  uint32_t max_packets_per_flow = 32;  // give up after this many packets without a verdict
};

struct ClassifierStats {
  uint64_t packets_inspected = 0;
  uint64_t flows_classified = 0;
  uint64_t flows_given_up = 0;
  uint64_t states_live = 0;  // nDPI flow states currently allocated
};

class Classifier {
 public:
  virtual ~Classifier() = default;
  // Hands one packet of `flow` to DPI unless flow.classification.done; fills
  // flow.classification (service, application) and frees the DPI state when done.
  virtual void Inspect(FlowRecord& flow, const DecodedPacket& packet, bool from_orig) = 0;
  // Last chance at the end of a flow: nDPI's guess from what it saw; frees the state.
  virtual void Finish(FlowRecord& flow) = 0;
  virtual ClassifierStats stats() const = 0;
};
using ClassifierPtr = std::unique_ptr<Classifier>;

Result<ClassifierPtr> MakeNdpiClassifier(const ClassifierConfig& config);

}  // namespace sensor
