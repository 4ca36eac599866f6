#include "sensor/logs/syslog_parser.h"

#include <algorithm>
#include <ctime>

#include "products.h"
#include "scan.h"

namespace sensor {

namespace {

using scan::Digits;
using scan::DigitsUpTo;
using scan::IsDigit;

constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};

int MonthIndex(std::string_view s, size_t pos) {  // 1..12, 0 = none
  if (pos + 3 > s.size()) return 0;
  char m[3];
  for (int k = 0; k < 3; ++k) m[k] = static_cast<char>(s[pos + k] | 0x20);
  for (int i = 0; i < 12; ++i) {
    if (kMonths[i][0] == m[0] && kMonths[i][1] == m[1] && kMonths[i][2] == m[2]) return i + 1;
  }
  return 0;
}

// RFC 5424 PRINTUSASCII token check.
bool PrintAscii(std::string_view s) {
  for (char c : s) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

// Validates an RFC 3339 / RFC 5424 timestamp and returns its length at s[pos], 0 = none.
// Accepts fractions of any length up to 9 digits, "Z" or a numeric offset; with `need_zone`
// false the zone may be absent (some RFC 3164 senders).
size_t IsoTimestampLength(std::string_view s, size_t pos, bool need_zone, char date_time_sep) {
  size_t i = pos;
  int y, mo, d, h, mi, se;
  if (!Digits(s, &i, 4, &y) || i >= s.size() || s[i++] != '-' || !Digits(s, &i, 2, &mo) ||
      i >= s.size() || s[i++] != '-' || !Digits(s, &i, 2, &d)) {
    return 0;
  }
  if (i >= s.size() || (s[i] != date_time_sep && s[i] != 'T')) return 0;
  ++i;
  if (!Digits(s, &i, 2, &h) || i >= s.size() || s[i++] != ':' || !Digits(s, &i, 2, &mi) ||
      i >= s.size() || s[i++] != ':' || !Digits(s, &i, 2, &se)) {
    return 0;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return 0;
  if (i < s.size() && s[i] == '.') {
    size_t f = ++i;
    while (i < s.size() && IsDigit(s[i]) && i - f < 20) ++i;
    if (i == f) return 0;
    if (i < s.size() && IsDigit(s[i])) return 0;
    if (need_zone && i - f > 6) return 0;  // RFC 5424 TIME-SECFRAC: 1*6DIGIT
  }
  if (i < s.size() && s[i] == 'Z') return i + 1 - pos;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    size_t z = i + 1;
    int zh, zm;
    if (Digits(s, &z, 2, &zh) && z < s.size() && s[z] == ':' && (++z, Digits(s, &z, 2, &zm)) &&
        zh <= 23 && zm <= 59) {
      return z - pos;
    }
    return 0;
  }
  return need_zone ? 0 : i - pos;
}

// "Mmm dd [yyyy] hh:mm:ss[.frac]" (day space-padded, one or two digits; month any case) at
// s[pos]. On success returns its length and writes an RFC 3339 rendering (UTC) into *out.
size_t BsdTimestamp(std::string_view s, size_t pos, int default_year, std::string* out) {
  int month = MonthIndex(s, pos);
  if (month == 0) return 0;
  size_t i = pos + 3;
  if (i >= s.size() || s[i] != ' ') return 0;
  while (i < s.size() && s[i] == ' ' && i - pos < 6) ++i;
  int day, year = default_year, h, mi, se;
  if (!DigitsUpTo(s, &i, 2, &day) || day < 1 || day > 31 || i >= s.size() || s[i] != ' ') {
    return 0;
  }
  ++i;
  size_t y = i;
  int maybe_year;
  if (Digits(s, &y, 4, &maybe_year) && y < s.size() && s[y] == ' ') {
    year = maybe_year;
    i = y + 1;
  }
  if (!Digits(s, &i, 2, &h) || i >= s.size() || s[i++] != ':' || !Digits(s, &i, 2, &mi) ||
      i >= s.size() || s[i++] != ':' || !Digits(s, &i, 2, &se) || h > 23 || mi > 59 ||
      se > 60) {
    return 0;
  }
  // "hh:mm:ss YYYY" (year after the time, seen from Linksys and others)
  if (year == default_year && i + 5 < s.size() && s[i] == ' ') {
    size_t q = i + 1;
    int trailing_year;
    if (Digits(s, &q, 4, &trailing_year) && trailing_year >= 1970 && trailing_year < 2100 &&
        q < s.size() && s[q] == ' ') {
      year = trailing_year;
      i = q;
    }
  }
  std::string_view frac;
  if (i < s.size() && s[i] == '.') {
    size_t f = i + 1;
    size_t e = f;
    while (e < s.size() && IsDigit(s[e]) && e - f < 9) ++e;
    if (e > f) {
      frac = s.substr(i, e - i);
      i = e;
    }
  }
  char buf[48];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, h,
                        mi, se);
  out->assign(buf, static_cast<size_t>(n));
  out->append(frac);
  out->push_back('Z');
  return i - pos;
}

// RFC 5424 hostname/app/procid/msgid limits (RFC 5424 section 6).
constexpr size_t kMaxHostname = 255;
constexpr size_t kMaxAppName = 48;
constexpr size_t kMaxProcId = 128;
constexpr size_t kMaxMsgId = 32;
constexpr size_t kMaxSdName = 32;
// Beyond the RFC limits a field is still read (format "rfc5424-lax") up to this many bytes.
constexpr size_t kMaxLaxField = 1024;

// Next SP-delimited header field of RFC 5424; false when there is no SP after it.
bool NextField(std::string_view s, size_t* pos, std::string_view* field) {
  size_t e = s.find(' ', *pos);
  if (e == std::string_view::npos || e == *pos) return false;
  *field = s.substr(*pos, e - *pos);
  *pos = e + 1;
  return true;
}

void AssignNil(std::string_view field, std::string* out) {
  if (field != "-") out->assign(field);
}

// STRUCTURED-DATA at s[*pos] (not "-"). False on malformed input.
bool ParseStructuredData(std::string_view s, size_t* pos, std::vector<SdElement>* out,
                         bool* lax) {
  size_t i = *pos;
  const size_t n = s.size();
  auto name = [&](std::string_view* v) {
    size_t b = i;
    while (i < n && s[i] > 32 && s[i] < 127 && s[i] != '=' && s[i] != ']' && s[i] != '"') ++i;
    if (i == b || i - b > kMaxLaxField) return false;
    if (i - b > kMaxSdName) *lax = true;
    *v = s.substr(b, i - b);
    return true;
  };
  while (i < n && s[i] == '[') {
    ++i;
    std::string_view id;
    if (!name(&id)) return false;
    for (const SdElement& seen : *out) {
      if (seen.id == id) *lax = true;  // RFC 5424 6.3.2: an SD-ID appears at most once
    }
    SdElement& element = out->emplace_back();
    element.id.assign(id);
    while (true) {
      if (i >= n) return false;
      if (s[i] == ']') {
        ++i;
        break;
      }
      if (s[i] != ' ') return false;
      ++i;
      std::string_view param;
      if (!name(&param)) return false;
      while (i < n && s[i] == ' ') ++i;  // "name= \"v\"" (seen from real senders)
      if (i >= n || s[i] != '=') return false;
      ++i;
      while (i < n && s[i] == ' ') ++i;
      if (i >= n || s[i] != '"') return false;
      ++i;
      auto& [key, value] = element.params.emplace_back(std::string(param), std::string());
      (void)key;
      while (true) {
        if (i >= n) return false;
        char c = s[i];
        if (c == '"') {
          ++i;
          break;
        }
        if (c == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == ']')) {
          value.push_back(s[i + 1]);
          i += 2;
          continue;
        }
        if (c == ']') return false;  // must be escaped inside PARAM-VALUE
        size_t run = i;
        while (run < n && s[run] != '"' && s[run] != '\\' && s[run] != ']') ++run;
        if (run == i) {  // a lone backslash: kept as written (RFC 5424 6.3.3)
          value.push_back(c);
          ++i;
        } else {
          value.append(s.data() + i, run - i);
          i = run;
        }
      }
    }
  }
  *pos = i;
  return true;
}

}  // namespace

