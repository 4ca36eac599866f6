// Deterministic key material for the capture: Ed25519 keys derived from the seed and
// self-signed X.509 certificates with fixed validity, made with OpenSSL at run time.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "bytes.h"
#include "rules/result.h"

namespace gen_capture {

// An Ed25519 key pair derived from (seed, label). A value type; thread-compatible.
class Ed25519Key {
 public:
  static rules::Result<Ed25519Key> Derive(uint64_t seed, const std::string& label);
  const Bytes& public_key() const { return public_; }
  // Ed25519 signature (deterministic, 64 bytes).
  rules::Result<Bytes> Sign(const Bytes& message) const;
  // DER X.509 v3 certificate, self-signed, valid 2025-09-01 .. 2027-09-01, subject
  // C=NO, O=`organization`, CN=`common_name`, with `common_name` as DNS subjectAltName.
  rules::Result<Bytes> SelfSignedCertificate(const std::string& common_name,
                                             const std::string& organization,
                                             uint64_t serial) const;

 private:
  std::array<uint8_t, 32> private_{};
  Bytes public_;
};

}  // namespace gen_capture
