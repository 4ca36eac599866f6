#include "scan.h"

namespace sensor::scan {

bool Digits(std::string_view s, size_t* pos, size_t n, int* value) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[*pos + k];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *value = v;
  return true;
}

bool DigitsUpTo(std::string_view s, size_t* pos, size_t max, int* value) {
  size_t k = *pos;
  int v = 0;
  while (k < s.size() && k - *pos < max && IsDigit(s[k])) v = v * 10 + (s[k++] - '0');
  if (k == *pos) return false;
  *pos = k;
  *value = v;
  return true;
}

size_t Ipv4Length(std::string_view s, size_t pos) {
  size_t i = pos;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= s.size() || s[i] != '.') return 0;
      ++i;
    }
    int v = 0;
    size_t start = i;
    if (!DigitsUpTo(s, &i, 3, &v) || v > 255) return 0;
    (void)start;
  }
  // Not part of a longer dotted or digit run ("1.2.3.4.5" is a name, not an address).
  if (i < s.size() && (IsDigit(s[i]) || (s[i] == '.' && i + 1 < s.size() && IsDigit(s[i + 1])))) {
    return 0;
  }
  return i - pos;
}

size_t Ipv6Length(std::string_view s, size_t pos) {
  size_t i = pos;
  int colons = 0;
  size_t last_group = pos;
  while (i < s.size() && i - pos < 45) {
    char c = s[i];
    if (IsHex(c)) {
      ++i;
    } else if (c == ':') {
      ++colons;
      ++i;
      last_group = i;
    } else if (c == '.' && colons >= 2) {
      size_t v4 = Ipv4Length(s, last_group);
      if (v4 == 0) return 0;
      return last_group + v4 - pos;
    } else {
      break;
    }
  }
  if (colons < 2) return 0;
  // A trailing single ':' is punctuation ("fe80::1: msg"), not part of the address.
  if (s[i - 1] == ':' && !(i >= 2 && s[i - 2] == ':')) --i;
  if (i < s.size() && (IsAlpha(s[i]) || s[i] == '_')) return 0;
  return i - pos;
}

size_t IpLength(std::string_view s, size_t pos) {
  size_t n = Ipv4Length(s, pos);
  return n != 0 ? n : Ipv6Length(s, pos);
}

size_t MacLength(std::string_view s, size_t pos) {
  if (pos + 17 > s.size()) return 0;
  char sep = s[pos + 2];
  if (sep != ':' && sep != '-') return 0;
  for (size_t k = 0; k < 17; ++k) {
    char c = s[pos + k];
    if (k % 3 == 2) {
      if (c != sep) return 0;
    } else if (!IsHex(c)) {
      return 0;
    }
  }
  if (pos + 17 < s.size() && (IsHex(s[pos + 17]) || s[pos + 17] == sep)) return 0;
  return 17;
}

std::string_view TokenAt(std::string_view s, size_t pos) {
  if (pos >= s.size()) return {};
  size_t e = pos;
  while (e < s.size() && !IsSpace(s[e])) ++e;
  return s.substr(pos, e - pos);
}

size_t After(std::string_view s, std::string_view needle) {
  size_t p = s.find(needle);
  return p == std::string_view::npos ? p : p + needle.size();
}

std::string_view Trim(std::string_view s, std::string_view chars) {
  size_t b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(chars);
  return s.substr(b, e - b + 1);
}

}  // namespace sensor::scan
