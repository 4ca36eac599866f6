#include "uplink/envelope.h"

#include <zstd_errors.h>

#include <algorithm>
#include <optional>

#include <zstd.h>

#include "byte_io.h"
#include "c_handles.h"
#include "envelope_internal.h"

namespace uplink {

using rules::ErrorCode;
using rules::Fail;

namespace {

using ZstdCCtxPtr = internal::CPtr<ZSTD_CCtx, ZSTD_freeCCtx>;
using ZstdDCtxPtr = internal::CPtr<ZSTD_DCtx, ZSTD_freeDCtx>;

// Offsets into the fixed header (docs/formats.md).
constexpr size_t kVersionOffset = 8;
constexpr size_t kRawLengthOffset = 12;
constexpr size_t kSignatureAndFixed = kEnvelopeFixedHeaderSize + kEd25519SignatureSize;
// zstd frame magic number 0xFD2FB528, little-endian on the wire (RFC 8878 section 3.1.1).
constexpr std::array<uint8_t, 4> kZstdMagic = {0x28, 0xB5, 0x2F, 0xFD};

bool SensorIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Why these fields cannot go into an envelope, or nullopt when they can.
std::optional<std::string> CheckFields(const EnvelopeHeaderFields& f) {
  if (f.sensor_id.empty() || f.sensor_id.size() > kMaxSensorIdLength) {
    return "sensor id must be 1.." + std::to_string(kMaxSensorIdLength) + " bytes, got " +
           std::to_string(f.sensor_id.size());
  }
  if (!std::all_of(f.sensor_id.begin(), f.sensor_id.end(), SensorIdChar)) {
    return "sensor id may only contain A-Z a-z 0-9 . _ -";
  }
  if (f.sequence == 0) {
    return "sequence number 0 is reserved";
  }
  if (f.created_at_us < 0 || f.window_start_us < 0 || f.window_end_us < 0) {
    return "negative timestamp";
  }
  if (f.window_start_us > f.window_end_us) {
    return "window starts after it ends";
  }
  if (!PayloadTypeFromByte(static_cast<uint8_t>(f.payload_type))) {
    return "unknown payload type";
  }
  return std::nullopt;
}

void PutField(std::vector<uint8_t>* out, std::span<const uint8_t> bytes) {
  internal::PutU32(out, static_cast<uint32_t>(bytes.size()));
  internal::PutBytes(out, bytes);
}

std::vector<uint8_t> U64Bytes(uint64_t v) {
  std::vector<uint8_t> out;
  internal::PutU64(&out, v);
  return out;
}

class Rejector {
 public:
  explicit Rejector(RejectReason* out) : out_(out) {
    if (out_ != nullptr) {
      *out_ = RejectReason::kNone;
    }
  }
  tl::unexpected<rules::Error> operator()(RejectReason reason, const std::string& detail,
                                          ErrorCode code = ErrorCode::kRejected) {
    if (out_ != nullptr) {
      *out_ = reason;
    }
    return Fail(code,
                "envelope rejected (" + std::string(RejectReasonName(reason)) + "): " + detail);
  }

 private:
  RejectReason* out_;
};

}  // namespace

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kTooLarge:
      return "too_large";
    case RejectReason::kRawTooLarge:
      return "raw_too_large";
    case RejectReason::kBadMagic:
      return "bad_magic";
    case RejectReason::kBadVersion:
      return "bad_version";
    case RejectReason::kMalformedHeader:
      return "malformed_header";
    case RejectReason::kUnknownKey:
      return "unknown_key";
    case RejectReason::kBadSignature:
      return "bad_signature";
    case RejectReason::kPayloadHashMismatch:
      return "payload_hash_mismatch";
    case RejectReason::kDecompressFailed:
      return "decompress_failed";
    case RejectReason::kRawLengthMismatch:
      return "raw_length_mismatch";
    case RejectReason::kBadPayload:
      return "bad_payload";
  }
  return "unknown";
}

const VerifyKey* SingleKeyLookup::Find(std::string_view /*sensor_id*/, const KeyId& key_id) const {
  return key_id == key_.key_id() ? &key_ : nullptr;
}

