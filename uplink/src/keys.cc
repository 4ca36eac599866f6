#include "uplink/keys.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "c_handles.h"
#include "file_util.h"

namespace uplink {

using internal::CPtr;
using rules::ErrorCode;
using rules::Fail;
using EvpPkeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = CPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = CPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using BioPtr = CPtr<BIO, BIO_free_all>;

namespace {

// The oldest OpenSSL error on this thread's queue, as text; clears the queue.
std::string OpensslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return what;
  }
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return what + ": " + buf;
}

rules::Result<std::string> BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) {
    return Fail(ErrorCode::kCrypto, "PEM output empty");
  }
  return std::string(data, static_cast<size_t>(len));
}

KeyId KeyIdOf(const std::array<uint8_t, kEd25519PublicKeySize>& raw) {
  Sha256Digest digest = Sha256(raw);
  KeyId id{};
  std::copy(digest.begin(), digest.begin() + kKeyIdSize, id.begin());
  return id;
}

rules::Result<std::string> ReadSmallFile(const std::string& path) {
  bool too_large = false;
  auto data = internal::ReadFileBounded(path, 64 * 1024, &too_large);
  if (!data) {
    return Fail(data.error(), "");
  }
  if (too_large) {
    return Fail(ErrorCode::kInvalidArgument, path + ": too large for a key file");
  }
  return std::string(data->begin(), data->end());
}

}  // namespace

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest digest{};
  unsigned int len = 0;
  // EVP_Digest with SHA-256 cannot fail short of memory exhaustion, which aborts anyway.
  EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return digest;
}

std::string ToHex(std::span<const uint8_t> data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// ---- VerifyKey ----

rules::Result<VerifyKey> VerifyKey::FromRaw(std::span<const uint8_t> raw) {
  if (raw.size() != kEd25519PublicKeySize) {
    return Fail(ErrorCode::kInvalidArgument,
                "Ed25519 public key must be 32 bytes, got " + std::to_string(raw.size()));
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  if (!pkey) {
    return Fail(ErrorCode::kCrypto, OpensslError("Ed25519 public key"));
  }
  VerifyKey key;
  std::copy(raw.begin(), raw.end(), key.raw_.begin());
  key.key_id_ = KeyIdOf(key.raw_);
  return key;
}

rules::Result<VerifyKey> VerifyKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return Fail(ErrorCode::kCrypto, OpensslError("BIO"));
  }
  EvpPkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    return Fail(ErrorCode::kParse, OpensslError("not a PEM public key"));
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Fail(ErrorCode::kInvalidArgument, "public key is not Ed25519");
  }
  std::array<uint8_t, kEd25519PublicKeySize> raw{};
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), raw.data(), &len) != 1 || len != raw.size()) {
    return Fail(ErrorCode::kCrypto, OpensslError("Ed25519 raw public key"));
  }
  return FromRaw(raw);
}

rules::Result<VerifyKey> VerifyKey::LoadPemFile(const std::string& path) {
  auto text = ReadSmallFile(path);
  if (!text) {
    return Fail(text.error(), "verify key: ");
  }
  auto key = FromPem(*text);
  if (!key) {
    return Fail(key.error(), path + ": ");
  }
  return key;
}

rules::Result<std::string> VerifyKey::ToPem() const {
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_.data(), raw_.size()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!pkey || !bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) {
    return Fail(ErrorCode::kCrypto, OpensslError("writing PEM public key"));
  }
  return BioToString(bio.get());
}

std::string VerifyKey::Fingerprint() const {
  Sha256Digest digest = Sha256(raw_);
  // 32 bytes -> 44 base64 characters with one '=' of padding, + NUL.
  unsigned char out[4 * ((kSha256Size + 2) / 3) + 1];
  int n = EVP_EncodeBlock(out, digest.data(), static_cast<int>(digest.size()));
  std::string b64(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  while (!b64.empty() && b64.back() == '=') {
    b64.pop_back();
  }
  return "SHA256:" + b64;
}

bool VerifyKey::Verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const {
  if (signature.size() != kEd25519SignatureSize) {
    return false;
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_.data(), raw_.size()));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  int ok = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size());
  ERR_clear_error();
  return ok == 1;
}

