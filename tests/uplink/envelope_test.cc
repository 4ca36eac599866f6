#include "uplink/envelope.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zstd.h>

#include "envelope_internal.h"

namespace uplink {
namespace {

std::array<uint8_t, 32> VectorSeed() {
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) {
    seed[i] = static_cast<uint8_t>(i);
  }
  return seed;
}

SigningKey VectorKey() {
  auto key = SigningKey::FromSeed(VectorSeed());
  EXPECT_TRUE(key) << key.error().message;
  return std::move(*key);
}

EnvelopeHeaderFields VectorFields() {
  EnvelopeHeaderFields f;
  f.sensor_id = "kommune-01.sensor-a";
  f.sequence = 42;
  f.created_at_us = 1700000000123456;
  f.window_start_us = 1699999940000000;
  f.window_end_us = 1700000000000000;
  f.payload_type = PayloadType::kInventory;
  return f;
}

const char kVectorPayload[] =
    "{\"host\":\"10.0.0.5\",\"mac\":\"00:11:22:33:44:55\",\"name\":\"printer-2\"}\n"
    "{\"host\":\"10.0.0.9\",\"service\":\"ssh\",\"port\":22,\"software\":\"OpenSSH 9.2p1\"}\n";

std::vector<uint8_t> SealOrDie(const EnvelopeHeaderFields& f, std::string_view json,
                               const SigningKey& key) {
  auto sealed = SealEnvelope(f, json, key);
  EXPECT_TRUE(sealed) << sealed.error().message;
  return sealed ? *sealed : std::vector<uint8_t>{};
}

RejectReason OpenReason(std::span<const uint8_t> bytes, const VerifyKey& key,
                        const OpenLimits& limits = OpenLimits{}) {
  RejectReason reason = RejectReason::kNone;
  auto opened = OpenEnvelope(bytes, key, limits, &reason);
  EXPECT_EQ(opened.has_value(), reason == RejectReason::kNone);
  return reason;
}

// A zstd frame of `size` zero bytes, compressed in 1 MiB steps so the input never exists in
// memory. With `declare_size` the frame header carries the content size.
std::vector<uint8_t> ZeroFrame(uint64_t size, bool declare_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
  if (declare_size) {
    ZSTD_CCtx_setPledgedSrcSize(cctx, size);
  }
  std::vector<uint8_t> zeros(1 << 20, 0);
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(ZSTD_CStreamOutSize());
  uint64_t left = size;
  while (true) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(left, zeros.size()));
    left -= chunk;
    ZSTD_inBuffer in{zeros.data(), chunk, 0};
    const ZSTD_EndDirective mode = left == 0 ? ZSTD_e_end : ZSTD_e_continue;
    size_t remaining = 0;
    do {
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      remaining = ZSTD_compressStream2(cctx, &o, &in, mode);
      EXPECT_FALSE(ZSTD_isError(remaining));
      out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(o.pos));
    } while (mode == ZSTD_e_end ? remaining != 0 : in.pos < in.size);
    if (left == 0) {
      break;
    }
  }
  ZSTD_freeCCtx(cctx);
  return out;
}

std::vector<uint8_t> Frame(std::string_view text, bool declare_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, declare_size ? 1 : 0);
  std::vector<uint8_t> out(ZSTD_compressBound(text.size()));
  std::vector<uint8_t> result;
  if (declare_size) {
    size_t n = ZSTD_compress2(cctx, out.data(), out.size(), text.data(), text.size());
    out.resize(n);
    result = out;
  } else {
    // A streamed frame without a pledged size has no content size in its header.
    ZSTD_inBuffer in{text.data(), text.size(), 0};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    size_t rem = 0;
    do {
      rem = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
    } while (rem != 0 && !ZSTD_isError(rem));
    out.resize(o.pos);
    result = out;
  }
  ZSTD_freeCCtx(cctx);
  EXPECT_EQ(ZSTD_getFrameContentSize(result.data(), result.size()) == ZSTD_CONTENTSIZE_UNKNOWN,
            !declare_size);
  return result;
}

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(EnvelopeTest, SealOpenRoundTrip) {
  const SigningKey key = VectorKey();
  for (uint8_t t = 1; t <= 6; ++t) {
    EnvelopeHeaderFields f = VectorFields();
    f.payload_type = *PayloadTypeFromByte(t);
    f.sequence = 1000 + t;
    const auto bytes = SealOrDie(f, kVectorPayload, key);
    RejectReason reason = RejectReason::kMalformedHeader;
    auto opened = OpenEnvelope(bytes, key.verify_key(), OpenLimits{}, &reason);
    ASSERT_TRUE(opened) << opened.error().message;
    EXPECT_EQ(reason, RejectReason::kNone);
    EXPECT_EQ(opened->fields, f);
    EXPECT_EQ(opened->fields.sequence, 1000u + t);  // for the collector's replay check
    EXPECT_EQ(opened->json_lines, kVectorPayload);
    EXPECT_EQ(opened->key_id, key.key_id());
    EXPECT_EQ(opened->raw_length, sizeof(kVectorPayload) - 1);
    EXPECT_EQ(opened->compressed_length, bytes.size() - 172 - f.sensor_id.size());
  }
}

