// Hashes, HMAC and AES for the extractors over OpenSSL 3, made cheap to call per packet.
//
// EVP_Digest, HMAC() and EVP_*Init_ex with EVP_sha256()/EVP_aes_*() look the algorithm up in the
// provider on every call and allocate a context each time; for the short inputs the extractors
// hash (a JA4 string, a QUIC connection ID) that costs several times the hashing itself. Here the
// algorithms are fetched once per process and each thread reuses one context per use.
#ifndef UTKIKK_SENSOR_SRC_EXTRACT_CRYPTO_H_
#define UTKIKK_SENSOR_SRC_EXTRACT_CRYPTO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sensor::extract {

using Sha256Digest = std::array<uint8_t, 32>;

// Lower-case hex of MD5 / SHA-256 of `data`; empty if OpenSSL fails.
std::string Md5Hex(std::string_view data);
std::string Sha256Hex(std::string_view data);

// HMAC-SHA256 (RFC 2104) of `data` under `key`; false if OpenSSL fails.
bool HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data, Sha256Digest* out);

// AES-128 of one 16-byte block (ECB, no padding): QUIC header protection (RFC 9001 5.4.3).
bool Aes128Block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]);

// AES-128-GCM open with a 12-byte nonce and a 16-byte tag after the ciphertext:
// `sealed` = ciphertext || tag, `out` receives sealed.size() - 16 bytes. False when the tag
// does not verify or OpenSSL fails.
bool Aes128GcmOpen(const uint8_t key[16], const uint8_t nonce[12], std::span<const uint8_t> aad,
                   std::span<const uint8_t> sealed, uint8_t* out);

}  // namespace sensor::extract

#endif  // UTKIKK_SENSOR_SRC_EXTRACT_CRYPTO_H_
