// QUIC Initial packets (RFC 9000 17.2.2) and their protection (RFC 9001 5): the client's first
// Initial is protected with keys every observer can derive from its Destination Connection ID, so
// the ClientHello in its CRYPTO frames is readable — SNI, JA4 with 'q', and transport parameters
// such as Google's user agent (0x3129). Versions: 1 (RFC 9001 5.2 salt) and drafts 29-32
// (draft-ietf-quic-tls-29 5.2 salt). Version 2 (RFC 9369) uses other labels: not decoded.
#include <array>
#include <cstring>

#include "extract/crypto.h"
#include "extract/parsers.h"

namespace sensor::extract {
namespace {

bool ReadVarint(Bytes b, size_t* pos, uint64_t* out) {
  if (*pos >= b.size()) return false;
  size_t len = size_t{1} << (b[*pos] >> 6);
  if (b.size() - *pos < len) return false;
  uint64_t v = b[*pos] & 0x3f;
  for (size_t i = 1; i < len; ++i) v = (v << 8) | b[*pos + i];
  *pos += len;
  *out = v;
  return true;
}

// HKDF-Expand-Label (RFC 8446 7.1) with an empty context, for outputs of at most 32 bytes (one
// HMAC-SHA256 block, RFC 5869 2.3).
bool ExpandLabel(const uint8_t* secret, const char* label, uint8_t* out, size_t length) {
  uint8_t info[64];
  size_t n = 0;
  size_t label_len = 6 + std::strlen(label);
  info[n++] = 0;
  info[n++] = static_cast<uint8_t>(length);
  info[n++] = static_cast<uint8_t>(label_len);
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label, label_len - 6);
  n += label_len - 6;
  info[n++] = 0;  // empty context
  info[n++] = 1;  // the HKDF block counter
  Sha256Digest block;
  if (!HmacSha256({secret, 32}, {info, n}, &block)) return false;
  std::memcpy(out, block.data(), length);
  return true;
}

}  // namespace

std::optional<QuicKeys> QuicClientInitialKeys(uint32_t version, Bytes dcid) {
  static constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                          0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                          0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
  static constexpr uint8_t kSaltDraft29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2,
                                               0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
                                               0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
  const uint8_t* salt = nullptr;
  if (version == 1) {
    salt = kSaltV1;
  } else if (version >= 0xff00001d && version <= 0xff000020) {
    salt = kSaltDraft29;
  } else {
    return std::nullopt;
  }
  // RFC 9001 5.2: initial_secret = HKDF-Extract(salt, DCID); the client's is "client in".
  Sha256Digest initial;
  if (!HmacSha256({salt, 20}, dcid, &initial)) return std::nullopt;
  uint8_t client[32];
  QuicKeys k;
  if (!ExpandLabel(initial.data(), "client in", client, 32) ||
      !ExpandLabel(client, "quic key", k.key.data(), 16) ||
      !ExpandLabel(client, "quic iv", k.iv.data(), 12) ||
      !ExpandLabel(client, "quic hp", k.hp.data(), 16)) {
    return std::nullopt;
  }
  return k;
}

