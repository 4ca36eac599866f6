#include "inventory/text.h"

#include <time.h>

namespace sensor::inventory_internal {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i] (2..4 bytes, no overlongs or surrogates), or 0.
size_t MultiByteLength(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  unsigned char c = p[i];
  size_t len;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (p[i + k] < 0x80 || p[i + k] > 0xbf) return 0;
  }
  return len;
}

}  // namespace

BoundResult BoundString(std::string_view in, size_t max_bytes, std::string* out) {
  BoundResult r;
  out->clear();
  size_t i = 0;
  while (i < in.size()) {
    // The common case first: a run of printable ASCII other than '\\', copied in one piece.
    size_t run = i;
    while (run < in.size()) {
      unsigned char ch = static_cast<unsigned char>(in[run]);
      if (ch < 0x20 || ch >= 0x7f || ch == '\\') break;
      ++run;
    }
    if (run > i) {
      size_t room = max_bytes > out->size() ? max_bytes - out->size() : 0;
      if (run - i > room) {
        out->append(in.data() + i, room);
        r.cut = true;
        break;
      }
      out->append(in.data() + i, run - i);
      i = run;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(in[i]);
    size_t take = 1;
    char esc[4];
    const char* piece = nullptr;
    size_t piece_len = 0;
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      piece = &in[i];
      piece_len = 1;
    } else if (c == '\\') {
      piece = "\\\\";
      piece_len = 2;
      r.escaped = true;
    } else if (c >= 0x80 && (take = MultiByteLength(in, i)) != 0) {
      piece = &in[i];
      piece_len = take;
    } else {
      take = 1;
      esc[0] = '\\';
      esc[1] = 'x';
      esc[2] = kHex[c >> 4];
      esc[3] = kHex[c & 0xf];
      piece = esc;
      piece_len = 4;
      r.escaped = true;
    }
    if (out->size() + piece_len > max_bytes) {
      r.cut = true;
      break;
    }
    out->append(piece, piece_len);
    i += take;
  }
  return r;
}

std::string IsoTime(int64_t us) {
  time_t sec = static_cast<time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  struct tm tm {};
  gmtime_r(&sec, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20 || c == 0x7f) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

void AppendCsvField(std::string_view s, std::string* out) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace sensor::inventory_internal
