#include "products.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "scan.h"

namespace sensor {

namespace {

using scan::After;
using scan::IpLength;
using scan::IsAlpha;
using scan::IsDigit;
using scan::MacLength;
using scan::TokenAt;
using scan::Trim;
using std::string_view;
constexpr size_t npos = string_view::npos;

bool StartsWith(string_view s, string_view p) { return s.substr(0, p.size()) == p; }
bool Contains(string_view s, string_view p) { return s.find(p) != npos; }

// The IP address starting exactly at pos, or empty.
string_view IpAt(string_view s, size_t pos) {
  if (pos >= s.size()) return {};
  size_t n = IpLength(s, pos);
  return s.substr(pos, n);
}

string_view PortAt(string_view s, size_t pos) {
  size_t e = pos;
  while (e < s.size() && IsDigit(s[e]) && e - pos < 5) ++e;
  return s.substr(pos, e - pos);
}

// Splits s at `sep` into at most N views; returns the count.
template <size_t N>
size_t Split(string_view s, char sep, std::array<string_view, N>* parts) {
  size_t count = 0;
  size_t b = 0;
  while (count < N) {
    size_t e = s.find(sep, b);
    if (e == npos) {
      (*parts)[count++] = s.substr(b);
      break;
    }
    (*parts)[count++] = s.substr(b, e - b);
    b = e + 1;
  }
  return count;
}

// Scans for endpoints "[iface:|iface/]IP[/port|(port)|:port|#port]" in order; the first two
// become src and dst. Tokens inside "(...)" that follow an endpoint (ASA mapped addresses) are
// skipped. Bounded: one pass.
void Endpoints(string_view s, SyslogMessage* m) {
  int found = 0;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n && found < 2) {
    char c = s[i];
    bool boundary = i == 0 || s[i - 1] == ' ' || s[i - 1] == ':' || s[i - 1] == '/' ||
                    s[i - 1] == '[' || s[i - 1] == '=' || s[i - 1] == ',';
    if (!boundary || !(IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                       c == ':')) {
      ++i;
      continue;
    }
    if (i > 0 && s[i - 1] != ' ' && s[i - 1] != '[' && s[i - 1] != '=' && s[i - 1] != ',') {
      // after "iface:" or "iface/": the interface name must be a word
      size_t w = i - 1;
      while (w > 0 && s[w - 1] != ' ') --w;
      if (w > 0 && s[w - 1] == '(') {
        ++i;
        continue;
      }
    }
    if (i > 0 && s[i - 1] == '(') {
      ++i;
      continue;
    }
    size_t len = IpLength(s, i);
    if (len == 0) {
      ++i;
      continue;
    }
    string_view ip = s.substr(i, len);
    size_t e = i + len;
    string_view port;
    if (e + 1 < n && (s[e] == '/' || s[e] == '#' || (s[e] == ':' && ip.find(':') == npos)) &&
        IsDigit(s[e + 1])) {
      port = PortAt(s, e + 1);
      e += 1 + port.size();
    } else if (e + 1 < n && s[e] == '(' && IsDigit(s[e + 1])) {
      port = PortAt(s, e + 1);
      e += 1 + port.size();
    }
    if (found == 0) {
      m->SetField("src_ip", ip);
      m->SetField("src_port", port);
    } else {
      m->SetField("dst_ip", ip);
      m->SetField("dst_port", port);
    }
    ++found;
    i = e;
  }
}

// "%ASA-6-302013:" / "%%ASA-..." / "ASA-6-..." / "%LINK-3-UPDOWN" (Cisco). Returns the
// facility part ("ASA", "LINK") or empty.
string_view CiscoFacility(string_view tag, string_view* mnemonic) {
  while (!tag.empty() && tag[0] == '%') tag.remove_prefix(1);
  size_t d1 = tag.find('-');
  if (d1 == npos || d1 == 0 || d1 + 2 >= tag.size()) return {};
  for (size_t k = 0; k < d1; ++k) {
    if (!(IsAlpha(tag[k]) || IsDigit(tag[k]) || tag[k] == '_')) return {};
  }
  if (!IsDigit(tag[d1 + 1]) || tag[d1 + 2] != '-') return {};
  *mnemonic = tag.substr(d1 + 3);
  if (mnemonic->empty()) return {};
  return tag.substr(0, d1);
}

void CiscoAsa(SyslogMessage* m, string_view id) {
  string_view s = m->message;
  m->format = "cisco-asa";
  m->SetField("event_id", id);
  Endpoints(s, m);
  if (size_t p = After(s, "user \""); p != npos) {
    size_t e = s.find('"', p);
    if (e != npos) m->SetField("user", s.substr(p, e - p));
  } else if (size_t q = After(s, "user '"); q != npos) {
    size_t e = s.find('\'', q);
    if (e != npos) m->SetField("user", s.substr(q, e - q));
  } else if (size_t r = After(s, "sername = "); r != npos) {
    m->SetField("user", Trim(TokenAt(s, r), ",;"));
  } else if (size_t u = After(s, "user = "); u != npos) {
    m->SetField("user", Trim(TokenAt(s, u), ",;"));
  }
  string_view first = TokenAt(s, 0);
  if (first == "Deny" || Contains(s, " denied ") || Contains(s, " deny ")) {
    m->SetField("action", "deny");
  } else if (first == "Built" || Contains(s, " permitted ")) {
    m->SetField("action", "allow");
  } else if (first == "Teardown") {
    m->SetField("action", "teardown");
  }
  for (string_view proto : {"TCP", "UDP", "ICMP", "tcp", "udp", "icmp", "GRE", "ESP"}) {
    size_t p = s.find(proto);
    if (p != npos && p > 0 && s[p - 1] == ' ' && p + proto.size() < s.size() &&
        s[p + proto.size()] == ' ') {
      std::string lower(proto);
      for (char& c : lower) c = static_cast<char>(c | 0x20);
      m->SetField("proto", lower);
      break;
    }
  }
}

void CiscoIos(SyslogMessage* m, string_view facility, string_view mnemonic) {
  m->format = "cisco-ios";
  std::string id(facility);
  id += '-';
  id += mnemonic;
  m->SetField("event_id", id);
  string_view s = m->message;
  Endpoints(s, m);
  if (Contains(s, " denied ")) m->SetField("action", "deny");
  if (Contains(s, " permitted ")) m->SetField("action", "allow");
  if (size_t p = After(s, "[user: "); p != npos) {
    size_t e = s.find(']', p);
    if (e != npos) m->SetField("user", s.substr(p, e - p));
  }
}

bool Fortigate(SyslogMessage* m) {
  string_view s = m->message;
  if (!(Contains(s, "logid=") && (Contains(s, "devid=") || Contains(s, "type=")) &&
        (StartsWith(s, "date=") || Contains(s, " date=") || Contains(s, "devname=")))) {
    return false;
  }
  m->format = "fortigate";
  string_view remip;
  scan::ForEachKeyValue(s, [&](string_view k, string_view v) {
    if (v == "N/A") return;
    if (k == "srcip") m->SetField("src_ip", v);
    else if (k == "srcport") m->SetField("src_port", v);
    else if (k == "dstip") m->SetField("dst_ip", v);
    else if (k == "dstport") m->SetField("dst_port", v);
    else if (k == "action") m->SetField("action", v);
    else if (k == "user") m->SetField("user", v);
    else if (k == "proto") m->SetField("proto", v);
    else if (k == "policyid") m->SetField("rule", v);
    else if (k == "logid") m->SetField("event_id", v);
    else if (k == "srcmac") m->SetField("mac", v);
    else if (k == "devname") m->SetField("device", v);
    else if (k == "remip") remip = v;
    else if (k == "service") m->SetField("service", v);
  });
  if (!m->Field("src_ip")) m->SetField("src_ip", remip);
  return true;
}

bool PaloAlto(SyslogMessage* m) {
  string_view s = m->message;
  // "FUTURE_USE,YYYY/MM/DD hh:mm:ss,SERIAL,TYPE,..." (PAN-OS syslog field order, public docs)
  size_t c = s.find(',');
  if (c == npos || c > 4 || c + 20 > s.size() || s[c + 5] != '/' || s[c + 8] != '/' ||
      s[c + 11] != ' ' || s[c + 14] != ':') {
    return false;
  }
  std::array<string_view, 32> f;
  size_t count = Split(s, ',', &f);
  if (count < 4) return false;
  m->format = "paloalto";
  m->SetField("log_type", f[3]);
  if (count > 4) m->SetField("subtype", f[4]);
  if (count > 8) {
    m->SetField("src_ip", f[7]);
    m->SetField("dst_ip", f[8]);
  }
  if (count > 12) {
    m->SetField("rule", f[11]);
    m->SetField("user", f[12]);
  }
  if (count > 14) m->SetField("app", f[14]);
  if (count > 25) {
    m->SetField("src_port", f[24]);
    m->SetField("dst_port", f[25]);
  }
  if (count > 30) {
    m->SetField("proto", f[29]);
    m->SetField("action", f[30]);
  }
  return true;
}

// pfSense/OPNsense filterlog CSV (pfSense "Filter Log Format" documentation).
void Filterlog(SyslogMessage* m) {
  m->format = "pfsense";
  std::array<string_view, 32> f;
  size_t count = Split(m->message, ',', &f);
  if (count < 9) return;
  m->SetField("rule", f[3]);
  m->SetField("interface", f[4]);
  m->SetField("action", f[6]);
  m->SetField("direction", f[7]);
  size_t src = 0, proto = 0;
  if (f[8] == "4" && count > 19) {
    proto = 16;
    src = 18;
  } else if (f[8] == "6" && count > 16) {
    proto = 12;
    src = 15;
  } else {
    return;
  }
  m->SetField("proto", f[proto]);
  m->SetField("src_ip", f[src]);
  m->SetField("dst_ip", f[src + 1]);
  if ((f[proto] == "tcp" || f[proto] == "udp") && count > src + 3) {
    m->SetField("src_port", f[src + 2]);
    m->SetField("dst_port", f[src + 3]);
  }
}

// Snare MSWinEventLog TAB format: MSWinEventLog, criticality, channel, record, time,
// event id, source, user, user type, event type, computer, category, data, description.
bool Snare(SyslogMessage* m) {
  string_view s = m->message;
  size_t p = s.find("MSWinEventLog");
  if (p == npos) {
    // The tag parser may have taken the host part before the marker.
    if (m->app_name != "MSWinEventLog") return false;
    p = 0;
  } else {
    s = s.substr(p);
  }
  char sep = '\t';
  if (s.find('\t') == npos) {
    if (Contains(s, "#011")) sep = 0;  // rsyslog-escaped TAB
    else return false;
  }
  std::array<string_view, 16> f;
  size_t count = 0;
  if (sep == '\t') {
    count = Split(s, '\t', &f);
  } else {
    size_t b = 0;
    while (count < f.size()) {
      size_t e = s.find("#011", b);
      f[count++] = s.substr(b, e == npos ? npos : e - b);
      if (e == npos) break;
      b = e + 4;
    }
  }
  if (count < 6) return false;
  m->format = "snare";
  m->SetField("channel", f[2]);
  m->SetField("event_id", f[5]);
  if (count > 6) m->SetField("provider", f[6]);
  if (count > 7 && f[7] != "N/A") m->SetField("user", f[7]);
  if (count > 9) m->SetField("event_type", f[9]);
  if (count > 10) m->SetField("host_name", f[10]);
  if (count > 11) m->SetField("category", f[11]);
  return true;
}

// NXLog: JSON ({"EventID":4625,...}) or key=value with EventID.
bool Nxlog(SyslogMessage* m) {
  string_view s = Trim(m->message);
  if (!Contains(s, "EventID")) return false;
  auto take = [&](string_view k, string_view v) {
    if (k == "EventID") m->SetField("event_id", v);
    else if (k == "Hostname" || k == "Computer") m->SetField("host_name", v);
    else if (k == "TargetUserName" || (k == "SubjectUserName" && !m->Field("user"))) {
      if (v != "-") m->SetField("user", v);
    } else if (k == "IpAddress" && v != "-") m->SetField("src_ip", v);
    else if (k == "IpPort" && v != "-" && v != "0") m->SetField("src_port", v);
    else if (k == "Channel") m->SetField("channel", v);
    else if (k == "SourceName" || k == "ProviderName") m->SetField("provider", v);
    // Windows DHCP Server audit log lines read by NXLog's xm_csv (docs/logs.md).
    else if (k == "IPAddress" && v != "-") m->SetField("ip", v);
    else if (k == "MACAddress" && v != "-") m->SetField("mac", v);
    else if (k == "Description") m->SetField("description", v);
  };
  if (!s.empty() && s[0] == '{') {
    // Flat JSON object: "key":value pairs; nested objects are skipped by the scan.
    size_t i = 1;
    const size_t n = s.size();
    while (i < n) {
      size_t kq = s.find('"', i);
      if (kq == npos) break;
      size_t ke = kq + 1;
      while (ke < n && s[ke] != '"') ke += (s[ke] == '\\') ? 2 : 1;
      if (ke >= n) break;
      string_view key = s.substr(kq + 1, ke - kq - 1);
      size_t c = ke + 1;
      while (c < n && s[c] == ' ') ++c;
      if (c >= n || s[c] != ':') {
        i = ke + 1;
        continue;
      }
      ++c;
      while (c < n && s[c] == ' ') ++c;
      string_view value;
      if (c < n && s[c] == '"') {
        size_t ve = c + 1;
        while (ve < n && s[ve] != '"') ve += (s[ve] == '\\') ? 2 : 1;
        value = s.substr(c + 1, std::min(ve, n) - c - 1);
        i = ve + 1;
      } else {
        size_t ve = c;
        while (ve < n && s[ve] != ',' && s[ve] != '}') ++ve;
        value = Trim(s.substr(c, ve - c));
        i = ve;
      }
      take(key, value);
    }
  } else {
    scan::ForEachKeyValue(s, take);
  }
  if (!m->Field("event_id")) return false;
  m->format = "nxlog";
  return true;
}

// Windows DHCP Server audit log line, as NXLog forwards it raw: "ID,Date,Time,Description,
// IP Address,Host Name,MAC Address,..." (Microsoft Learn, "Analyze DHCP Server log files":
// ID 10 = new lease, 11 = renewal, 12 = release, ...). The MAC is 12 hex digits.
bool WindowsDhcpCsv(SyslogMessage* m) {
  string_view s = m->message;
  // "NN,MM/DD/YY,HH:MM:SS," at the start (the ID has two digits).
  if (s.size() < 22 || !IsDigit(s[0]) || !IsDigit(s[1]) || s[2] != ',' || s[5] != '/' ||
      s[8] != '/' || s[11] != ',' || s[14] != ':' || s[17] != ':' || s[20] != ',') {
    return false;
  }
  std::array<string_view, 12> f;
  size_t count = Split(s, ',', &f);
  if (count < 7) return false;
  m->format = "windows-dhcp";
  m->SetField("event_id", f[0]);
  m->SetField("description", f[3]);
  if (IpLength(f[4], 0) == f[4].size()) m->SetField("ip", f[4]);
  m->SetField("host_name", f[5]);
  m->SetField("mac", f[6]);
  return true;
}

bool Iptables(SyslogMessage* m) {
  string_view s = m->message;
  if (!(Contains(s, "SRC=") && Contains(s, "DST=") && Contains(s, "PROTO="))) return false;
  m->format = "iptables";
  scan::ForEachKeyValue(s, [&](string_view k, string_view v) {
    if (k == "SRC") m->SetField("src_ip", v);
    else if (k == "DST") m->SetField("dst_ip", v);
    else if (k == "SPT") m->SetField("src_port", v);
    else if (k == "DPT") m->SetField("dst_port", v);
    else if (k == "PROTO") {
      std::string lower(v);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      m->SetField("proto", lower);
    } else if (k == "IN") m->SetField("in_interface", v);
    else if (k == "OUT") m->SetField("out_interface", v);
    else if (k == "MAC" && v.size() >= 35) m->SetField("mac", v.substr(18, 17));
  });
  return true;
}

// ISC dhcpd / dhclient: "DHCPACK on IP to MAC (name) via IF", "DHCPREQUEST for IP from MAC",
// "DHCPDISCOVER from MAC via IF", "DHCPOFFER on IP to MAC", "DHCPINFORM from IP",
// "DHCPACK to IP (MAC) via IF", "DHCPRELEASE of IP from MAC".
bool IscDhcp(SyslogMessage* m, string_view format) {
  string_view s = m->message;
  if (!StartsWith(s, "DHCP") || s.size() < 6) return false;
  size_t sp = s.find(' ');
  if (sp == npos) return false;
  m->format = format;
  m->SetField("action", s.substr(0, sp));
  for (size_t i = sp + 1; i < s.size();) {
    string_view tok = TokenAt(s, i);
    string_view inner = Trim(tok, "()");
    if (!inner.empty()) {
      if (MacLength(inner, 0) == inner.size() && !m->Field("mac")) {
        m->SetField("mac", inner);
      } else if (IpLength(inner, 0) == inner.size() && !m->Field("ip") &&
                 !StartsWith(s.substr(i >= 4 ? i - 4 : 0), "via ") &&
                 s.substr(i >= 3 ? i - 3 : 0, 3) != "to " ) {
        m->SetField("ip", inner);
      } else if (tok.size() > 2 && tok.front() == '(' && tok.back() == ')' &&
                 IpLength(inner, 0) == 0 && MacLength(inner, 0) == 0) {
        m->SetField("host_name", inner);
      }
    }
    i += tok.size() + 1;
  }
  // "DHCPACK to IP" (no "on"): the address after "to" is the lease.
  if (!m->Field("ip")) {
    for (string_view k : {"on ", "to ", "for ", "of "}) {
      size_t p = After(s, k);
      if (p != npos && IpAt(s, p).size() > 0) {
        m->SetField("ip", IpAt(s, p));
        break;
      }
    }
  }
  if (size_t v = After(s, " via "); v != npos) m->SetField("interface", TokenAt(s, v));
  return true;
}

// dnsmasq-dhcp: "DHCPACK(br0) 192.168.1.5 aa:bb:cc:dd:ee:ff name".
bool DnsmasqDhcp(SyslogMessage* m) {
  string_view s = m->message;
  // optional numeric transaction id first ("1234567 DHCPACK(...)")
  if (!s.empty() && IsDigit(s[0])) {
    size_t sp = s.find(' ');
    if (sp != npos && StartsWith(s.substr(sp + 1), "DHCP")) s = s.substr(sp + 1);
  }
  size_t paren = s.find('(');
  if (!StartsWith(s, "DHCP") || paren == npos || paren > 16) return false;
  size_t close = s.find(')', paren);
  if (close == npos) return false;
  m->format = "dnsmasq";
  m->SetField("action", s.substr(0, paren));
  m->SetField("interface", s.substr(paren + 1, close - paren - 1));
  size_t i = close + 1;
  int slot = 0;
  while (i < s.size() && slot < 3) {
    while (i < s.size() && s[i] == ' ') ++i;
    string_view tok = TokenAt(s, i);
    if (tok.empty()) break;
    if (IpLength(tok, 0) == tok.size() && !m->Field("ip")) {
      m->SetField("ip", tok);
    } else if (MacLength(tok, 0) == tok.size() && !m->Field("mac")) {
      m->SetField("mac", tok);
    } else if (m->Field("mac")) {
      m->SetField("host_name", tok);
      break;
    } else {
      break;
    }
    i += tok.size();
    ++slot;
  }
  return true;
}

// dnsmasq DNS: "query[A] name from 1.2.3.4", "reply name is 1.2.3.4".
void DnsmasqDns(SyslogMessage* m) {
  m->format = "dnsmasq";
  string_view s = m->message;
  if (size_t q = After(s, "query["); q != npos) {
    size_t e = s.find(']', q);
    if (e != npos) {
      m->SetField("query_type", s.substr(q, e - q));
      m->SetField("query", TokenAt(s, e + 2));
    }
    if (size_t f = After(s, " from "); f != npos) m->SetField("src_ip", IpAt(s, f));
  } else if (size_t r = After(s, "reply "); r != npos) {
    m->SetField("query", TokenAt(s, r));
    if (size_t is = After(s, " is "); is != npos) m->SetField("ip", IpAt(s, is));
  }
}

void Kea(SyslogMessage* m) {
  m->format = "kea";
  string_view s = m->message;
  // Forensic log: "Address: IP has been assigned ... hardware address: hwtype=1 MAC"
  if (size_t a = After(s, "Address: "); a != npos) {
    m->SetField("ip", IpAt(s, a));
    size_t hb = After(s, "has been ");
    if (hb != npos) m->SetField("action", Trim(TokenAt(s, hb), ",."));
  } else if (size_t l = After(s, "lease "); l != npos && IpAt(s, l).size() > 0) {
    m->SetField("ip", IpAt(s, l));
  }
  if (size_t h = After(s, "hwtype="); h != npos) {
    size_t sp = s.find(' ', h);
    if (sp != npos && MacLength(s, sp + 1) > 0) m->SetField("mac", s.substr(sp + 1, 17));
  } else if (size_t hw = After(s, "hwaddr="); hw != npos) {
    size_t mac_at = hw;
    if (s.substr(hw, 4) == "hwty") mac_at = s.find(' ', hw) + 1;
    if (MacLength(s, mac_at) > 0) m->SetField("mac", s.substr(mac_at, 17));
  }
  if (!m->Field("mac")) {
    // "[hwtype=1 aa:bb:...]" and "hw address aa:bb:..." forms
    for (size_t i = 0; i + 17 <= s.size(); ++i) {
      if ((i == 0 || s[i - 1] == ' ' || s[i - 1] == '[') && MacLength(s, i) == 17) {
        m->SetField("mac", s.substr(i, 17));
        break;
      }
    }
  }
  size_t code_end = s.find(' ');
  string_view code = s.substr(0, code_end);
  if (StartsWith(code, "DHCP4_") || StartsWith(code, "DHCP6_") || StartsWith(code, "DHCPSRV_")) {
    m->SetField("event_id", code);
  }
}

// Kea's own log file lines: "2016-05-19 13:35:04.165 DEBUG [kea-dhcp4.leases/44478] CODE text".
bool KeaLogLine(SyslogMessage* m) {
  string_view s = m->message;
  if (s.size() < 30 || !IsDigit(s[0]) || s[4] != '-' || s[10] != ' ' || s[13] != ':') {
    return false;
  }
  size_t lb = s.find(" [kea");
  if (lb == npos || lb > 40) return false;
  size_t rb = s.find("] ", lb);
  if (rb == npos) return false;
  std::string ts(s.substr(0, 10));
  ts += 'T';
  size_t te = s.find(' ', 11);
  ts.append(s.substr(11, te - 11));
  ts += 'Z';
  m->timestamp = ts;
  string_view logger = s.substr(lb + 2, rb - lb - 2);
  size_t slash = logger.find('/');
  m->app_name.assign(logger.substr(0, slash));
  if (slash != npos) m->procid.assign(logger.substr(slash + 1));
  m->SetField("level", Trim(s.substr(te, lb - te)));
  std::string body(s.substr(rb + 2));
  m->message = body;
  Kea(m);
  return true;
}

void Sshd(SyslogMessage* m) {
  m->format = "sshd";
  string_view s = m->message;
  auto from_port = [&](size_t p) {
    m->SetField("src_ip", IpAt(s, p));
    string_view ip = IpAt(s, p);
    if (!ip.empty() && s.substr(p + ip.size(), 6) == " port ") {
      m->SetField("src_port", PortAt(s, p + ip.size() + 6));
    }
  };
  for (string_view verb : {"Accepted ", "Failed "}) {
    if (StartsWith(s, verb)) {
      m->SetField("action", verb == "Accepted " ? "accepted" : "failed");
      m->SetField("method", TokenAt(s, verb.size()));
      size_t f = After(s, " for ");
      if (f != npos) {
        if (StartsWith(s.substr(f), "invalid user ")) f += 13;
        size_t fr = s.find(" from ", f);
        if (fr != npos) {
          m->SetField("user", s.substr(f, fr - f));
          from_port(fr + 6);
        }
      }
      return;
    }
  }
  for (string_view marker : {"Invalid user ", "invalid user ", "Connection closed by ",
                             "Disconnected from ", "Received disconnect from ",
                             "Connection reset by ", "Did not receive identification string from ",
                             "Unable to negotiate with ", "authenticating user ",
                             "Timeout before authentication for "}) {
    size_t p = After(s, marker);
    if (p == npos) continue;
    if (marker == "Invalid user " || marker == "invalid user ") {
      m->SetField("action", "invalid_user");
      size_t fr = s.find(" from ", p);
      if (fr != npos) {
        m->SetField("user", s.substr(p, fr - p));
        from_port(fr + 6);
      }
      return;
    }
    for (string_view who : {"invalid user ", "authenticating user ", "user "}) {
      if (StartsWith(s.substr(p), who)) {
        p += who.size();
        string_view user = TokenAt(s, p);
        m->SetField("user", user);
        p += user.size() + 1;
        break;
      }
    }
    if (IpAt(s, p).empty()) continue;
    from_port(p);
    return;
  }
  if (size_t r = After(s, "refused connect from "); r != npos) {
    size_t lp = s.find('(', r);
    if (lp != npos) m->SetField("src_ip", IpAt(s, lp + 1));
    if (!m->Field("src_ip")) m->SetField("src_ip", IpAt(s, r));
    m->SetField("action", "refused");
    return;
  }
  if (size_t f = After(s, " from "); f != npos) from_port(f);
  if (size_t r = After(s, "rhost="); r != npos) m->SetField("src_ip", IpAt(s, r));
  if (size_t u = After(s, " user="); u != npos) m->SetField("user", TokenAt(s, u));
}

void Sudo(SyslogMessage* m) {
  m->format = "sudo";
  string_view s = m->message;
  size_t colon = s.find(" : ");
  if (colon != npos && colon < 64) {
    m->SetField("user", Trim(s.substr(0, colon)));
    scan::ForEachKeyValue(s.substr(colon + 3), [&](string_view k, string_view v) {
      if (k == "USER") m->SetField("target_user", v);
      else if (k == "TTY") m->SetField("tty", v);
    });
    if (size_t c = After(s, "COMMAND="); c != npos) m->SetField("command", s.substr(c));
    return;
  }
  if (size_t u = After(s, "user "); u != npos) m->SetField("user", TokenAt(s, u));
}

void Pam(SyslogMessage* m) {
  string_view s = m->message;
  if (size_t u = After(s, "for user "); u != npos) {
    m->SetField("user", Trim(TokenAt(s, u), "'\","));
  } else if (size_t v = After(s, " user="); v != npos) {
    m->SetField("user", TokenAt(s, v));
  } else if (size_t w = After(s, "user "); w != npos) {
    m->SetField("user", Trim(TokenAt(s, w), "'\","));
  }
  if (size_t r = After(s, "rhost="); r != npos) m->SetField("src_ip", IpAt(s, r));
}

void Bind(SyslogMessage* m) {
  m->format = "bind";
  string_view s = m->message;
  size_t c = After(s, "client ");
  if (c != npos) {
    if (c < s.size() && s[c] == '@') c = s.find(' ', c) + 1;  // "@0x7f..." object id
    string_view ip = IpAt(s, c);
    if (!ip.empty()) {
      m->SetField("src_ip", ip);
      if (c + ip.size() < s.size() && s[c + ip.size()] == '#') {
        m->SetField("src_port", PortAt(s, c + ip.size() + 1));
      }
    }
  }
  if (size_t q = After(s, "query: "); q != npos) {
    m->SetField("query", TokenAt(s, q));
    size_t t = q + TokenAt(s, q).size() + 1;
    string_view cls = TokenAt(s, t);
    if (!cls.empty()) m->SetField("query_type", TokenAt(s, t + cls.size() + 1));
  }
  if (!m->Field("src_ip")) {
    if (size_t f = After(s, " from ["); f != npos) m->SetField("src_ip", IpAt(s, f));
    else if (size_t g = After(s, "): "); g != npos && Contains(s, "lame server")) {
      m->SetField("src_ip", IpAt(s, g));
    }
  }
}

void Su(SyslogMessage* m) {
  m->format = "su";
  string_view s = m->message;
  if (size_t f = After(s, "su for "); f != npos) {
    m->SetField("target_user", TokenAt(s, f));
    if (size_t b = After(s, " by "); b != npos) m->SetField("user", TokenAt(s, b));
  } else if (size_t g = After(s, "(to "); g != npos) {
    size_t e = s.find(')', g);
    if (e != npos) m->SetField("target_user", s.substr(g, e - g));
    m->SetField("user", Trim(TokenAt(s, e + 2)));
  }
  Pam(m);
}

// Any other program: the user and peer address of authentication messages ("... for user 'x'
// from: 1.2.3.4", "user=x rhost=1.2.3.4"). Sets fields only; the format stays as it is.
void GenericAuth(SyslogMessage* m) {
  string_view s = m->message;
  if (!(Contains(s, "auth") || Contains(s, "login") || Contains(s, "Login") ||
        Contains(s, "password") || Contains(s, "user"))) {
    return;
  }
  for (string_view key : {"for user ", "user=", "user "}) {
    size_t u = After(s, key);
    if (u == npos) continue;
    string_view name = Trim(TokenAt(s, u), "'\",;:");
    if (!name.empty()) {
      m->SetField("user", name);
      break;
    }
  }
  for (string_view key : {"from: ", "from ", "rhost=", "ip=", "[", "("}) {
    size_t f = After(s, key);
    if (f == npos) continue;
    string_view ip = IpAt(s, f);
    if (!ip.empty()) {
      m->SetField("src_ip", ip);
      break;
    }
  }
}

string_view BaseName(string_view app) {
  size_t paren = app.find('(');
  if (paren != npos) app = app.substr(0, paren);
  return app;
}

}  // namespace