std::optional<std::vector<uint8_t>> QuicInitialCrypto(Bytes d) {
  // Long header, fixed bit, Initial (type 0): 0b11 00 xxxx.
  if (d.size() < 7 || (d[0] & 0xf0) != 0xc0) return std::nullopt;
  const uint32_t version = (uint32_t{d[1]} << 24) | (uint32_t{d[2]} << 16) |
                           (uint32_t{d[3]} << 8) | d[4];
  size_t pos = 5;
  size_t dcid_len = d[pos++];
  if (dcid_len > 20 || d.size() - pos < dcid_len + 1) return std::nullopt;
  Bytes dcid = d.subspan(pos, dcid_len);
  pos += dcid_len;
  size_t scid_len = d[pos++];
  if (scid_len > 20 || d.size() - pos < scid_len) return std::nullopt;
  pos += scid_len;
  uint64_t token_len = 0, length = 0;
  if (!ReadVarint(d, &pos, &token_len) || d.size() - pos < token_len) return std::nullopt;
  pos += token_len;
  if (!ReadVarint(d, &pos, &length) || d.size() - pos < length || length < 20 + 16) {
    return std::nullopt;
  }
  const size_t pn_offset = pos;

  auto keys = QuicClientInitialKeys(version, dcid);
  if (!keys) return std::nullopt;
  const auto& key = keys->key;
  const auto& hp = keys->hp;
  uint8_t iv[12];
  std::memcpy(iv, keys->iv.data(), 12);

  // Header protection (RFC 9001 5.4): the sample starts 4 bytes after the packet number's start.
  uint8_t mask[16];
  if (!Aes128Block(hp.data(), d.data() + pn_offset + 4, mask)) return std::nullopt;
  std::vector<uint8_t> header(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(pn_offset + 4));
  header[0] ^= mask[0] & 0x0f;
  const size_t pn_len = (header[0] & 0x03) + 1;
  uint64_t pn = 0;
  for (size_t i = 0; i < pn_len; ++i) {
    header[pn_offset + i] ^= mask[1 + i];
    pn = (pn << 8) | header[pn_offset + i];
  }
  header.resize(pn_offset + pn_len);
  const uint8_t* payload = d.data() + pn_offset + pn_len;
  const size_t payload_len = length - pn_len;  // ciphertext + 16-byte tag
  if (payload_len < 16) return std::nullopt;
  for (int i = 0; i < 8; ++i) iv[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));

  // AEAD_AES_128_GCM (RFC 9001 5.3): AAD = the unprotected header.
  std::vector<uint8_t> plain(payload_len - 16);
  if (!Aes128GcmOpen(key.data(), iv, header, {payload, payload_len}, plain.data())) {
    return std::nullopt;  // not an Initial of this connection, or damaged
  }

  // Frames (RFC 9000 19): CRYPTO data placed by offset; the contiguous prefix is returned.
  constexpr size_t kMaxCrypto = 16384;
  std::vector<uint8_t> crypto;
  std::vector<bool> have;
  Bytes f(plain);
  size_t p = 0;
  while (p < f.size()) {
    uint64_t type = 0;
    if (!ReadVarint(f, &p, &type)) break;
    if (type == 0x00 || type == 0x01) continue;  // PADDING, PING
    if (type == 0x02 || type == 0x03) {          // ACK (with ECN counts for 0x03)
      uint64_t v = 0, ranges = 0;
      if (!ReadVarint(f, &p, &v) || !ReadVarint(f, &p, &v) || !ReadVarint(f, &p, &ranges) ||
          !ReadVarint(f, &p, &v) || ranges > 256) {
        break;
      }
      bool ok = true;
      for (uint64_t i = 0; i < ranges * 2 && ok; ++i) ok = ReadVarint(f, &p, &v);
      for (int i = 0; i < (type == 0x03 ? 3 : 0) && ok; ++i) ok = ReadVarint(f, &p, &v);
      if (!ok) break;
      continue;
    }
    if (type != 0x06) break;  // anything else ends what an Initial may carry for us
    uint64_t offset = 0, len = 0;
    if (!ReadVarint(f, &p, &offset) || !ReadVarint(f, &p, &len) || f.size() - p < len) break;
    if (offset + len <= kMaxCrypto) {
      if (crypto.size() < offset + len) {
        crypto.resize(offset + len);
        have.resize(offset + len);
      }
      std::memcpy(crypto.data() + offset, f.data() + p, len);
      for (uint64_t i = 0; i < len; ++i) have[offset + i] = true;
    }
    p += len;
  }
  size_t contiguous = 0;
  while (contiguous < have.size() && have[contiguous]) ++contiguous;
  if (contiguous == 0) return std::nullopt;
  crypto.resize(contiguous);
  return crypto;
}

}  // namespace sensor::extract
