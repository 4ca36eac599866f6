// ParseSoftware: the name/version split of Zeek's Software::parse
// (scripts/base/frameworks/software/main.zeek), re-implemented from its observable behaviour
// and checked against Zeek's own test cases (shared/testdata/zeek/version-parsing.expected.json).
// No regular expressions: every step is a linear scan, so hostile banners cost O(length).
#include <string>
#include <string_view>

#include "rules/version.h"
#include "version_util.h"

namespace rules {
namespace {

using version_util::IsDigit;
using version_util::IsSpace;
using version_util::SaturatingValue;
using version_util::Trim;

bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Zeek first turns "\x" into "%" and then URI-unescapes: "%XX" becomes the byte, a '%' that is
// not followed by two hex digits is kept together with the byte after it.
std::string CleanUnparsed(std::string_view in) {
  std::string percent;
  percent.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 1 < in.size() && in[i + 1] == 'x') {
      percent.push_back('%');
      ++i;
    } else {
      percent.push_back(in[i]);
    }
  }
  std::string out;
  out.reserve(percent.size());
  for (size_t i = 0; i < percent.size(); ++i) {
    if (percent[i] != '%') {
      out.push_back(percent[i]);
      continue;
    }
    if (i + 2 < percent.size() && IsHex(percent[i + 1]) && IsHex(percent[i + 2])) {
      out.push_back(static_cast<char>(HexValue(percent[i + 1]) * 16 + HexValue(percent[i + 2])));
      i += 2;
    } else if (i + 1 < percent.size()) {
      out.push_back('%');
      out.push_back(percent[i + 1]);
      ++i;
    } else {
      out.push_back('%');
    }
  }
  return out;
}

// Bytes that may make up the numeric part of a version: digits and - . _ , and space.
bool IsVersionByte(char c) {
  return IsDigit(c) || c == '-' || c == '.' || c == '_' || c == ',' || c == ' ';
}

size_t VersionRun(std::string_view s, size_t from) {
  size_t i = from;
  while (i < s.size() && IsVersionByte(s[i])) ++i;
  return i - from;
}

// The version part of a banner: at the leftmost position where one exists, the longest of
//   (a) two or more version bytes, or
//   (b) a space, one or more '(' / 'v', then two or more version bytes.
// (A leading '/', '-' or '_' is covered by (a) for '-' and '_'; '/' is handled as (c): a '/'
// followed by two or more version bytes.) Returns false when there is none.
bool FindVersionPart(std::string_view s, size_t* pos, size_t* len) {
  for (size_t i = 0; i < s.size(); ++i) {
    size_t best = 0;
    const size_t plain = VersionRun(s, i);
    if (plain >= 2) best = plain;
    if (s[i] == '/' || s[i] == '-' || s[i] == '_') {
      const size_t run = VersionRun(s, i + 1);
      if (run >= 2 && run + 1 > best) best = run + 1;
    }
    if (s[i] == ' ') {
      size_t j = i + 1;
      while (j < s.size() && (s[j] == '(' || s[j] == 'v')) ++j;
      if (j > i + 1) {
        const size_t run = VersionRun(s, j);
        if (run >= 2 && j - i + run > best) best = j - i + run;
      }
    }
    if (best > 0) {
      *pos = i;
      *len = best;
      return true;
    }
  }
  return false;
}

// Splits the numeric part at - . _ , [ ( { and space; the first four pieces become major,
// minor, minor2 and minor3 (each the first digit run in the piece; an empty piece stays unset).
void FillNumbers(std::string_view numbers, SoftwareVersion* v) {
  std::optional<uint64_t>* fields[4] = {&v->major, &v->minor, &v->minor2, &v->minor3};
  size_t field = 0;
  size_t start = 0;
  for (size_t i = 0; i <= numbers.size() && field < 4; ++i) {
    const bool sep = i == numbers.size() || numbers[i] == '-' || numbers[i] == '.' ||
                     numbers[i] == '_' || numbers[i] == ',' || numbers[i] == '[' ||
                     numbers[i] == '(' || numbers[i] == '{' || numbers[i] == ' ';
    if (!sep) continue;
    std::string_view piece = numbers.substr(start, i - start);
    size_t d = 0;
    while (d < piece.size() && !IsDigit(piece[d])) ++d;
    size_t e = d;
    while (e < piece.size() && IsDigit(piece[e])) ++e;
    if (e > d) *fields[field] = SaturatingValue(piece.substr(d, e - d));
    ++field;
    start = i + 1;
  }
}