TEST(EnvelopeTest, RoundTripOfLargeUtf8PayloadAtLevel19) {
  const SigningKey key = VectorKey();
  std::string json;
  for (int i = 0; i < 5000; ++i) {
    json += "{\"i\":" + std::to_string(i) + ",\"name\":\"Bjørnstjerne ✓ 𝄞\"}\n";
  }
  SealOptions options;
  options.zstd_level = 19;
  auto sealed = SealEnvelope(VectorFields(), json, key, options);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_LT(sealed->size(), json.size() / 10);
  auto opened = OpenEnvelope(*sealed, key.verify_key(), OpenLimits{});
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->json_lines, json);
}

TEST(EnvelopeTest, EverySingleByteChangeIsRejected) {
  const SigningKey key = VectorKey();
  const auto good = SealOrDie(VectorFields(), kVectorPayload, key);
  ASSERT_TRUE(OpenEnvelope(good, key.verify_key(), OpenLimits{}));
  std::map<RejectReason, int> seen;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF}) {
      auto bad = good;
      bad[i] ^= mask;
      const RejectReason reason = OpenReason(bad, key.verify_key());
      EXPECT_NE(reason, RejectReason::kNone) << "byte " << i << " mask " << int(mask);
      ++seen[reason];
    }
  }
  // Each part of the layout is covered by the check meant for it.
  EXPECT_GT(seen[RejectReason::kBadMagic], 0);
  EXPECT_GT(seen[RejectReason::kBadVersion], 0);
  EXPECT_GT(seen[RejectReason::kRawTooLarge], 0);
  EXPECT_GT(seen[RejectReason::kMalformedHeader], 0);
  EXPECT_GT(seen[RejectReason::kUnknownKey], 0);
  EXPECT_GT(seen[RejectReason::kBadSignature], 0);
  EXPECT_GT(seen[RejectReason::kPayloadHashMismatch], 0);
}

TEST(EnvelopeTest, TruncationAtEveryLengthAndTrailingBytesAreRejected) {
  const SigningKey key = VectorKey();
  const auto good = SealOrDie(VectorFields(), kVectorPayload, key);
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_NE(OpenReason(std::span(good).first(len), key.verify_key()), RejectReason::kNone)
        << "length " << len;
  }
  auto longer = good;
  longer.push_back(0);
  EXPECT_EQ(OpenReason(longer, key.verify_key()), RejectReason::kMalformedHeader);
  EXPECT_EQ(OpenReason(std::span(good).first(4), key.verify_key()), RejectReason::kBadMagic);
  EXPECT_EQ(OpenReason(std::span(good).first(9), key.verify_key()), RejectReason::kBadVersion);
  EXPECT_EQ(OpenReason(std::span(good).first(100), key.verify_key()),
            RejectReason::kMalformedHeader);
}

TEST(EnvelopeTest, WrongKeyAndUnknownKeyIdAreRejected) {
  const SigningKey key = VectorKey();
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other);
  const auto bytes = SealOrDie(VectorFields(), kVectorPayload, key);

  RejectReason reason = RejectReason::kNone;
  auto opened = OpenEnvelope(bytes, other->verify_key(), OpenLimits{}, &reason);
  ASSERT_FALSE(opened);
  EXPECT_EQ(reason, RejectReason::kUnknownKey);
  EXPECT_EQ(opened.error().code, rules::ErrorCode::kRejected);
  EXPECT_EQ(opened.error().message.rfind("envelope rejected (unknown_key): ", 0), 0u)
      << opened.error().message;

  // A lookup that hands out the wrong key for the right id: the signature catches it.
  struct Liar : KeyLookup {
    const VerifyKey* key;
    const VerifyKey* Find(std::string_view, const KeyId&) const override { return key; }
  } liar;
  liar.key = &other->verify_key();
  EXPECT_FALSE(OpenEnvelope(bytes, liar, OpenLimits{}, &reason));
  EXPECT_EQ(reason, RejectReason::kBadSignature);
}

