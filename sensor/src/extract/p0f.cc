// p0f signature database reader and SYN / SYN+ACK matcher. Format and matching rules: p0f 3's
// README section 5 (Debian: /usr/share/doc/p0f/README.gz); the fuzzy rules follow its note
// "'df' and 'id+' quirks are allowed to disappear; 'id-' or 'ecn' may appear; and TTLs can
// change".
#include "extract/p0f.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "extract/parsers.h"

namespace sensor::extract {
namespace {

constexpr int kMaxDistance = 35;  // hops between the host and us that still count as "its TTL"

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

bool ToInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

struct QuirkName {
  const char* name;
  uint32_t bit;
};
constexpr QuirkName kQuirks[] = {
    {"df", kQuirkDf}, {"id+", kQuirkIdPlus}, {"id-", kQuirkIdMinus}, {"ecn", kQuirkEcn},
    {"0+", kQuirkZeroPlus}, {"flow", kQuirkFlow}, {"seq-", kQuirkSeqMinus},
    {"ack+", kQuirkAckPlus}, {"ack-", kQuirkAckMinus}, {"uptr+", kQuirkUptrPlus},
    {"urgf+", kQuirkUrgfPlus}, {"pushf+", kQuirkPushfPlus}, {"ts1-", kQuirkTs1Minus},
    {"ts2+", kQuirkTs2Plus}, {"opt+", kQuirkOptPlus}, {"exws", kQuirkExws}, {"bad", kQuirkBad},
};

constexpr uint32_t kIpv4Only = kQuirkDf | kQuirkIdPlus | kQuirkIdMinus | kQuirkZeroPlus;

// "s:unix:Linux:3.11 and newer"
std::optional<P0fLabel> ParseLabel(std::string_view v) {
  auto parts = SplitOn(v, ':');
  if (parts.size() < 4 || (parts[0] != "s" && parts[0] != "g")) return std::nullopt;
  P0fLabel l;
  l.generic = parts[0] == "g";
  l.os_class = std::string(parts[1]);
  l.name = std::string(parts[2]);
  // The flavor may itself contain ':'.
  size_t at = v.find(':', v.find(':', v.find(':') + 1) + 1);
  l.flavor = std::string(v.substr(at + 1));
  return l;
}

std::optional<P0fDb::Signature> ParseSig(std::string_view v, std::string* why) {
  auto f = SplitOn(v, ':');
  if (f.size() != 8) {
    *why = "expected ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass";
    return std::nullopt;
  }
  P0fDb::Signature s;
  if (f[0] == "4") s.ver = 4;
  else if (f[0] == "6") s.ver = 6;
  else if (f[0] != "*") return *why = "bad ver", std::nullopt;
  std::string_view ttl = f[1];
  if (!ttl.empty() && ttl.back() == '-') {
    s.bad_ttl = true;
    ttl.remove_suffix(1);
  }
  if (!ToInt(ttl, &s.ittl) || s.ittl <= 0 || s.ittl > 255) return *why = "bad ittl", std::nullopt;
  if (!ToInt(f[2], &s.olen)) return *why = "bad olen", std::nullopt;
  if (f[3] != "*" && !ToInt(f[3], &s.mss)) return *why = "bad mss", std::nullopt;
  auto ws = SplitOn(f[4], ',');
  if (ws.size() != 2) return *why = "bad wsize,scale", std::nullopt;
  std::string_view w = ws[0];
  if (w == "*") {
    s.win = P0fDb::Signature::Win::kAny;
  } else if (w.substr(0, 4) == "mss*") {
    s.win = P0fDb::Signature::Win::kMss;
    if (!ToInt(w.substr(4), &s.win_value)) return *why = "bad wsize", std::nullopt;
  } else if (w.substr(0, 4) == "mtu*") {
    s.win = P0fDb::Signature::Win::kMtu;
    if (!ToInt(w.substr(4), &s.win_value)) return *why = "bad wsize", std::nullopt;
  } else if (w.substr(0, 1) == "%") {
    s.win = P0fDb::Signature::Win::kMod;
    if (!ToInt(w.substr(1), &s.win_value) || s.win_value <= 0) {
      return *why = "bad wsize", std::nullopt;
    }
  } else {
    s.win = P0fDb::Signature::Win::kValue;
    if (!ToInt(w, &s.win_value)) return *why = "bad wsize", std::nullopt;
  }
  // A TCP window is 16 bits: larger multipliers or values can never match (and would overflow).
  if (s.win_value < 0 || s.win_value > 65535) return *why = "bad wsize", std::nullopt;
  if (ws[1] != "*" && (!ToInt(ws[1], &s.scale) || s.scale < 0 || s.scale > 255)) {
    return *why = "bad scale", std::nullopt;
  }
  if (s.olen < 0 || s.olen > 40 || (f[3] != "*" && (s.mss < 0 || s.mss > 65535))) {
    return *why = "bad olen or mss", std::nullopt;
  }
  s.olayout = std::string(f[5]);
  if (!f[6].empty()) {
    for (auto q : SplitOn(f[6], ',')) {
      bool known = false;
      for (const auto& k : kQuirks) {
        if (q == k.name) {
          s.quirks |= k.bit;
          known = true;
        }
      }
      if (!known) return *why = "unknown quirk '" + std::string(q) + "'", std::nullopt;
    }
  }
  if (f[7] != "0" && f[7] != "+" && f[7] != "*") return *why = "bad pclass", std::nullopt;
  s.pclass = f[7][0];
  return s;
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

rules::Result<std::unique_ptr<P0fDb>> ParseP0f(std::string_view text, const std::string& name) {
  auto db = std::make_unique<P0fDb>();
  int section = -1;  // 0 tcp:request, 1 tcp:response, -1 other
  bool have_label = false;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line[0] == ';') continue;
    auto fail = [&](const std::string& what) {
      return rules::Fail(rules::ErrorCode::kParse,
                         name + ":" + std::to_string(line_no) + ": " + what);
    };
    if (line[0] == '[') {
      section = line == "[tcp:request]" ? 0 : line == "[tcp:response]" ? 1 : -1;
      have_label = false;
      continue;
    }
    if (section < 0) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return fail("expected 'key = value'");
    std::string_view key = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (key == "label") {
      auto l = ParseLabel(value);
      if (!l) return fail("bad label (want type:class:name:flavor)");
      db->labels_.push_back(std::move(*l));
      have_label = true;
    } else if (key == "sig") {
      if (!have_label) return fail("sig before any label");
      std::string why;
      auto s = ParseSig(value, &why);
      if (!s) return fail(why);
      s->label = db->labels_.size() - 1;
      s->line = line_no;
      db->by_layout_[section][s->olayout].push_back(db->sigs_[section].size());
      db->sigs_[section].push_back(std::move(*s));
    } else if (key != "sys") {
      return fail("unknown key '" + std::string(key) + "'");
    }
  }
  if (db->size() == 0) {
    return rules::Fail(rules::ErrorCode::kParse, name + ": no [tcp:request] or [tcp:response] signatures");
  }
  return db;
}

rules::Result<std::unique_ptr<P0fDb>> LoadP0f(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return rules::Fail(rules::ErrorCode::kNotFound, path + ": cannot open p0f database");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > (8u << 20)) return rules::Fail(rules::ErrorCode::kParse, path + ": too large");
  return ParseP0f(text, path);
}