namespace internal {

std::vector<uint8_t> EnvelopeSignedMessage(const EnvelopeHeaderFields& f, const KeyId& key_id,
                                           uint64_t raw_length, uint64_t compressed_length,
                                           const Sha256Digest& payload_sha256) {
  std::vector<uint8_t> m;
  m.reserve(4 + kEnvelopeDomain.size() + 11 * 4 + 2 + 1 + f.sensor_id.size() + 16 + 6 * 8 + 32);
  auto text = [](std::string_view s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  PutField(&m, text(kEnvelopeDomain));
  std::vector<uint8_t> version;
  PutU16(&version, kEnvelopeVersion);
  PutField(&m, version);
  const uint8_t type = static_cast<uint8_t>(f.payload_type);
  PutField(&m, std::span<const uint8_t>(&type, 1));
  PutField(&m, text(f.sensor_id));
  PutField(&m, key_id);
  PutField(&m, U64Bytes(f.sequence));
  PutField(&m, U64Bytes(static_cast<uint64_t>(f.created_at_us)));
  PutField(&m, U64Bytes(static_cast<uint64_t>(f.window_start_us)));
  PutField(&m, U64Bytes(static_cast<uint64_t>(f.window_end_us)));
  PutField(&m, U64Bytes(raw_length));
  PutField(&m, U64Bytes(compressed_length));
  PutField(&m, payload_sha256);
  return m;
}

rules::Result<std::vector<uint8_t>> SealCompressed(const EnvelopeHeaderFields& f,
                                                   uint64_t raw_length,
                                                   std::span<const uint8_t> compressed,
                                                   const SigningKey& key) {
  if (auto why = CheckFields(f)) {
    return Fail(ErrorCode::kInvalidArgument, "sealing envelope: " + *why);
  }
  const Sha256Digest hash = Sha256(compressed);
  const KeyId& key_id = key.key_id();
  auto signature = key.Sign(EnvelopeSignedMessage(f, key_id, raw_length, compressed.size(), hash));
  if (!signature) {
    return Fail(signature.error(), "sealing envelope: ");
  }
  std::vector<uint8_t> out;
  out.reserve(kSignatureAndFixed + f.sensor_id.size() + compressed.size());
  PutBytes(&out, kEnvelopeMagic);
  PutU16(&out, kEnvelopeVersion);
  PutU8(&out, static_cast<uint8_t>(f.payload_type));
  PutU8(&out, static_cast<uint8_t>(f.sensor_id.size()));
  PutU64(&out, raw_length);
  PutU64(&out, compressed.size());
  PutU64(&out, f.sequence);
  PutU64(&out, static_cast<uint64_t>(f.created_at_us));
  PutU64(&out, static_cast<uint64_t>(f.window_start_us));
  PutU64(&out, static_cast<uint64_t>(f.window_end_us));
  PutBytes(&out, key_id);
  PutBytes(&out, hash);
  PutBytes(&out, f.sensor_id);
  PutBytes(&out, *signature);
  PutBytes(&out, compressed);
  return out;
}

}  // namespace internal

rules::Result<std::vector<uint8_t>> SealEnvelope(const EnvelopeHeaderFields& fields,
                                                 std::string_view json_lines,
                                                 const SigningKey& key) {
  return SealEnvelope(fields, json_lines, key, SealOptions{});
}

rules::Result<std::vector<uint8_t>> SealEnvelope(const EnvelopeHeaderFields& fields,
                                                 std::string_view json_lines, const SigningKey& key,
                                                 const SealOptions& options) {
  if (auto why = CheckFields(fields)) {
    return Fail(ErrorCode::kInvalidArgument, "sealing envelope: " + *why);
  }
  if (json_lines.size() > options.max_raw_bytes) {
    return Fail(ErrorCode::kInvalidArgument,
                "sealing envelope: payload of " + std::to_string(json_lines.size()) +
                    " bytes exceeds the raw limit of " + std::to_string(options.max_raw_bytes));
  }
  std::string why;
  if (!ValidJsonLines(json_lines, &why)) {
    return Fail(ErrorCode::kInvalidArgument, "sealing envelope: payload is not JSON lines: " + why);
  }
  ZstdCCtxPtr cctx(ZSTD_createCCtx());
  if (!cctx) {
    return Fail(ErrorCode::kCompress, "sealing envelope: ZSTD_createCCtx failed");
  }
  std::vector<uint8_t> compressed(ZSTD_compressBound(json_lines.size()));
  size_t n = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, options.zstd_level);
  if (!ZSTD_isError(n)) {
    n = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1);
  }
  if (!ZSTD_isError(n)) {
    n = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 0);  // SHA-256 covers it
  }
  if (!ZSTD_isError(n)) {
    n = ZSTD_compress2(cctx.get(), compressed.data(), compressed.size(), json_lines.data(),
                       json_lines.size());
  }
  if (ZSTD_isError(n)) {
    return Fail(ErrorCode::kCompress,
                std::string("sealing envelope: zstd: ") + ZSTD_getErrorName(n));
  }
  compressed.resize(n);
  const size_t total = kSignatureAndFixed + fields.sensor_id.size() + compressed.size();
  if (total > options.max_total_bytes) {
    return Fail(ErrorCode::kInvalidArgument, "sealing envelope: " + std::to_string(total) +
                                                 " bytes exceeds the envelope limit of " +
                                                 std::to_string(options.max_total_bytes));
  }
  return internal::SealCompressed(fields, json_lines.size(), compressed, key);
}

