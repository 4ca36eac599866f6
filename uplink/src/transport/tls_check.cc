// CheckTlsFiles: the TLS material is read and matched here, before Broker sees it, because CAF
// reports a bad file by throwing inside its I/O thread (which ends the process) and treats
// missing files as "anonymous TLS".
#include <cstdio>
#include <string>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "c_handles.h"
#include "uplink/transport/transport.h"

namespace uplink {
namespace {

using internal::CPtr;
using rules::ErrorCode;
using rules::Fail;
using rules::Result;

using BioPtr = CPtr<BIO, BIO_free_all>;
using X509Ptr = CPtr<X509, X509_free>;
using PkeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no PEM data";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Result<X509Ptr> ReadCert(const std::string& what, const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return Fail(ErrorCode::kConfig, what + " " + path + ": cannot open");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Fail(ErrorCode::kConfig, what + " " + path + ": " + OpenSslError());
  return cert;
}

}  // namespace

Result<void> CheckTlsFiles(const TlsFiles& tls) {
  if (tls.cert.empty() || tls.key.empty() || tls.ca.empty()) {
    return Fail(ErrorCode::kConfig,
                "TLS needs a certificate, a key and a CA (mutual authentication is mandatory)");
  }
  auto cert = ReadCert("TLS certificate", tls.cert);
  if (!cert) return tl::make_unexpected(cert.error());
  auto ca = ReadCert("TLS CA", tls.ca);
  if (!ca) return tl::make_unexpected(ca.error());
  BioPtr bio(BIO_new_file(tls.key.c_str(), "r"));
  if (!bio) return Fail(ErrorCode::kConfig, "TLS key " + tls.key + ": cannot open");
  PkeyPtr key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, nullptr,
      tls.passphrase.empty() ? nullptr : const_cast<char*>(tls.passphrase.c_str())));
  if (!key) return Fail(ErrorCode::kConfig, "TLS key " + tls.key + ": " + OpenSslError());
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return Fail(ErrorCode::kConfig,
                "TLS key " + tls.key + " does not match certificate " + tls.cert);
  }
  return {};
}

}  // namespace uplink