// ---- SigningKey ----

struct SigningKey::Impl {
  EvpPkeyPtr pkey;
  VerifyKey verify_key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::SigningKey(SigningKey&& other) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&& other) noexcept = default;
SigningKey::~SigningKey() = default;

rules::Result<SigningKey> SigningKey::Generate() {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Fail(ErrorCode::kCrypto, OpensslError("Ed25519 key generation"));
  }
  EvpPkeyPtr pkey(raw);
  std::array<uint8_t, kEd25519PublicKeySize> pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1) {
    return Fail(ErrorCode::kCrypto, OpensslError("Ed25519 public key"));
  }
  auto verify_key = VerifyKey::FromRaw(pub);
  if (!verify_key) {
    return Fail(verify_key.error(), "");
  }
  return SigningKey(std::make_unique<Impl>(Impl{std::move(pkey), *verify_key}));
}

rules::Result<SigningKey> SigningKey::FromSeed(std::span<const uint8_t> seed) {
  if (seed.size() != kEd25519SeedSize) {
    return Fail(ErrorCode::kInvalidArgument,
                "Ed25519 seed must be 32 bytes, got " + std::to_string(seed.size()));
  }
  EvpPkeyPtr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!pkey) {
    return Fail(ErrorCode::kCrypto, OpensslError("Ed25519 private key"));
  }
  std::array<uint8_t, kEd25519PublicKeySize> pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1) {
    return Fail(ErrorCode::kCrypto, OpensslError("Ed25519 public key"));
  }
  auto verify_key = VerifyKey::FromRaw(pub);
  if (!verify_key) {
    return Fail(verify_key.error(), "");
  }
  return SigningKey(std::make_unique<Impl>(Impl{std::move(pkey), *verify_key}));
}

rules::Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return Fail(ErrorCode::kCrypto, OpensslError("BIO"));
  }
  // A null password callback with no user data: an encrypted key fails instead of prompting.
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!pkey) {
    return Fail(ErrorCode::kParse, OpensslError("not an unencrypted PEM private key"));
  }
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Fail(ErrorCode::kInvalidArgument, "private key is not Ed25519");
  }
  std::array<uint8_t, kEd25519PublicKeySize> pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1) {
    return Fail(ErrorCode::kCrypto, OpensslError("Ed25519 public key"));
  }
  auto verify_key = VerifyKey::FromRaw(pub);
  if (!verify_key) {
    return Fail(verify_key.error(), "");
  }
  return SigningKey(std::make_unique<Impl>(Impl{std::move(pkey), *verify_key}));
}

rules::Result<SigningKey> SigningKey::LoadPemFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    return Fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                internal::ErrnoMessage("signing key", path, err));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Fail(ErrorCode::kConfig, "signing key " + path + " has mode " + mode +
                                        ": group and others must have no access (chmod 600)");
  }
  auto text = ReadSmallFile(path);
  if (!text) {
    return Fail(text.error(), "signing key: ");
  }
  auto key = FromPem(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) {
    return Fail(key.error(), path + ": ");
  }
  return key;
}

rules::Result<std::string> SigningKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return Fail(ErrorCode::kCrypto, OpensslError("writing PEM private key"));
  }
  return BioToString(bio.get());
}

rules::Result<void> SigningKey::SavePemFile(const std::string& path) const {
  auto pem = ToPem();
  if (!pem) {
    return Fail(pem.error(), "");
  }
  std::string dir;
  std::string name;
  internal::SplitPath(path, &dir, &name);
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pem->data()), pem->size());
  auto written = internal::WriteFileAtomic(dir, name, bytes, 0600, /*replace=*/false);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!written) {
    return Fail(written.error(), "saving signing key: ");
  }
  return {};
}

const VerifyKey& SigningKey::verify_key() const {
  return impl_->verify_key;
}

rules::Result<Signature> SigningKey::Sign(std::span<const uint8_t> message) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  Signature sig{};
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
      len != sig.size()) {
    return Fail(ErrorCode::kCrypto, OpensslError("Ed25519 signing"));
  }
  return sig;
}

}  // namespace uplink