SyslogParser::SyslogParser(const SyslogParserConfig& config) : config_(config) {
  year_ = config.default_year;
  if (year_ == 0) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    year_ = tm.tm_year + 1900;
  }
}

namespace {

// RFC 5424 after "<PRI>1 ". False when the header is not valid RFC 5424.
bool Parse5424(std::string_view s, SyslogMessage* out, uint64_t* bad_sd, bool* lax) {
  auto limit = [&](std::string_view f, size_t max) {
    if (f.size() > kMaxLaxField || !PrintAscii(f)) return false;
    if (f.size() > max) *lax = true;
    return true;
  };
  size_t i = 0;
  std::string_view ts, host, app, proc, msgid;
  if (!NextField(s, &i, &ts)) return false;
  if (ts != "-") {
    if (IsoTimestampLength(ts, 0, true, 'T') != ts.size()) return false;
  }
  if (!NextField(s, &i, &host) || !limit(host, kMaxHostname)) return false;
  if (!NextField(s, &i, &app) || !limit(app, kMaxAppName)) return false;
  if (!NextField(s, &i, &proc) || !limit(proc, kMaxProcId)) return false;
  if (!NextField(s, &i, &msgid) || !limit(msgid, kMaxMsgId)) {
    // "... MSGID" at the very end without SD is not valid RFC 5424 either.
    return false;
  }
  if (i >= s.size()) return false;
  std::vector<SdElement> sd;
  if (s[i] == '-') {
    ++i;
  } else if (s[i] == '[') {
    if (!ParseStructuredData(s, &i, &sd, lax)) {
      ++*bad_sd;
      return false;
    }
  } else {
    *lax = true;  // no STRUCTURED-DATA at all: MSG follows MSGID directly
    --i;
  }
  if (i < s.size()) {
    if (s[i] != ' ') return false;
    ++i;
  }
  // Over-long fields are cut to the RFC 5424 limits (as syslog-ng does); format says "lax".
  AssignNil(ts, &out->timestamp);
  AssignNil(host.substr(0, kMaxHostname), &out->hostname);
  AssignNil(app.substr(0, kMaxAppName), &out->app_name);
  AssignNil(proc.substr(0, kMaxProcId), &out->procid);
  AssignNil(msgid.substr(0, kMaxMsgId), &out->msgid);
  out->structured_data = std::move(sd);
  std::string_view msg = s.substr(i);
  if (msg.size() >= 3 && msg.substr(0, 3) == "\xEF\xBB\xBF") msg.remove_prefix(3);
  out->message.assign(msg);
  return true;
}

bool TagChar(char c) {
  return scan::IsAlpha(c) || IsDigit(c) || c == '-' || c == '_' || c == '.' || c == '/' ||
         c == '(' || c == ')' || c == '%' || c == '@' || c == '#' || c == '+' ||
         c == '*';
}

// Reads "TAG[PID]:" / "TAG:" / "TAG" at s[*pos]. `loose`: a tag without ':' or [pid] counts.
bool ParseTag(std::string_view s, size_t* pos, bool loose, SyslogMessage* out) {
  size_t i = *pos;
  const size_t n = s.size();
  size_t b = i;
  while (i < n && i - b < 64 && TagChar(s[i])) ++i;
  if (i == b) return false;
  std::string_view tag = s.substr(b, i - b);
  if (!loose && IsDigit(tag[0])) return false;
  std::string_view pid;
  bool strong = false;
  if (i < n && s[i] == '[') {
    size_t p = i + 1;
    size_t e = s.find(']', p);
    if (e == std::string_view::npos || e - p > kMaxProcId) return false;
    pid = s.substr(p, e - p);
    if (pid.find(' ') != std::string_view::npos) return false;
    i = e + 1;
    strong = true;
  }
  if (i < n && s[i] == ':') {
    ++i;
    strong = true;
  } else if (!strong && !tag.empty() && tag.back() == ':') {
    strong = true;
  }
  if (i < n && s[i] != ' ' && s[i] != '\t') {
    if (!strong) return false;
    // "tag:msg" without SP: accepted (rsyslog does the same)
  }
  if (!strong && loose && i < n && s[i] == ' ' && tag[0] >= 'A' && tag[0] <= 'Z') {
    // "Samba Server: msg", "Samba Server[42]: msg": a two-word program name.
    size_t j = i + 1;
    while (j < n && j - i < 32 && TagChar(s[j]) && s[j] != ':') ++j;
    if (j > i + 1 && j < n && (s[j] == ':' || s[j] == '[')) {
      size_t end = j;
      if (s[j] == '[') {
        size_t close = s.find(']', j);
        if (close != std::string_view::npos && close + 1 < n && s[close + 1] == ':' &&
            close - j <= kMaxProcId) {
          pid = s.substr(j + 1, close - j - 1);
          end = close + 1;
        } else {
          end = std::string_view::npos;
        }
      }
      if (end != std::string_view::npos && s[end] == ':') {
        tag = s.substr(b, j - b);
        i = end + 1;
        strong = true;
      } else {
        pid = {};
      }
    }
  }
  if (!strong && !loose) return false;
  while (!tag.empty() && tag.back() == ':') tag.remove_suffix(1);
  if (tag.empty()) return false;
  out->app_name.assign(tag);
  out->procid.assign(pid);
  if (i < n && s[i] == ' ') ++i;
  *pos = i;
  return true;
}

bool HostChar(char c) {
  return scan::IsAlpha(c) || IsDigit(c) || c == '-' || c == '_' || c == '.' || c == ':' ||
         c == '/' || c == '@';
}

}  // namespace

