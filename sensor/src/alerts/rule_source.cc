#include "sensor/alerts/rule_source.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace sensor {
namespace {

using rules::ErrorCode;
using rules::Result;

constexpr int64_t kDayUs = 86'400'000'000;

Result<uint64_t> ReadState(const std::string& path) {
  std::ifstream in(path);
  if (!in) return uint64_t{0};  // never accepted a bundle
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return rules::Fail(ErrorCode::kParse,
                       path + ": expected the accepted rule bundle version, got '" + text + "'");
  }
  return v;
}

Result<> WriteState(const std::string& path, uint64_t version) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << version << "\n";
    out.flush();
    if (!out) return rules::Fail(ErrorCode::kIo, temp + ": cannot write");
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return rules::Fail(ErrorCode::kIo, path + ": cannot replace");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<RuleBundleSource>> RuleBundleSource::Open(
    std::string dir, const std::string& public_key_pem_path, std::string state_path) {
  auto key = uplink::VerifyKey::LoadPemFile(public_key_pem_path);
  if (!key) return rules::Fail(key.error(), "alerts.rules_public_key: ");
  auto accepted = ReadState(state_path);
  if (!accepted) return tl::make_unexpected(accepted.error());
  return std::unique_ptr<RuleBundleSource>(
      new RuleBundleSource(std::move(dir), *key, std::move(state_path), *accepted));
}

Result<std::vector<std::string>> RuleBundleSource::Files(int64_t now_s) {
  uplink::BundleRejection why = uplink::BundleRejection::kNone;
  auto loaded = uplink::LoadInstalledBundle(dir_, key_, now_s, accepted_version_, &why);
  if (!loaded) return tl::make_unexpected(loaded.error());
  std::vector<std::string> files;
  for (const std::string& path : loaded->paths) {
    if (path.size() > 5 && path.compare(path.size() - 5, 5, ".yaml") == 0) files.push_back(path);
  }
  if (files.empty()) {
    return rules::Fail(ErrorCode::kRejected, loaded->directory + ": the bundle has no *.yaml");
  }
  if (loaded->bundle.version > accepted_version_) {
    if (auto ok = WriteState(state_path_, loaded->bundle.version); !ok) {
      return tl::make_unexpected(ok.error());
    }
    accepted_version_ = loaded->bundle.version;
  }
  running_version_ = loaded->bundle.version;
  running_expires_s_ = loaded->bundle.expires_s;
  running_created_s_ = loaded->bundle.created_s;
  return files;
}

bool RuleBundleSource::Changed() const {
  auto installed = uplink::InstalledBundleVersion(dir_);
  return installed && *installed != 0 && *installed != running_version_;
}

std::vector<rules::engine::Alert> RuleBundleSource::ExpiryAlerts(int64_t now_s) const {
  std::vector<rules::engine::Alert> out;
  if (running_version_ == 0 || now_s + kRulesExpiringWarnS < running_expires_s_) return out;
  rules::engine::Alert a;
  const bool expired = now_s >= running_expires_s_;
  a.rule_id = expired ? "rules-expired" : "rules-expiring";
  a.kind = rules::engine::RuleKind::kPolicy;
  a.severity = expired ? rules::engine::Severity::kHigh : rules::engine::Severity::kMedium;
  a.title = expired ? "The sensor's rule bundle has expired; it keeps running the last good rules"
                    : "The sensor's rule bundle expires within 7 days";
  a.ts_first_us = a.ts_last_us = now_s * 1'000'000;
  a.key = "bundle v" + std::to_string(running_version_);
  a.evidence = "rule bundle version " + std::to_string(running_version_) + " expires at " +
               std::to_string(running_expires_s_) + " (Unix time); " +
               (expired ? "no newer bundle has arrived — check the uplink and the collector"
                        : "the collector should publish a newer one before then");
  a.advice_en = "Check that utkikk-uplink is connected to the collector (utkikk status) and ask "
                "the CSIRT to publish a new rule bundle.";
  a.advice_nb = "Sjekk at utkikk-uplink har kontakt med kollektoren (utkikk status), og be "
                "CSIRT-et publisere en ny regelpakke.";
  a.suppress_us = kDayUs;
  out.push_back(std::move(a));
  return out;
}

}  // namespace sensor
