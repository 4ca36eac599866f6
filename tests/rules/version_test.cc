// Tests for rules/version.h: Zeek's software parsing (against Zeek's own test cases), version
// comparison under every scheme, OSV ranges, normalisation, scheme guessing and hostile input.
#include "rules/version.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace rules {
namespace {

// ---------------------------------------------------------------------------------------------
// Zeek Software::parse

// The JSON strings are Zeek string literals: "\\" is one backslash, "\xNN" one byte.
std::string ZeekLiteral(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      if (s[i + 1] == 'x' && i + 3 < s.size() && isxdigit(static_cast<unsigned char>(s[i + 2])) &&
          isxdigit(static_cast<unsigned char>(s[i + 3]))) {
        out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
        i += 3;
      } else {
        out.push_back(s[i + 1]);
        ++i;
      }
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Describe(const SoftwareDescription& d) {
  std::ostringstream o;
  const auto field = [&o](const char* name, const std::optional<uint64_t>& v) {
    if (v) o << " " << name << "=" << *v;
  };
  o << "name='" << d.name << "'";
  field("major", d.version.major);
  field("minor", d.version.minor);
  field("minor2", d.version.minor2);
  field("minor3", d.version.minor3);
  if (d.version.addl) o << " addl='" << *d.version.addl << "'";
  return o.str();
}

TEST(ParseSoftwareTest, MatchesEveryZeekCase) {
  const std::string path = std::string(SHARED_DIR) + "/testdata/zeek/version-parsing.expected.json";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  const nlohmann::json cases = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(cases.is_array()) << path;
  ASSERT_EQ(cases.size(), 60u);
  int failures = 0;
  for (const auto& c : cases) {
    const std::string input = ZeekLiteral(c.at("unparsed").get<std::string>());
    SoftwareDescription want;
    want.name = ZeekLiteral(c.at("name").get<std::string>());
    const auto& v = c.at("version");
    if (v.contains("major")) want.version.major = v["major"].get<uint64_t>();
    if (v.contains("minor")) want.version.minor = v["minor"].get<uint64_t>();
    if (v.contains("minor2")) want.version.minor2 = v["minor2"].get<uint64_t>();
    if (v.contains("minor3")) want.version.minor3 = v["minor3"].get<uint64_t>();
    if (v.contains("addl")) want.version.addl = v["addl"].get<std::string>();
    const SoftwareDescription got = ParseSoftware(input);
    EXPECT_EQ(got.unparsed_version, input);
    if (got.name != want.name || !(got.version == want.version)) {
      ++failures;
      ADD_FAILURE() << "input:    " << input << "\nexpected: " << Describe(want)
                    << "\ngot:      " << Describe(got);
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(ParseSoftwareTest, ZeekBaselineListsTheSameInputs) {
  // The btest baseline prints "success on: <input>" for each case that Zeek parsed as expected.
  const std::string dir = std::string(SHARED_DIR) + "/testdata/zeek/";
  std::ifstream baseline(
      dir + "testing/btest/Baseline/scripts.base.frameworks.software.version-parsing/output");
  ASSERT_TRUE(baseline.good());
  int successes = 0;
  std::string line;
  while (std::getline(baseline, line)) {
    if (line.rfind("success on: ", 0) == 0) ++successes;
  }
  EXPECT_EQ(successes, 60);
}

TEST(ParseSoftwareTest, MatchesZeekSoftwareLogBaseline) {
  // software.log written by Zeek for the flash-version btest: name, version.* and the input.
  const std::string path = std::string(SHARED_DIR) +
                           "/testdata/zeek/testing/btest/Baseline/"
                           "scripts.policy.protocols.http.flash-version/software.log";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      f.push_back(line.substr(start, tab - start));
    }
    f.push_back(line.substr(start));
    ASSERT_EQ(f.size(), 11u) << line;
    const auto number = [](const std::string& v) -> std::optional<uint64_t> {
      if (v == "-") return std::nullopt;
      return std::stoull(v);
    };
    const SoftwareDescription d = ParseSoftware(f[10]);
    EXPECT_EQ(d.name, f[4]) << f[10];
    EXPECT_EQ(d.version.major, number(f[5])) << f[10];
    EXPECT_EQ(d.version.minor, number(f[6])) << f[10];
    EXPECT_EQ(d.version.minor2, number(f[7])) << f[10];
    EXPECT_EQ(d.version.minor3, number(f[8])) << f[10];
    EXPECT_EQ(d.version.addl, f[9] == "-" ? std::nullopt : std::optional<std::string>(f[9]))
        << f[10];
    ++rows;
  }
  EXPECT_EQ(rows, 3);
}

TEST(ParseSoftwareTest, BannersSeenOnTheWire) {
  SoftwareDescription d = ParseSoftware("OpenSSH_6.6.1p1 Ubuntu-2ubuntu2");
  EXPECT_EQ(d.name, "OpenSSH");
  EXPECT_EQ(d.version.major, 6u);
  EXPECT_EQ(d.version.minor, 6u);
  EXPECT_EQ(d.version.minor2, 1u);
  EXPECT_FALSE(d.version.minor3.has_value());
  EXPECT_EQ(d.version.addl, "p1");

  d = ParseSoftware("Apache/2.4.3 (Fedora)");
  EXPECT_EQ(d.name, "Apache");
  EXPECT_EQ(d.version.major, 2u);
  EXPECT_EQ(d.version.minor, 4u);
  EXPECT_EQ(d.version.minor2, 3u);
  EXPECT_EQ(d.version.addl, "Fedora");

  d = ParseSoftware("nginx/1.22.1");
  EXPECT_EQ(d.name, "nginx");
  EXPECT_EQ(d.version.minor, 22u);
  EXPECT_FALSE(d.version.addl.has_value());

  d = ParseSoftware("Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0");
  EXPECT_EQ(d.name, "Firefox");
  EXPECT_EQ(d.version.major, 115u);
  EXPECT_EQ(d.version.minor, 0u);
}

TEST(ParseSoftwareTest, HostileInputNeverCrashes) {
  const std::vector<std::string> inputs = {
      "",
      " ",
      "/",
      "...........",
      std::string(100000, '.'),
      std::string(100000, '9'),
      std::string(100000, ' ') + "v",
      "x/99999999999999999999999.1",
      "%",
      "%4",
      "\\x",
      "\\x4",
      "Mozilla/5.",
      "Mozilla/5.0",
      "Mozilla/5.0 MSIE ",
      "Opera/9.",
      "A//Google/Pixel",
      "A/",
      std::string("nul\0byte/1.2", 12),
  };
  for (const std::string& s : inputs) {
    const SoftwareDescription d = ParseSoftware(s);
    EXPECT_EQ(d.unparsed_version, s);
  }
  const SoftwareDescription big = ParseSoftware("x/99999999999999999999999.1");
  EXPECT_EQ(big.version.major, UINT64_MAX);
  EXPECT_EQ(big.version.minor, 1u);
  std::string repeated;
  for (int i = 0; i < 20000; ++i) repeated += "A/1.";
  EXPECT_EQ(ParseSoftware(repeated).unparsed_version.size(), repeated.size());
  std::string spaces_v;
  for (int i = 0; i < 20000; ++i) spaces_v += " vvv(";
  const SoftwareDescription sv = ParseSoftware(spaces_v);
  EXPECT_FALSE(sv.version.major.has_value());
  EXPECT_TRUE(sv.name.size() == spaces_v.size() - 1 && sv.name.front() == 'v');
}

// ---------------------------------------------------------------------------------------------
// Comparison

struct OrderCase {
  const char* lower;
  const char* higher;
};
struct EqualCase {
  const char* a;
  const char* b;
};

// Each helper checks every case and reports all that fail.
::testing::AssertionResult Ordered(const std::vector<OrderCase>& cases, VersionScheme scheme) {
  std::string failed;
  for (const OrderCase& c : cases) {
    if (CompareVersions(c.lower, c.higher, scheme) >= 0) {
      failed += std::string("\n  ") + c.lower + " < " + c.higher + " does not hold";
    }
    if (CompareVersions(c.higher, c.lower, scheme) <= 0) {
      failed += std::string("\n  ") + c.higher + " > " + c.lower + " does not hold";
    }
    if (CompareVersions(c.lower, c.lower, scheme) != 0) failed += std::string("\n  ") + c.lower;
    if (CompareVersions(c.higher, c.higher, scheme) != 0) failed += std::string("\n  ") + c.higher;
  }
  if (failed.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << SchemeName(scheme) << ":" << failed;
}

::testing::AssertionResult Equal(const std::vector<EqualCase>& cases, VersionScheme scheme) {
  std::string failed;
  for (const EqualCase& c : cases) {
    if (CompareVersions(c.a, c.b, scheme) != 0 || CompareVersions(c.b, c.a, scheme) != 0) {
      failed += std::string("\n  ") + c.a + " == " + c.b + " does not hold";
    }
  }
  if (failed.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << SchemeName(scheme) << ":" << failed;
}

// A sorted chain must be ordered pairwise (i < j for all i < j): checks transitivity too.
::testing::AssertionResult Chain(const std::vector<const char*>& chain, VersionScheme scheme) {
  std::string failed;
  for (size_t i = 0; i < chain.size(); ++i) {
    for (size_t j = i + 1; j < chain.size(); ++j) {
      if (CompareVersions(chain[i], chain[j], scheme) >= 0 ||
          CompareVersions(chain[j], chain[i], scheme) <= 0) {
        failed += std::string("\n  ") + chain[i] + " < " + chain[j] + " does not hold";
      }
    }
  }
  if (failed.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << SchemeName(scheme) << ":" << failed;
}

TEST(CompareVersionsTest, Generic) {
  EXPECT_TRUE(Ordered(
      {
          {"1.0", "1.1"},
          {"1.2", "1.10"},
          {"1.9.9", "1.10"},
          {"2.4.57", "2.4.58"},
          {"2.4.9", "2.4.57"},
          {"1.0rc1", "1.0"},
          {"1.0-rc1", "1.0"},
          {"1.0-rc1", "1.0-rc2"},
          {"1.0-beta", "1.0-rc1"},
          {"1.0-alpha", "1.0-beta"},
          {"1.0-alpha.1", "1.0-alpha.2"},
          {"1.0-dev", "1.0-alpha"},
          {"1.0.dev1", "1.0a1"},
          {"1.0a1", "1.0b1"},
          {"1.0b2", "1.0rc1"},
          {"1.0-pre1", "1.0"},
          {"1.0-preview", "1.0"},
          {"1.0", "1.0.1"},
          {"1.0", "1.0a"},  // a bare trailing letter is a later release (OpenSSL style)
          {"1.0.2", "1.0.2k"},
          {"1.0.2k", "1.0.2l"},
          {"1.0.2zh", "1.0.3"},
          {"9.8", "9.8p1"},
          {"1.0rc1", "1.0.1"},
          {"1.2.3", "1.2.3-1"},
          {"1.2.3-1", "1.2.3-2"},
          {"0.9", "1"},
          {"99999999999999999999998", "99999999999999999999999"},
          {"1.99999999999999999999999", "2.0"},
          {"1", "100000000000000000000000000000000000000"},
          {"", "0.1"},
          // vendor schemes that are generic
          {"7.2.3", "7.2.4"},          // FortiOS
          {"7.0.12", "7.2.4"},         // FortiOS
          {"11.9.1.0", "11.10.0.2"},   // Ivanti EPMM
          {"11.9.99.99", "11.10.0.2"}, // Ivanti EPMM
          {"11.10.0.2", "11.10.0.3"},  // Ivanti EPMM
          {"11.10.0.3", "11.11.0.0"},  // Ivanti EPMM
          {"15.2.1258.12", "15.2.1544.4"},  // Exchange 2019 CU13 < CU14
          {"15.2.1544.4", "15.2.1544.11"},
          {"15.1.2507.35", "15.2.986.5"},
      },
      VersionScheme::kGeneric));
  EXPECT_TRUE(Equal(
      {
          {"1.2", "1.2.0"},
          {"1.2", "1.2.0.0"},
          {"1.01", "1.1"},
          {"v1.2.3", "1.2.3"},
          {"V1.2.3", "1.2.3"},
          {"1.0-final", "1.0"},
          {"1.0.GA", "1.0"},
          {"1.0-RC1", "1.0-rc1"},
          {"1.0alpha1", "1.0a1"},
          {"1_2_3", "1.2.3"},
          {" 1.2 ", "1.2"},
          {"", "0"},
          {"0007", "7"},
      },
      VersionScheme::kGeneric));
  EXPECT_TRUE(Chain({"1.0-dev", "1.0a1", "1.0a2", "1.0b1", "1.0rc1", "1.0", "1.0.1", "1.0.2",
               "1.0.2a", "1.0.2b", "1.0.10", "1.1", "1.10", "2"},
              VersionScheme::kGeneric));
}

TEST(CompareVersionsTest, OpenSsh) {
  EXPECT_TRUE(Ordered(
      {
          {"9.8", "9.8p1"},
          {"9.8p1", "9.8p2"},
          {"9.8p2", "9.9"},
          {"9.9", "9.9p1"},
          {"8.9p1", "9.0p1"},
          {"7.4p1", "7.10p1"},
          {"OpenSSH_9.3p2", "OpenSSH_9.8p1"},
          {"OpenSSH_9.2p1 Debian-2+deb12u3", "9.3"},
          {"6.6.1p1", "6.7"},
          {"6.6", "6.6.1p1"},
          {"4.4", "5.2"},
          {"9.8p1", "10.0"},
      },
      VersionScheme::kOpenSsh));
  EXPECT_TRUE(Equal(
      {
          {"OpenSSH_9.8p1", "9.8p1"},
          {"openssh-9.8p1", "9.8p1"},
          {"OpenSSH_9.2p1 Debian-2+deb12u3", "9.2p1"},
          {"OpenSSH_6.6.1p1 Ubuntu-2ubuntu2", "6.6.1p1"},
          {"9.8", "9.8.0"},
      },
      VersionScheme::kOpenSsh));
  EXPECT_TRUE(Chain({"9.7p1", "9.8", "9.8p1", "9.8p2", "9.9", "9.9p1", "9.9p2", "10.0"},
              VersionScheme::kOpenSsh));
}

TEST(CompareVersionsTest, DebianPolicyAndRealVersions) {
  EXPECT_TRUE(Ordered(
      {
          // Debian Policy 5.6.12: '~' sorts before everything, even the end of a part.
          {"1.0~rc1", "1.0"},
          {"1.0~rc1-1", "1.0-1"},
          {"~~", "~~a"},
          {"~~a", "~"},
          {"~", ""},
          {"", "a"},
          {"1.0~~", "1.0~"},
          {"1.0~beta1", "1.0~rc1"},
          // letters before non-letters
          {"1.0a", "1.0+"},
          {"1.0a", "1.0."},
          {"1.0", "1.0a"},
          {"1.0", "1.0+dfsg"},
          {"1.0+dfsg", "1.0.1"},
          // epochs
          {"2.4.57-2", "1:2.4.57-2+deb12u1"},
          {"9:1.0", "10:0.1"},
          {"1:9.9", "2:0"},
          // revisions
          {"9.2p1-2+deb12u2", "9.2p1-2+deb12u3"},
          {"9.2p1-2+deb12u3", "9.2p1-2+deb12u10"},
          {"2.4.57-2", "2.4.57-2+deb12u1"},
          {"1:2.4.57-2+deb12u1", "1:2.4.62-1~deb12u1"},
          {"1:2.4.62-1~deb12u1", "1:2.4.62-1"},
          {"1.2.3-1", "1.2.3-1.1"},
          {"1.2.3-1ubuntu1", "1.2.3-1ubuntu2"},
          {"1.2.3-1", "1.2.3-1ubuntu1"},
          {"6.6.1p1-2ubuntu2", "6.6.1p1-2ubuntu2.13"},
          {"3.0.11-1~deb12u2", "3.0.13-1~deb12u1"},
          {"1.0-1", "1.0-1+b1"},
          {"1.9", "1.10"},
          {"0.99999999999999999999999", "1.0"},
          {"1.99999999999999999999998", "1.99999999999999999999999"},
          {"1-2-3", "1-2-4"},  // upstream "1-2", revision "3" / "4"
      },
      VersionScheme::kDebian));
  EXPECT_TRUE(Equal(
      {
          {"1.0", "1.00"},
          {"1.0-0", "1.0"},
          {"0:1.0", "1.0"},
          {"00:1.0", "1.0"},
          {"1.0-1", "1.0-01"},
      },
      VersionScheme::kDebian));
  EXPECT_TRUE(Chain({"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a", "1.0+", "1.0.1", "1.0.1-1",
               "1:0.1"},
              VersionScheme::kDebian));
}

TEST(CompareVersionsTest, Semver) {
  // semver.org 2.0.0, section 11 examples.
  EXPECT_TRUE(Chain({"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
               "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"},
              VersionScheme::kSemver));
  EXPECT_TRUE(Chain({"1.0.0", "2.0.0", "2.1.0", "2.1.1"}, VersionScheme::kSemver));
  EXPECT_TRUE(Ordered(
      {
          {"1.9.0", "1.10.0"},
          {"1.0.0-2", "1.0.0-10"},
          {"1.0.0-10", "1.0.0-a"},  // numeric identifiers before alphanumeric ones
          {"1.0.0-alpha", "1.0.0-alpha.0"},
          {"1.0.0-Beta", "1.0.0-beta"},  // ASCII order: upper case first
          {"1.0.0-rc.1", "1.0.0+build.1"},
          {"v1.2.3", "1.2.4"},
          {"0.0.99999999999999999999998", "0.0.99999999999999999999999"},
      },
      VersionScheme::kSemver));
  EXPECT_TRUE(Equal(
      {
          {"1.0.0+build.1", "1.0.0+build.2"},
          {"1.0.0+20130313144700", "1.0.0"},
          {"1.0.0-beta+exp.sha.5114f85", "1.0.0-beta"},
          {"v1.0.0", "1.0.0"},
          {"=1.0.0", "1.0.0"},
          {"1.2", "1.2.0"},
      },
      VersionScheme::kSemver));
}

TEST(CompareVersionsTest, WindowsBuild) {
  EXPECT_TRUE(Ordered(
      {
          {"10.0.20348.2113", "10.0.20348.2159"},
          {"10.0.17763.5122", "10.0.20348.1"},
          {"6.3.9600.21620", "10.0.10240.16384"},
          {"10.0.19045.999", "10.0.19045.3693"},
          {"10.0.20348", "10.0.20348.1"},
      },
      VersionScheme::kWindowsBuild));
  EXPECT_TRUE(Equal(
      {
          {"10.0.20348", "10.0.20348.0"},
          {"10.0.020348.2113", "10.0.20348.2113"},
      },
      VersionScheme::kWindowsBuild));
}

TEST(CompareVersionsTest, Cisco) {
  EXPECT_TRUE(Ordered(
      {
          // ASA: major.minor(maintenance)interim
          {"9.16(4)", "9.16(4)27"},
          {"9.16(4)19", "9.16(4)27"},
          {"9.16(3.19)", "9.16(4)"},
          {"9.8(4)", "9.16(1)"},
          {"9.16(4)27", "9.18(1)"},
          // IOS: major.minor(release)train+rebuild
          {"15.2(4)M3", "15.2(4)M10"},
          {"15.2(4)", "15.2(4)M3"},
          {"15.2(4)M11", "15.2(5)"},
          {"15.1(4)M12a", "15.2(4)M1"},
          {"12.2(55)SE9", "12.2(55)SE12"},
          {"15.2(4)E10", "15.2(4)M3"},  // different trains: by train letters, best effort
          // NX-OS and IOS XE
          {"7.0(3)I7(5)", "7.0(3)I7(5a)"},
          {"7.0(3)I7(5a)", "7.0(3)I7(6)"},
          {"16.12.4", "16.12.10"},
          {"17.3.4a", "17.3.5"},
      },
      VersionScheme::kCisco));
  EXPECT_TRUE(Equal({{"15.2(4)M3", "15.2(4)m3"}, {"9.16(4)", "9.16(4)0"}}, VersionScheme::kCisco));
}

TEST(CompareVersionsTest, DocumentedGenericExamples) {
  EXPECT_TRUE(Equal({{"1.0rc1", "1.0-rc1"},
               {"1.0-rc1", "1.0.rc.1"},
               {"1.2.3-1", "1.2.3.1"},
               {"1.0-rc1", "1.0.0-rc1"},
               {"1.0.0a1", "1-alpha-1"},
               {"2.0.0.0-beta", "2-beta"}},
              VersionScheme::kGeneric));
  EXPECT_TRUE(Ordered({{"1.0", "1.0b"},
                 {"1.0b", "1.0.1"},
                 {"1.0.0-rc1", "1.0"},
                 {"1.0.0-rc1", "1.0.0.1"},
                 {"1.0.0-rc1", "1.0.1-rc1"},
                 {"1.0.1-rc1", "1.0.1"},
                 {"0.rc1", "0.1"},
                 {"1.0.0.0.0.0.0.1", "1.0.0.0.0.0.0.2"}},
                VersionScheme::kGeneric));
}

// Every scheme must be a total preorder: antisymmetric in sign and transitive. Checked on a
// deterministic corpus of version-like strings mixing all the token kinds the schemes know.
TEST(CompareVersionsTest, EverySchemeIsATotalPreorder) {
  const std::vector<std::string> pieces = {"0",  "1",   "2",  "10", "01", ".",  "-", "~", "+",
                                           ":",  "p",   "rc", "a",  "b",  "(",  ")", "M", "deb",
                                           "_",  "dev", "z",  "9",  "v",  "00", ""};
  std::vector<std::string> corpus;
  uint32_t state = 12345;
  const auto next = [&state]() {
    state = state * 1103515245u + 12345u;
    return (state >> 16) & 0x7fff;
  };
  for (int i = 0; i < 45; ++i) {
    std::string v;
    const int n = 1 + static_cast<int>(next() % 7);
    for (int k = 0; k < n; ++k) v += pieces[next() % pieces.size()];
    corpus.push_back(v);
  }
  const VersionScheme schemes[] = {VersionScheme::kGeneric,      VersionScheme::kOpenSsh,
                                   VersionScheme::kDebian,       VersionScheme::kSemver,
                                   VersionScheme::kWindowsBuild, VersionScheme::kCisco};
  for (VersionScheme s : schemes) {
    const size_t n = corpus.size();
    std::vector<int> cmp(n * n);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        const int c = CompareVersions(corpus[i], corpus[j], s);
        cmp[i * n + j] = (c > 0) - (c < 0);
      }
    }
    int violations = 0;
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        if (cmp[i * n + j] != -cmp[j * n + i]) {
          ++violations;
          ADD_FAILURE() << SchemeName(s) << ": not antisymmetric: '" << corpus[i] << "' '"
                        << corpus[j] << "'";
        }
        for (size_t k = 0; k < n && violations < 5; ++k) {
          if (cmp[i * n + j] <= 0 && cmp[j * n + k] <= 0 && cmp[i * n + k] > 0) {
            ++violations;
            ADD_FAILURE() << SchemeName(s) << ": not transitive: '" << corpus[i] << "' <= '"
                          << corpus[j] << "' <= '" << corpus[k] << "'";
          }
        }
      }
    }
    EXPECT_EQ(violations, 0) << SchemeName(s);
  }
}

TEST(VersionTest, ClassComparesUnderItsScheme) {
  const Version a("1:2.4.57-2+deb12u1", VersionScheme::kDebian);
  const Version b("2.4.57-2", VersionScheme::kDebian);
  EXPECT_TRUE(b < a);
  EXPECT_TRUE(a > b);
  EXPECT_TRUE(a != b);
  EXPECT_TRUE(a == Version("1:2.4.57-2+deb12u1", VersionScheme::kDebian));
  EXPECT_LT(Version("9.8", VersionScheme::kOpenSsh).Compare("9.8p1"), 0);
  EXPECT_EQ(a.text(), "1:2.4.57-2+deb12u1");
  EXPECT_EQ(a.scheme(), VersionScheme::kDebian);
}

TEST(VersionTest, SchemeNamesRoundTrip) {
  for (VersionScheme s : {VersionScheme::kGeneric, VersionScheme::kOpenSsh,
                          VersionScheme::kDebian, VersionScheme::kSemver,
                          VersionScheme::kWindowsBuild, VersionScheme::kCisco}) {
    EXPECT_EQ(SchemeFromName(SchemeName(s)), s);
  }
  EXPECT_FALSE(SchemeFromName("nonsense").has_value());
}

TEST(GuessSchemeTest, PicksTheRightScheme) {
  EXPECT_EQ(GuessScheme("openssh"), VersionScheme::kOpenSsh);
  EXPECT_EQ(GuessScheme("openbsd:openssh"), VersionScheme::kOpenSsh);
  EXPECT_EQ(GuessScheme("OpenSSH"), VersionScheme::kOpenSsh);
  EXPECT_EQ(GuessScheme("1:9.2p1-2+deb12u3"), VersionScheme::kDebian);
  EXPECT_EQ(GuessScheme("OpenSSH_9.2p1 Debian-2+deb12u3"), VersionScheme::kDebian);
  EXPECT_EQ(GuessScheme("6.6.1p1-2ubuntu2.13"), VersionScheme::kDebian);
  EXPECT_EQ(GuessScheme("Debian"), VersionScheme::kDebian);
  EXPECT_EQ(GuessScheme("Ubuntu"), VersionScheme::kDebian);
  EXPECT_EQ(GuessScheme("cisco:adaptive_security_appliance_software"), VersionScheme::kCisco);
  EXPECT_EQ(GuessScheme("cisco:ios"), VersionScheme::kCisco);
  EXPECT_EQ(GuessScheme("microsoft:windows_server_2022"), VersionScheme::kWindowsBuild);
  EXPECT_EQ(GuessScheme("npm"), VersionScheme::kSemver);
  EXPECT_EQ(GuessScheme("crates.io"), VersionScheme::kSemver);
  EXPECT_EQ(GuessScheme("apache:http_server"), VersionScheme::kGeneric);
  EXPECT_EQ(GuessScheme("fortinet:fortios"), VersionScheme::kGeneric);
  EXPECT_EQ(GuessScheme("ivanti:endpoint_manager_mobile"), VersionScheme::kGeneric);
  EXPECT_EQ(GuessScheme("microsoft:exchange_server"), VersionScheme::kGeneric);
  EXPECT_EQ(GuessScheme("debugger"), VersionScheme::kGeneric);  // "deb" without a digit
  EXPECT_EQ(GuessScheme(""), VersionScheme::kGeneric);
}

// ---------------------------------------------------------------------------------------------
// OSV ranges

TEST(IsAffectedTest, IntroducedAndFixed) {
  const std::vector<VersionRange> ranges = {{"1.0.0", "1.2.3", ""}};
  EXPECT_FALSE(IsAffected("0.9", ranges, VersionScheme::kGeneric));
  EXPECT_TRUE(IsAffected("1.0.0", ranges, VersionScheme::kGeneric));   // introduced inclusive
  EXPECT_TRUE(IsAffected("1.0", ranges, VersionScheme::kGeneric));     // == 1.0.0
  EXPECT_TRUE(IsAffected("1.2.2", ranges, VersionScheme::kGeneric));
  EXPECT_FALSE(IsAffected("1.2.3", ranges, VersionScheme::kGeneric));  // fixed exclusive
  EXPECT_FALSE(IsAffected("1.3", ranges, VersionScheme::kGeneric));
  EXPECT_TRUE(IsAffected("1.2.3-rc1", ranges, VersionScheme::kGeneric));
}

TEST(IsAffectedTest, FromTheBeginning) {
  const std::vector<VersionRange> ranges = {{"0", "2.4.58", ""}};
  EXPECT_TRUE(IsAffected("0.0.1", ranges, VersionScheme::kGeneric));
  EXPECT_TRUE(IsAffected("2.4.57", ranges, VersionScheme::kGeneric));
  EXPECT_FALSE(IsAffected("2.4.58", ranges, VersionScheme::kGeneric));
  // Under dpkg rules "~1" < "0", but introduced "0" still means "everything".
  const std::vector<VersionRange> debian = {{"0", "1:9.2p1-2+deb12u3", ""}};
  EXPECT_TRUE(IsAffected("~1", debian, VersionScheme::kDebian));
  EXPECT_TRUE(IsAffected("1:9.2p1-2+deb12u2", debian, VersionScheme::kDebian));
  EXPECT_FALSE(IsAffected("1:9.2p1-2+deb12u3", debian, VersionScheme::kDebian));
  EXPECT_FALSE(IsAffected("1:9.6p1-3", debian, VersionScheme::kDebian));
  // An empty introduced counts as "0"; a range with no upper bound affects everything after.
  EXPECT_TRUE(IsAffected("1.0", {{"", "2.0", ""}}, VersionScheme::kGeneric));
  EXPECT_TRUE(IsAffected("99", {{"0", "", ""}}, VersionScheme::kGeneric));
  EXPECT_TRUE(IsAffected("3.0", {{"2.0", "", ""}}, VersionScheme::kGeneric));
  EXPECT_FALSE(IsAffected("1.0", {{"2.0", "", ""}}, VersionScheme::kGeneric));
}

TEST(IsAffectedTest, LastAffectedIsInclusive) {
  const std::vector<VersionRange> ranges = {{"0", "", "9.8p1"}};
  EXPECT_TRUE(IsAffected("9.8p1", ranges, VersionScheme::kOpenSsh));
  EXPECT_TRUE(IsAffected("OpenSSH_9.8", ranges, VersionScheme::kOpenSsh));
  EXPECT_FALSE(IsAffected("9.8p2", ranges, VersionScheme::kOpenSsh));
  EXPECT_FALSE(IsAffected("9.9", ranges, VersionScheme::kOpenSsh));
}

TEST(IsAffectedTest, SeveralRangesAreOred) {
  // OpenSSH regreSSHion (CVE-2024-6387): < 4.4p1 and 8.5p1 <= v < 9.8p1.
  const std::vector<VersionRange> ranges = {{"0", "4.4p1", ""}, {"8.5p1", "9.8p1", ""}};
  const VersionScheme s = VersionScheme::kOpenSsh;
  EXPECT_TRUE(IsAffected("4.3p2", ranges, s));
  EXPECT_FALSE(IsAffected("4.4p1", ranges, s));
  EXPECT_FALSE(IsAffected("7.4p1", ranges, s));
  EXPECT_FALSE(IsAffected("8.4p1", ranges, s));
  EXPECT_TRUE(IsAffected("8.5p1", ranges, s));
  EXPECT_TRUE(IsAffected("OpenSSH_9.2p1 Debian-2+deb12u3", ranges, s));
  EXPECT_TRUE(IsAffected("9.7p1", ranges, s));
  EXPECT_FALSE(IsAffected("9.8p1", ranges, s));
  EXPECT_FALSE(IsAffected("9.9p1", ranges, s));
  // Ivanti EPMM: two release lines with their own fixes.
  const std::vector<VersionRange> epmm = {{"11.10.0.0", "11.10.0.3", ""},
                                          {"11.11.0.0", "11.11.0.2", ""}};
  EXPECT_FALSE(IsAffected("11.9.1.5", epmm, VersionScheme::kGeneric));
  EXPECT_TRUE(IsAffected("11.10.0.2", epmm, VersionScheme::kGeneric));
  EXPECT_FALSE(IsAffected("11.10.0.3", epmm, VersionScheme::kGeneric));
  EXPECT_TRUE(IsAffected("11.11.0.1", epmm, VersionScheme::kGeneric));
  EXPECT_FALSE(IsAffected("11.12.0.0", epmm, VersionScheme::kGeneric));
}

TEST(IsAffectedTest, EmptyInputs) {
  EXPECT_FALSE(IsAffected("1.0", {}, VersionScheme::kGeneric));
  EXPECT_FALSE(IsAffected("", {{"0", "", ""}}, VersionScheme::kGeneric));
  EXPECT_FALSE(IsAffected("   ", {{"0", "", ""}}, VersionScheme::kGeneric));
}

// ---------------------------------------------------------------------------------------------
// Normalisation

TEST(NormaliseVersionTest, PullsTheVersionOutOfBanners) {
  struct Case {
    const char* raw;
    VersionScheme scheme;
    std::optional<std::string> want;
  };
  const std::vector<Case> cases = {
      {"2.4.57 (Debian)", VersionScheme::kGeneric, "2.4.57"},
      {"2.4.57", VersionScheme::kGeneric, "2.4.57"},
      {"  v1.2.3  ", VersionScheme::kGeneric, "1.2.3"},
      {"1.18.0 (Ubuntu)", VersionScheme::kGeneric, "1.18.0"},
      {"9.2p1 Debian-2+deb12u3", VersionScheme::kGeneric, "9.2p1"},
      {"9.2p1 Debian-2+deb12u3", VersionScheme::kOpenSsh, "9.2p1"},
      {"OpenSSH_9.8p1", VersionScheme::kOpenSsh, "9.8p1"},
      {"OpenSSH_9.8p1", VersionScheme::kGeneric, "9.8p1"},
      {"9.2p1 Debian-2+deb12u3", VersionScheme::kDebian, "9.2p1-2+deb12u3"},
      {"6.6.1p1 Ubuntu-2ubuntu2.13", VersionScheme::kDebian, "6.6.1p1-2ubuntu2.13"},
      {"1:2.4.57-2+deb12u1", VersionScheme::kDebian, "1:2.4.57-2+deb12u1"},
      {"Version 15.2(4)M3, RELEASE SOFTWARE (fc1)", VersionScheme::kCisco, "15.2(4)M3"},
      {"9.16(4)27", VersionScheme::kCisco, "9.16(4)27"},
      {"10.0.20348.2113", VersionScheme::kWindowsBuild, "10.0.20348.2113"},
      {"Windows Server 2022 10.0.20348", VersionScheme::kWindowsBuild, "2022"},
      {"1.0.0-beta+exp.sha.5114f85", VersionScheme::kSemver, "1.0.0-beta+exp.sha.5114f85"},
      {"version 7.2.4,build1396", VersionScheme::kGeneric, "7.2.4"},
      {"Microsoft-IIS/10.0", VersionScheme::kGeneric, "10.0"},
      {"", VersionScheme::kGeneric, std::nullopt},
      {"(Debian)", VersionScheme::kGeneric, std::nullopt},
      {"unknown", VersionScheme::kOpenSsh, std::nullopt},
      {"....", VersionScheme::kGeneric, std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NormaliseVersion(c.raw, c.scheme), c.want)
        << "'" << c.raw << "' under " << SchemeName(c.scheme);
  }
  EXPECT_FALSE(NormaliseVersion(std::string(kMaxVersionLength + 1, '1'), VersionScheme::kGeneric)
                   .has_value());
  EXPECT_EQ(NormaliseVersion(std::string(kMaxVersionLength, '1'), VersionScheme::kGeneric),
            std::string(kMaxVersionLength, '1'));
}

// ---------------------------------------------------------------------------------------------
// Hostile input

TEST(CompareVersionsTest, HostileInputNeverCrashesAndStaysConsistent) {
  const std::vector<std::string> inputs = {
      "",
      " ",
      ".",
      "-",
      "~",
      ":",
      "+",
      "()",
      "...---___:::~~~+++",
      std::string(100000, '.'),
      std::string(100000, '9'),
      std::string(100000, '~'),
      std::string(100000, '-'),
      std::string(100000, ':'),
      std::string(100000, 'a'),
      std::string(50000, '1') + "." + std::string(50000, '0'),
      "99999999999999999999999",
      "99999999999999999999999:1",
      "1.99999999999999999999999-99999999999999999999999",
      "OpenSSH_",
      "openssh",
      "v",
      "vv1",
      std::string("1.0\0" "2", 5),
      "\xff\xfe.\x80",
  };
  const VersionScheme schemes[] = {VersionScheme::kGeneric,      VersionScheme::kOpenSsh,
                                   VersionScheme::kDebian,       VersionScheme::kSemver,
                                   VersionScheme::kWindowsBuild, VersionScheme::kCisco};
  for (VersionScheme s : schemes) {
    for (const std::string& a : inputs) {
      EXPECT_EQ(CompareVersions(a, a, s), 0) << SchemeName(s) << " " << a.substr(0, 40);
      for (const std::string& b : inputs) {
        const int ab = CompareVersions(a, b, s);
        const int ba = CompareVersions(b, a, s);
        EXPECT_EQ(ab < 0, ba > 0) << SchemeName(s) << " " << a.substr(0, 40) << " vs "
                                  << b.substr(0, 40);
        EXPECT_EQ(ab == 0, ba == 0) << SchemeName(s);
      }
      (void)IsAffected(a, {{a, a, a}, {"0", "", a}}, s);
      const auto n = NormaliseVersion(a, s);
      if (n) {
        EXPECT_LE(n->size(), kMaxVersionLength);
      }
    }
    EXPECT_GT(CompareVersions("99999999999999999999999", "99999999999999999999998", s), 0)
        << SchemeName(s);
  }
  (void)GuessScheme(std::string(100000, 'd'));
  (void)GuessScheme(std::string(100000, '9'));
}

}  // namespace
}  // namespace rules
