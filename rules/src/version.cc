// Version comparison under several schemes, OSV ranges, scheme guessing and normalisation.
// The rules are written down in docs/rules.md, section "Versions"; keep the two in step.
#include "rules/version.h"

#include <array>
#include <string>
#include <string_view>

#include "version_util.h"

namespace rules {
namespace {

using version_util::AllZeros;
using version_util::CompareDigitRuns;
using version_util::EqualsIgnoreCase;
using version_util::FindIgnoreCase;
using version_util::IsAlnum;
using version_util::IsAlpha;
using version_util::IsDigit;
using version_util::IsSpace;
using version_util::StartsWithIgnoreCase;
using version_util::ToLower;
using version_util::Trim;

int Sign(int v) { return (v > 0) - (v < 0); }

// ---------------------------------------------------------------------------------------------
// Token comparison shared by kGeneric, kOpenSsh and kCisco.
//
// A version is read as a sequence of tokens: maximal runs of digits (numbers) and of ASCII
// letters (words); every other byte separates. Each token has a class, and the classes order
// as: pre-release words (dev < alpha < beta < rc) < zero (a number that is all zeros, and the
// padding past the end of the shorter version) < other words (case-insensitive bytewise) <
// positive numbers (numerically). Two versions compare as their token sequences, padded with
// zero, compared lexicographically. This is a total preorder, so sorting with it is safe.

enum class TokenClass { kPreRelease = 0, kZero = 1, kWord = 2, kNumber = 3 };

struct Token {
  TokenClass cls = TokenClass::kZero;
  std::string_view text;  // digits for kNumber, letters for words
  int pre_rank = 0;       // only for kPreRelease
};

// Rank of a pre-release word, or 0 when it is not one. Single letters a/b/c count only when a
// digit follows ("1.0b2"); a bare trailing letter is a post-release letter ("1.0.2k").
int PreReleaseRank(std::string_view word, bool digit_follows) {
  struct Entry {
    std::string_view word;
    int rank;
  };
  static constexpr std::array<Entry, 10> kWords = {{
      {"dev", 1},
      {"snapshot", 1},
      {"alpha", 2},
      {"beta", 3},
      {"pre", 4},
      {"preview", 4},
      {"rc", 4},
      {"cr", 4},
      {"a", 2},
      {"b", 3},
  }};
  if (word.size() == 1) {
    if (!digit_follows) return 0;
    const char c = ToLower(word[0]);
    if (c == 'a') return 2;
    if (c == 'b') return 3;
    if (c == 'c') return 4;
    return 0;
  }
  for (const Entry& e : kWords) {
    if (EqualsIgnoreCase(word, e.word)) return e.rank;
  }
  return 0;
}

// Words that mean "the release itself" and are skipped: "1.0-final" == "1.0".
bool IsReleaseWord(std::string_view word) {
  return EqualsIgnoreCase(word, "final") || EqualsIgnoreCase(word, "ga") ||
         EqualsIgnoreCase(word, "release") || EqualsIgnoreCase(word, "stable");
}

// Reads tokens one by one without allocating.
class TokenReader {
 public:
  TokenReader(std::string_view s, bool pre_release_words)
      : s_(s), pre_release_words_(pre_release_words) {}

  // Fills *token with the next token; false at the end.
  bool Next(Token* token) {
    while (true) {
      while (pos_ < s_.size() && !IsAlnum(s_[pos_])) ++pos_;
      if (pos_ >= s_.size()) return false;
      const size_t start = pos_;
      if (IsDigit(s_[pos_])) {
        while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
        token->text = s_.substr(start, pos_ - start);
        token->cls = AllZeros(token->text) ? TokenClass::kZero : TokenClass::kNumber;
        token->pre_rank = 0;
        return true;
      }
      while (pos_ < s_.size() && IsAlpha(s_[pos_])) ++pos_;
      token->text = s_.substr(start, pos_ - start);
      if (pre_release_words_) {
        if (IsReleaseWord(token->text)) continue;
        const bool digit_follows = pos_ < s_.size() && IsDigit(s_[pos_]);
        token->pre_rank = PreReleaseRank(token->text, digit_follows);
      } else {
        token->pre_rank = 0;
      }
      token->cls = token->pre_rank > 0 ? TokenClass::kPreRelease : TokenClass::kWord;
      return true;
    }
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  bool pre_release_words_;
};

// TokenReader with zeros dropped where they stand directly before a pre-release word (or at
// the end, where they equal the padding): "1.0.0-rc1" reads as "1-rc1", like "1.0-rc1".
class CanonicalTokenReader {
 public:
  CanonicalTokenReader(std::string_view s, bool pre_release_words)
      : reader_(s, pre_release_words) {}