void SyslogParser::Parse(std::string_view raw, SyslogMessage* out) {
  out->Clear();
  ++stats_.messages;
  if (raw.size() > config_.max_message_bytes) {
    raw = raw.substr(0, config_.max_message_bytes);
    ++stats_.truncated;
  }
  // Transport leftovers: trailing LF, CR and NUL.
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\0')) {
    raw.remove_suffix(1);
  }
  std::string_view s = raw;
  size_t i = 0;
  if (!s.empty() && s[0] == '<') {
    size_t p = 1;
    int pri = 0;
    if (DigitsUpTo(s, &p, 3, &pri) && p < s.size() && s[p] == '>' && pri <= 191 &&
        !(p > 2 && s[1] == '0')) {
      out->pri = pri;
      i = p + 1;
    } else {
      ++stats_.bad_pri;
    }
  }
  std::string_view rest = s.substr(i);

  // RFC 5424: VERSION (NONZERO-DIGIT 0*2DIGIT) SP. Only "1" is defined; later versions are
  // read with the same grammar.
  size_t version_end = 0;
  while (version_end < rest.size() && version_end < 3 && IsDigit(rest[version_end])) ++version_end;
  if (out->pri && version_end > 0 && rest[0] != '0' && version_end < rest.size() &&
      rest[version_end] == ' ') {
    bool lax = false;
    if (Parse5424(rest.substr(version_end + 1), out, &stats_.bad_sd, &lax)) {
      out->format = lax ? "rfc5424-lax" : "rfc5424";
      ++stats_.rfc5424;
      if (ParseProduct(out)) ++stats_.product;
      return;
    }
    int pri = *out->pri;
    out->Clear();
    out->pri = pri;
    out->message.assign(s);
    ++stats_.raw;
    return;
  }

  // RFC 3164 and what devices make of it.
  const size_t n = rest.size();
  size_t k = 0;
  bool have_ts = false;
  bool have_header = out->pri.has_value();
  // Cisco IOS sequence number "123: ".
  {
    size_t d = k;
    int seq = 0;
    if (DigitsUpTo(rest, &d, 10, &seq) && d + 1 < n && rest[d] == ':' && rest[d + 1] == ' ') {
      out->SetField("seq", rest.substr(k, d - k));
      k = d + 2;
      while (k < n && rest[k] == ' ') ++k;
    }
  }
  while (k < n && rest[k] == ' ' && k < 4) ++k;
  size_t ts_start = k;
  if (k < n && (rest[k] == '*' || rest[k] == '.')) ++ts_start;  // Cisco clock (un)synced marks
  if (size_t len = BsdTimestamp(rest, ts_start, year_, &out->timestamp); len != 0) {
    if (ts_start > k) {
      // Cisco marks: '*' = clock not synchronised, '.' = synchronised at some point (kept as
      // the RFC 5424 timeQuality element, as syslog-ng does).
      SdElement& quality = out->structured_data.emplace_back();
      quality.id = "timeQuality";
      quality.params.emplace_back("isSynced", rest[k] == '*' ? "0" : "1");
    }
    k = ts_start + len;
    have_ts = true;
    // Trailing zone name ("UTC", "CET") and the ':' Cisco puts after the time.
    if (k + 1 < n && rest[k] == ' ' && scan::IsAlpha(rest[k + 1])) {
      size_t z = k + 1;
      while (z < n && scan::IsAlpha(rest[z]) && z - k <= 5) ++z;
      if (z - k - 1 >= 3 && z - k - 1 <= 4 && z < n && rest[z] == ':') {
        bool upper = true;
        for (size_t q = k + 1; q < z; ++q) upper = upper && rest[q] >= 'A' && rest[q] <= 'Z';
        if (upper) k = z;
      }
    }
    if (k < n && rest[k] == ':') ++k;
  } else if (size_t iso = IsoTimestampLength(rest, ts_start, false, ' '); iso != 0) {
    out->timestamp.assign(rest.substr(ts_start, iso));
    if (out->timestamp.size() > 10) out->timestamp[10] = 'T';
    if (out->timestamp.find_first_of("Z+-", 19) == std::string::npos) out->timestamp += 'Z';
    k = ts_start + iso;
    have_ts = true;
  } else {
    out->timestamp.clear();
  }
  if (have_ts) {
    have_header = true;
    while (k < n && rest[k] == ' ') ++k;
    // Hostname, unless the next token is already the tag.
    size_t e = k;
    while (e < n && rest[e] != ' ') ++e;
    std::string_view token = rest.substr(k, e - k);
    bool is_tag = token.empty() || token.back() == ':' ||
                  token.find('[') != std::string_view::npos || token[0] == '%';
    bool no_tag = false;
    bool host_ok = !is_tag && !token.empty() && token.size() <= kMaxHostname;
    for (char c : token) host_ok = host_ok && HostChar(c);
    if (host_ok) {
      out->hostname.assign(token);
      k = std::min(e + 1, n);
      size_t spaces = 0;
      while (k < n && rest[k] == ' ') {
        ++k;
        ++spaces;
      }
      no_tag = spaces > 1;  // "host   msg": a gap where the tag would be means no tag
    }
    if (k < n && !no_tag) ParseTag(rest, &k, true, out);
  } else {
    size_t t = k;
    while (t < n && rest[t] == ' ') ++t;
    if ((out->pri || rest.find('[') < rest.find(' ')) && ParseTag(rest, &t, false, out)) {
      k = t;
      have_header = true;
      if (out->pri) out->hostname.clear();
    } else if (out->pri) {
      while (k < n && rest[k] == ' ') ++k;
    }
  }
  out->message.assign(rest.substr(std::min(k, n)));
  if (have_header) {
    out->format = "rfc3164";
    ++stats_.rfc3164;
  } else {
    ++stats_.raw;
  }
  if (ParseProduct(out)) ++stats_.product;
}

}  // namespace sensor
