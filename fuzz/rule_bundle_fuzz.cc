// libFuzzer target: OpenRuleBundle on arbitrary bytes with a fixed rules key. It must never crash,
// leak or read out of bounds; every input is either opened or refused with a named reason, and an
// opened bundle's files match their manifest. Two modes, chosen by the first byte, so the fuzzer
// also reaches what lies behind the signature: even -> the rest is a bundle; odd -> the next two
// bytes are a manifest length, then a manifest that gets properly signed (with the domain
// encoding of docs/formats.md "Rule bundles") and laid out with the remaining bytes as the
// files — which exercises the manifest parser, the names, the hashes and the *_file check.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "uplink/rule_bundle.h"

namespace {

constexpr int64_t kNow = 1'795'000'000;

const uplink::SigningKey& FuzzKey() {
  // The key of the docs' test vector: seed 01 x 32.
  static const uplink::SigningKey key = [] {
    std::array<uint8_t, 32> seed{};
    seed.fill(1);
    auto signing = uplink::SigningKey::FromSeed(seed);
    if (!signing) std::abort();
    return std::move(*signing);
  }();
  return key;
}

void AppendU32(std::vector<uint8_t>* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

void Open(std::span<const uint8_t> bytes) {
  uplink::BundleRejection why = uplink::BundleRejection::kMalformed;
  auto opened = uplink::OpenRuleBundle(bytes, FuzzKey().verify_key(), kNow, 0, &why);
  if (opened.has_value() != (why == uplink::BundleRejection::kNone)) std::abort();
  if (!opened) {
    if (opened.error().message.find(std::string(uplink::BundleRejectionName(why))) ==
        std::string::npos) {
      std::abort();  // every refusal names its reason
    }
    return;
  }
  std::set<std::string> names;
  size_t total = 0;
  for (const uplink::RuleBundleFile& f : opened->files) {
    if (f.name.empty() || f.name[0] == '.' || f.name.find('/') != std::string::npos ||
        !names.insert(f.name).second) {
      std::abort();
    }
    total += f.content.size();
  }
  if (total > bytes.size() || opened->expires_s <= kNow || opened->version == 0) std::abort();
  (void)uplink::CheckRuleFileReferences(*opened, {});  // YAML of signed files: no crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> in(data + 1, size - 1);
  if ((data[0] & 1) == 0 || in.size() < 2) {
    Open(in);
    return 0;
  }
  const size_t manifest_len = std::min<size_t>(in.size() - 2, size_t{in[0]} << 8 | in[1]);
  const std::string manifest(reinterpret_cast<const char*>(in.data() + 2), manifest_len);
  std::span<const uint8_t> files = in.subspan(2 + manifest_len);
  const std::string domain(uplink::kRuleBundleDomain);
  std::vector<uint8_t> message;
  AppendU32(&message, static_cast<uint32_t>(domain.size()));
  message.insert(message.end(), domain.begin(), domain.end());
  AppendU32(&message, static_cast<uint32_t>(manifest.size()));
  message.insert(message.end(), manifest.begin(), manifest.end());
  auto signature = FuzzKey().Sign(message);
  if (!signature) std::abort();
  std::vector<uint8_t> bundle(uplink::kRuleBundleMagic.begin(), uplink::kRuleBundleMagic.end());
  AppendU32(&bundle, static_cast<uint32_t>(manifest.size()));
  bundle.insert(bundle.end(), manifest.begin(), manifest.end());
  bundle.push_back(static_cast<uint8_t>(signature->size() >> 8));
  bundle.push_back(static_cast<uint8_t>(signature->size() & 0xff));
  bundle.insert(bundle.end(), signature->begin(), signature->end());
  bundle.insert(bundle.end(), files.begin(), files.end());
  Open(bundle);
  return 0;
}