  bool Next(Token* token) {
    if (pending_zeros_ > 0) {
      --pending_zeros_;
      *token = Token{};
      return true;
    }
    if (has_lookahead_) {
      has_lookahead_ = false;
      *token = lookahead_;
      return true;
    }
    Token t;
    if (!reader_.Next(&t)) return false;
    if (t.cls != TokenClass::kZero) {
      *token = t;
      return true;
    }
    size_t zeros = 1;
    Token after;
    bool more = false;
    while ((more = reader_.Next(&after)) && after.cls == TokenClass::kZero) ++zeros;
    if (!more) return false;  // trailing zeros: the same as the padding
    if (after.cls == TokenClass::kPreRelease) {
      *token = after;
      return true;
    }
    pending_zeros_ = zeros - 1;
    lookahead_ = after;
    has_lookahead_ = true;
    *token = Token{};
    return true;
  }

 private:
  TokenReader reader_;
  size_t pending_zeros_ = 0;
  Token lookahead_;
  bool has_lookahead_ = false;
};

int CompareWords(std::string_view a, std::string_view b) {
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    const unsigned char ca = static_cast<unsigned char>(ToLower(a[i]));
    const unsigned char cb = static_cast<unsigned char>(ToLower(b[i]));
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return 0;
}

int CompareTokens(const Token& a, const Token& b) {
  if (a.cls != b.cls) return static_cast<int>(a.cls) < static_cast<int>(b.cls) ? -1 : 1;
  switch (a.cls) {
    case TokenClass::kPreRelease:
      return a.pre_rank == b.pre_rank ? 0 : (a.pre_rank < b.pre_rank ? -1 : 1);
    case TokenClass::kZero:
      return 0;
    case TokenClass::kWord:
      return CompareWords(a.text, b.text);
    case TokenClass::kNumber:
      return CompareDigitRuns(a.text, b.text);
  }
  return 0;
}

int CompareTokenSequences(std::string_view a, std::string_view b, bool pre_release_words) {
  CanonicalTokenReader ra(a, pre_release_words);
  CanonicalTokenReader rb(b, pre_release_words);
  const Token padding;  // kZero
  while (true) {
    Token ta;
    Token tb;
    const bool has_a = ra.Next(&ta);
    const bool has_b = rb.Next(&tb);
    if (!has_a && !has_b) return 0;
    const int c = CompareTokens(has_a ? ta : padding, has_b ? tb : padding);
    if (c != 0) return c;
  }
}

// Drops surrounding space and a "v"/"V" directly before a digit ("v1.2" == "1.2").
std::string_view StripVPrefix(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && (s[0] == 'v' || s[0] == 'V') && IsDigit(s[1])) s.remove_prefix(1);
  return s;
}

int CompareGeneric(std::string_view a, std::string_view b) {
  return CompareTokenSequences(StripVPrefix(a), StripVPrefix(b), true);
}

int CompareCisco(std::string_view a, std::string_view b) {
  return CompareTokenSequences(Trim(a), Trim(b), false);
}

// ---------------------------------------------------------------------------------------------
// kOpenSsh: "[OpenSSH_]X.Y[.Z][pN]"; anything after that (" Debian-2+deb12u3") is ignored.

std::string_view OpenSshCore(std::string_view s) {
  s = Trim(s);
  if (StartsWithIgnoreCase(s, "openssh")) {
    s.remove_prefix(7);
    if (!s.empty() && (s[0] == '_' || s[0] == '-' || s[0] == ' ' || s[0] == '/')) {
      s.remove_prefix(1);
    }
  }
  s = StripVPrefix(s);
  if (s.empty() || !IsDigit(s[0])) return s;  // not an OpenSSH version: compare it generically
  size_t i = 0;
  const auto dot_then_digit = [&s](size_t k) {
    return s[k] == '.' && k + 1 < s.size() && IsDigit(s[k + 1]);
  };
  while (i < s.size() && (IsDigit(s[i]) || dot_then_digit(i))) ++i;
  if (i + 1 < s.size() && (s[i] == 'p' || s[i] == 'P') && IsDigit(s[i + 1])) {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  return s.substr(0, i);
}

int CompareOpenSsh(std::string_view a, std::string_view b) {
  return CompareTokenSequences(OpenSshCore(a), OpenSshCore(b), true);
}

// ---------------------------------------------------------------------------------------------
// kDebian: dpkg's algorithm (Debian Policy 5.6.12), written from its description.

// Sort weight of one byte in a non-digit part: '~' before the end, the end before letters,
// letters before everything else. 0 stands for "end of part".
int DebianOrder(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  const char c = s[i];
  if (IsDigit(c)) return 0;
  if (IsAlpha(c)) return static_cast<unsigned char>(c);
  if (c == '~') return -1;
  return static_cast<unsigned char>(c) + 256;
}

int CompareDebianPart(std::string_view a, std::string_view b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    // Non-digit prefix, byte by byte.
    while ((i < a.size() && !IsDigit(a[i])) || (j < b.size() && !IsDigit(b[j]))) {
      const int oa = DebianOrder(a, i);
      const int ob = DebianOrder(b, j);
      if (oa != ob) return oa < ob ? -1 : 1;
      ++i;
      ++j;
    }
    // Digit run, numerically.
    size_t ei = i;
    while (ei < a.size() && IsDigit(a[ei])) ++ei;
    size_t ej = j;
    while (ej < b.size() && IsDigit(b[ej])) ++ej;
    const int c = CompareDigitRuns(a.substr(i, ei - i), b.substr(j, ej - j));
    if (c != 0) return c;
    i = ei;
    j = ej;
  }
  return 0;
}

struct DebianVersion {
  std::string_view epoch;  // digits, possibly empty (= 0)
  std::string_view upstream;
  std::string_view revision;  // empty when there is no '-'
};

DebianVersion SplitDebian(std::string_view s) {
  s = Trim(s);
  DebianVersion v;
  const size_t colon = s.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    bool digits = true;
    for (size_t k = 0; k < colon; ++k) digits = digits && IsDigit(s[k]);
    if (digits) {
      v.epoch = s.substr(0, colon);
      s.remove_prefix(colon + 1);
    }
  }
  const size_t dash = s.rfind('-');
  if (dash == std::string_view::npos) {
    v.upstream = s;
  } else {
    v.upstream = s.substr(0, dash);
    v.revision = s.substr(dash + 1);
  }
  return v;
}

int CompareDebian(std::string_view a, std::string_view b) {
  const DebianVersion va = SplitDebian(a);
  const DebianVersion vb = SplitDebian(b);
  int c = CompareDigitRuns(va.epoch, vb.epoch);
  if (c != 0) return c;
  c = CompareDebianPart(va.upstream, vb.upstream);
  if (c != 0) return c;
  return CompareDebianPart(va.revision, vb.revision);
}

// ---------------------------------------------------------------------------------------------
// kSemver: semver.org 2.0.0, section 11 (precedence). Lenient: a leading "v" or "=" is dropped
// and missing core components count as 0 ("1.2" == "1.2.0").

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// Numeric identifiers numerically, alphanumeric ones bytewise, numeric < alphanumeric.
int CompareSemverIdentifier(std::string_view a, std::string_view b) {
  const bool na = AllDigits(a);
  const bool nb = AllDigits(b);
  if (na && nb) return CompareDigitRuns(a, b);
  if (na != nb) return na ? -1 : 1;
  const int c = a.compare(b);
  return Sign(c);
}

// Takes the next '.'-separated identifier from *s; false when *s is exhausted.
bool NextIdentifier(std::string_view* s, bool* exhausted, std::string_view* id) {
  if (*exhausted) return false;
  const size_t dot = s->find('.');
  if (dot == std::string_view::npos) {
    *id = *s;
    *exhausted = true;
  } else {
    *id = s->substr(0, dot);
    s->remove_prefix(dot + 1);
  }
  return true;
}

struct SemverParts {
  std::string_view core;
  std::string_view pre;
  bool has_pre = false;
};

SemverParts SplitSemver(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && s[0] == '=') s.remove_prefix(1);
  s = StripVPrefix(s);
  const size_t plus = s.find('+');
  if (plus != std::string_view::npos) s = s.substr(0, plus);
  SemverParts p;
  const size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    p.core = s;
  } else {
    p.core = s.substr(0, dash);
    p.pre = s.substr(dash + 1);
    p.has_pre = true;
  }
  return p;
}

