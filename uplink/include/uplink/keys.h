// Ed25519 keys of a sensor: the signing key the uplink holds, the verify key the collector
// enrolls, and the key id and fingerprint that name a public key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "rules/result.h"

namespace uplink {

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SeedSize = 32;  // RFC 8032 private key
inline constexpr size_t kEd25519SignatureSize = 64;
inline constexpr size_t kKeyIdSize = 16;
inline constexpr size_t kSha256Size = 32;

// First 16 bytes of SHA-256 over the raw 32-byte Ed25519 public key.
using KeyId = std::array<uint8_t, kKeyIdSize>;
using Sha256Digest = std::array<uint8_t, kSha256Size>;
using Signature = std::array<uint8_t, kEd25519SignatureSize>;

// SHA-256 of `data` (OpenSSL underneath).
Sha256Digest Sha256(std::span<const uint8_t> data);
// Lower-case hex, two digits a byte.
std::string ToHex(std::span<const uint8_t> data);

// An Ed25519 public key. A plain value (32 bytes plus its key id): copyable, and safe to use
// from several threads at once through its const methods.
class VerifyKey {
 public:
  // From the raw 32-byte encoding (RFC 8032 section 5.1.5).
  static rules::Result<VerifyKey> FromRaw(std::span<const uint8_t> raw);
  // From a PEM "PUBLIC KEY" (SubjectPublicKeyInfo, RFC 8410) block; only Ed25519 is accepted.
  static rules::Result<VerifyKey> FromPem(std::string_view pem);
  static rules::Result<VerifyKey> LoadPemFile(const std::string& path);

  rules::Result<std::string> ToPem() const;
  const std::array<uint8_t, kEd25519PublicKeySize>& raw() const { return raw_; }
  const KeyId& key_id() const { return key_id_; }
  // "SHA256:" + base64 (no padding) of SHA-256 over the raw public key, like OpenSSH prints,
  // for an operator to compare by eye or over the phone.
  std::string Fingerprint() const;
  // True when `signature` is a valid pure-Ed25519 signature of `message` under this key.
  bool Verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const;

 private:
  VerifyKey() = default;
  std::array<uint8_t, kEd25519PublicKeySize> raw_{};
  KeyId key_id_{};
};

// An Ed25519 private key. Owns its OpenSSL key object (hidden here); move-only. Signing through
// one object from several threads at once is safe (each Sign uses its own OpenSSL context).
class SigningKey {
 public:
  static rules::Result<SigningKey> Generate();
  // From a 32-byte RFC 8032 seed: the same seed always gives the same key (test vectors).
  static rules::Result<SigningKey> FromSeed(std::span<const uint8_t> seed);
  // From a PEM "PRIVATE KEY" (PKCS#8, RFC 8410) block; only Ed25519 is accepted.
  static rules::Result<SigningKey> FromPem(std::string_view pem);
  // Refuses a file that its group or others may read or write (mode & 077 != 0), like ssh.
  static rules::Result<SigningKey> LoadPemFile(const std::string& path);

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  ~SigningKey();

  rules::Result<std::string> ToPem() const;
  // Writes the PEM to `path` with mode 0600: temporary file, fsync, link into place, fsync the
  // directory. Refuses to replace an existing file, so a key is never overwritten by mistake.
  rules::Result<void> SavePemFile(const std::string& path) const;
  const VerifyKey& verify_key() const;
  const KeyId& key_id() const { return verify_key().key_id(); }
  // Pure Ed25519 (one shot, no prehash) over `message`.
  rules::Result<Signature> Sign(std::span<const uint8_t> message) const;

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace uplink
