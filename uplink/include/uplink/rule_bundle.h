// Signed rule bundles: the CSIRT's rule files as one file, signed with its Ed25519 rules key, with
// a version that only goes up and an expiry (docs/formats.md "Rule bundles").
//
//   collector:  auto bytes = uplink::BuildRuleBundle(bundle, rules_key);       // publish
//   uplink:     auto b = uplink::OpenRuleBundle(bytes, rules_public_key, now, installed, &why);
//               uplink::InstallRuleBundle(bundle_dir, bytes, *b);             // atomic
//   sensor:     auto loaded = uplink::LoadInstalledBundle(bundle_dir, key, now, accepted, &why);
//
// Opening checks everything before anything is used: the layout and bounds, the signature over
// the manifest (which carries each file's size and SHA-256), every file against its hash, the
// names (no paths), the version against the one installed (no rollback) and the expiry.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/result.h"
#include "uplink/keys.h"

namespace uplink {

inline constexpr std::string_view kRuleBundleMagic = "UTKRULE1";     // 8 bytes
inline constexpr std::string_view kRuleBundleDomain = "utkikk rule bundle v1";
inline constexpr size_t kRuleBundleMaxManifestBytes = 64 * 1024;
inline constexpr size_t kRuleBundleMaxFiles = 1024;
inline constexpr uint64_t kRuleBundleMaxBytes = uint64_t{256} << 20;  // the whole file
inline constexpr size_t kRuleBundleMaxNameBytes = 128;

struct RuleBundleFile {
  std::string name;     // a plain file name: [A-Za-z0-9._-], not starting with '.'
  std::string content;
};

struct RuleBundle {
  uint64_t version = 0;       // > every version published before (1, 2, 3, ...)
  int64_t created_s = 0;      // Unix seconds
  int64_t expires_s = 0;      // Unix seconds; after this the bundle is refused
  KeyId key_id{};             // the rules key that signed it (set by Build/Open)
  std::vector<RuleBundleFile> files;
};

// Why a bundle was refused; BundleRejectionName gives the word used in messages and docs.
enum class BundleRejection {
  kNone,
  kMalformed,         // layout, bounds, manifest syntax
  kUnsigned,          // no signature
  kWrongKey,          // signed by another key (key id differs)
  kBadSignature,      // the signature does not verify
  kTampered,          // a file's size or SHA-256 differs from the manifest
  kBadName,           // a file name with a path, '..', a leading '.', or a duplicate
  kRollback,          // version lower than the installed one
  kAlreadyInstalled,  // the same version as the installed one
  kExpired,           // expires_s <= now
  kNotYetValid,       // created more than a day in the future (a clock or a forged date)
};
std::string_view BundleRejectionName(BundleRejection why);

// The manifest text that is signed (exposed for tests and docs/formats.md's vector).
std::string RuleBundleManifest(const RuleBundle& bundle);

// Signs and lays out `bundle` (its key_id is taken from `key`). Fails for bad names or bounds.
rules::Result<std::vector<uint8_t>> BuildRuleBundle(const RuleBundle& bundle,
                                                    const SigningKey& key);

// Verifies `bytes` against `key` at `now_s`. installed_version: the newest version already
// accepted (0 = none). On refusal *why says which check failed (may be null).
rules::Result<RuleBundle> OpenRuleBundle(std::span<const uint8_t> bytes, const VerifyKey& key,
                                         int64_t now_s, uint64_t installed_version,
                                         BundleRejection* why);

// A bundle is read from one directory, so every `*_file` key in its *.yaml files (indicator
// lists) must name one of its own files by its plain name; anything else — a path into another
// directory, an absolute path (data the signature does not cover) — fails with
// "SOURCE:line:column: ..." (sources[i] names files[i] in messages; empty: the name). Checked by
// `rules publish` before signing and by the sensor before it runs a bundle.
rules::Result<void> CheckRuleFileReferences(const RuleBundle& bundle,
                                            const std::vector<std::string>& sources);

// The layout in a bundle directory:
//   DIR/current          "v<N>\n", replaced atomically: the installed version
//   DIR/v<N>/bundle.utb  the signed bundle as received
//   DIR/v<N>/<name>      its files, for people and for the rules' relative *_file paths
// Install writes DIR/.tmp-v<N>/ (files fsync'ed), renames it to DIR/v<N>, fsyncs DIR, then
// replaces `current`; only then it removes versions other than the new and the previous one.
// A crash at any step leaves the old `current` complete and in force. `bundle` must be what
// OpenRuleBundle returned for `bytes`.
rules::Result<void> InstallRuleBundle(const std::string& dir, std::span<const uint8_t> bytes,
                                      const RuleBundle& bundle);

// The version `current` names, 0 when there is none (kNotFound is not an error here).
rules::Result<uint64_t> InstalledBundleVersion(const std::string& dir);

// What a reader of the directory (the sensor) gets: the verified bundle and where its files
// are. Each file in DIR/v<N>/ is hashed again against the verified manifest.
struct InstalledBundle {
  RuleBundle bundle;
  std::string directory;            // DIR/v<N>
  std::vector<std::string> paths;   // DIR/v<N>/<name> for each file, manifest order
};
// allow_expired: an expired bundle is returned instead of refused (the caller compares
// bundle.expires_s with now_s itself) — for a reader that keeps running the version it accepted
// before as its last good set (the sensor, after a restart too). Everything else is checked.
rules::Result<InstalledBundle> LoadInstalledBundle(const std::string& dir, const VerifyKey& key,
                                                   int64_t now_s, uint64_t accepted_version,
                                                   BundleRejection* why,
                                                   bool allow_expired = false);

}  // namespace uplink
