#include "sensor/alerts/rule_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
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

// The accepted version survives a crash: temporary file, fsync, rename, fsync of the directory
// (a lost update would let a rolled-back bundle in after the next restart).
Result<> WriteState(const std::string& path, uint64_t version) {
  const std::string temp = path + ".tmp";
  const std::string text = std::to_string(version) + "\n";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return rules::Fail(ErrorCode::kIo, temp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return rules::Fail(ErrorCode::kIo, temp + ": " + std::strerror(saved));
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return rules::Fail(ErrorCode::kIo, path + ": cannot replace: " + std::strerror(errno));
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0                ? "/"
                                                      : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<RuleBundleSource>> RuleBundleSource::Open(
    std::string dir, const std::string& public_key_pem_path, std::string state_path) {
  auto key = uplink::VerifyKey::LoadPemFile(public_key_pem_path);
  if (!key) return rules::Fail(key.error(), "alerts.rules_public_key: ");
  // A damaged state file does not stop the sensor (it runs its configured rules), but no bundle
  // runs until it is repaired: without it a rollback could not be recognised.
  auto accepted = ReadState(state_path);
  auto source = std::unique_ptr<RuleBundleSource>(new RuleBundleSource(
      std::move(dir), *key, std::move(state_path), accepted ? *accepted : 0));
  if (!accepted) source->state_error_ = accepted.error().message;
  return source;
}

Result<RuleBundleSource::Candidate> RuleBundleSource::Verify(int64_t now_s) {
  if (!state_error_.empty()) {
    return rules::Fail(ErrorCode::kRejected,
                       "rule bundle refused (rollback guard unreadable): " + state_error_ +
                           " — repair it (the highest version this sensor ran) or remove it");
  }
  // The version `current` names now: what is remembered when it is refused.
  auto installed = uplink::InstalledBundleVersion(dir_);
  const uint64_t seen = installed ? *installed : 0;
  auto refuse = [&](rules::Error e) -> Result<Candidate> {
    if (seen != 0) refused_version_ = seen;
    return tl::make_unexpected(std::move(e));
  };
  uplink::BundleRejection why = uplink::BundleRejection::kNone;
  auto loaded = uplink::LoadInstalledBundle(dir_, key_, now_s, accepted_version_, &why,
                                            /*allow_expired=*/true);
  if (!loaded) {
    if (loaded.error().code == ErrorCode::kNotFound && seen == 0) {
      return tl::make_unexpected(loaded.error());  // nothing installed: not a refusal
    }
    return refuse(loaded.error());
  }
  const uplink::RuleBundle& b = loaded->bundle;
  // Signed, but the rules may only read the bundle's own files (indicator lists): never files
  // elsewhere on this machine that the signature does not cover.
  if (auto ok = uplink::CheckRuleFileReferences(b, loaded->paths); !ok) {
    return refuse(rules::Error{ErrorCode::kRejected,
                               "rule bundle refused (file reference): " + ok.error().message});
  }
  Candidate out;
  out.version = b.version;
  out.created_s = b.created_s;
  out.expires_s = b.expires_s;
  out.expired = b.expires_s <= now_s;
  // Expiry is what keeps a captured old bundle from being replayed forever; only the version
  // this sensor already ran before may go on running after it.
  if (out.expired && b.version != accepted_version_) {
    return refuse(rules::Error{
        ErrorCode::kRejected,
        loaded->directory + "/bundle.utb: rule bundle refused (" +
            std::string(uplink::BundleRejectionName(uplink::BundleRejection::kExpired)) +
            "): version " + std::to_string(b.version) + " expired at " +
            std::to_string(b.expires_s) + " (now " + std::to_string(now_s) + ")"});
  }
  for (const std::string& path : loaded->paths) {
    if (path.size() > 5 && path.compare(path.size() - 5, 5, ".yaml") == 0) {
      out.files.push_back(path);
    }
  }
  if (out.files.empty()) {
    return refuse(
        rules::Error{ErrorCode::kRejected, loaded->directory + ": the bundle has no *.yaml"});
  }
  return out;
}

Result<> RuleBundleSource::Accept(const Candidate& candidate) {
  running_version_ = candidate.version;
  running_expires_s_ = candidate.expires_s;
  running_created_s_ = candidate.created_s;
  if (candidate.version <= accepted_version_) return {};
  accepted_version_ = candidate.version;  // in memory even when the file cannot be written
  return WriteState(state_path_, candidate.version);
}

bool RuleBundleSource::Changed() const {
  auto installed = uplink::InstalledBundleVersion(dir_);
  return installed && *installed != 0 && *installed != running_version_ &&
         *installed != refused_version_;
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
