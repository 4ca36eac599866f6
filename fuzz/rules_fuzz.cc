// Fuzzes the rule loader (YAML -> rules -> indexes) and, when the input loads, evaluates a few
// fixed observations against it, including the embedded tests the input declares.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/engine/rule_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // base_dir "/nonexistent": *_file references never read real files.
  auto set = rules::engine::LoadRuleString(text, "fuzz.yaml", "/nonexistent");
  if (!set) return 0;
  rules::engine::FlowObservation flow;
  flow.orig = *rules::IpAddress::Parse("198.51.100.1");
  flow.resp = *rules::IpAddress::Parse("10.0.0.1");
  flow.resp_port = 23;
  flow.service = "telnet";
  flow.sni = "a.b.example";
  (void)set->Evaluate(flow);
  rules::engine::DnsObservation dns;
  dns.query = "x.example";
  dns.answers = {"10.0.0.1", "y.example."};
  (void)set->Evaluate(dns);
  rules::SoftwareFact fact;
  fact.cpe23 = "cpe:2.3:a:openbsd:openssh:9.2p1";
  fact.version = "9.2p1";
  (void)set->Evaluate(fact);
  rules::engine::LogWindows windows(16);
  rules::engine::LogEvent event;
  event.program = "sshd";
  event.message = "Failed password for root from 192.0.2.1 port 1 ssh2";
  for (int i = 0; i < 3; ++i) (void)set->Evaluate(event, &windows);
  (void)rules::engine::RunRuleTests(&*set);
  return 0;
}
