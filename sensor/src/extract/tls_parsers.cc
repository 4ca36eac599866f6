// TLS: ClientHello (RFC 8446 4.1.2, RFC 5246 7.4.1.2), JA3, JA4, certificate lists and X.509
// (OpenSSL), and the hashes they need.
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>

#include "extract/parsers.h"

namespace sensor::extract {
namespace {

// A bounds-checked big-endian reader over a span. Reads past the end set ok() false and yield 0.
class Reader {
 public:
  explicit Reader(Bytes data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t left() const { return data_.size() - pos_; }
  uint8_t U8() { return Need(1) ? data_[pos_++] : 0; }
  uint16_t U16() {
    if (!Need(2)) return 0;
    uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t U24() {
    if (!Need(3)) return 0;
    uint32_t v = (uint32_t{data_[pos_]} << 16) | (uint32_t{data_[pos_ + 1]} << 8) | data_[pos_ + 2];
    pos_ += 3;
    return v;
  }
  Bytes Take(size_t n) {
    if (!Need(n)) return {};
    Bytes out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || left() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  Bytes data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::vector<uint16_t> U16List(Bytes b) {
  std::vector<uint16_t> out;
  out.reserve(b.size() / 2);
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    out.push_back(static_cast<uint16_t>((b[i] << 8) | b[i + 1]));
  }
  return out;
}

std::string HexOf(const unsigned char* digest, unsigned int length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, md, nullptr) != 1) {
    return {};
  }
  return HexOf(digest, length);
}

void AppendHex4(std::string* out, uint16_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back(kHex[(v >> 12) & 15]);
  out->push_back(kHex[(v >> 8) & 15]);
  out->push_back(kHex[(v >> 4) & 15]);
  out->push_back(kHex[v & 15]);
}

std::string JoinHexSorted(std::vector<uint16_t> values) {
  std::sort(values.begin(), values.end());
  std::string out;
  for (uint16_t v : values) {
    if (!out.empty()) out.push_back(',');
    AppendHex4(&out, v);
  }
  return out;
}

std::string JoinDecimal(const std::vector<uint16_t>& values) {
  std::string out;
  for (uint16_t v : values) {
    if (IsGrease(v)) continue;
    if (!out.empty()) out.push_back('-');
    out += std::to_string(v);
  }
  return out;
}

std::vector<uint16_t> WithoutGrease(const std::vector<uint16_t>& values) {
  std::vector<uint16_t> out;
  out.reserve(values.size());
  for (uint16_t v : values) {
    if (!IsGrease(v)) out.push_back(v);
  }
  return out;
}

const char* Ja4Version(uint16_t v) {
  switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
  }
}

bool IsAlnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// JA4 parts a, b-input and c-input.
struct Ja4Parts {
  std::string a, ciphers, extensions;
};

Ja4Parts Ja4Build(const ClientHello& h, char transport) {
  Ja4Parts p;
  uint16_t version = h.legacy_version;
  std::vector<uint16_t> versions = WithoutGrease(h.versions);
  if (!versions.empty()) {
    version = *std::max_element(versions.begin(), versions.end());
  }
  std::vector<uint16_t> ciphers = WithoutGrease(h.ciphers);
  std::vector<uint16_t> extensions = WithoutGrease(h.extensions);
  bool sni = std::find(extensions.begin(), extensions.end(), 0) != extensions.end();
  char counts[8];
  std::snprintf(counts, sizeof counts, "%02zu%02zu", std::min<size_t>(ciphers.size(), 99),
                std::min<size_t>(extensions.size(), 99));
  std::string alpn = "00";
  if (!h.alpn.empty()) {
    uint8_t first = static_cast<uint8_t>(h.alpn.front());
    uint8_t last = static_cast<uint8_t>(h.alpn.back());
    if (IsAlnum(first) && IsAlnum(last)) {
      alpn = {static_cast<char>(first), static_cast<char>(last)};
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      alpn = {kHex[first >> 4], kHex[last & 15]};
    }
  }
  p.a = std::string(1, transport) + Ja4Version(version) + (sni ? "d" : "i") + counts + alpn;
  p.ciphers = JoinHexSorted(ciphers);
  std::vector<uint16_t> hashed;
  for (uint16_t e : extensions) {
    if (e != 0x0000 && e != 0x0010) hashed.push_back(e);
  }
  p.extensions = JoinHexSorted(hashed);
  std::vector<uint16_t> sig = WithoutGrease(h.sig_algs);
  if (!sig.empty()) {
    p.extensions.push_back('_');
    for (size_t i = 0; i < sig.size(); ++i) {
      if (i > 0) p.extensions.push_back(',');
      AppendHex4(&p.extensions, sig[i]);
    }
  }
  return p;
}

// ---- X.509 with OpenSSL.
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

std::string Utf8Of(const ASN1_STRING* s, size_t max = 256) {
  if (s == nullptr) return {};
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, s);
  if (length < 0 || utf8 == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(utf8),
                  std::min<size_t>(static_cast<size_t>(length), max));
  OPENSSL_free(utf8);
  // Keep UTF-8, drop control characters (they would break log lines).
  out.erase(std::remove_if(out.begin(), out.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x20; }),
            out.end());
  return out;
}

struct NameParts {
  std::string one_line, rfc2253, common_name;
};