TEST(EnvelopeTest, LookupIsBySensorIdAndKeyId) {
  const SigningKey key = VectorKey();
  struct PerSensor : KeyLookup {
    std::string sensor;
    const VerifyKey* key;
    const VerifyKey* Find(std::string_view sensor_id, const KeyId& id) const override {
      return sensor_id == sensor && id == key->key_id() ? key : nullptr;
    }
  } lookup;
  lookup.sensor = "kommune-01.sensor-a";
  lookup.key = &key.verify_key();
  EnvelopeHeaderFields f = VectorFields();
  RejectReason reason = RejectReason::kNone;
  EXPECT_TRUE(OpenEnvelope(SealOrDie(f, kVectorPayload, key), lookup, OpenLimits{}, &reason));
  f.sensor_id = "kommune-02.sensor-a";  // same key, but not enrolled for this sensor
  EXPECT_FALSE(OpenEnvelope(SealOrDie(f, kVectorPayload, key), lookup, OpenLimits{}, &reason));
  EXPECT_EQ(reason, RejectReason::kUnknownKey);
}

TEST(EnvelopeTest, SizeLimitsComeFirst) {
  const SigningKey key = VectorKey();
  auto bytes = SealOrDie(VectorFields(), kVectorPayload, key);
  OpenLimits tight;
  tight.max_total_bytes = bytes.size() - 1;
  EXPECT_EQ(OpenReason(bytes, key.verify_key(), tight), RejectReason::kTooLarge);
  tight = OpenLimits{};
  tight.max_raw_bytes = sizeof(kVectorPayload) - 2;
  EXPECT_EQ(OpenReason(bytes, key.verify_key(), tight), RejectReason::kRawTooLarge);
  // Even with a broken magic, an oversize input is refused as oversize.
  bytes[0] ^= 1;
  tight = OpenLimits{};
  tight.max_total_bytes = 10;
  EXPECT_EQ(OpenReason(bytes, key.verify_key(), tight), RejectReason::kTooLarge);
}

TEST(EnvelopeTest, FourGibClaimedRawLengthIsRefusedBeforeAnyAllocation) {
  const SigningKey key = VectorKey();
  // Properly signed, so only the limit can stop it.
  auto frame = Frame("{}\n", /*declare_size=*/false);
  auto forged = internal::SealCompressed(VectorFields(), uint64_t{4} << 30, frame, key);
  ASSERT_TRUE(forged) << forged.error().message;
  EXPECT_EQ(OpenReason(*forged, key.verify_key()), RejectReason::kRawTooLarge);
  // A valid envelope edited to claim 4 GiB - 1 and 2^64 - 1.
  auto edited = SealOrDie(VectorFields(), kVectorPayload, key);
  for (uint64_t claim : {(uint64_t{4} << 30) - 1, ~uint64_t{0}}) {
    for (int b = 0; b < 8; ++b) {
      edited[12 + b] = static_cast<uint8_t>(claim >> (56 - 8 * b));
    }
    EXPECT_EQ(OpenReason(edited, key.verify_key()), RejectReason::kRawTooLarge);
  }
}

long MaxRssKib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(EnvelopeTest, ZstdBombIsRefusedWithoutInflating) {
  const SigningKey key = VectorKey();
  // 1 GiB of zeros in a ~40 KiB frame that does not declare its size, claimed as 1 KiB.
  const auto bomb = ZeroFrame(uint64_t{1} << 30, /*declare_size=*/false);
  ASSERT_LT(bomb.size(), size_t{1} << 20);
  auto sealed = internal::SealCompressed(VectorFields(), 1024, bomb, key);
  ASSERT_TRUE(sealed) << sealed.error().message;
  const long rss_before = MaxRssKib();
  RejectReason reason = RejectReason::kNone;
  auto opened = OpenEnvelope(*sealed, key.verify_key(), OpenLimits{}, &reason);
  ASSERT_FALSE(opened);
  EXPECT_EQ(reason, RejectReason::kDecompressFailed) << opened.error().message;
  EXPECT_LT(MaxRssKib() - rss_before, 64 * 1024) << "peak memory grew while refusing the bomb";

  // The same bomb declaring its 1 GiB content size: refused from the frame header.
  const auto declared = ZeroFrame(uint64_t{1} << 30, /*declare_size=*/true);
  sealed = internal::SealCompressed(VectorFields(), 1024, declared, key);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(OpenReason(*sealed, key.verify_key()), RejectReason::kRawLengthMismatch);

  // 100 MiB of zeros honestly claimed: over the 64 MiB cap.
  sealed = internal::SealCompressed(VectorFields(), uint64_t{100} << 20, declared, key);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(OpenReason(*sealed, key.verify_key()), RejectReason::kRawTooLarge);
}

