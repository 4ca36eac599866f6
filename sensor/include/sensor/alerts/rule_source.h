// The rule bundle the uplink installs for the sensor (alerts.bundle_dir, verified with
// alerts.rules_public_key; docs/rules.md "Distribution"). The sensor trusts nothing in the
// directory: every load verifies the signature, every file's hash and the expiry again, and
// refuses a version older than the highest it accepted before (kept in a state file of its own,
// so a rollback is refused across restarts too).
//
//   auto source = sensor::RuleBundleSource::Open(dir, key_pem, state_path);
//   auto candidate = (*source)->Verify(now_s);   // the bundle's *.yaml, or why not
//   ... load candidate->files; then (*source)->Accept(*candidate), or Reject(*candidate, why)
//   ... once a minute: if ((*source)->Changed()) reload; alerts = (*source)->ExpiryAlerts(now_s);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/engine/alert.h"
#include "rules/result.h"
#include "uplink/keys.h"
#include "uplink/rule_bundle.h"

namespace sensor {

// A bundle within this many seconds of its expiry raises rules-expiring.
inline constexpr int64_t kRulesExpiringWarnS = 7 * 86400;

class RuleBundleSource {
 public:
  // public_key_pem_path: the CSIRT's rules public key (PEM; an error when it does not load).
  // state_path: where the highest accepted version is kept (created when missing; when it cannot
  // be read, Verify refuses every bundle and says so, and the sensor runs its configured rules).
  static rules::Result<std::unique_ptr<RuleBundleSource>> Open(
      std::string dir, const std::string& public_key_pem_path, std::string state_path);

  // The installed bundle when it verifies at now_s and is not older than the accepted version:
  // its rule files (*.yaml, manifest order). An expired bundle is a candidate only when it is
  // the version this sensor accepted before (its last good set, kept after a restart too, with
  // `expired` set); one that arrives expired is refused. kNotFound when none is installed;
  // otherwise the refusal naming the reason (see uplink::BundleRejection), and Changed() ignores
  // that version from then on.
  struct Candidate {
    uint64_t version = 0;
    int64_t created_s = 0;
    int64_t expires_s = 0;
    bool expired = false;
    std::vector<std::string> files;
  };
  rules::Result<Candidate> Verify(int64_t now_s);
  // The candidate's rules loaded and run now: it becomes the running bundle and, when newer,
  // the accepted version (state file written and fsync'ed; an error here leaves it running).
  rules::Result<> Accept(const Candidate& candidate);
  // The candidate's rules did not load: Changed() ignores that version from then on.
  void Reject(const Candidate& candidate) { refused_version_ = candidate.version; }
  // The sensor runs its configured rule files, not a bundle (no ExpiryAlerts).
  void RunConfigured() { running_version_ = 0; running_expires_s_ = running_created_s_ = 0; }

  // True when `current` names a version other than the running one and one not refused before
  // (cheap: one small read).
  bool Changed() const;

  // rules-expiring while the running bundle is within kRulesExpiringWarnS of its expiry,
  // rules-expired once it is past it (the sensor keeps running it: never no rules). Keyed per
  // bundle version, suppressed for a day, so each repeats daily while the condition holds.
  std::vector<rules::engine::Alert> ExpiryAlerts(int64_t now_s) const;

  uint64_t running_version() const { return running_version_; }
  int64_t running_expires_s() const { return running_expires_s_; }
  uint64_t accepted_version() const { return accepted_version_; }
  const std::string& dir() const { return dir_; }

 private:
  RuleBundleSource(std::string dir, uplink::VerifyKey key, std::string state_path,
                   uint64_t accepted)
      : dir_(std::move(dir)), key_(key), state_path_(std::move(state_path)),
        accepted_version_(accepted) {}

  std::string dir_;
  uplink::VerifyKey key_;
  std::string state_path_;
  uint64_t accepted_version_ = 0;
  uint64_t running_version_ = 0;   // 0: not running a bundle
  int64_t running_expires_s_ = 0;
  int64_t running_created_s_ = 0;
  uint64_t refused_version_ = 0;   // the installed version last refused (not retried)
  std::string state_error_;        // the state file is unreadable: every bundle is refused
};

}  // namespace sensor
