// Application classification of flows with nDPI 4.2 (Debian). The caller owns the classifier
// (ClassifierPtr); one per capture thread, not thread-safe. A flow's nDPI state is allocated on
// its first packet with payload and freed as soon as the flow is classified or given up, so
// memory does not grow with traffic. A state still held by a FlowRecord (FlowRecord::dpi) may be
// destroyed by whoever owns the record, also after the classifier is gone.
#pragma once

#include <cstdint>
#include <memory>

#include "rules/result.h"
#include "sensor/decode/packet.h"
#include "sensor/flow/flow_record.h"

namespace sensor {

struct ClassifierConfig {
  // Give up (nDPI's guess from ports and addresses) after this many packets handed to nDPI
  // without a verdict. Only packets with payload count (TCP/UDP without payload are skipped).
  uint32_t max_packets_per_flow = 20;
  // After a bare first verdict without sub-protocol ("TLS", "DNS"), feed at most this many more
  // packets while nDPI says it could still refine it (a TLS certificate may turn "TLS" into
  // "TLS.Microsoft", a DNS answer "DNS" into "DNS.Apple"). A verdict like "TLS.Google" is final
  // at once. 0: always stop at the first verdict.
  uint32_t max_extra_packets = 8;
  // true (default): TCP/UDP packets without payload are not handed to nDPI (4.2 runs no
  // dissector on them; same labels on the test captures at about half the calls).
  bool skip_payloadless = true;
};

struct ClassifierStats {
  uint64_t packets_inspected = 0;  // packets handed to nDPI
  uint64_t flows_classified = 0;   // flows nDPI recognised from their packets
  uint64_t flows_given_up = 0;     // flows ended by ndpi_detection_giveup (limit or Finish)
  uint64_t guesses_dropped = 0;    // verdicts nDPI guessed from ports or addresses (not used)
  uint64_t states_live = 0;        // nDPI flow states currently allocated (allocated - freed)
};

class Classifier {
 public:
  virtual ~Classifier() = default;
  // Hands one packet of `flow` to DPI unless flow.classification.done; fills
  // flow.classification (service: Zeek's name or ""; application: nDPI's name as ndpiReader
  // prints it, e.g. "TLS.Google", or "" when unknown or only guessed from ports or addresses)
  // and frees the DPI state when done.
  // `packet.ip_packet` is what nDPI reads; flow.key.proto and flow.id ports pick the service.
  virtual void Inspect(FlowRecord& flow, const DecodedPacket& packet, bool from_orig) = 0;
  // Last chance at the end of a flow: nDPI's verdict from what it saw (ndpi_detection_giveup;
  // a guess from ports or addresses names nothing); frees the state. A flow none of whose
  // packets went to DPI stays unclassified (done stays false, nothing to free).
  virtual void Finish(FlowRecord& flow) = 0;
  virtual ClassifierStats stats() const = 0;
};
using ClassifierPtr = std::unique_ptr<Classifier>;

rules::Result<ClassifierPtr> MakeNdpiClassifier(const ClassifierConfig& config);

}  // namespace sensor
