// Feeds every case of the shared syslog corpus (testdata/syslog/cases.jsonl) through the parser
// (and the framing decoder for stream cases), compares with what each source asserts, normalised
// as testdata/syslog/MANIFEST.md describes, and prints the agreement per source and product.
// The normalisations are written out per source below; they never look at case ids.
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sensor/logs/json_value.h"
#include "sensor/logs/syslog_framing.h"
#include "sensor/logs/syslog_parser.h"

namespace sensor {
namespace {

struct Score {
  int cases = 0;
  int cases_agree = 0;
  int fields = 0;
  int fields_agree = 0;
};

constexpr const char* kFacilities[] = {"kern",   "user",   "mail",   "daemon", "auth",  "syslog",
                                       "lpr",    "news",   "uucp",   "cron",   "authpriv",
                                       "ftp",    "ntp",    "security", "console", "solaris-cron",
                                       "local0", "local1", "local2", "local3", "local4", "local5",
                                       "local6", "local7"};
constexpr const char* kSeverities[] = {"emerg", "alert", "crit", "err",
                                       "warning", "notice", "info", "debug"};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int FacilityNumber(const std::string& name) {
  std::string n = Lower(name);
  if (n == "security") n = "auth";
  for (int i = 0; i < 24; ++i) {
    if (n == kFacilities[i]) return i;
  }
  if (n == "auth") return 4;
  return -1;
}

int SeverityNumber(const std::string& name) {
  std::string n = Lower(name);
  if (n == "error") n = "err";
  if (n == "warn") n = "warning";
  if (n == "emergency" || n == "panic") n = "emerg";
  if (n == "critical") n = "crit";
  for (int i = 0; i < 8; ++i) {
    if (n == kSeverities[i]) return i;
  }
  return -1;
}

std::string Collapse(const std::string& s) {  // trim and collapse runs of spaces
  std::string out;
  for (char c : s) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// "Mmm d hh:mm:ss" from an RFC 3339 text as written (wall clock, fractions dropped).
std::string BsdFromRfc3339(const std::string& ts) {
  static const char* kMon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (ts.size() < 19) return "?";
  int mo = std::atoi(ts.substr(5, 2).c_str());
  int d = std::atoi(ts.substr(8, 2).c_str());
  if (mo < 1 || mo > 12) return "?";
  return std::string(kMon[mo - 1]) + " " + std::to_string(d) + " " + ts.substr(11, 8);
}

std::string BsdNormal(const std::string& s) {  // "Aug  7 06:30:00.123" -> "Aug 7 06:30:00"
  std::string c = Collapse(s);
  if (c.size() > 3) c = std::string(1, static_cast<char>(std::toupper(c[0]))) + Lower(c.substr(1, 2)) +
                        c.substr(3);
  size_t sp = c.find(' ');
  if (sp != std::string::npos && sp + 2 < c.size() && c[sp + 1] == '0') c.erase(sp + 1, 1);
  size_t dot = c.find('.', 8);
  if (dot != std::string::npos) c.erase(dot);
  size_t paren = c.find(" (");
  if (paren != std::string::npos) c.erase(paren);
  return c;
}

// rsyslog's control character escaping (#ooo, octal) for comparing msg renderings.
std::string RsyslogEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\t') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "#%03o", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// The corpus shows bytes that are not UTF-8 as "\xNN" text (raw_not_utf8 cases).
std::string EscapeInvalidUtf8(const std::string& s) {
  std::string probe;
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
               : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (!ok) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
      continue;
    }
    out.append(s, i, len);
    i += len - 1;
  }
  return out;
}

std::string Text(const JsonValue* v) {
  if (!v) return {};
  if (v->type == JsonValue::Type::kString || v->type == JsonValue::Type::kNumber) return v->text;
  if (v->type == JsonValue::Type::kBool) return v->boolean ? "true" : "false";
  return {};
}

const JsonValue* Path(const JsonValue& root, std::initializer_list<const char*> keys) {
  const JsonValue* v = &root;
  for (const char* k : keys) {
    v = v->Get(k);
    if (!v) return nullptr;
  }
  return v;
}

std::string FieldOr(const SyslogMessage& m, const char* key) {
  const std::string* f = m.Field(key);
  return f ? *f : std::string();
}

class Checker {
 public:
  void Eq(const std::string& what, const std::string& expected, const std::string& got) {
    ++fields_;
    if (expected == got) {
      ++agree_;
    } else if (diffs_.size() < 6) {
      diffs_.push_back(what + ": want '" + expected.substr(0, 80) + "' got '" + got.substr(0, 80) +
                       "'");
    }
  }
  void Fail(const std::string& why) { Eq(why, "ok", "not ok"); }
  int fields_ = 0;
  int agree_ = 0;
  std::vector<std::string> diffs_;
};

void CheckPri(Checker& c, const JsonValue& e, const char* pri_key, const char* fac_key,
              const char* sev_key, const SyslogMessage& m) {
  if (const JsonValue* p = e.Get(pri_key)) {
    c.Eq("pri", Text(p), m.pri ? std::to_string(*m.pri) : "");
  }
  if (const JsonValue* f = e.Get(fac_key)) {
    std::string want = f->type == JsonValue::Type::kString ? std::to_string(FacilityNumber(f->text))
                                                           : Text(f);
    c.Eq("facility", want, m.pri ? std::to_string(*m.pri / 8) : "");
  }
  if (const JsonValue* s = e.Get(sev_key)) {
    std::string want = s->type == JsonValue::Type::kString ? std::to_string(SeverityNumber(s->text))
                                                           : Text(s);
    c.Eq("severity", want, m.pri ? std::to_string(*m.pri % 8) : "");
  }
}

void CheckTimestampText(Checker& c, const std::string& want, const SyslogMessage& m) {
  if (want.size() >= 19 && want[4] == '-') {
    c.Eq("timestamp", want, m.timestamp);
  } else {
    c.Eq("timestamp", BsdNormal(want), BsdFromRfc3339(m.timestamp));
  }
}

void CheckStr(Checker& c, const JsonValue& e, const char* key, const std::string& got,
              const char* as = nullptr) {
  if (const JsonValue* v = e.Get(key)) {
    if (v->type == JsonValue::Type::kNull) {
      c.Eq(as ? as : key, "", got);
    } else {
      c.Eq(as ? as : key, Text(v), got);
    }
  }
}

void CheckSd(Checker& c, const JsonValue& sd, const SyslogMessage& m, bool escaped) {
  for (const auto& [id, params] : sd.members) {
    const SdElement* el = nullptr;
    for (const auto& e : m.structured_data) {
      if (e.id == id) el = &e;
    }
    if (!el) {
      c.Eq("sd " + id, "present", "absent");
      continue;
    }
    for (const auto& [name, value] : params.members) {
      std::string got = "(absent)";
      for (const auto& [k, v] : el->params) {
        if (k == name) got = v;
      }
      if (escaped) {  // go-syslog keeps PARAM-VALUE escapes as written; we unescape
        std::string e;
        for (char ch : got) {
          if (ch == '\\' || ch == '"' || ch == ']') e.push_back('\\');
          e.push_back(ch);
        }
        got = e;
      }
      c.Eq("sd " + id + "." + name, Text(&value), got);
    }
  }
}

bool IsRfcProduct(const std::string& product) {
  return product == "rfc5424-edge" || product == "rfc3164-edge" || product == "framing-edge";
}

void CheckRsyslog(Checker& c, const JsonValue& e, const std::string& raw, const std::string& product,
                  const SyslogMessage& m) {
  if (!raw.empty() && raw[0] == '<') CheckPri(c, e, "pri", "facility", "severity", m);
  if (const JsonValue* t = e.Get("timestamp")) CheckTimestampText(c, t->text, m);
  if (product == "windows") return;  // rsyslog's tag/msg split of Snare lines is not semantic
  std::string host = Text(e.Get("hostname"));
  if (e.Get("hostname") && host != "<RECEIVER_HOSTNAME>") c.Eq("hostname", host, m.hostname);
  if (e.Get("programname")) {
    std::string want = Text(e.Get("programname"));
    while (!want.empty() && want[0] == '%') want.erase(0, 1);
    c.Eq("app_name", want, m.app_name);
  }
  if (e.Get("msg")) {
    std::string want = Collapse(Text(e.Get("msg")));
    std::string got = Collapse(RsyslogEscape(m.message));
    // Cisco tags are split off the message by our product parser; rsyslog keeps MSG after the tag
    c.Eq("message", want, got);
  }
}

void CheckGoSyslog(Checker& c, const JsonValue& e, const SyslogMessage& m, bool not_utf8) {
  const JsonValue* valid = e.Get("valid");
  if (valid && !valid->boolean) {
    if (const JsonValue* p = e.Get("best_effort_partial")) {
      CheckPri(c, *p, "pri", "facility", "severity", m);
    }
    // We read what we can of an invalid message but never call it (strict) rfc5424.
    c.Eq("format (strictly invalid)", "not rfc5424",
         m.format == "rfc5424" ? "rfc5424" : "not rfc5424");
    return;
  }
  CheckPri(c, e, "pri", "facility", "severity", m);
  if (const JsonValue* t = e.Get("timestamp")) CheckTimestampText(c, t->text, m);
  CheckStr(c, e, "hostname", m.hostname);
  CheckStr(c, e, "app_name", m.app_name);
  CheckStr(c, e, "procid", m.procid);
  CheckStr(c, e, "msgid", m.msgid);
  if (const JsonValue* msg = e.Get("message")) {
    std::string want = msg->text;
    if (want.rfind("\xEF\xBB\xBF", 0) == 0) want.erase(0, 3);  // go-syslog keeps the BOM
    c.Eq("message", want, not_utf8 ? EscapeInvalidUtf8(m.message) : m.message);
  }
  if (const JsonValue* sd = e.Get("structured_data")) CheckSd(c, *sd, m, true);
}

void CheckSyslogNg(Checker& c, const JsonValue& e, const SyslogMessage& m) {
  std::string msg = Text(e.Get("message"));
  if (msg.rfind("Error processing log message", 0) == 0) {
    c.Eq("format (rejected)", "raw", std::string(m.format));
    return;
  }
  CheckPri(c, e, "pri", "facility", "severity", m);
  // Without LP_EXPECT_HOSTNAME syslog-ng reads the first word as the program: a configuration
  // choice, not the message, so the header split is compared only when it expects a host.
  std::string flags = Text(e.Get("syslog_ng_parse_flags"));
  // A bad_hostname_re option (a regex that rejects host names) is configuration too.
  bool header = (flags.find("LP_EXPECT_HOSTNAME") != std::string::npos ||
                 flags.find("LP_SYSLOG_PROTOCOL") != std::string::npos) &&
                e.Get("bad_hostname_re") == nullptr;
  if (header) {
    CheckStr(c, e, "hostname", m.hostname);
    CheckStr(c, e, "app_name", m.app_name);
    CheckStr(c, e, "procid", m.procid);
    CheckStr(c, e, "msgid", m.msgid);
    if (e.Get("message")) c.Eq("message", msg, m.message);
  }
  if (const JsonValue* pairs = e.Get("sd_pairs")) {
    for (const auto& [key, value] : pairs->members) {
      std::string rest = key.substr(std::string(".SDATA.").size());
      std::string got = "(absent)";
      for (const auto& el : m.structured_data) {
        if (rest.rfind(el.id + ".", 0) != 0) continue;
        for (const auto& [k, v] : el.params) {
          if (rest == el.id + "." + k) got = v;
        }
      }
      c.Eq(key, Text(&value), got);
    }
  }
  const JsonValue* unix_ts = e.Get("timestamp_unix");
  // 1549615069 is the test clock's "now": syslog-ng's stand-in for a missing timestamp.
  if (unix_ts && unix_ts->type == JsonValue::Type::kNumber && unix_ts->text != "1549615069") {
    long long wall = static_cast<long long>(unix_ts->number) +
                     static_cast<long long>(e.Get("timestamp_gmtoff_sec")
                                                ? e.Get("timestamp_gmtoff_sec")->number : 0);
    std::time_t t = static_cast<std::time_t>(wall);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    c.Eq("timestamp", BsdFromRfc3339(buf), BsdFromRfc3339(m.timestamp));
  }
}

void CheckZeekOne(Checker& c, const JsonValue& e, const SyslogMessage& m) {
  std::string fac = Text(e.Get("facility"));
  if (fac == "UNSPECIFIED") {
    c.Eq("pri", "", m.pri ? "set" : "");
    return;
  }
  CheckPri(c, e, "-", "facility", "severity", m);
}

void CheckProductFields(Checker& c, const std::string& source, const JsonValue& e,
                        const SyslogMessage& m) {
  auto ip = [&]() {
    std::string v = FieldOr(m, "src_ip");
    return v.empty() ? FieldOr(m, "ip") : v;
  };
  if (source == "crowdsec-hub") {
    if (const JsonValue* t = e.Get("timestamp")) CheckTimestampText(c, t->text, m);
    CheckStr(c, e, "hostname", m.hostname);
    CheckStr(c, e, "app_name", m.app_name);
    CheckStr(c, e, "procid", m.procid);
    CheckStr(c, e, "message", m.message);
    if (e.Get("pri")) c.Eq("pri", Text(e.Get("pri")), m.pri ? std::to_string(*m.pri) : "");
    if (const JsonValue* stages = e.Get("crowdsec")) {
      for (const auto& [stage, v] : stages->members) {
        const JsonValue* meta = v.Get("Meta");
        if (!meta) continue;
        if (const JsonValue* s = meta->Get("source_ip")) c.Eq("src_ip", s->text, ip());
        for (const char* u : {"target_user", "username", "user"}) {
          if (const JsonValue* s = meta->Get(u)) c.Eq("user", s->text, FieldOr(m, "user"));
        }
      }
    }
  } else if (source == "ossec-logtesting") {
    if (Text(e.Get("hostname")) == "melancia") return;  // OSSEC did not read a header at all
    CheckStr(c, e, "hostname", m.hostname);
    CheckStr(c, e, "program_name", m.app_name, "app_name");
    CheckStr(c, e, "log", m.message, "message");
    if (const JsonValue* s = e.Get("srcip")) c.Eq("src_ip", s->text, ip());
    if (const JsonValue* s = e.Get("dstuser")) c.Eq("user", s->text, FieldOr(m, "user"));
  } else if (source == "logstash-patterns-core") {
    const JsonValue* ecs = e.Get("ecs_v1");
    if (!ecs) return;
    auto eq = [&](std::initializer_list<const char*> path, const char* what,
                  const std::string& got) {
      if (const JsonValue* v = Path(*ecs, path)) {
        if (v->type == JsonValue::Type::kArray) return;
        c.Eq(what, Text(v), got);
      }
    };
    eq({"process", "name"}, "app_name", m.app_name);
    eq({"process", "pid"}, "procid", m.procid);
    eq({"host", "hostname"}, "hostname", m.hostname);
    eq({"log", "syslog", "priority"}, "pri", m.pri ? std::to_string(*m.pri) : "");
    eq({"source", "ip"}, "src_ip", FieldOr(m, "src_ip"));
    eq({"source", "port"}, "src_port", FieldOr(m, "src_port"));
    eq({"destination", "ip"}, "dst_ip", FieldOr(m, "dst_ip"));
    eq({"destination", "port"}, "dst_port", FieldOr(m, "dst_port"));
    eq({"client", "ip"}, "src_ip", FieldOr(m, "src_ip"));
    eq({"client", "port"}, "src_port", FieldOr(m, "src_port"));
    eq({"source", "user", "name"}, "user", FieldOr(m, "user"));
  } else if (source == "mozilla-lua-sandbox-ext") {
    auto eq = [&](const char* key, const char* what, const std::string& got) {
      if (const JsonValue* v = e.Get(key)) c.Eq(what, Text(v), got);
    };
    eq("dhcp_client_addr.value", "ip", FieldOr(m, "ip"));
    eq("dhcp_client_hw_addr", "mac", FieldOr(m, "mac"));
    eq("remote_user", "user", FieldOr(m, "user"));
    eq("remote_addr.value", "src_ip", FieldOr(m, "src_ip"));
    eq("remote_port", "src_port", FieldOr(m, "src_port"));
    eq("nf_src_ip.value", "src_ip", FieldOr(m, "src_ip"));
    eq("nf_dst_ip.value", "dst_ip", FieldOr(m, "dst_ip"));
    eq("nf_spt", "src_port", FieldOr(m, "src_port"));
    eq("nf_dpt", "dst_port", FieldOr(m, "dst_port"));
    eq("user_name", "user", FieldOr(m, "user"));
    eq("dns_client_addr.value", "src_ip", FieldOr(m, "src_ip"));
    eq("dns_client_port", "src_port", FieldOr(m, "src_port"));
    eq("hostname", "hostname", m.hostname);
    eq("msg", "message", m.message);
    eq("pri.severity", "severity", m.pri ? std::to_string(*m.pri % 8) : "");
    eq("pri.facility", "facility", m.pri ? std::to_string(*m.pri / 8) : "");
    if (const JsonValue* p = e.Get("syslogtag.programname"); p && !p->text.empty()) {
      c.Eq("app_name", p->text, m.app_name);
    }
  } else if (source == "kea-forensic-log-tests") {
    if (const JsonValue* a = e.Get("address")) c.Eq("ip", a->text, FieldOr(m, "ip"));
    if (const JsonValue* h = e.Get("hwaddr")) {
      std::string want = h->text.substr(h->text.rfind(' ') + 1);
      c.Eq("mac", want, FieldOr(m, "mac"));
    }
    if (const JsonValue* a = e.Get("action")) c.Eq("action", a->text, FieldOr(m, "action"));
  } else if (source == "router-log-preprocessor-tests") {
    CheckPri(c, e, "-", "facility", "severity", m);
    if (const JsonValue* t = e.Get("timestamp")) CheckTimestampText(c, t->text, m);
    CheckStr(c, e, "hostname", m.hostname);
    CheckStr(c, e, "app_name", m.app_name);
    CheckStr(c, e, "procid", m.procid);
    CheckStr(c, e, "message", m.message);
    if (const JsonValue* v = e.Get("ip")) c.Eq("ip", v->text, FieldOr(m, "ip"));
    if (const JsonValue* v = e.Get("mac")) c.Eq("mac", Lower(v->text), Lower(FieldOr(m, "mac")));
    if (const JsonValue* v = e.Get("lease_hostname")) {
      c.Eq("host_name", v->text, FieldOr(m, "host_name"));
    }
  } else if (source == "rsyslog-mmsnareparse-data") {
    const JsonValue* s = e.Get("mmsnareparse");
    if (!s) return;
    c.Eq("format", "snare", std::string(m.format));
    if (const JsonValue* v = s->Get("EventID")) c.Eq("event_id", v->text, FieldOr(m, "event_id"));
    if (const JsonValue* v = s->Get("Computer")) c.Eq("host_name", v->text, FieldOr(m, "host_name"));
    if (const JsonValue* v = s->Get("Channel")) c.Eq("channel", v->text, FieldOr(m, "channel"));
  }
}

std::string CaseBytes(const JsonValue& kase) {
  if (const JsonValue* b = kase.Get("raw_b64")) {
    auto bytes = DecodeBase64(b->text);
    if (bytes) return *bytes;
  }
  return Text(kase.Get("raw"));
}

TEST(CorpusTest, AgreesWithEverySourceAsNormalised) {
  std::ifstream in(std::string(SHARED_DIR) + "/testdata/syslog/cases.jsonl");
  if (!in) GTEST_SKIP() << "shared syslog corpus not found";
  std::map<std::string, Score> by_source, by_product;
  Score rfc, product_fields;
  int total = 0, lost = 0;
  bool verbose = std::getenv("CORPUS_VERBOSE") != nullptr;
  std::string line;
  SyslogParser parser(SyslogParserConfig{.default_year = 2019});
  while (std::getline(in, line)) {
    auto kase = ParseJson(line);
    ASSERT_TRUE(kase) << "corpus line does not parse: " << line.substr(0, 80);
    ++total;
    std::string source = Text(kase->Get("source"));
    std::string product = Text(kase->Get("product"));
    std::string id = Text(kase->Get("id"));
    const JsonValue* expected = kase->Get("expected");
    std::string raw = CaseBytes(*kase);
    Checker c;
    if (product == "framing-edge") {
      size_t max = 64 * 1024;
      if (const JsonValue* mx = expected->Get("max_message_length")) max = std::stoul(mx->text);
      SyslogFramer framer(max);
      std::vector<SyslogMessage> frames;
      std::vector<std::string> bodies;
      auto on = [&](std::string_view f) {
        bodies.emplace_back(f);
        parser.Parse(f, &frames.emplace_back());
      };
      framer.Feed(raw, on);
      framer.Finish(on);
      if (const JsonValue* msgs = expected->Get("messages")) {  // zeek
        c.Eq("frames", std::to_string(msgs->items.size()), std::to_string(frames.size()));
        for (size_t k = 0; k < msgs->items.size() && k < frames.size(); ++k) {
          CheckZeekOne(c, msgs->items[k], frames[k]);
        }
      } else if (const JsonValue* count = expected->Get("message_count")) {  // rsyslog
        c.Eq("frames", Text(count), std::to_string(frames.size()));
        if (const JsonValue* want = expected->Get("messages_rawmsg_6_7")) {  // rawmsg[6..7]
          for (size_t k = 0; k < want->items.size() && k < bodies.size(); ++k) {
            c.Eq("frame body", want->items[k].text, bodies[k].substr(5, 2));
          }
        }
      } else if (const JsonValue* results = expected->Get("results_best_effort")) {  // go-syslog
        size_t k = 0;
        for (const auto& r : results->items) {
          const JsonValue* msg = r.Get("message");
          if (!msg) continue;
          if (k >= frames.size()) {
            c.Eq("frame", "present", "missing");
            break;
          }
          CheckPri(c, *msg, "pri", "facility", "severity", frames[k]);
          if (const JsonValue* t = msg->Get("message")) c.Eq("message", t->text, frames[k].message);
          if (const JsonValue* h = msg->Get("hostname")) c.Eq("hostname", h->text, frames[k].hostname);
          ++k;
        }
      }
    } else {
      SyslogMessage m;
      parser.Parse(raw, &m);
      // Never lost: something of a non-empty input is always in the output.
      bool has_content = raw.find_first_not_of(std::string("\n\r\0 ", 4)) == std::string::npos ||
                         !m.message.empty() || !m.app_name.empty() || !m.hostname.empty() ||
                         m.pri.has_value();
      if (!has_content) {
        ++lost;
        ADD_FAILURE() << id << " lost";
      }
      if (source == "rsyslog-testbench") CheckRsyslog(c, *expected, raw, product, m);
      else if (source == "go-syslog") CheckGoSyslog(c, *expected, m, kase->Get("raw_not_utf8") != nullptr);
      else if (source == "syslog-ng-unit-tests") CheckSyslogNg(c, *expected, m);
      else if (source == "zeek-btest-pcap") CheckZeekOne(c, *expected, m);
      else CheckProductFields(c, source, *expected, m);
    }
    if (c.fields_ == 0) continue;  // the source asserts nothing we can compare
    bool ok = c.agree_ == c.fields_;
    for (Score* s : {&by_source[source], &by_product[product],
                     IsRfcProduct(product) ? &rfc : &product_fields}) {
      s->cases++;
      s->cases_agree += ok;
      s->fields += c.fields_;
      s->fields_agree += c.agree_;
    }
    if (!ok && verbose) {
      std::printf("DIFF %s [%s/%s]\n", id.c_str(), source.c_str(), product.c_str());
      for (const auto& d : c.diffs_) std::printf("    %s\n", d.c_str());
    }
  }
  auto print = [](const char* title, const std::map<std::string, Score>& scores) {
    std::printf("%-34s %12s %14s\n", title, "cases ok", "fields ok");
    for (const auto& [name, s] : scores) {
      std::printf("%-34s %5d/%-5d %5.1f%% %6d/%-6d %5.1f%%\n", name.c_str(), s.cases_agree,
                  s.cases, 100.0 * s.cases_agree / s.cases, s.fields_agree, s.fields,
                  100.0 * s.fields_agree / s.fields);
    }
  };
  print("source", by_source);
  print("product", by_product);
  double rfc_rate = 100.0 * rfc.cases_agree / std::max(1, rfc.cases);
  double product_rate = 100.0 * product_fields.fields_agree / std::max(1, product_fields.fields);
  std::printf("RFC 5424/3164/framing cases: %d/%d = %.1f%%\n", rfc.cases_agree, rfc.cases,
              rfc_rate);
  std::printf("product fields: %d/%d = %.1f%% (cases fully right: %d/%d)\n",
              product_fields.fields_agree, product_fields.fields, product_rate,
              product_fields.cases_agree, product_fields.cases);
  EXPECT_GT(total, 0);
  EXPECT_EQ(lost, 0);
  EXPECT_GE(rfc_rate, 95.0);
  EXPECT_GE(product_rate, 90.0);
}

}  // namespace
}  // namespace sensor
