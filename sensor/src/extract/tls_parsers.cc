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

// Name entries read per certificate name: shared CDN certificates list dozens of CNs in the
// subject (nDPI's tls-rdn-extract.pcap: 48); each value is at most 256 bytes.
constexpr int kMaxNameEntries = 64;

NameParts NameOf(const X509_NAME* name) {
  NameParts out;
  int count = X509_NAME_entry_count(name);
  std::vector<std::string> rdns;
  for (int i = 0; i < count && i < kMaxNameEntries; ++i) {
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

// ---- The fast path: a DER walker over the fields ParseCertificate reports. OpenSSL 3's d2i_X509
// also decodes the public key through its provider machinery (about a million instructions per
// certificate); the names, times and subjectAltName need none of that. The walker accepts only
// plain DER of the common shapes and hands anything else (BER lengths, unusual string types,
// odd alternative names) to OpenSSL, so both paths give the same result for every input.

struct Tlv {
  uint8_t tag = 0;
  Bytes value;
};

// One TLV with a low tag number and a minimal definite length; false otherwise.
bool NextTlv(Bytes* in, Tlv* out) {
  Bytes b = *in;
  if (b.size() < 2 || (b[0] & 0x1f) == 0x1f) return false;
  size_t length = b[1];
  size_t pos = 2;
  if ((length & 0x80) != 0) {
    size_t n = length & 0x7f;
    if (n == 0 || n > 3 || b.size() < 2 + n || b[2] == 0) return false;
    length = 0;
    for (size_t i = 0; i < n; ++i) length = (length << 8) | b[2 + i];
    if (length < 0x80) return false;
    pos += n;
  }
  if (b.size() - pos < length) return false;
  out->tag = b[0];
  out->value = b.subspan(pos, length);
  *in = b.subspan(pos + length);
  return true;
}

bool NextTlvTagged(Bytes* in, uint8_t tag, Tlv* out) {
  return NextTlv(in, out) && out->tag == tag;
}

// A DER INTEGER as OpenSSL's c2i accepts it: not empty, no redundant leading byte.
bool ValidInteger(Bytes v) {
  if (v.empty()) return false;
  if (v.size() > 1 && ((v[0] == 0 && v[1] < 0x80) || (v[0] == 0xff && v[1] >= 0x80))) {
    return false;
  }
  return true;
}

// An OBJECT IDENTIFIER's contents as OpenSSL's c2i_ASN1_OBJECT accepts them: the last byte ends
// a sub-identifier and none starts with a padding 0x80.
bool ValidOid(Bytes v) {
  if (v.empty() || (v.back() & 0x80) != 0) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == 0x80 && (i == 0 || (v[i - 1] & 0x80) == 0)) return false;
  }
  return true;
}

// SEQUENCE { OBJECT IDENTIFIER, optional parameters }.
bool ValidAlgorithm(Bytes v) {
  Tlv oid, params;
  if (!NextTlvTagged(&v, 0x06, &oid) || !ValidOid(oid.value)) return false;
  if (v.empty()) return true;
  // Parameters: NULL, a named curve or a SEQUENCE; other encodings go to OpenSSL, which parses
  // an ANY by its universal type.
  if (!NextTlv(&v, &params) || !v.empty()) return false;
  return (params.tag == 0x05 && params.value.empty()) ||
         (params.tag == 0x06 && ValidOid(params.value)) || params.tag == 0x30;
}

bool ValidBitString(Bytes v) { return !v.empty() && v[0] <= 7; }

// Utf8Of for a string of DER tag `tag` (the ASN.1 universal string types OpenSSL's
// ASN1_STRING_to_UTF8 knows); false for other tags or bytes OpenSSL would refuse.
bool StringOf(uint8_t tag, Bytes v, size_t max, std::string* out) {
  switch (tag) {
    case V_ASN1_UTF8STRING: case V_ASN1_NUMERICSTRING: case V_ASN1_PRINTABLESTRING:
    case V_ASN1_T61STRING: case V_ASN1_IA5STRING: case V_ASN1_VISIBLESTRING:
    case V_ASN1_BMPSTRING: case V_ASN1_UNIVERSALSTRING:
      break;
    default:
      return false;
  }
  bool ascii = std::all_of(v.begin(), v.end(), [](uint8_t c) { return c < 0x80; });
  if (ascii && tag != V_ASN1_BMPSTRING && tag != V_ASN1_UNIVERSALSTRING) {
    // One byte per character, all ASCII: the UTF-8 is the bytes themselves.
    out->assign(AsText(v.first(std::min(v.size(), max))));
  } else {
    ASN1_STRING s{};
    s.length = static_cast<int>(v.size());
    s.type = tag;
    s.data = const_cast<unsigned char*>(v.data());
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, &s);
    if (length < 0 || utf8 == nullptr) return false;  // OpenSSL would refuse the name
    out->assign(reinterpret_cast<const char*>(utf8),
                std::min<size_t>(static_cast<size_t>(length), max));
    OPENSSL_free(utf8);
  }
  out->erase(std::remove_if(out->begin(), out->end(),
                            [](char c) { return static_cast<unsigned char>(c) < 0x20; }),
             out->end());
  return true;
}