bool IsAddlSeparator(char c) {
  return c == '-' || c == '.' || c == '_' || c == ',' || c == ';' || c == '[' || c == ']' ||
         c == '(' || c == ')' || c == '{' || c == '}' || c == ' ';
}

bool IsParenContentByte(char c) {
  return version_util::IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == ' ' || c == '\t';
}

// The additional-information field from what follows the version part.
std::optional<std::string> ExtractAddl(std::string_view rest) {
  if (rest.empty() || rest == ")") return std::nullopt;
  // "(Unix) ..." -> "Unix" when the parentheses hold only letters, digits, - . _ and blanks.
  size_t i = 0;
  while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
  if (i < rest.size() && rest[i] == '(') {
    size_t j = i + 1;
    while (j < rest.size() && IsParenContentByte(rest[j])) ++j;
    if (j < rest.size() && rest[j] == ')') return std::string(rest.substr(i + 1, j - i - 1));
  }
  // Otherwise the first non-empty one of the first three pieces between separators.
  size_t start = 0;
  int piece = 0;
  for (size_t k = 0; k <= rest.size() && piece < 3; ++k) {
    if (k < rest.size() && !IsAddlSeparator(rest[k])) continue;
    std::string_view p = Trim(rest.substr(start, k - start));
    if (!p.empty()) return std::string(p);
    ++piece;
    start = k + 1;
  }
  std::string_view whole = Trim(rest);
  if (whole.empty()) return std::nullopt;
  return std::string(whole);
}

// Name and version of an ordinary banner ("Apache/2.4.3 (Fedora)").
void ParsePlain(std::string_view cleaned, SoftwareDescription* d) {
  size_t pos = 0;
  size_t len = 0;
  const bool found = FindVersionPart(cleaned, &pos, &len);
  std::string_view name = found ? cleaned.substr(0, pos) : cleaned;
  if (!name.empty() && name.front() == '(') name.remove_prefix(1);
  d->name = std::string(Trim(name));
  if (!found) return;

  std::string_view numbers = Trim(cleaned.substr(pos, len));
  if (!numbers.empty()) {
    const auto is_lead = [](char c) {
      return c == '/' || c == '-' || c == '.' || c == '_' || c == 'v' || c == '(';
    };
    if (numbers.size() >= 2 && numbers[0] == '(' && is_lead(numbers[1])) {
      numbers.remove_prefix(2);
    } else if (is_lead(numbers[0])) {
      numbers.remove_prefix(1);
    }
    numbers = Trim(numbers);
  }
  FillNumbers(numbers, &d->version);
  d->version.addl = ExtractAddl(cleaned.substr(pos + len));
}

// The digits and dots right after `key` in s ("Chrome/" -> "10.0.648.205"); npos-safe.
bool VersionAfter(std::string_view s, std::string_view key, SoftwareVersion* v) {
  const size_t at = s.find(key);
  if (at == std::string_view::npos) return false;
  size_t end = at + key.size();
  while (end < s.size() && (IsDigit(s[end]) || s[end] == '.')) ++end;
  FillNumbers(s.substr(at + key.size(), end - at - key.size()), v);
  return true;
}

bool Contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

// "... Opera 11.00" at the very end of the string: returns the position of "Opera ".
size_t TrailingOperaVersion(std::string_view s) {
  size_t end = s.size();
  while (end > 0 && (IsDigit(s[end - 1]) || s[end - 1] == '.')) --end;
  constexpr std::string_view kOpera = "Opera ";
  if (end >= kOpera.size() && s.substr(end - kOpera.size(), kOpera.size()) == kOpera) {
    return end - kOpera.size();
  }
  return std::string_view::npos;
}

