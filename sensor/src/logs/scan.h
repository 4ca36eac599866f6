// Small string_view scanning helpers for the syslog parsers: no allocation, no regex, every
// function bounded by the view it is given. Not a public API.
#pragma once

#include <cstddef>
#include <string_view>

namespace sensor::scan {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
inline bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Reads exactly n digits at s[*pos]; advances on success.
bool Digits(std::string_view s, size_t* pos, size_t n, int* value);
// Reads 1..max digits; advances on success.
bool DigitsUpTo(std::string_view s, size_t* pos, size_t max, int* value);

// Length of an IPv4 address at s[pos] (0 = none). Each octet <= 255.
size_t Ipv4Length(std::string_view s, size_t pos);
// Length of an IPv6 address at s[pos] (hex groups and ':' with at least two ':'; an embedded
// dotted IPv4 tail is accepted); 0 = none.
size_t Ipv6Length(std::string_view s, size_t pos);
// Either of the above, IPv4 first.
size_t IpLength(std::string_view s, size_t pos);
// Length of a MAC address "aa:bb:cc:dd:ee:ff" (or with '-') at s[pos]; 0 = none.
size_t MacLength(std::string_view s, size_t pos);

// The token (up to SP/TAB or end) that starts at pos.
std::string_view TokenAt(std::string_view s, size_t pos);
// Position just after the first occurrence of needle, or npos.
size_t After(std::string_view s, std::string_view needle);
// Strips `chars` from both ends.
std::string_view Trim(std::string_view s, std::string_view chars = " \t");

// Calls fn(key, value) for every key=value / key="value" pair in s (keys: [A-Za-z0-9_.-]+).
// Quoted values may contain spaces; \" inside quotes is kept as is. Bounded by s.
template <class Fn>
void ForEachKeyValue(std::string_view s, Fn&& fn) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    while (i < n && (IsSpace(s[i]) || s[i] == ',' || s[i] == ';')) ++i;
    size_t k = i;
    while (i < n && (IsAlpha(s[i]) || IsDigit(s[i]) || s[i] == '_' || s[i] == '.' ||
                     s[i] == '-')) {
      ++i;
    }
    if (i == k || i >= n || s[i] != '=') {
      while (i < n && !IsSpace(s[i])) ++i;  // not a pair: skip the word
      continue;
    }
    std::string_view key = s.substr(k, i - k);
    ++i;
    std::string_view value;
    if (i < n && s[i] == '"') {
      size_t v = ++i;
      while (i < n && s[i] != '"') i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
      value = s.substr(v, std::min(i, n) - v);
      if (i < n) ++i;
    } else {
      size_t v = i;
      while (i < n && !IsSpace(s[i])) ++i;
      value = s.substr(v, i - v);
      // "k=v;" and "k=v," separators
      while (!value.empty() && (value.back() == ';' || value.back() == ',')) {
        value.remove_suffix(1);
      }
    }
    fn(key, value);
  }
}

}  // namespace sensor::scan
