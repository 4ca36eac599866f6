// Line-oriented protocols: SSH identification, HTTP heads, server greetings, MySQL greeting.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "extract/parsers.h"

namespace sensor::extract {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 methods and the common WebDAV ones, each followed by a blank.
// RTSP (RFC 2326), SSDP (UPnP 1.1: M-SEARCH, NOTIFY) and SIP (RFC 3261) heads share the syntax.
constexpr std::array<std::string_view, 25> kMethods = {
    "GET ",      "POST ",    "HEAD ",      "PUT ",      "DELETE ",   "OPTIONS ",  "CONNECT ",
    "TRACE ",    "PATCH ",   "PROPFIND ",  "SUBSCRIBE ", "NOTIFY ",  "M-SEARCH ", "DESCRIBE ",
    "SETUP ",    "PLAY ",    "ANNOUNCE ",  "INVITE ",   "REGISTER ", "BYE ",      "CANCEL ",
    "MESSAGE ",  "REFER ",   "GNUTELLA CONNECT/", "PUBLISH "};

}  // namespace

std::optional<std::string_view> FirstLine(std::string_view text, size_t max) {
  size_t end = text.substr(0, std::min(max, text.size())).find('\n');
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view line = text.substr(0, end);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

std::string CleanText(std::string_view text, size_t max) {
  text = Trim(text);
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (char c : text.substr(0, std::min(text.size(), max))) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return out;
}

std::optional<std::string_view> SshSoftware(std::string_view line) {
  if (!StartsWith(line, "SSH-")) {
    return std::nullopt;
  }
  size_t dash = line.find('-', 4);  // after protoversion ("2.0", "1.99", "1.5")
  if (dash == std::string_view::npos || dash == 4 || dash > 10) {
    return std::nullopt;
  }
  for (size_t i = 4; i < dash; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(line[i])) && line[i] != '.') {
      return std::nullopt;
    }
  }
  std::string_view software = line.substr(dash + 1);
  if (software.empty()) {
    return std::nullopt;
  }
  return software;
}

bool LooksLikeHttpRequest(std::string_view text) {
  for (std::string_view m : kMethods) {
    if (StartsWith(text, m)) {
      return true;
    }
  }
  return false;
}

bool LooksLikeHttpResponse(std::string_view text) {
  return StartsWith(text, "HTTP/1.") || StartsWith(text, "RTSP/1.0 ") ||
         StartsWith(text, "SIP/2.0 ") || StartsWith(text, "GNUTELLA/");
}

std::optional<HttpHead> ParseHttpHead(std::string_view text) {
  HttpHead head;
  if (LooksLikeHttpRequest(text)) {
    head.request = true;
  } else if (!LooksLikeHttpResponse(text)) {
    return std::nullopt;
  }
  size_t end = text.find("\r\n\r\n");
  size_t end_lf = text.find("\n\n");
  end = std::min(end, end_lf);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(0, end + 1);
  size_t first = rest.find('\n');
  {
    // The start line (RFC 9112 3 and 4): "METHOD SP URI SP HTTP/x.y" or "HTTP/x.y SP CODE SP REASON".
    std::string_view line = rest.substr(0, first);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    std::string_view a = line.substr(0, sp1);
    std::string_view b = sp1 == std::string_view::npos ? std::string_view()
                                                       : line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view c = sp2 == std::string_view::npos ? std::string_view() : line.substr(sp2 + 1);
    auto version_of = [](std::string_view v) {
      return StartsWith(v, "HTTP/") ? CleanText(v.substr(5), 16) : std::string();
    };
    if (head.request) {
      head.method = CleanText(a, 32);
      head.uri = CleanText(b, 8192);
      head.version = version_of(c);
    } else {
      head.version = version_of(a);
      int code = 0;
      for (char ch : b.substr(0, 3)) {
        if (ch < '0' || ch > '9') {
          code = 0;
          break;
        }
        code = code * 10 + (ch - '0');
      }
      head.status_code = b.size() == 3 ? code : 0;
      head.status_msg = CleanText(c, 255);
    }
  }
  rest = first == std::string_view::npos ? std::string_view() : rest.substr(first + 1);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (IEquals(name, "Host") && head.host.empty()) {
      // Strip a port; keep a bracketed IPv6 literal whole (the caller drops literals).
      if (!value.empty() && value.front() != '[') {
        value = value.substr(0, value.find(':'));
      }
      head.host = CleanText(value, 255);
    } else if (IEquals(name, "User-Agent") && head.user_agent.empty()) {
      head.user_agent = CleanText(value);
    } else if (IEquals(name, "Server") && head.server.empty()) {
      head.server = CleanText(value);
    } else if (IEquals(name, "X-Powered-By") && head.powered_by.empty()) {
      head.powered_by = CleanText(value);
    } else if (IEquals(name, "Referer") && head.referrer.empty()) {  // sic, RFC 9110 10.1.3
      head.referrer = CleanText(value, 8192);
    } else if (IEquals(name, "Content-Length") && head.content_length < 0) {
      // RFC 9110 8.6: 1*DIGIT; more than 15 digits is not a length anyone sends.
      if (!value.empty() && value.size() <= 15 &&
          value.find_first_not_of("0123456789") == std::string_view::npos) {
        head.content_length = 0;
        for (char ch : value) head.content_length = head.content_length * 10 + (ch - '0');
      } else {
        head.length_unknown = true;
      }
    } else if (IEquals(name, "Transfer-Encoding")) {
      head.length_unknown = true;
    }
  }
  return head;
}