bool ParseProduct(SyslogMessage* m) {
  string_view app = m->app_name;
  string_view msg = m->message;

  string_view mnemonic;
  string_view facility = CiscoFacility(app, &mnemonic);
  if (facility.empty() && !msg.empty() && (msg[0] == '%' || StartsWith(msg, "ASA-"))) {
    string_view tag = TokenAt(msg, 0);
    if (!tag.empty() && tag.back() == ':') {
      facility = CiscoFacility(tag.substr(0, tag.size() - 1), &mnemonic);
      if (!facility.empty()) {
        m->app_name.assign(Trim(tag.substr(0, tag.size() - 1), "%"));
        m->message.erase(0, std::min(m->message.size(), tag.size() + 1));
      }
    }
  }
  if (!facility.empty()) {
    if (facility == "ASA" || facility == "PIX" || facility == "FWSM" || facility == "FTD") {
      CiscoAsa(m, mnemonic);
    } else {
      CiscoIos(m, facility, mnemonic);
    }
    while (!m->app_name.empty() && m->app_name[0] == '%') m->app_name.erase(0, 1);
    return true;
  }
  if (Snare(m)) return true;
  if (Fortigate(m)) return true;
  if (PaloAlto(m)) return true;
  string_view base = BaseName(app);
  if (base == "filterlog") {
    Filterlog(m);
    return true;
  }
  if (base == "dhcpd" || base == "dhclient") {
    return IscDhcp(m, base == "dhcpd" ? "isc-dhcpd" : "isc-dhclient") || (m->format = "isc-dhcpd",
                                                                          true);
  }
  if (base == "dnsmasq-dhcp" || base == "dnsmasq") {
    if (!DnsmasqDhcp(m)) DnsmasqDns(m);
    return true;
  }
  if (StartsWith(base, "kea-dhcp") || StartsWith(base, "kea-")) {
    Kea(m);
    return true;
  }
  if (base == "named") {
    Bind(m);
    return true;
  }
  if (base == "sshd" || StartsWith(base, "sshd-")) {
    Sshd(m);
    return true;
  }
  if (base == "sudo") {
    if (StartsWith(msg, "pam_")) {
      m->format = "sudo";
      Pam(m);
    } else {
      Sudo(m);
    }
    return true;
  }
  if (base == "su") {
    Su(m);
    return true;
  }
  if (Iptables(m)) return true;
  if (Nxlog(m)) return true;
  if (app.find("(pam_") != npos || StartsWith(msg, "pam_")) {
    m->format = "pam";
    Pam(m);
    return true;
  }
  if (WindowsDhcpCsv(m)) return true;
  // Bodies without a usable tag (the collector stripped the header, or the device sent none).
  if (app.empty()) {
    if (KeaLogLine(m)) return true;
    if (StartsWith(msg, "Address: ") || StartsWith(msg, "DHCP4_") || StartsWith(msg, "DHCP6_")) {
      Kea(m);
      return true;
    }
    if (StartsWith(msg, "DHCP")) {
      if (DnsmasqDhcp(m)) return true;
      if (IscDhcp(m, "isc-dhcpd")) return true;
    }
    if (StartsWith(msg, "Accepted ") || StartsWith(msg, "Failed password") ||
        StartsWith(msg, "Failed publickey") || StartsWith(msg, "Invalid user ")) {
      Sshd(m);
      return true;
    }
    if (StartsWith(msg, "client ") && Contains(msg, "#")) {
      Bind(m);
      return true;
    }
    if (Contains(msg, " queries: ") || Contains(msg, " query: ")) {
      size_t c = After(msg, "client ");
      if (c != npos) {
        Bind(m);
        return true;
      }
    }
  }
  GenericAuth(m);
  return false;
}

}  // namespace sensor
