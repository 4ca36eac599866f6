#include "sensor/logs/syslog_message.h"

#include <cstdio>

namespace sensor {

void SyslogMessage::Clear() {
  pri.reset();
  timestamp.clear();
  hostname.clear();
  app_name.clear();
  procid.clear();
  msgid.clear();
  structured_data.clear();
  message.clear();
  format = "raw";
  fields.clear();
}

void SyslogMessage::SetField(std::string_view key, std::string_view value) {
  if (value.empty()) return;
  for (auto& [k, v] : fields) {
    if (k == key) {
      v.assign(value);
      return;
    }
  }
  fields.emplace_back(key, std::string(value));
}

const std::string* SyslogMessage::Field(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not valid (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t left = s.size() - i;
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;
    if (c == 0xED && b(i + 1) > 0x9F) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;
    if (c == 0xF4 && b(i + 1) > 0x8F) return 0;
    return 4;
  }
  return 0;
}

void AppendKey(std::string_view key, bool* first, std::string* out) {
  if (!*first) out->push_back(',');
  *first = false;
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

void AppendStringMember(std::string_view key, std::string_view value, bool* first,
                        std::string* out) {
  if (value.empty()) return;
  AppendKey(key, first, out);
  AppendJsonString(value, out);
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      size_t j = i + 1;
      while (j < text.size()) {
        unsigned char d = static_cast<unsigned char>(text[j]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        ++j;
      }
      out->append(text.data() + i, j - i);
      i = j;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"': out->append("\\\""); break;
        case '\\': out->append("\\\\"); break;
        case '\n': out->append("\\n"); break;
        case '\r': out->append("\\r"); break;
        case '\t': out->append("\\t"); break;
        default:
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
      }
      ++i;
      continue;
    }
    size_t len = Utf8Length(text, i);
    if (len == 0) {
      out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out->append(text.data() + i, len);
      i += len;
    }
  }
  out->push_back('"');
}

void AppendJson(const SyslogMessage& m, std::string* out) {
  bool first = true;
  out->push_back('{');
  if (m.pri) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "\"pri\":%d,\"facility\":%d,\"severity\":%d", *m.pri,
                  *m.pri / 8, *m.pri % 8);
    out->append(buf);
    first = false;
  }
  AppendStringMember("timestamp", m.timestamp, &first, out);
  AppendStringMember("hostname", m.hostname, &first, out);
  AppendStringMember("app_name", m.app_name, &first, out);
  AppendStringMember("procid", m.procid, &first, out);
  AppendStringMember("msgid", m.msgid, &first, out);
  if (!m.structured_data.empty()) {
    AppendKey("structured_data", &first, out);
    out->push_back('{');
    for (size_t e = 0; e < m.structured_data.size(); ++e) {
      if (e > 0) out->push_back(',');
      AppendJsonString(m.structured_data[e].id, out);
      out->append(":{");
      const auto& params = m.structured_data[e].params;
      for (size_t p = 0; p < params.size(); ++p) {
        if (p > 0) out->push_back(',');
        AppendJsonString(params[p].first, out);
        out->push_back(':');
        AppendJsonString(params[p].second, out);
      }
      out->push_back('}');
    }
    out->push_back('}');
  }
  AppendKey("message", &first, out);
  AppendJsonString(m.message, out);
  AppendStringMember("format", m.format, &first, out);
  if (!m.fields.empty()) {
    AppendKey("fields", &first, out);
    out->push_back('{');
    for (size_t f = 0; f < m.fields.size(); ++f) {
      if (f > 0) out->push_back(',');
      AppendJsonString(m.fields[f].first, out);
      out->push_back(':');
      AppendJsonString(m.fields[f].second, out);
    }
    out->push_back('}');
  }
  out->push_back('}');
}

}  // namespace sensor
