// Query helpers for `utkikk logs` (sensor/logs/log_store_query.h).
#include "sensor/logs/log_store_query.h"

#include <time.h>

#include <cctype>
#include <cstdio>

#include "sensor/logs/syslog_message.h"
#include "sensor/logs/syslog_parser.h"

namespace sensor {

namespace {

constexpr int64_t kSecondUs = 1000000;

bool ReadDigits(std::string_view* s, size_t n, int* out) {
  if (s->size() < n) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = (*s)[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  s->remove_prefix(n);
  *out = v;
  return true;
}

bool Take(std::string_view* s, char c) {
  if (s->empty() || s->front() != c) return false;
  s->remove_prefix(1);
  return true;
}

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  tm t{};
  int year, month, day;
  if (!ReadDigits(&s, 4, &year) || !Take(&s, '-') || !ReadDigits(&s, 2, &month) ||
      !Take(&s, '-') || !ReadDigits(&s, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  int hour = 0, minute = 0, second = 0;
  int64_t frac_us = 0;
  int64_t offset_s = 0;
  if (!s.empty()) {
    if (!Take(&s, 'T') && !Take(&s, 't') && !Take(&s, ' ')) return std::nullopt;
    if (!ReadDigits(&s, 2, &hour) || !Take(&s, ':') || !ReadDigits(&s, 2, &minute)) {
      return std::nullopt;
    }
    if (Take(&s, ':') && !ReadDigits(&s, 2, &second)) return std::nullopt;
    if (Take(&s, '.')) {
      int digits = 0;
      while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
        if (digits < 6) frac_us = frac_us * 10 + (s.front() - '0');
        ++digits;
        s.remove_prefix(1);
      }
      if (digits == 0) return std::nullopt;
      for (int i = digits; i < 6; ++i) frac_us *= 10;
    }
    if (Take(&s, 'Z') || Take(&s, 'z')) {
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
      int sign = s.front() == '-' ? -1 : 1;
      s.remove_prefix(1);
      int oh, om;
      if (!ReadDigits(&s, 2, &oh) || !Take(&s, ':') || !ReadDigits(&s, 2, &om)) {
        return std::nullopt;
      }
      offset_s = sign * (oh * 3600 + om * 60);
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = minute;
  t.tm_sec = second;
  time_t secs = timegm(&t);
  return (static_cast<int64_t>(secs) - offset_s) * kSecondUs + frac_us;
}

void AppendEscaped(std::string_view raw, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : raw) {
    if (c == '\n') {
      *out += "\\n";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (c == '\\') {
      *out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      *out += "\\x";
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));  // UTF-8 passes through; the terminal decides
    }
  }
}

}  // namespace

std::optional<int64_t> ParseQueryTime(std::string_view text, int64_t now_us) {
  if (text == "now") return now_us;
  if (!text.empty() && text.front() == '@') {
    std::string digits(text.substr(1));
    if (digits.empty() || digits.size() > 12 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    return std::stoll(digits) * kSecondUs;
  }
  if (text.size() >= 2 && text.size() <= 8 && std::isdigit(static_cast<unsigned char>(text[0]))) {
    size_t unit_at = text.find_first_not_of("0123456789");
    if (unit_at != std::string_view::npos && unit_at + 1 == text.size()) {
      int64_t n = std::stoll(std::string(text.substr(0, unit_at)));
      int64_t unit;
      switch (text.back()) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return std::nullopt;
      }
      return now_us - n * unit * kSecondUs;
    }
  }
  return ParseRfc3339(text);
}

std::string FormatTimeUs(int64_t time_us) {
  int64_t secs = time_us / kSecondUs;
  int64_t us = time_us % kSecondUs;
  if (us < 0) {
    us += kSecondUs;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<long long>(us));
  return buf;
}

void AppendRecordText(const StoredLogRecord& r, std::string* out) {
  *out += FormatTimeUs(r.receive_time_us);
  out->push_back(' ');
  r.sender.AppendTo(out);
  out->push_back(' ');
  *out += SyslogTransportName(r.transport);
  out->push_back(' ');
  AppendEscaped(r.raw, out);
}

void AppendRecordJson(const StoredLogRecord& r, std::string* out) {
  *out += "{\"time\":\"" + FormatTimeUs(r.receive_time_us) + "\",\"sender\":\"";
  r.sender.AppendTo(out);
  *out += "\",\"transport\":\"";
  *out += SyslogTransportName(r.transport);
  *out += "\"";
  if (r.severity >= 0) *out += ",\"severity\":" + std::to_string(r.severity);
  *out += ",\"raw\":";
  AppendJsonString(r.raw, out);
  *out += ",\"parsed\":";
  SyslogParser parser;
  SyslogMessage message;
  parser.Parse(r.raw, &message);
  AppendJson(message, out);
  out->push_back('}');
}

void AppendSenderText(const SenderStats& s, SenderState state, std::string* out) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%-39s %-8s %12llu %14llu %10llu ", s.sender.ToString().c_str(),
                SenderStateName(state), static_cast<unsigned long long>(s.messages),
                static_cast<unsigned long long>(s.bytes),
                static_cast<unsigned long long>(s.dropped));
  *out += buf;
  *out += s.messages ? FormatTimeUs(s.first_seen_us) + " " + FormatTimeUs(s.last_seen_us)
                     : std::string("- -");
}

void AppendSenderJson(const SenderStats& s, SenderState state, std::string* out) {
  *out += "{\"sender\":\"" + s.sender.ToString() + "\",\"state\":\"" + SenderStateName(state) +
          "\",\"messages\":" + std::to_string(s.messages) +
          ",\"bytes\":" + std::to_string(s.bytes) + ",\"dropped\":" + std::to_string(s.dropped);
  if (s.messages) {
    *out += ",\"first_seen\":\"" + FormatTimeUs(s.first_seen_us) + "\",\"last_seen\":\"" +
            FormatTimeUs(s.last_seen_us) + "\"";
  }
  *out += ",\"severities\":[";
  for (size_t i = 0; i < s.severities.size(); ++i) {
    *out += (i ? "," : "") + std::to_string(s.severities[i]);
  }
  *out += "],\"no_severity\":" + std::to_string(s.no_severity) + "}";
}

}  // namespace sensor