int CompareSemver(std::string_view a, std::string_view b) {
  const SemverParts pa = SplitSemver(a);
  const SemverParts pb = SplitSemver(b);
  // Core: padded with "0".
  std::string_view ca = pa.core;
  std::string_view cb = pb.core;
  bool ea = ca.empty();
  bool eb = cb.empty();
  while (true) {
    std::string_view ia;
    std::string_view ib;
    const bool ha = NextIdentifier(&ca, &ea, &ia);
    const bool hb = NextIdentifier(&cb, &eb, &ib);
    if (!ha && !hb) break;
    const int c = CompareSemverIdentifier(ha ? ia : "0", hb ? ib : "0");
    if (c != 0) return c;
  }
  // A release has higher precedence than any of its pre-releases.
  if (pa.has_pre != pb.has_pre) return pa.has_pre ? -1 : 1;
  if (!pa.has_pre) return 0;
  std::string_view ra = pa.pre;
  std::string_view rb = pb.pre;
  bool xa = false;
  bool xb = false;
  while (true) {
    std::string_view ia;
    std::string_view ib;
    const bool ha = NextIdentifier(&ra, &xa, &ia);
    const bool hb = NextIdentifier(&rb, &xb, &ib);
    if (!ha && !hb) return 0;
    if (ha != hb) return ha ? 1 : -1;  // the longer set of identifiers is larger
    const int c = CompareSemverIdentifier(ia, ib);
    if (c != 0) return c;
  }
}