bool LooksLikeSmtpClient(std::string_view s) {
  return s.size() >= 5 && (IEquals(s.substr(0, 5), "EHLO ") || IEquals(s.substr(0, 5), "HELO "));
}

MailScan MailUserAgent(std::string_view s, std::string* user_agent) {
  // Commands are lines; DATA alone on its line starts the message (after the server's 354, which
  // the client does not wait for when pipelining — either way the header follows DATA).
  size_t pos = 0;
  size_t header = std::string_view::npos;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string_view::npos) return MailScan::kNeedMore;
    std::string_view line = s.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (IEquals(line, "STARTTLS")) return MailScan::kNone;  // the rest is encrypted
    if (IEquals(line, "DATA")) {
      header = pos;
      break;
    }
  }
  if (header == std::string_view::npos) return MailScan::kNeedMore;
  std::string_view rest = s.substr(header);
  size_t end = rest.find("\r\n\r\n");
  if (end == std::string_view::npos) end = rest.find("\n\n");
  if (end == std::string_view::npos) return MailScan::kNeedMore;
  rest = rest.substr(0, end + 1);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = Trim(line.substr(0, colon));
    if (IEquals(name, "X-Mailer") || IEquals(name, "User-Agent")) {
      *user_agent = CleanText(Trim(line.substr(colon + 1)), 255);
      return user_agent->empty() ? MailScan::kNone : MailScan::kFound;
    }
  }
  return MailScan::kNone;
}

namespace {

// "h1,h2,h3,h4,p1,p2": six decimal numbers 0..255 (RFC 959 4.1.2, host-port).
std::optional<FtpDataTarget> HostPort(std::string_view text) {
  std::array<uint32_t, 6> n{};
  size_t at = 0;
  for (size_t i = 0; i < n.size(); ++i) {
    size_t digits = 0;
    while (at < text.size() && text[at] == ' ' && digits == 0) ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 3) {
      n[i] = n[i] * 10 + static_cast<uint32_t>(text[at] - '0');
      ++at;
      ++digits;
    }
    if (digits == 0 || n[i] > 255) return std::nullopt;
    if (i + 1 < n.size()) {
      if (at >= text.size() || text[at] != ',') return std::nullopt;
      ++at;
    } else if (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      return std::nullopt;  // a fourth digit
    }
  }
  FtpDataTarget t;
  t.address = rules::IpAddress::FromV4(n[0] << 24 | n[1] << 16 | n[2] << 8 | n[3]);
  t.port = static_cast<uint16_t>(n[4] << 8 | n[5]);
  if (t.port == 0) return std::nullopt;
  return t;
}

// A decimal TCP port 1..65535 that fills `text`.
std::optional<uint16_t> PortNumber(std::string_view text) {
  uint16_t port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port == 0) return std::nullopt;
  return port;
}

}  // namespace

