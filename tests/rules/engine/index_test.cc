// The indicator indexes with 100,000 entries: exact addresses, CIDRs, domain suffixes. Also prints
// the cost of a flow check and a DNS answer check (information, not an assertion).
#include <unistd.h>

#include <filesystem>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "rules/engine/indicator_index.h"
#include "rules/engine/rule_set.h"

namespace rules::engine {
namespace {

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

TEST(IndexTest, CidrIndexLongestFirstAndBothFamilies) {
  CidrIndex idx;
  idx.Add(*Cidr::Parse("10.0.0.0/8"), 1);
  idx.Add(*Cidr::Parse("10.1.0.0/16"), 2);
  idx.Add(*Cidr::Parse("10.1.2.3"), 3);
  idx.Add(*Cidr::Parse("10.1.2.3/32"), 3);  // duplicate: one entry
  idx.Add(*Cidr::Parse("2001:db8::/32"), 4);
  EXPECT_EQ(idx.size(), 4u);
  EXPECT_EQ(idx.prefix_lengths(), 4u);
  RuleRefs out;
  idx.Lookup(Ip("10.1.2.3"), &out);
  EXPECT_EQ(out, (RuleRefs{3, 2, 1}));
  out.clear();
  idx.Lookup(Ip("10.2.0.1"), &out);
  EXPECT_EQ(out, RuleRefs{1});
  out.clear();
  idx.Lookup(Ip("2001:db8:ffff::1"), &out);
  EXPECT_EQ(out, RuleRefs{4});
  out.clear();
  idx.Lookup(Ip("11.0.0.1"), &out);
  idx.Lookup(Ip("::ffff:0a00:0001"), &out);  // the mapped form of 10.0.0.1 is 10.0.0.1
  EXPECT_EQ(out, RuleRefs{1});
}

TEST(IndexTest, DomainIndexExactAndSuffix) {
  DomainIndex idx;
  idx.AddExact("Exact.Example.", 1);
  idx.AddSuffix("bad.example", 2);
  RuleRefs out;
  idx.Lookup("EXACT.example", &out);
  EXPECT_EQ(out, RuleRefs{1});
  out.clear();
  idx.Lookup("sub.exact.example", &out);
  EXPECT_TRUE(out.empty());
  idx.Lookup("bad.example", &out);
  idx.Lookup("a.b.c.bad.example.", &out);
  EXPECT_EQ(out, (RuleRefs{2, 2}));
  out.clear();
  idx.Lookup("notbad.example", &out);
  idx.Lookup("bad.example.org", &out);
  idx.Lookup("", &out);
  idx.Lookup(std::string(300, 'a'), &out);
  EXPECT_TRUE(out.empty());
  std::string n;
  EXPECT_FALSE(NormaliseDomain("a b", &n));
  EXPECT_TRUE(NormaliseDomain("A-b_c.Example.", &n));
  EXPECT_EQ(n, "a-b_c.example");
}

// 100,000 entries of each kind, written to files the way a feed arrives.
class LargeIndexTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A folder of this process's own: CTest runs the tests of this suite in parallel processes.
    dir_ = new std::string(::testing::TempDir() + "rules_engine_large_" +
                           std::to_string(getpid()));
    std::filesystem::create_directories(*dir_);
    {
    std::ofstream ips(*dir_ + "/rules_engine_100k_ips.txt");
    std::ofstream nets(*dir_ + "/rules_engine_100k_cidrs.txt");
    std::ofstream names(*dir_ + "/rules_engine_100k_domains.txt");
    for (uint32_t i = 0; i < 100000; ++i) {
      uint32_t a = 0x2d000000u + i * 7;  // 45.x.y.z
      ips << (a >> 24) << '.' << ((a >> 16) & 255) << '.' << ((a >> 8) & 255) << '.' << (a & 255)
          << '\n';
      uint32_t n = 0x50000000u + (i << 8);  // 80.0.0.0 + i*256, /24 .. /28
      nets << (n >> 24) << '.' << ((n >> 16) & 255) << '.' << ((n >> 8) & 255) << ".0/"
           << 24 + i % 5 << '\n';
      names << "*.host" << i << ".c2-" << i % 97 << ".example\n";
    }
    }  // closes the files
    auto set = LoadRuleString(R"(
- id: big
  title: 300k indicators
  severity: high
  indicator:
    ips_file: [rules_engine_100k_ips.txt, rules_engine_100k_cidrs.txt]
    domains_file: rules_engine_100k_domains.txt
)", "big.yaml", *dir_);
    ASSERT_TRUE(set) << set.error().message;
    set_ = new RuleSet(std::move(*set));
  }
  static void TearDownTestSuite() {
    for (const char* f : {"ips", "cidrs", "domains"}) {
      std::remove((*dir_ + "/rules_engine_100k_" + f + ".txt").c_str());
    }
    std::filesystem::remove_all(*dir_);
    delete set_;
    delete dir_;
  }
  static std::string* dir_;
  static RuleSet* set_;
};
std::string* LargeIndexTest::dir_ = nullptr;
RuleSet* LargeIndexTest::set_ = nullptr;

TEST_F(LargeIndexTest, FindsEveryKindAndNothingElse) {
  EXPECT_EQ(set_->rules()[0].indicator.ips, 200000u);
  EXPECT_EQ(set_->rules()[0].indicator.domain_suffixes, 100000u);
  EXPECT_EQ(set_->stats().cidr_prefix_lengths, 6u);  // /32 and /24 .. /28
  FlowObservation f;
  f.orig = Ip("10.0.0.1");
  f.resp = Ip("45.0.0.7");  // entry 1
  EXPECT_EQ(set_->Evaluate(f).size(), 1u);
  f.resp = Ip("45.0.0.8");
  EXPECT_TRUE(set_->Evaluate(f).empty());
  f.resp = Ip("80.0.3.5");  // entry 3: 80.0.3.0/27
  EXPECT_EQ(set_->Evaluate(f).size(), 1u);
  f.resp = Ip("80.0.3.40");  // outside the /27
  EXPECT_TRUE(set_->Evaluate(f).empty());
  DnsObservation d;
  d.query = "x.y.host99999.c2-89.example";
  EXPECT_EQ(set_->Evaluate(d).size(), 1u);
  d.query = "host99999.c2-90.example";
  EXPECT_TRUE(set_->Evaluate(d).empty());
}

TEST_F(LargeIndexTest, ReportCostPerCheck) {
  constexpr int kRounds = 50000;
  FlowObservation f;
  f.orig = Ip("10.0.0.1");
  f.resp = Ip("93.184.216.34");
  f.resp_port = 443;
  f.sni = "www.example.org";
  DnsObservation d;
  d.query = "www.example.org";
  d.answers = {"93.184.216.34"};
  size_t hits = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) hits += set_->Evaluate(f).size();
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) hits += set_->Evaluate(d).size();
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(hits, 0u);
  auto ns = [](auto a, auto b) {
    return std::chrono::duration<double, std::nano>(b - a).count() / kRounds;
  };
  std::printf("[ info ] 300k indicators: flow check (2 addresses + SNI) %.0f ns, DNS answer "
              "check (query + 1 address) %.0f ns\n",
              ns(t0, t1), ns(t1, t2));
}

}  // namespace
}  // namespace rules::engine