std::optional<P0fObservation> ObserveSyn(const DecodedPacket& p) {
  P0fObservation o;
  Bytes ip = p.ip_packet;
  size_t tcp_at = 0;
  if (p.ip_version == 4) {
    if (ip.size() < 20) return std::nullopt;
    size_t ihl = size_t{ip[0] & 0x0fu} * 4;
    if (ihl < 20 || ip.size() < ihl + 20) return std::nullopt;
    o.ip_version = 4;
    o.olen = static_cast<uint32_t>(ihl - 20);
    uint16_t id = Be16(&ip[4]);
    bool df = (ip[6] & 0x40) != 0;
    if (df) o.quirks |= kQuirkDf;
    if (df && id != 0) o.quirks |= kQuirkIdPlus;
    if (!df && id == 0) o.quirks |= kQuirkIdMinus;
    if (ip[6] & 0x80) o.quirks |= kQuirkZeroPlus;
    if (ip[1] & 0x03) o.quirks |= kQuirkEcn;
    tcp_at = ihl;
  } else if (p.ip_version == 6) {
    if (ip.size() < 60 || ip[6] != 6) return std::nullopt;  // extension headers: not read
    o.ip_version = 6;
    if (((ip[1] & 0x0f) | ip[2] | ip[3]) != 0) o.quirks |= kQuirkFlow;
    if (((ip[0] << 4 | ip[1] >> 4) & 0x03) != 0) o.quirks |= kQuirkEcn;
    tcp_at = 40;
  } else {
    return std::nullopt;
  }
  o.ttl = p.ttl;
  Bytes tcp = ip.subspan(tcp_at);
  size_t doff = static_cast<size_t>(tcp[12] >> 4) * 4;
  if (doff < 20 || doff > tcp.size()) return std::nullopt;
  uint8_t flags = tcp[13];
  o.wsize = Be16(&tcp[14]);
  if (Be32(&tcp[4]) == 0) o.quirks |= kQuirkSeqMinus;
  bool ack = (flags & kTcpAck) != 0;
  uint32_t ack_no = Be32(&tcp[8]);
  if (!ack && ack_no != 0) o.quirks |= kQuirkAckPlus;
  if (ack && ack_no == 0) o.quirks |= kQuirkAckMinus;
  if (!(flags & kTcpUrg) && Be16(&tcp[18]) != 0) o.quirks |= kQuirkUptrPlus;
  if (flags & kTcpUrg) o.quirks |= kQuirkUrgfPlus;
  if (flags & kTcpPsh) o.quirks |= kQuirkPushfPlus;
  if (flags & 0xc0) o.quirks |= kQuirkEcn;  // ECE / CWR
  o.payload = !p.payload.empty();
  Bytes opts = tcp.subspan(20, doff - 20);
  for (size_t i = 0; i < opts.size();) {
    uint8_t kind = opts[i];
    if (!o.olayout.empty()) o.olayout.push_back(',');
    if (kind == 0) {  // EOL: the rest is padding
      size_t pad = opts.size() - i - 1;
      o.olayout += "eol+" + std::to_string(pad);
      for (size_t j = i + 1; j < opts.size(); ++j) {
        if (opts[j] != 0) o.quirks |= kQuirkOptPlus;
      }
      break;
    }
    if (kind == 1) {
      o.olayout += "nop";
      ++i;
      continue;
    }
    if (i + 1 >= opts.size() || opts[i + 1] < 2 || i + opts[i + 1] > opts.size()) {
      o.olayout += "?" + std::to_string(kind);
      o.quirks |= kQuirkBad;
      break;
    }
    uint8_t len = opts[i + 1];
    const uint8_t* v = &opts[i + 2];
    switch (kind) {
      case 2:
        o.olayout += "mss";
        if (len == 4) o.mss = Be16(v); else o.quirks |= kQuirkBad;
        break;
      case 3:
        o.olayout += "ws";
        if (len == 3) {
          o.scale = v[0];
          if (v[0] > 14) o.quirks |= kQuirkExws;
        } else {
          o.quirks |= kQuirkBad;
        }
        break;
      case 4: o.olayout += "sok"; break;
      case 5: o.olayout += "sack"; break;
      case 8:
        o.olayout += "ts";
        if (len == 10) {
          if (Be32(v) == 0) o.quirks |= kQuirkTs1Minus;
          if (!ack && Be32(v + 4) != 0) o.quirks |= kQuirkTs2Plus;
        } else {
          o.quirks |= kQuirkBad;
        }
        break;
      default: o.olayout += "?" + std::to_string(kind); break;
    }
    i += len;
  }
  return o;
}