// ---------------------------------------------------------------------------------------------
// kWindowsBuild: '.'-separated numeric parts ("10.0.20348.2113"), each read as its leading
// digits (none = 0), missing parts = 0.

int CompareWindowsBuild(std::string_view a, std::string_view b) {
  a = Trim(a);
  b = Trim(b);
  bool ea = a.empty();
  bool eb = b.empty();
  while (true) {
    std::string_view pa;
    std::string_view pb;
    const bool ha = NextIdentifier(&a, &ea, &pa);
    const bool hb = NextIdentifier(&b, &eb, &pb);
    if (!ha && !hb) return 0;
    size_t na = 0;
    while (ha && na < pa.size() && IsDigit(pa[na])) ++na;
    size_t nb = 0;
    while (hb && nb < pb.size() && IsDigit(pb[nb])) ++nb;
    const int c = CompareDigitRuns(ha ? pa.substr(0, na) : "", hb ? pb.substr(0, nb) : "");
    if (c != 0) return c;
  }
}

// ---------------------------------------------------------------------------------------------
// Scheme guessing and normalisation.

// True when s contains word (lower-case) directly followed by a digit: "deb12u3", "2ubuntu2".
bool ContainsWordThenDigit(std::string_view s, std::string_view word) {
  size_t from = 0;
  while (from < s.size()) {
    const size_t at = FindIgnoreCase(s.substr(from), word);
    if (at == std::string_view::npos) return false;
    const size_t end = from + at + word.size();
    if (end < s.size() && IsDigit(s[end])) return true;
    from = from + at + 1;
  }
  return false;
}