rules::Result<OpenedEnvelope> OpenEnvelope(std::span<const uint8_t> bytes, const VerifyKey& key,
                                           const OpenLimits& limits, RejectReason* reason) {
  return OpenEnvelope(bytes, SingleKeyLookup(key), limits, reason);
}

rules::Result<OpenedEnvelope> OpenEnvelope(std::span<const uint8_t> bytes, const KeyLookup& keys,
                                           const OpenLimits& limits, RejectReason* reason) {
  Rejector reject(reason);

  // 1. Size limits, before anything is parsed or allocated. The raw length sits at a fixed
  //    offset so that a "4 GiB" claim is refused here.
  if (bytes.size() > limits.max_total_bytes) {
    return reject(RejectReason::kTooLarge, std::to_string(bytes.size()) + " bytes > limit " +
                                               std::to_string(limits.max_total_bytes));
  }
  if (bytes.size() >= kRawLengthOffset + 8) {
    const uint64_t claimed = internal::LoadU64(bytes.data() + kRawLengthOffset);
    if (claimed > limits.max_raw_bytes) {
      return reject(RejectReason::kRawTooLarge, "claimed raw length " + std::to_string(claimed) +
                                                    " > limit " +
                                                    std::to_string(limits.max_raw_bytes));
    }
  }

  // 2. Magic and version.
  if (bytes.size() < kEnvelopeMagic.size() ||
      !std::equal(kEnvelopeMagic.begin(), kEnvelopeMagic.end(), bytes.begin())) {
    return reject(RejectReason::kBadMagic, "not an Utkikk envelope");
  }
  if (bytes.size() < kVersionOffset + 2) {
    return reject(RejectReason::kBadVersion, "truncated before the version");
  }
  const uint16_t version =
      static_cast<uint16_t>((bytes[kVersionOffset] << 8) | bytes[kVersionOffset + 1]);
  if (version != kEnvelopeVersion) {
    return reject(RejectReason::kBadVersion, "format version " + std::to_string(version));
  }

  // 3. The header, strictly: every field present and in range, lengths that add up exactly.
  internal::ByteReader r(bytes.subspan(kVersionOffset + 2));
  OpenedEnvelope opened;
  EnvelopeHeaderFields& f = opened.fields;
  uint8_t type_byte = 0;
  uint8_t id_len = 0;
  uint64_t sequence = 0;
  std::span<const uint8_t> key_id;
  std::span<const uint8_t> hash;
  if (!r.ReadU8(&type_byte) || !r.ReadU8(&id_len) || !r.ReadU64(&opened.raw_length) ||
      !r.ReadU64(&opened.compressed_length) || !r.ReadU64(&sequence) ||
      !r.ReadI64(&f.created_at_us) || !r.ReadI64(&f.window_start_us) ||
      !r.ReadI64(&f.window_end_us) || !r.ReadBytes(kKeyIdSize, &key_id) ||
      !r.ReadBytes(kSha256Size, &hash)) {
    return reject(RejectReason::kMalformedHeader, "truncated fixed header");
  }
  f.sequence = sequence;
  auto type = PayloadTypeFromByte(type_byte);
  if (!type) {
    return reject(RejectReason::kMalformedHeader,
                  "unknown payload type " + std::to_string(type_byte));
  }
  f.payload_type = *type;
  std::span<const uint8_t> sensor_id;
  std::span<const uint8_t> signature;
  if (!r.ReadBytes(id_len, &sensor_id)) {
    return reject(RejectReason::kMalformedHeader, "truncated sensor id");
  }
  f.sensor_id.assign(sensor_id.begin(), sensor_id.end());
  if (!r.ReadBytes(kEd25519SignatureSize, &signature)) {
    return reject(RejectReason::kMalformedHeader, "truncated signature");
  }
  if (auto why = CheckFields(f)) {
    return reject(RejectReason::kMalformedHeader, *why);
  }
  if (opened.raw_length == 0) {
    return reject(RejectReason::kMalformedHeader, "raw length 0");
  }
  if (opened.compressed_length == 0 || opened.compressed_length != r.remaining()) {
    return reject(RejectReason::kMalformedHeader,
                  "compressed length " + std::to_string(opened.compressed_length) + " but " +
                      std::to_string(r.remaining()) + " bytes follow the signature");
  }
  std::copy(key_id.begin(), key_id.end(), opened.key_id.begin());
  std::copy(hash.begin(), hash.end(), opened.payload_sha256.begin());
  const std::span<const uint8_t> payload = r.rest();

  // 4. Known key for this sensor.
  const VerifyKey* verify_key = keys.Find(f.sensor_id, opened.key_id);
  if (verify_key == nullptr) {
    return reject(RejectReason::kUnknownKey,
                  "sensor " + f.sensor_id + " key id " + ToHex(opened.key_id));
  }

  // 5. Signature over the domain-separated header.
  const std::vector<uint8_t> message = internal::EnvelopeSignedMessage(
      f, opened.key_id, opened.raw_length, opened.compressed_length, opened.payload_sha256);
  if (!verify_key->Verify(message, signature)) {
    return reject(RejectReason::kBadSignature,
                  "sensor " + f.sensor_id + " sequence " + std::to_string(f.sequence));
  }

  // 6. The payload is the one the signed header names.
  if (Sha256(payload) != opened.payload_sha256) {
    return reject(RejectReason::kPayloadHashMismatch, "SHA-256 of the zstd frame differs");
  }

  // 7. Exactly one zstd frame, decompressed into a buffer of exactly the claimed raw length:
  //    zstd stops with dstSize_tooSmall instead of writing more (no bomb can grow past it).
  if (payload.size() < kZstdMagic.size() ||
      !std::equal(kZstdMagic.begin(), kZstdMagic.end(), payload.begin())) {
    return reject(RejectReason::kDecompressFailed, "payload is not a zstd frame");
  }
  const size_t frame_size = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
  if (ZSTD_isError(frame_size) || frame_size != payload.size()) {
    return reject(RejectReason::kDecompressFailed, "payload is not exactly one zstd frame");
  }
  const unsigned long long content_size = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (content_size == ZSTD_CONTENTSIZE_ERROR) {
    return reject(RejectReason::kDecompressFailed, "bad zstd frame header");
  }
  if (content_size != ZSTD_CONTENTSIZE_UNKNOWN && content_size != opened.raw_length) {
    return reject(RejectReason::kRawLengthMismatch,
                  "zstd frame declares " + std::to_string(content_size) + " bytes, header " +
                      std::to_string(opened.raw_length));
  }
  ZstdDCtxPtr dctx(ZSTD_createDCtx());
  if (!dctx) {
    return reject(RejectReason::kDecompressFailed, "ZSTD_createDCtx failed", ErrorCode::kCompress);
  }
  opened.json_lines.resize(static_cast<size_t>(opened.raw_length));
  const size_t produced =
      ZSTD_decompressDCtx(dctx.get(), opened.json_lines.data(), opened.json_lines.size(),
                          payload.data(), payload.size());
  if (ZSTD_isError(produced)) {
    if (ZSTD_getErrorCode(produced) == ZSTD_error_dstSize_tooSmall) {
      return reject(RejectReason::kDecompressFailed,
                    "zstd frame decompresses to more than the claimed " +
                        std::to_string(opened.raw_length) + " bytes");
    }
    return reject(RejectReason::kDecompressFailed,
                  std::string("zstd: ") + ZSTD_getErrorName(produced));
  }
  if (produced != opened.raw_length) {
    return reject(RejectReason::kRawLengthMismatch, "decompressed " + std::to_string(produced) +
                                                        " bytes, header claims " +
                                                        std::to_string(opened.raw_length));
  }

  // 8. UTF-8 JSON lines.
  std::string why;
  if (!ValidJsonLines(opened.json_lines, &why)) {
    return reject(RejectReason::kBadPayload, why);
  }
  return opened;
}

}  // namespace uplink
