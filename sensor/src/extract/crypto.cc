// See crypto.h. Fetched algorithms (EVP_MD_fetch, EVP_CIPHER_fetch) are immutable and shared by
// all threads for the process's lifetime; contexts are per thread.
#include "extract/crypto.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace sensor::extract {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const EVP_MD* FetchedDigest(const char* name, const EVP_MD* fallback) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  return md != nullptr ? md : fallback;
}

const EVP_MD* Md5() {
  static const EVP_MD* const md = FetchedDigest("MD5", EVP_md5());
  return md;
}

const EVP_MD* Sha256() {
  static const EVP_MD* const md = FetchedDigest("SHA256", EVP_sha256());
  return md;
}

const EVP_CIPHER* FetchedCipher(const char* name, const EVP_CIPHER* fallback) {
  const EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  return c != nullptr ? c : fallback;
}

EVP_MD_CTX* ThreadMdCtx() {
  thread_local MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx.get();
}

// Digest of the concatenation of `parts` into `out` (EVP_MAX_MD_SIZE bytes); its length, 0 on
// failure.
unsigned int DigestParts(const EVP_MD* md, std::initializer_list<std::span<const uint8_t>> parts,
                         uint8_t* out) {
  EVP_MD_CTX* ctx = ThreadMdCtx();
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx, md, nullptr) != 1) return 0;
  for (std::span<const uint8_t> part : parts) {
    if (!part.empty() && EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) return 0;
  }
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx, out, &length) != 1) return 0;
  return length;
}

std::span<const uint8_t> BytesOf(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string HexDigest(const EVP_MD* md, std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint8_t digest[EVP_MAX_MD_SIZE];
  const unsigned int length = DigestParts(md, {BytesOf(data)}, digest);
  std::string out(size_t{length} * 2, '\0');
  for (unsigned int i = 0; i < length; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace

std::string Md5Hex(std::string_view data) { return HexDigest(Md5(), data); }
std::string Sha256Hex(std::string_view data) { return HexDigest(Sha256(), data); }

bool HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data, Sha256Digest* out) {
  constexpr size_t kBlock = 64;  // SHA-256's block size
  uint8_t k[kBlock] = {};
  if (key.size() > kBlock) {
    if (DigestParts(Sha256(), {key}, k) != 32) return false;
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  uint8_t ipad[kBlock], opad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  uint8_t inner[EVP_MAX_MD_SIZE];
  if (DigestParts(Sha256(), {ipad, data}, inner) != 32) return false;
  uint8_t outer[EVP_MAX_MD_SIZE];
  if (DigestParts(Sha256(), {opad, std::span<const uint8_t>(inner, 32)}, outer) != 32) {
    return false;
  }
  std::memcpy(out->data(), outer, 32);
  return true;
}

bool Aes128Block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]) {
  static const EVP_CIPHER* const cipher = FetchedCipher("AES-128-ECB", EVP_aes_128_ecb());
  thread_local CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  return ctx && EVP_EncryptInit_ex2(ctx.get(), cipher, key, nullptr, nullptr) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
         EVP_EncryptUpdate(ctx.get(), out, &length, in, 16) == 1 && length == 16;
}

bool Aes128GcmOpen(const uint8_t key[16], const uint8_t nonce[12], std::span<const uint8_t> aad,
                   std::span<const uint8_t> sealed, uint8_t* out) {
  static const EVP_CIPHER* const cipher = FetchedCipher("AES-128-GCM", EVP_aes_128_gcm());
  thread_local CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  constexpr size_t kTag = 16;
  if (!ctx || sealed.size() < kTag || sealed.size() - kTag > 0x7fffffff ||
      aad.size() > 0x7fffffff) {
    return false;
  }
  const size_t text = sealed.size() - kTag;
  int length = 0, final_length = 0;
  // GCM's default IV length is 12 bytes, the QUIC nonce's.
  return EVP_DecryptInit_ex2(ctx.get(), cipher, key, nonce, nullptr) == 1 &&
         EVP_DecryptUpdate(ctx.get(), nullptr, &length, aad.data(),
                           static_cast<int>(aad.size())) == 1 &&
         EVP_DecryptUpdate(ctx.get(), out, &length, sealed.data(), static_cast<int>(text)) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag),
                             const_cast<uint8_t*>(sealed.data() + text)) == 1 &&
         EVP_DecryptFinal_ex(ctx.get(), out + length, &final_length) == 1;
}

}  // namespace sensor::extract