std::optional<FtpDataTarget> FtpPassiveReply(std::string_view line) {
  if (StartsWith(line, "227 ") || StartsWith(line, "227-")) {
    // RFC 959 leaves the reply's text free; RFC 1123 4.1.2.6: scan for the first digit.
    size_t open = line.find('(');
    size_t from = open != std::string_view::npos ? open + 1 : line.find_first_of("0123456789", 4);
    if (from == std::string_view::npos) return std::nullopt;
    return HostPort(line.substr(from));
  }
  if (StartsWith(line, "229 ") || StartsWith(line, "229-")) {
    // "(<d><d><d>port<d>)" with the same delimiter <d> four times (RFC 2428 3).
    size_t open = line.find('(');
    if (open == std::string_view::npos || line.size() - open < 6) return std::nullopt;
    const char d = line[open + 1];
    if (line[open + 2] != d || line[open + 3] != d) return std::nullopt;
    size_t end = line.find(d, open + 4);
    if (end == std::string_view::npos) return std::nullopt;
    auto port = PortNumber(line.substr(open + 4, end - open - 4));
    if (!port) return std::nullopt;
    FtpDataTarget t;
    t.port = *port;
    return t;
  }
  return std::nullopt;
}

std::optional<FtpDataTarget> FtpPortCommand(std::string_view line) {
  auto command = [&](std::string_view name) {
    return line.size() > name.size() && line[name.size()] == ' ' &&
           IEquals(line.substr(0, name.size()), name);
  };
  if (command("PORT")) return HostPort(line.substr(5));
  if (!command("EPRT") || line.size() < 6) return std::nullopt;
  // "EPRT <d>proto<d>address<d>port<d>", proto 1 (IPv4) or 2 (IPv6) (RFC 2428 2).
  std::string_view rest = line.substr(5);
  const char d = rest[0];
  std::array<std::string_view, 3> field;
  size_t at = 1;
  for (auto& f : field) {
    size_t end = rest.find(d, at);
    if (end == std::string_view::npos) return std::nullopt;
    f = rest.substr(at, end - at);
    at = end + 1;
  }
  if (field[0] != "1" && field[0] != "2") return std::nullopt;
  auto address = rules::IpAddress::Parse(field[1]);
  auto port = PortNumber(field[2]);
  if (!address || !port || address->is_v4() != (field[0] == "1")) return std::nullopt;
  FtpDataTarget t;
  t.address = *address;
  t.port = *port;
  return t;
}

GreetingKind ClassifyGreeting(std::string_view line) {
  if (line.size() >= 4 && StartsWith(line, "220") && (line[3] == ' ' || line[3] == '-')) {
    return GreetingKind::kFtpOrSmtp;
  }
  if (StartsWith(line, "+OK")) {
    return GreetingKind::kPop;
  }
  if (StartsWith(line, "* OK") || StartsWith(line, "* PREAUTH")) {
    return GreetingKind::kImap;
  }
  return GreetingKind::kNone;
}

std::string GreetingText(std::string_view line, GreetingKind kind) {
  switch (kind) {
    case GreetingKind::kFtpOrSmtp:
      line.remove_prefix(std::min<size_t>(4, line.size()));
      break;
    case GreetingKind::kPop:
      line.remove_prefix(std::min<size_t>(3, line.size()));
      break;
    case GreetingKind::kImap:
      line.remove_prefix(StartsWith(line, "* OK") ? 4 : 9);
      // Drop a leading capability list: "[CAPABILITY IMAP4rev1 ...] Dovecot ready."
      if (Trim(line).starts_with('[')) {
        line = Trim(line);
        size_t close = line.find(']');
        if (close != std::string_view::npos) {
          line.remove_prefix(close + 1);
        }
      }
      break;
    case GreetingKind::kNone:
      break;
  }
  return CleanText(line);
}

std::optional<std::string> MySqlServerVersion(Bytes data) {
  // MySQL client/server protocol: 3-byte length, sequence id 0, then HandshakeV10 starting
  // with protocol version 10 and a NUL-terminated server version.
  if (data.size() < 6) {
    return std::nullopt;
  }
  size_t length = data[0] | (size_t{data[1]} << 8) | (size_t{data[2]} << 16);
  if (data[3] != 0 || data[4] != 10 || length < 20 || length > 1024) {
    return std::nullopt;
  }
  std::string version;
  for (size_t i = 5; i < data.size() && i < 5 + 64; ++i) {
    uint8_t c = data[i];
    if (c == 0) {
      if (version.empty()) {
        return std::nullopt;
      }
      return version;
    }
    if (c < 0x20 || c >= 0x7f) {
      return std::nullopt;
    }
    version.push_back(static_cast<char>(c));
  }
  return std::nullopt;
}

}  // namespace sensor::extract
