// Small character and digit-string helpers shared by the version code (rules_version only).
// Locale-independent: only ASCII letters and digits count. Stateless, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rules::version_util {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
inline char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

inline bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// Position of the first case-insensitive occurrence of needle (non-empty, short), or npos.
inline size_t FindIgnoreCase(std::string_view s, std::string_view needle) {
  if (needle.empty() || s.size() < needle.size()) return std::string_view::npos;
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (ToLower(s[i]) == ToLower(needle[0]) &&
        EqualsIgnoreCase(s.substr(i, needle.size()), needle)) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Compares two runs of ASCII digits as unsigned numbers of any length: leading zeros are
// skipped, then the longer run is larger, then the first differing digit decides. An empty
// run is zero. Never overflows.
inline int CompareDigitRuns(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

inline bool AllZeros(std::string_view digits) {
  for (char c : digits) {
    if (c != '0') return false;
  }
  return true;
}

// The value of a digit run, saturating at UINT64_MAX.
inline uint64_t SaturatingValue(std::string_view digits) {
  uint64_t value = 0;
  for (char c : digits) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - d) / 10) return UINT64_MAX;
    value = value * 10 + d;
  }
  return value;
}

}  // namespace rules::version_util