TEST(EnvelopeTest, FrameOfOtherLengthIsRefused) {
  const SigningKey key = VectorKey();
  const std::string json = "{\"a\":1}\n";
  for (bool declare : {true, false}) {
    const auto frame = Frame(json, declare);
    for (uint64_t claim : {json.size() - 1, json.size() + 1, json.size() * 100}) {
      auto sealed = internal::SealCompressed(VectorFields(), claim, frame, key);
      ASSERT_TRUE(sealed);
      const RejectReason reason = OpenReason(*sealed, key.verify_key());
      if (claim < json.size() && !declare) {
        EXPECT_EQ(reason, RejectReason::kDecompressFailed);  // output outgrows the buffer
      } else {
        EXPECT_EQ(reason, RejectReason::kRawLengthMismatch) << declare << " " << claim;
      }
    }
    auto exact = internal::SealCompressed(VectorFields(), json.size(), frame, key);
    ASSERT_TRUE(exact);
    EXPECT_EQ(OpenReason(*exact, key.verify_key()), RejectReason::kNone);
  }
}

TEST(EnvelopeTest, PayloadMustBeOneZstdFrame) {
  const SigningKey key = VectorKey();
  const std::string json = "{\"a\":1}\n";
  auto two = Frame(json, true);
  const auto one = two;
  two.insert(two.end(), one.begin(), one.end());
  auto sealed = internal::SealCompressed(VectorFields(), json.size() * 2, two, key);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(OpenReason(*sealed, key.verify_key()), RejectReason::kDecompressFailed);

  const std::vector<uint8_t> not_zstd(json.begin(), json.end());
  sealed = internal::SealCompressed(VectorFields(), json.size(), not_zstd, key);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(OpenReason(*sealed, key.verify_key()), RejectReason::kDecompressFailed);

  // A skippable frame (magic 0x184D2A50) with 4 bytes of content.
  const std::vector<uint8_t> skippable = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
  sealed = internal::SealCompressed(VectorFields(), 4, skippable, key);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(OpenReason(*sealed, key.verify_key()), RejectReason::kDecompressFailed);

  auto truncated = one;
  truncated.pop_back();
  sealed = internal::SealCompressed(VectorFields(), json.size(), truncated, key);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(OpenReason(*sealed, key.verify_key()), RejectReason::kDecompressFailed);
}

TEST(EnvelopeTest, PayloadMustBeJsonLines) {
  const SigningKey key = VectorKey();
  for (std::string bad :
       {std::string("not json\n"), std::string("{\"a\":1}"), std::string("{\"a\":1}\n\n"),
        std::string("{\"a\":\"\xC3\x28\"}\n"), std::string("{\"a\":\"\xED\xA0\x80\"}\n"),
        std::string("{\"a\0\"}\n", 7), std::string("[1,2]\n")}) {
    auto sealed = internal::SealCompressed(VectorFields(), bad.size(), Frame(bad, true), key);
    ASSERT_TRUE(sealed);
    EXPECT_EQ(OpenReason(*sealed, key.verify_key()), RejectReason::kBadPayload) << bad;
    // And SealEnvelope never produces such an envelope in the first place.
    auto refused = SealEnvelope(VectorFields(), bad, key);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, rules::ErrorCode::kInvalidArgument);
  }
}

