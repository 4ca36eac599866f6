#include "certificate.h"

#include <memory>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace gen_capture {
namespace {

template <auto Fn>
struct CDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};
template <class T, auto Fn>
using CPtr = std::unique_ptr<T, CDeleter<Fn>>;
using EvpPkeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpMdCtxPtr = CPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using X509Ptr = CPtr<X509, X509_free>;
using X509ExtPtr = CPtr<X509_EXTENSION, X509_EXTENSION_free>;

rules::Error CryptoError(const std::string& what) {
  return rules::Error{rules::ErrorCode::kCrypto, "OpenSSL: " + what};
}

EvpPkeyPtr LoadKey(const std::array<uint8_t, 32>& priv) {
  return EvpPkeyPtr(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size()));
}

}  // namespace

rules::Result<Ed25519Key> Ed25519Key::Derive(uint64_t seed, const std::string& label) {
  // The private key is SHA-256("utkikk gen-capture" | label | seed): same seed, same key.
  Bytes material;
  ByteWriter w(&material);
  w.Append(std::string_view("utkikk gen-capture/"));
  w.Append(label);
  w.U64(seed);
  Ed25519Key key;
  unsigned int len = 0;
  if (EVP_Digest(material.data(), material.size(), key.private_.data(), &len, EVP_sha256(),
                 nullptr) != 1 ||
      len != 32) {
    return tl::make_unexpected(CryptoError("SHA-256"));
  }
  EvpPkeyPtr pkey = LoadKey(key.private_);
  size_t pub_len = 32;
  key.public_.resize(32);
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), key.public_.data(), &pub_len) != 1) {
    return tl::make_unexpected(CryptoError("Ed25519 key"));
  }
  return key;
}

rules::Result<Bytes> Ed25519Key::Sign(const Bytes& message) const {
  EvpPkeyPtr pkey = LoadKey(private_);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  Bytes sig(64);
  size_t sig_len = sig.size();
  if (!pkey || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &sig_len, message.data(), message.size()) != 1) {
    return tl::make_unexpected(CryptoError("Ed25519 sign"));
  }
  sig.resize(sig_len);
  return sig;
}

rules::Result<Bytes> Ed25519Key::SelfSignedCertificate(const std::string& common_name,
                                                       const std::string& organization,
                                                       uint64_t serial) const {
  EvpPkeyPtr pkey = LoadKey(private_);
  X509Ptr cert(X509_new());
  if (!pkey || !cert) {
    return tl::make_unexpected(CryptoError("X509_new"));
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                      -1, 0) == 1;
  };
  bool ok = X509_set_version(cert.get(), 2) == 1 &&
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1 &&
            ASN1_TIME_set_string(X509_getm_notBefore(cert.get()), "20250901000000Z") == 1 &&
            ASN1_TIME_set_string(X509_getm_notAfter(cert.get()), "20270901000000Z") == 1 &&
            add("C", "NO") && add("O", organization) && add("CN", common_name) &&
            X509_set_issuer_name(cert.get(), name) == 1 &&
            X509_set_pubkey(cert.get(), pkey.get()) == 1;
  if (!ok) {
    return tl::make_unexpected(CryptoError("building the certificate"));
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + common_name;
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str()));
  X509ExtPtr basic(X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints, "critical,CA:FALSE"));
  if (!ext || !basic || X509_add_ext(cert.get(), basic.get(), -1) != 1 ||
      X509_add_ext(cert.get(), ext.get(), -1) != 1) {
    return tl::make_unexpected(CryptoError("extensions"));
  }
  if (X509_sign(cert.get(), pkey.get(), nullptr) <= 0) {
    return tl::make_unexpected(CryptoError("X509_sign"));
  }
  int len = i2d_X509(cert.get(), nullptr);
  if (len <= 0) {
    return tl::make_unexpected(CryptoError("i2d_X509"));
  }
  Bytes der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  i2d_X509(cert.get(), &p);
  return der;
}

}  // namespace gen_capture