// OpenSSL's short name of an attribute type ("CN", "O", ...; "OID" when it has none) and whether
// it is commonName; false when OpenSSL would not decode the identifier. Memoised per thread.
struct OidName {
  std::string short_name;
  bool common_name = false;
};

const OidName* AttributeName(Bytes oid) {
  thread_local std::vector<std::pair<std::string, OidName>> cache;
  std::string_view key = AsText(oid);
  for (const auto& [k, v] : cache) {
    if (k == key) return &v;
  }
  if (oid.size() > 127) return nullptr;
  std::vector<uint8_t> der = {0x06, static_cast<uint8_t>(oid.size())};
  der.insert(der.end(), oid.begin(), oid.end());
  const unsigned char* p = der.data();
  ASN1_OBJECT* obj = d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(der.size()));
  if (obj == nullptr) return nullptr;
  int nid = OBJ_obj2nid(obj);
  ASN1_OBJECT_free(obj);
  const char* sn = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
  OidName name{sn != nullptr ? sn : "OID", nid == NID_commonName};
  if (cache.size() >= 64) cache.clear();  // bounded; real certificates use a dozen types
  cache.emplace_back(std::string(key), std::move(name));
  return &cache.back().second;
}

// NameOf on the DER of a Name (RDNSequence).
bool NameOfDer(Bytes name, NameParts* out) {
  std::vector<std::string> rdns;
  int count = 0;
  while (!name.empty()) {
    Tlv set;
    if (!NextTlvTagged(&name, 0x31, &set) || set.value.empty()) return false;
    Bytes entries = set.value;
    while (!entries.empty()) {
      Tlv entry, oid, value;
      if (!NextTlvTagged(&entries, 0x30, &entry)) return false;
      Bytes e = entry.value;
      if (!NextTlvTagged(&e, 0x06, &oid) || !NextTlv(&e, &value) || !e.empty()) return false;
      const OidName* type = AttributeName(oid.value);
      std::string text;
      if (type == nullptr || !StringOf(value.tag, value.value, 256, &text)) return false;
      if (count++ >= kMaxNameEntries) continue;  // as NameOf
      if (type->common_name && out->common_name.empty()) out->common_name = text;
      if (!out->one_line.empty()) out->one_line += ", ";
      out->one_line += type->short_name + "=" + text;
      std::string escaped = type->short_name + "=";
      for (char c : text) {
        if (c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';') {
          escaped.push_back('\\');
        }
        escaped.push_back(c);
      }
      rdns.push_back(std::move(escaped));
    }
  }
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    if (!out->rfc2253.empty()) out->rfc2253.push_back(',');
    out->rfc2253 += *it;
  }
  return true;
}

bool TimeOfDer(const Tlv& t, std::string* out) {
  if (t.tag != V_ASN1_UTCTIME && t.tag != V_ASN1_GENERALIZEDTIME) return false;
  ASN1_STRING s{};
  s.length = static_cast<int>(t.value.size());
  s.type = t.tag;
  s.data = const_cast<unsigned char*>(t.value.data());
  *out = TimeOf(&s);
  return true;
}

// The dNSName entries of a subjectAltName extension value; false when an entry is of a kind this
// walker leaves to OpenSSL.
bool DnsNamesOfDer(Bytes value, std::vector<std::string>* out) {
  Tlv seq;
  if (!NextTlvTagged(&value, 0x30, &seq)) return false;
  Bytes names = seq.value;
  std::vector<std::string> found;
  while (!names.empty()) {
    Tlv g;
    if (!NextTlv(&names, &g)) return false;
    if (g.tag == 0x82) {  // [2] dNSName, IA5String
      if (found.size() >= 32) continue;
      std::string name;
      if (!StringOf(V_ASN1_IA5STRING, g.value, 255, &name)) return false;
      if (!name.empty()) found.push_back(std::move(name));
    } else if (g.tag != 0x81 && g.tag != 0x86 && (g.tag != 0x87 || g.value.empty())) {
      return false;  // rfc822Name, URI and iPAddress are skipped; anything else goes to OpenSSL
    }
  }
  *out = std::move(found);
  return true;
}

