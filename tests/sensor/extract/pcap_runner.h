// Test helper: runs a capture through the real sensor components (OpenPcapFile, Decoder,
// FlowTable, nDPI classifier) and an ExtractorSet into a recording FactSink.
#pragma once

#include <string>
#include <vector>

#include "rules/facts.h"
#include "rules/fingerprint.h"
#include "sensor/extract/extractor_set.h"

namespace sensor::testing {

class RecordingSink : public rules::FactSink {
 public:
  void OnAddress(const rules::AddressFact& f) override { addresses.push_back(f); }
  void OnName(const rules::NameFact& f) override { names.push_back(f); }
  void OnOs(const rules::OsFact& f) override { os.push_back(f); }
  void OnService(const rules::ServiceFact& f) override { services.push_back(f); }
  void OnSoftware(const rules::SoftwareFact& f) override { software.push_back(f); }

  std::vector<rules::AddressFact> addresses;
  std::vector<rules::NameFact> names;
  std::vector<rules::OsFact> os;
  std::vector<rules::ServiceFact> services;
  std::vector<rules::SoftwareFact> software;
};

// The fingerprint database from rules/fingerprints (loaded once per process).
const rules::FingerprintDb* TestFingerprints();

// Reads `path` to its end and flushes the flow table. Returns false (with a gtest failure) when
// the capture cannot be opened.
bool RunCapture(const std::string& path, RecordingSink* sink, ExtractStats* stats = nullptr,
                const std::vector<rules::Cidr>& local_nets = {},
                const ExtractConfig& config = ExtractConfig{},
                ExtractorSet::DnsObserver dns_observer = {});

}  // namespace sensor::testing