NameParts NameOf(const X509_NAME* name) {
  NameParts out;
  int count = X509_NAME_entry_count(name);
  std::vector<std::string> rdns;
  for (int i = 0; i < count && i < 32; ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char* sn = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
    std::string key = sn != nullptr ? sn : "OID";
    std::string value = Utf8Of(X509_NAME_ENTRY_get_data(e));
    if (nid == NID_commonName && out.common_name.empty()) out.common_name = value;
    if (!out.one_line.empty()) out.one_line += ", ";
    out.one_line += key + "=" + value;
    std::string escaped;
    for (char c : value) {
      if (c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';') {
        escaped.push_back('\\');
      }
      escaped.push_back(c);
    }
    rdns.push_back(key + "=" + escaped);
  }
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    if (!out.rfc2253.empty()) out.rfc2253.push_back(',');
    out.rfc2253 += *it;
  }
  return out;
}

std::string TimeOf(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace

bool IsGrease(uint16_t v) {
  // RFC 8701: 0x0A0A, 0x1A1A, ..., 0xFAFA.
  return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

std::optional<ClientHello> ParseClientHello(Bytes body) {
  Reader r(body);
  ClientHello h;
  h.legacy_version = r.U16();
  r.Take(32);                  // random
  r.Take(r.U8());              // session id
  Bytes ciphers = r.Take(r.U16());
  r.Take(r.U8());              // compression methods
  if (!r.ok()) {
    return std::nullopt;
  }
  h.ciphers = U16List(ciphers);
  if (r.left() < 2) {
    return h;  // no extensions (SSL 3.0 style)
  }
  Reader ext(r.Take(r.U16()));
  if (!r.ok()) {
    return std::nullopt;
  }
  while (ext.ok() && ext.left() >= 4) {
    uint16_t type = ext.U16();
    Bytes data = ext.Take(ext.U16());
    if (!ext.ok()) {
      return std::nullopt;
    }
    h.extensions.push_back(type);
    Reader d(data);
    switch (type) {
      case 0: {  // server_name: list of (type, name)
        Reader list(d.Take(d.U16()));
        while (list.ok() && list.left() >= 3 && h.sni.empty()) {
          uint8_t name_type = list.U8();
          Bytes name = list.Take(list.U16());
          if (list.ok() && name_type == 0) h.sni = CleanText(AsText(name), 255);
        }
        break;
      }
      case 10:
        h.groups = U16List(d.Take(d.U16()));
        break;
      case 11: {
        Bytes formats = d.Take(d.U8());
        h.point_formats.assign(formats.begin(), formats.end());
        break;
      }
      case 13:
        h.sig_algs = U16List(d.Take(d.U16()));
        break;
      case 16: {  // ALPN: list of length-prefixed protocol names
        Reader list(d.Take(d.U16()));
        Bytes first = list.Take(list.U8());
        if (list.ok()) h.alpn.assign(reinterpret_cast<const char*>(first.data()), first.size());
        break;
      }
      case 43:
        h.versions = U16List(d.Take(d.U8()));
        break;
      default:
        break;
    }
    if (h.extensions.size() > 512) {
      break;
    }
  }
  return h;
}

std::string Ja3Text(const ClientHello& h) {
  std::string out = std::to_string(h.legacy_version);
  out += ',' + JoinDecimal(h.ciphers) + ',' + JoinDecimal(h.extensions) + ',' +
         JoinDecimal(h.groups) + ',';
  for (size_t i = 0; i < h.point_formats.size(); ++i) {
    if (i > 0) out.push_back('-');
    out += std::to_string(h.point_formats[i]);
  }
  return out;
}

std::string Ja3(const ClientHello& h) { return Md5Hex(Ja3Text(h)); }

std::string Ja4(const ClientHello& h, char transport) {
  Ja4Parts p = Ja4Build(h, transport);
  auto hash12 = [](const std::string& s) {
    return s.empty() ? std::string(12, '0') : Sha256Hex(s).substr(0, 12);
  };
  return p.a + "_" + hash12(p.ciphers) + "_" + hash12(p.extensions);
}

std::string Ja4Raw(const ClientHello& h, char transport) {
  Ja4Parts p = Ja4Build(h, transport);
  return p.a + "_" + p.ciphers + "_" + p.extensions;
}

std::vector<Bytes> CertificateList(Bytes body, size_t max_certs) {
  std::vector<Bytes> out;
  Reader r(body);
  Reader list(r.Take(r.U24()));
  while (r.ok() && list.ok() && list.left() >= 3 && out.size() < max_certs) {
    Bytes der = list.Take(list.U24());
    if (list.ok() && !der.empty()) out.push_back(der);
  }
  return out;
}

std::optional<CertificateInfo> ParseCertificate(Bytes der) {
  if (der.empty() || der.size() > 65536) {
    return std::nullopt;
  }
  const unsigned char* p = der.data();
  std::unique_ptr<X509, X509Deleter> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) {
    return std::nullopt;
  }
  CertificateInfo info;
  NameParts subject = NameOf(X509_get_subject_name(x.get()));
  info.subject = std::move(subject.one_line);
  info.subject_rfc2253 = std::move(subject.rfc2253);
  info.common_name = std::move(subject.common_name);
  info.issuer = NameOf(X509_get_issuer_name(x.get())).one_line;
  info.not_before = TimeOf(X509_get0_notBefore(x.get()));
  info.not_after = TimeOf(X509_get0_notAfter(x.get()));
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    int n = sk_GENERAL_NAME_num(names.get());
    for (int i = 0; i < n && info.dns_names.size() < 32; ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
      if (g->type == GEN_DNS) {
        std::string name = Utf8Of(g->d.dNSName, 255);
        if (!name.empty()) info.dns_names.push_back(std::move(name));
      }
    }
  }
  return info;
}

std::string Md5Hex(std::string_view data) { return Digest(EVP_md5(), data); }
std::string Sha256Hex(std::string_view data) { return Digest(EVP_sha256(), data); }

}  // namespace sensor::extract