// The dNSName entries of a DER subjectAltName value decoded by OpenSSL (X509V3_EXT_d2i).
std::vector<std::string> DnsNamesOpenSsl(Bytes value) {
  std::vector<std::string> out;
  const unsigned char* p = value.data();
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(
      d2i_GENERAL_NAMES(nullptr, &p, static_cast<long>(value.size())));
  if (!names) return out;
  int n = sk_GENERAL_NAME_num(names.get());
  for (int i = 0; i < n && out.size() < 32; ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type == GEN_DNS) {
      std::string name = Utf8Of(g->d.dNSName, 255);
      if (!name.empty()) out.push_back(std::move(name));
    }
  }
  return out;
}

bool ParseCertificateDer(Bytes der, CertificateInfo* info) {
  Tlv cert, tbs, alg, sig, t;
  if (!NextTlvTagged(&der, 0x30, &cert)) return false;
  Bytes c = cert.value;
  if (!NextTlvTagged(&c, 0x30, &tbs) || !NextTlvTagged(&c, 0x30, &alg) ||
      !NextTlvTagged(&c, 0x03, &sig) || !c.empty() || !ValidAlgorithm(alg.value) ||
      !ValidBitString(sig.value)) {
    return false;
  }
  Bytes b = tbs.value;
  if (!NextTlv(&b, &t)) return false;
  if (t.tag == 0xa0) {  // [0] EXPLICIT version
    Bytes v = t.value;
    Tlv version;
    if (!NextTlvTagged(&v, 0x02, &version) || !v.empty() || !ValidInteger(version.value) ||
        !NextTlv(&b, &t)) {
      return false;
    }
  }
  Tlv issuer, validity, subject, spki;
  if (t.tag != 0x02 || !ValidInteger(t.value) || !NextTlvTagged(&b, 0x30, &alg) ||
      !ValidAlgorithm(alg.value) || !NextTlvTagged(&b, 0x30, &issuer) ||
      !NextTlvTagged(&b, 0x30, &validity) || !NextTlvTagged(&b, 0x30, &subject) ||
      !NextTlvTagged(&b, 0x30, &spki)) {
    return false;
  }
  Bytes k = spki.value;
  Tlv key_alg, key;
  if (!NextTlvTagged(&k, 0x30, &key_alg) || !ValidAlgorithm(key_alg.value) ||
      !NextTlvTagged(&k, 0x03, &key) || !ValidBitString(key.value) || !k.empty()) {
    return false;
  }
  Tlv extensions{};
  int next = 1;
  while (!b.empty()) {  // [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions, in order
    if (!NextTlv(&b, &t) || (t.tag != 0x81 && t.tag != 0x82 && t.tag != 0xa3) ||
        (t.tag & 0x1f) < next) {
      return false;
    }
    next = (t.tag & 0x1f) + 1;
    if (t.tag != 0xa3 && !ValidBitString(t.value)) return false;
    if (t.tag == 0xa3) extensions = t;
  }
  Bytes san;
  int san_count = 0;
  if (extensions.tag == 0xa3) {
    Bytes e = extensions.value;
    Tlv list;
    if (!NextTlvTagged(&e, 0x30, &list) || !e.empty()) return false;
    Bytes l = list.value;
    while (!l.empty()) {
      Tlv ext, oid, field;
      if (!NextTlvTagged(&l, 0x30, &ext)) return false;
      Bytes x = ext.value;
      if (!NextTlvTagged(&x, 0x06, &oid) || !ValidOid(oid.value) || !NextTlv(&x, &field)) {
        return false;
      }
      if (field.tag == 0x01) {  // critical
        if (field.value.size() != 1 || !NextTlv(&x, &field)) return false;
      }
      if (field.tag != 0x04 || !x.empty()) return false;
      static constexpr uint8_t kSubjectAltName[] = {0x55, 0x1d, 0x11};  // 2.5.29.17
      if (std::equal(oid.value.begin(), oid.value.end(), std::begin(kSubjectAltName),
                     std::end(kSubjectAltName))) {
        ++san_count;
        san = field.value;
      }
    }
  }
  NameParts subject_parts, issuer_parts;
  if (!NameOfDer(subject.value, &subject_parts) || !NameOfDer(issuer.value, &issuer_parts)) {
    return false;
  }
  Bytes v = validity.value;
  Tlv not_before, not_after;
  if (!NextTlv(&v, &not_before) || !NextTlv(&v, &not_after) || !v.empty() ||
      !TimeOfDer(not_before, &info->not_before) || !TimeOfDer(not_after, &info->not_after)) {
    return false;
  }
  info->subject = std::move(subject_parts.one_line);
  info->subject_rfc2253 = std::move(subject_parts.rfc2253);
  info->common_name = std::move(subject_parts.common_name);
  info->issuer = std::move(issuer_parts.one_line);
  info->issuer_rfc2253 = std::move(issuer_parts.rfc2253);
  // X509_get_ext_d2i gives nothing for a repeated extension.
  if (san_count == 1 && !DnsNamesOfDer(san, &info->dns_names)) {
    info->dns_names = DnsNamesOpenSsl(san);
  }
  return true;
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
      case 0x39:     // quic_transport_parameters (RFC 9001 8.2)
      case 0xffa5: {  // ... the drafts' code point
        // (id varint, length varint, value)*; Google's user agent is id 0x3129.
        size_t pos = 0;
        auto varint = [&](uint64_t* out) {
          if (pos >= data.size()) return false;
          size_t len = size_t{1} << (data[pos] >> 6);
          if (data.size() - pos < len) return false;
          uint64_t v = data[pos] & 0x3f;
          for (size_t i = 1; i < len; ++i) v = (v << 8) | data[pos + i];
          pos += len;
          *out = v;
          return true;
        };
        uint64_t id = 0, len = 0;
        while (varint(&id) && varint(&len) && data.size() - pos >= len) {
          if (id == 0x3129) {
            h.quic_user_agent = CleanText(AsText(data.subspan(pos, len)), 255);
          }
          pos += len;
        }
        break;
      }
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

std::optional<CertificateInfo> ParseCertificateOpenSsl(Bytes der) {
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
  NameParts issuer = NameOf(X509_get_issuer_name(x.get()));
  info.issuer = std::move(issuer.one_line);
  info.issuer_rfc2253 = std::move(issuer.rfc2253);
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

std::optional<CertificateInfo> ParseCertificate(Bytes der) {
  if (der.empty() || der.size() > 65536) {
    return std::nullopt;
  }
  CertificateInfo info;
  if (ParseCertificateDer(der, &info)) return info;
  return ParseCertificateOpenSsl(der);  // anything unusual: OpenSSL decides
}

std::optional<ServerHello> ParseServerHello(Bytes b) {
  // legacy_version(2) random(32) session_id<0..32> cipher_suite(2) compression(1) [extensions]
  if (b.size() < 38) return std::nullopt;
  ServerHello h;
  h.version = static_cast<uint16_t>((b[0] << 8) | b[1]);
  size_t pos = 34;
  size_t sid = b[pos];
  if (sid > 32 || pos + 1 + sid + 3 > b.size()) return std::nullopt;
  pos += 1 + sid;
  h.cipher = static_cast<uint16_t>((b[pos] << 8) | b[pos + 1]);
  pos += 3;
  if (pos + 2 > b.size()) return h;  // no extensions (TLS <= 1.2)
  size_t ext_end = pos + 2 + ((size_t{b[pos]} << 8) | b[pos + 1]);
  pos += 2;
  if (ext_end > b.size()) return std::nullopt;
  while (pos + 4 <= ext_end) {
    uint16_t type = static_cast<uint16_t>((b[pos] << 8) | b[pos + 1]);
    size_t len = (size_t{b[pos + 2]} << 8) | b[pos + 3];
    pos += 4;
    if (pos + len > ext_end) return std::nullopt;
    if (type == 43 && len == 2) h.version = static_cast<uint16_t>((b[pos] << 8) | b[pos + 1]);
    // key_share: KeyShareEntry (group, key) in a ServerHello, the group alone in a
    // HelloRetryRequest; both begin with the group.
    if (type == 51 && len >= 2) h.group = static_cast<uint16_t>((b[pos] << 8) | b[pos + 1]);
    pos += len;
  }
  return h;
}

bool IsEcdheCipher(uint16_t c) {
  return (c >= 0xc001 && c <= 0xc03b) ||  // RFC 8422 / 4492, RFC 5289, RFC 5489
         (c >= 0xc0ac && c <= 0xc0af) ||  // RFC 7251 ECDHE_ECDSA AES-CCM
         c == 0xcca8 || c == 0xcca9 || c == 0xccac;  // RFC 7905 ChaCha20-Poly1305
}

std::optional<uint16_t> EcdheServerCurve(Bytes b) {
  // ServerECDHParams: ECCurveType curve_type(1) = named_curve(3), NamedCurve(2), ECPoint<1..255>.
  if (b.size() < 4 || b[0] != 3) return std::nullopt;
  if (b[3] == 0 || size_t{4} + b[3] > b.size()) return std::nullopt;
  return static_cast<uint16_t>((b[1] << 8) | b[2]);
}

}  // namespace sensor::extract