std::string P0fObservation::RawSignature() const {
  // p0f prints the observed TTL plus the distance to the guessed initial TTL.
  int ittl = ttl <= 32 ? 32 : ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
  std::string out = std::to_string(ip_version) + ":" + std::to_string(ttl) + "+" +
                    std::to_string(ittl - ttl) + ":" + std::to_string(olen) + ":" +
                    (mss < 0 ? std::string("*") : std::to_string(mss)) + ":";
  if (mss > 0 && wsize % mss == 0 && wsize != 0) {
    out += "mss*" + std::to_string(wsize / mss);
  } else {
    out += std::to_string(wsize);
  }
  out += "," + std::to_string(scale < 0 ? 0 : scale) + ":" + olayout + ":";
  bool first = true;
  for (const auto& k : kQuirks) {
    if (quirks & k.bit) {
      if (!first) out.push_back(',');
      out += k.name;
      first = false;
    }
  }
  out += payload ? ":+" : ":0";
  return out;
}

std::optional<P0fMatch> P0fDb::Match(const P0fObservation& o, bool response) const {
  int section = response ? 1 : 0;
  auto it = by_layout_[section].find(o.olayout);
  if (it == by_layout_[section].end()) return std::nullopt;
  std::optional<P0fMatch> fuzzy, generic;
  for (size_t index : it->second) {
    const Signature& s = sigs_[section][index];
    if (s.ver != 0 && s.ver != o.ip_version) continue;
    if (s.olen != static_cast<int>(o.olen)) continue;
    if (s.mss >= 0 && s.mss != o.mss) continue;
    int scale = o.scale < 0 ? 0 : o.scale;
    if (s.scale >= 0 && s.scale != scale) continue;
    if ((s.pclass == '0' && o.payload) || (s.pclass == '+' && !o.payload)) continue;
    switch (s.win) {
      case Signature::Win::kAny: break;
      case Signature::Win::kValue:
        if (o.wsize != s.win_value) continue;
        break;
      case Signature::Win::kMss:
        if (o.mss <= 0 || o.wsize != o.mss * s.win_value) continue;
        break;
      case Signature::Win::kMtu: {
        int mtu = o.mss + (o.ip_version == 4 ? 40 : 60);
        if (o.mss <= 0 || o.wsize != mtu * s.win_value) continue;
        break;
      }
      case Signature::Win::kMod:
        if (o.wsize % s.win_value != 0) continue;
        break;
    }
    // Quirks valid for one IP version are ignored for the other.
    uint32_t mask = o.ip_version == 6 ? ~kIpv4Only : ~kQuirkFlow;
    uint32_t want = s.quirks & mask, have = o.quirks & mask;
    bool is_fuzzy = false;
    if (want != have) {
      uint32_t gone = want & ~have, extra = have & ~want;
      if ((gone & ~(kQuirkDf | kQuirkIdPlus)) != 0 || (extra & ~(kQuirkIdMinus | kQuirkEcn)) != 0) {
        continue;
      }
      is_fuzzy = true;
    }
    bool ttl_ok = s.bad_ttl ? o.ttl <= s.ittl : o.ttl <= s.ittl && s.ittl - o.ttl <= kMaxDistance;
    if (!ttl_ok) is_fuzzy = true;
    P0fMatch m{&labels_[s.label], is_fuzzy, s.line};
    if (!is_fuzzy && !m.label->generic) return m;  // the best there is
    if (!is_fuzzy && !generic) generic = m;
    if (is_fuzzy && !fuzzy) fuzzy = m;
  }
  return generic ? generic : fuzzy;
}

}  // namespace sensor::extract