// Browser user agents ("Mozilla/5.0 (...) ...", "Opera/9.80 (...)").
void ParseBrowser(std::string_view ua, SoftwareDescription* d) {
  d->name = "Unknown browser";
  const size_t opera_at = TrailingOperaVersion(ua);
  if (opera_at != std::string_view::npos) {
    SoftwareDescription sub;
    ParsePlain(ua.substr(opera_at), &sub);
    d->name = "Opera";
    d->version = sub.version;
    return;
  }
  if (ua.substr(0, 6) == "Opera/") {
    d->name = Contains(ua, "Opera Mini") ? "Opera Mini"
              : Contains(ua, "Opera Mobi") ? "Opera Mobi"
                                           : "Opera";
    if (VersionAfter(ua, "Version/", &d->version)) return;
    if (d->name == "Opera Mini") {
      VersionAfter(ua, "Opera Mini/", &d->version);
    } else {
      VersionAfter(ua, "Opera/", &d->version);
    }
    return;
  }
  if (Contains(ua, " MSIE ") || Contains(ua, "Trident/")) {
    d->name = "MSIE";
    // Compatibility view reports an old MSIE token; the Trident engine version is the truth.
    struct TridentMap {
      std::string_view token;
      uint64_t major;
    };
    static constexpr TridentMap kTrident[] = {
        {"Trident/7.0", 11}, {"Trident/6.0", 10}, {"Trident/5.0", 9}, {"Trident/4.0", 8}};
    for (const TridentMap& t : kTrident) {
      if (Contains(ua, t.token)) {
        d->version.major = t.major;
        d->version.minor = 0;
        return;
      }
    }
    const size_t at = ua.find("MSIE ");
    if (at != std::string_view::npos) {
      size_t end = at;
      while (end < ua.size() && ua[end] != ';' && ua[end] != ')') ++end;
      SoftwareDescription sub;
      ParsePlain(ua.substr(at, end - at), &sub);
      d->version = sub.version;
    }
    return;
  }
  struct Product {
    std::string_view key;
    std::string_view name;
  };
  static constexpr Product kProducts[] = {
      {"Edge/", "Edge"},         {"Thunderbird/", "Thunderbird"}, {"Firefox/", "Firefox"},
      {"Netscape/", "Netscape"}, {"Chrome/", "Chrome"},
  };
  for (const Product& p : kProducts) {
    if (VersionAfter(ua, p.key, &d->version)) {
      d->name = std::string(p.name);
      return;
    }
  }
  const size_t version_at = ua.find("Version/");
  if (version_at != std::string_view::npos && ua.find("Safari/", version_at) != ua.npos) {
    d->name = "Safari";
    VersionAfter(ua, "Version/", &d->version);
    const size_t mobile = ua.find(" Mobile");
    if (mobile != std::string_view::npos && ua.find(" Safari", mobile + 1) != ua.npos) {
      d->version.addl = "Mobile";
    }
    return;
  }
  if (VersionAfter(ua, "AdobeAIR/", &d->version)) d->name = "AdobeAIR";
}

bool IsBrowserUserAgent(std::string_view s) {
  for (std::string_view prefix : {"Mozilla/", "Opera/"}) {
    if (s.substr(0, prefix.size()) != prefix) continue;
    size_t i = prefix.size();
    const size_t digits_start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i > digits_start && i < s.size() && s[i] == '.';
  }
  return false;
}

// "A/<digits and dots>/Google/Pixel" anywhere in the string (Android build strings).
bool IsAndroidPixel(std::string_view s) {
  constexpr std::string_view kTail = "/Google/Pixel";
  size_t from = 0;
  while (true) {
    const size_t at = s.find("A/", from);
    if (at == std::string_view::npos) return false;
    size_t i = at + 2;
    while (i < s.size() && (IsDigit(s[i]) || s[i] == '.')) ++i;
    if (s.substr(i, kTail.size()) == kTail) return true;
    from = at + 1;
  }
}

// Zeek's names for products whose banner name differs from what it reports.
std::string_view CanonicalName(std::string_view name) {
  if (name == "Flash Player") return "Flash";  // the UA form of Flash/<X-Flash-Version>
  return name;
}

}  // namespace

SoftwareDescription ParseSoftware(std::string_view unparsed) {
  SoftwareDescription d;
  d.unparsed_version = std::string(unparsed);
  if (IsBrowserUserAgent(unparsed)) {
    ParseBrowser(unparsed, &d);
    return d;
  }
  if (IsAndroidPixel(unparsed)) {
    d.name = "Android (Google Pixel)";
    // The second '/'-separated field is the Android version.
    const size_t first = unparsed.find('/');
    std::string_view field = unparsed.substr(first + 1);
    field = field.substr(0, field.find('/'));
    FillNumbers(field, &d.version);
    return d;
  }
  const std::string cleaned = CleanUnparsed(unparsed);
  ParsePlain(cleaned, &d);
  d.name = std::string(CanonicalName(d.name));
  return d;
}

}  // namespace rules