TEST(EnvelopeTest, SealRefusesBadFields) {
  const SigningKey key = VectorKey();
  std::vector<EnvelopeHeaderFields> bad(7, VectorFields());
  bad[0].sensor_id = "";
  bad[1].sensor_id = std::string(65, 'a');
  bad[2].sensor_id = "sensor a";
  bad[3].sequence = 0;
  bad[4].window_start_us = bad[4].window_end_us + 1;
  bad[5].created_at_us = -1;
  bad[6].payload_type = static_cast<PayloadType>(7);
  for (const auto& f : bad) {
    auto sealed = SealEnvelope(f, kVectorPayload, key);
    EXPECT_FALSE(sealed);
  }
  EnvelopeHeaderFields longest = VectorFields();
  longest.sensor_id = std::string(64, 'z');
  auto sealed = SealEnvelope(longest, kVectorPayload, key);
  ASSERT_TRUE(sealed);
  EXPECT_TRUE(OpenEnvelope(*sealed, key.verify_key(), OpenLimits{}));
}

TEST(EnvelopeTest, SealRefusesWhatOpenWouldRefuse) {
  const SigningKey key = VectorKey();
  SealOptions options;
  options.max_raw_bytes = 10;
  EXPECT_FALSE(SealEnvelope(VectorFields(), kVectorPayload, key, options));
  options = SealOptions{};
  options.max_total_bytes = 200;
  EXPECT_FALSE(SealEnvelope(VectorFields(), kVectorPayload, key, options));
}

// The test vector of docs/formats.md. UPDATE_GOLDEN=1 rewrites the file from this code.
TEST(EnvelopeTest, MatchesTestVector) {
  const SigningKey key = VectorKey();
  const EnvelopeHeaderFields f = VectorFields();
  const auto sealed = SealOrDie(f, kVectorPayload, key);
  const size_t frame_at = 172 + f.sensor_id.size();
  const std::vector<uint8_t> frame(sealed.begin() + static_cast<long>(frame_at), sealed.end());
  const auto message = internal::EnvelopeSignedMessage(f, key.key_id(), sizeof(kVectorPayload) - 1,
                                                       frame.size(), Sha256(frame));
  const std::string path = std::string(TEST_DATA_DIR) + "/uplink/envelope_v1_vector.txt";
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream out(path);
    out << "# Envelope format v1 test vector (docs/formats.md). Generated by\n"
        << "# EnvelopeTest.MatchesTestVector with UPDATE_GOLDEN=1; hex is lower-case.\n"
        << "seed " << ToHex(VectorSeed()) << "\n"
        << "public_key " << ToHex(key.verify_key().raw()) << "\n"
        << "key_id " << ToHex(key.key_id()) << "\n"
        << "fingerprint " << key.verify_key().Fingerprint() << "\n"
        << "payload_hex "
        << ToHex(std::span(reinterpret_cast<const uint8_t*>(kVectorPayload),
                           sizeof(kVectorPayload) - 1))
        << "\n"
        << "zstd_frame " << ToHex(frame) << "\n"
        << "payload_sha256 " << ToHex(Sha256(frame)) << "\n"
        << "signed_message " << ToHex(message) << "\n"
        << "signature " << ToHex(std::span(sealed).subspan(108 + f.sensor_id.size(), 64)) << "\n"
        << "envelope " << ToHex(sealed) << "\n";
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::map<std::string, std::string> vector;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream fields(line);
    std::string name;
    std::string value;
    fields >> name >> value;
    vector[name] = value;
  }
  EXPECT_EQ(vector["seed"], ToHex(VectorSeed()));
  EXPECT_EQ(vector["public_key"], ToHex(key.verify_key().raw()));
  EXPECT_EQ(vector["key_id"], ToHex(key.key_id()));
  EXPECT_EQ(vector["fingerprint"], key.verify_key().Fingerprint());
  EXPECT_EQ(vector["signed_message"], ToHex(message));

  // Opening the recorded bytes must give the recorded fields, whatever zstd version runs.
  const auto recorded = FromHex(vector["envelope"]);
  auto opened = OpenEnvelope(recorded, key.verify_key(), OpenLimits{});
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->fields, f);
  EXPECT_EQ(opened->json_lines, kVectorPayload);
  // Sealing the recorded frame reproduces the recorded bytes exactly (Ed25519 is deterministic).
  const auto recorded_frame = FromHex(vector["zstd_frame"]);
  auto resealed = internal::SealCompressed(f, sizeof(kVectorPayload) - 1, recorded_frame, key);
  ASSERT_TRUE(resealed);
  EXPECT_EQ(ToHex(*resealed), vector["envelope"]);
  // With the libzstd 1.5.x this was generated with, SealEnvelope gives the same frame.
  EXPECT_EQ(ToHex(sealed), vector["envelope"])
      << "zstd output changed (a new libzstd?); the recorded vector still opens";
}

}  // namespace
}  // namespace uplink
