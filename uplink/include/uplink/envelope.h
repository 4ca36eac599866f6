// The envelope: one signed, compressed summary batch as the uplink sends it to the collector.
// The byte layout is specified in docs/formats.md ("Envelope"); the constants below mirror it.
//
//   fixed header (108 bytes) | sensor id (1..64 bytes) | Ed25519 signature (64) | zstd frame
//
// The signature covers a domain-separated encoding of every header field (including the
// SHA-256 of the zstd frame), so it authenticates the payload without streaming Ed25519.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/result.h"
#include "uplink/keys.h"
#include "uplink/payload_type.h"

namespace uplink {

inline constexpr std::array<uint8_t, 8> kEnvelopeMagic = {0x89, 'U',  'T',  'K',
                                                          'E',  0x0D, 0x0A, 0x1A};
inline constexpr uint16_t kEnvelopeVersion = 1;
inline constexpr size_t kEnvelopeFixedHeaderSize = 108;
inline constexpr size_t kMaxSensorIdLength = 64;
inline constexpr std::string_view kEnvelopeDomain = "UTKIKK-ENVELOPE-V1";
inline constexpr size_t kDefaultMaxEnvelopeBytes = size_t{16} << 20;  // 16 MiB
inline constexpr uint64_t kDefaultMaxRawBytes = uint64_t{64} << 20;   // 64 MiB

// What the sealer decides; the key id, lengths and payload hash are derived when sealing.
struct EnvelopeHeaderFields {
  std::string sensor_id;        // 1..64 bytes of [A-Za-z0-9._-]
  uint64_t sequence = 0;        // >= 1, monotonic per sensor, assigned by the uplink
  int64_t created_at_us = 0;    // when the envelope was sealed, µs since the Unix epoch, >= 0
  int64_t window_start_us = 0;  // the time window the batch covers, µs since the epoch,
  int64_t window_end_us = 0;    //   0 <= start <= end
  PayloadType payload_type = PayloadType::kInventory;

  bool operator==(const EnvelopeHeaderFields&) const = default;
};

struct SealOptions {
  int zstd_level = 3;
  size_t max_total_bytes = kDefaultMaxEnvelopeBytes;
  uint64_t max_raw_bytes = kDefaultMaxRawBytes;
};

struct OpenLimits {
  size_t max_total_bytes = kDefaultMaxEnvelopeBytes;  // the whole envelope
  uint64_t max_raw_bytes = kDefaultMaxRawBytes;       // the claimed decompressed length
};

// Why OpenEnvelope refused an input, in the order the checks run. The collector logs and
// counts these; RejectReasonName() gives a stable snake_case name for counters.
enum class RejectReason {
  kNone = 0,
  kTooLarge,             // the envelope is longer than OpenLimits::max_total_bytes
  kRawTooLarge,          // the claimed raw length exceeds OpenLimits::max_raw_bytes
  kBadMagic,             // not an envelope (or shorter than the magic)
  kBadVersion,           // an envelope of a format version this code does not read
  kMalformedHeader,      // truncated field, bad field value, or lengths that do not add up
  kUnknownKey,           // no enrolled key for this sensor id and key id
  kBadSignature,         // the signature does not verify
  kPayloadHashMismatch,  // the zstd frame is not the one the header (and signature) names
  kDecompressFailed,     // not exactly one valid zstd frame, or it outgrows the claimed length
  kRawLengthMismatch,    // the frame decompresses to a length other than the claimed one
  kBadPayload,           // the decompressed payload is not UTF-8 JSON lines
};
std::string_view RejectReasonName(RejectReason reason);

struct OpenedEnvelope {
  EnvelopeHeaderFields fields;  // fields.sequence is what the collector checks for replays
  KeyId key_id{};
  uint64_t raw_length = 0;
  uint64_t compressed_length = 0;
  Sha256Digest payload_sha256{};
  std::string json_lines;
};

// Finds the enrolled public key for a sensor. Implementations decide their own thread-safety;
// OpenEnvelope only calls Find() and does not keep the pointer beyond the call.
class KeyLookup {
 public:
  virtual ~KeyLookup() = default;
  // The key enrolled for `sensor_id` whose key id is `key_id`, or null when there is none.
  virtual const VerifyKey* Find(std::string_view sensor_id, const KeyId& key_id) const = 0;
};

// Accepts exactly one key, for any sensor id. Borrows nothing: holds a copy of the key.
class SingleKeyLookup : public KeyLookup {
 public:
  explicit SingleKeyLookup(VerifyKey key) : key_(std::move(key)) {}
  const VerifyKey* Find(std::string_view sensor_id, const KeyId& key_id) const override;

 private:
  VerifyKey key_;
};

// Compresses `json_lines` (which must pass ValidJsonLines) with zstd, hashes the frame, signs the
// header with `key` and returns the envelope bytes. Refuses invalid fields or payloads, and
// results that would exceed the limits in `options`, so everything it seals opens.
rules::Result<std::vector<uint8_t>> SealEnvelope(const EnvelopeHeaderFields& fields,
                                                 std::string_view json_lines,
                                                 const SigningKey& key);
rules::Result<std::vector<uint8_t>> SealEnvelope(const EnvelopeHeaderFields& fields,
                                                 std::string_view json_lines, const SigningKey& key,
                                                 const SealOptions& options);

// Checks `bytes` completely (the checks of RejectReason, in that order) and returns the header
// and the decompressed JSON lines. Never allocates more than the limits allow, and allocates the
// claimed raw length only after the signature and payload hash have been checked. On failure the
// error has code kRejected (kCrypto if OpenSSL itself failed), the message starts with
// "envelope rejected (<reason name>): ", and *reason (if not null) is set; on success *reason
// is kNone.
rules::Result<OpenedEnvelope> OpenEnvelope(std::span<const uint8_t> bytes, const KeyLookup& keys,
                                           const OpenLimits& limits,
                                           RejectReason* reason = nullptr);
rules::Result<OpenedEnvelope> OpenEnvelope(std::span<const uint8_t> bytes, const VerifyKey& key,
                                           const OpenLimits& limits,
                                           RejectReason* reason = nullptr);

}  // namespace uplink