bool IsDebianMarked(std::string_view s) {
  return ContainsWordThenDigit(s, "deb") || ContainsWordThenDigit(s, "ubuntu") ||
         EqualsIgnoreCase(s, "debian") || EqualsIgnoreCase(s, "ubuntu") ||
         StartsWithIgnoreCase(s, "debian:") || StartsWithIgnoreCase(s, "ubuntu:") ||
         FindIgnoreCase(s, "dpkg") != std::string_view::npos;
}

// The first token of s that starts with a digit (after an optional "v"), ending at a byte for
// which stop() is true. Empty when there is none.
template <class Stop>
std::string_view FirstVersionToken(std::string_view s, Stop stop) {
  for (size_t i = 0; i < s.size(); ++i) {
    const bool token_start = i == 0 || IsSpace(s[i - 1]) || s[i - 1] == '_' || s[i - 1] == '/' ||
                             s[i - 1] == '(' || s[i - 1] == ',' || s[i - 1] == ':';
    if (!token_start) continue;
    size_t begin = i;
    if ((s[begin] == 'v' || s[begin] == 'V') && begin + 1 < s.size() && IsDigit(s[begin + 1])) {
      ++begin;
    }
    if (begin >= s.size() || !IsDigit(s[begin])) continue;
    size_t end = begin;
    while (end < s.size() && !stop(s[end])) ++end;
    std::string_view token = s.substr(begin, end - begin);
    while (!token.empty() && (token.back() == '.' || token.back() == '-' ||
                              token.back() == '_' || token.back() == '+' || token.back() == ':')) {
      token.remove_suffix(1);
    }
    return token;
  }
  return {};
}

bool StopAtSpaceOrPunct(char c) {
  return IsSpace(c) || c == '(' || c == ')' || c == ',' || c == ';' || c == '/' || c == '[' ||
         c == ']' || c == '"' || c == '\'';
}

bool StopAtSpaceOrComma(char c) {
  return IsSpace(c) || c == ',' || c == ';' || c == '"' || c == '\'' || c == '/';
}

}  // namespace

std::string_view SchemeName(VersionScheme scheme) {
  switch (scheme) {
    case VersionScheme::kGeneric:
      return "generic";
    case VersionScheme::kOpenSsh:
      return "openssh";
    case VersionScheme::kDebian:
      return "debian";
    case VersionScheme::kSemver:
      return "semver";
    case VersionScheme::kWindowsBuild:
      return "windows-build";
    case VersionScheme::kCisco:
      return "cisco";
  }
  return "generic";
}

std::optional<VersionScheme> SchemeFromName(std::string_view name) {
  for (VersionScheme s : {VersionScheme::kGeneric, VersionScheme::kOpenSsh,
                          VersionScheme::kDebian, VersionScheme::kSemver,
                          VersionScheme::kWindowsBuild, VersionScheme::kCisco}) {
    if (name == SchemeName(s)) return s;
  }
  return std::nullopt;
}

int CompareVersions(std::string_view a, std::string_view b, VersionScheme scheme) {
  switch (scheme) {
    case VersionScheme::kGeneric:
      return CompareGeneric(a, b);
    case VersionScheme::kOpenSsh:
      return CompareOpenSsh(a, b);
    case VersionScheme::kDebian:
      return CompareDebian(a, b);
    case VersionScheme::kSemver:
      return CompareSemver(a, b);
    case VersionScheme::kWindowsBuild:
      return CompareWindowsBuild(a, b);
    case VersionScheme::kCisco:
      return CompareCisco(a, b);
  }
  return CompareGeneric(a, b);
}

VersionScheme GuessScheme(std::string_view product) {
  product = Trim(product);
  if (IsDebianMarked(product)) return VersionScheme::kDebian;
  if (FindIgnoreCase(product, "openssh") != std::string_view::npos) {
    return VersionScheme::kOpenSsh;
  }
  if (FindIgnoreCase(product, "cisco") != std::string_view::npos) return VersionScheme::kCisco;
  if (FindIgnoreCase(product, "windows") != std::string_view::npos) {
    return VersionScheme::kWindowsBuild;
  }
  if (EqualsIgnoreCase(product, "npm") || EqualsIgnoreCase(product, "crates.io") ||
      EqualsIgnoreCase(product, "go") || EqualsIgnoreCase(product, "semver")) {
    return VersionScheme::kSemver;
  }
  return VersionScheme::kGeneric;
}

bool IsAffected(std::string_view version, const std::vector<VersionRange>& ranges,
                VersionScheme scheme) {
  if (Trim(version).empty()) return false;
  for (const VersionRange& r : ranges) {
    const std::string_view introduced = Trim(r.introduced);
    if (!introduced.empty() && introduced != "0" &&
        CompareVersions(version, introduced, scheme) < 0) {
      continue;
    }
    if (!Trim(r.fixed).empty() && CompareVersions(version, r.fixed, scheme) >= 0) continue;
    if (!Trim(r.last_affected).empty() &&
        CompareVersions(version, r.last_affected, scheme) > 0) {
      continue;
    }
    return true;
  }
  return false;
}

std::optional<std::string> NormaliseVersion(std::string_view raw, VersionScheme scheme) {
  raw = Trim(raw);
  std::string_view token;
  std::string out;
  switch (scheme) {
    case VersionScheme::kOpenSsh: {
      std::string_view s = raw;
      if (StartsWithIgnoreCase(s, "openssh")) {
        s.remove_prefix(7);
        if (!s.empty() && (s[0] == '_' || s[0] == '-' || s[0] == ' ' || s[0] == '/')) {
          s.remove_prefix(1);
        }
      }
      s = StripVPrefix(s);
      if (s.empty() || !IsDigit(s[0])) return std::nullopt;
      token = OpenSshCore(s);
      break;
    }
    case VersionScheme::kCisco:
      token = FirstVersionToken(raw, StopAtSpaceOrComma);
      break;
    case VersionScheme::kDebian: {
      // A dpkg version or a banner such as "9.2p1 Debian-2+deb12u3": keep the revision.
      token = FirstVersionToken(raw, [](char c) { return IsSpace(c) || c == '(' || c == ','; });
      if (token.empty()) return std::nullopt;
      const size_t after = static_cast<size_t>(token.data() - raw.data()) + token.size();
      std::string_view rest = Trim(raw.substr(after));
      for (std::string_view distro : {"debian-", "ubuntu-"}) {
        if (StartsWithIgnoreCase(rest, distro)) {
          std::string_view rev = rest.substr(distro.size());
          size_t n = 0;
          while (n < rev.size() && !IsSpace(rev[n]) && rev[n] != ',' && rev[n] != ';') ++n;
          rev = rev.substr(0, n);
          if (!rev.empty()) {
            out = std::string(token) + "-" + std::string(rev);
            if (out.size() > kMaxVersionLength) return std::nullopt;
            return out;
          }
        }
      }
      break;
    }
    case VersionScheme::kSemver:
      token = FirstVersionToken(raw, [](char c) {
        return IsSpace(c) || c == '(' || c == ')' || c == ',' || c == ';' || c == '/';
      });
      break;
    case VersionScheme::kWindowsBuild:
      token = FirstVersionToken(raw, [](char c) { return !IsDigit(c) && c != '.'; });
      break;
    case VersionScheme::kGeneric:
      token = FirstVersionToken(raw, StopAtSpaceOrPunct);
      break;
  }
  if (token.empty() || token.size() > kMaxVersionLength) return std::nullopt;
  return std::string(token);
}

}  // namespace rules
