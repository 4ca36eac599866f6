#include "rules/yaml.h"

#include <gtest/gtest.h>

namespace rules {
namespace {

TEST(YamlTest, ReportsSyntaxErrorsWithFileLineColumn) {
  auto doc = ParseYamlString("a: [1, 2\nb: 3\n", "bad.yaml");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().message.rfind("bad.yaml:", 0), 0u) << doc.error().message;
  EXPECT_NE(doc.error().message.find("did not find expected ',' or ']'"), std::string::npos)
      << doc.error().message;
}

TEST(YamlTest, KeepsMarksOfNodes) {
  auto doc = ParseYamlString("top:\n  inner: value\n", "x.yaml");
  ASSERT_TRUE(doc) << doc.error().message;
  const YamlNode* inner = doc->Find("top")->Find("inner");
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(inner->scalar(), "value");
  EXPECT_EQ(inner->mark().line, 2);
  EXPECT_EQ(inner->mark().column, 10);
}

TEST(YamlTest, RefusesAliasesAndDuplicateKeys) {
  auto alias = ParseYamlString("a: &x 1\nb: *x\n", "a.yaml");
  ASSERT_FALSE(alias);
  EXPECT_NE(alias.error().message.find("a.yaml:2:4: aliases"), std::string::npos)
      << alias.error().message;
  auto dup = ParseYamlString("a: 1\na: 2\n", "d.yaml");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("d.yaml:2:1: duplicate key 'a'"), std::string::npos)
      << dup.error().message;
}

TEST(YamlTest, RefusesDeepNesting) {
  std::string deep(200, '[');
  auto doc = ParseYamlString(deep, "deep.yaml");
  EXPECT_FALSE(doc);
}

TEST(YamlTest, TypedScalars) {
  auto doc = ParseYamlString(
      "d: 15m\nms: 250ms\ns: 512MiB\nb: yes\nn: 42\nbad_d: 5 weeks\nbig: 99999999999999999999\n",
      "t.yaml");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->Find("d")->AsDuration().value(), std::chrono::minutes(15));
  EXPECT_EQ(doc->Find("ms")->AsDuration().value(), std::chrono::milliseconds(250));
  EXPECT_EQ(doc->Find("s")->AsSize().value(), 512ULL << 20);
  EXPECT_TRUE(doc->Find("b")->AsBool().value());
  EXPECT_EQ(doc->Find("n")->AsInt(0, 100).value(), 42);
  auto out_of_range = doc->Find("n")->AsInt(0, 10);
  ASSERT_FALSE(out_of_range);
  EXPECT_EQ(out_of_range.error().message, "t.yaml:5:4: value 42 is out of range [0, 10]");
  auto bad = doc->Find("bad_d")->AsDuration();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "t.yaml:6:8: unknown duration unit 'weeks' (ms, s, m, h, d)");
  EXPECT_FALSE(doc->Find("big")->AsInt(0, INT64_MAX));
  EXPECT_FALSE(doc->Find("big")->AsSize());
}

TEST(MappingReaderTest, RejectsUnknownAndMissingKeys) {
  auto doc = ParseYamlString("known: 1\nunknwn: 2\n", "m.yaml");
  ASSERT_TRUE(doc);
  int known = 0;
  MappingReader r(*doc);
  r.Required("known", [&](const YamlNode& v) -> Result<> {
    known = static_cast<int>(v.AsInt(0, 9).value());
    return {};
  });
  auto done = r.Finish();
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().message, "m.yaml:2:1: unknown key 'unknwn' (known here: known)");

  auto empty = ParseYamlString("other: 1\n", "e.yaml");
  MappingReader r2(*empty);
  r2.Required("need", [](const YamlNode&) -> Result<> { return {}; });
  r2.Optional("other", [](const YamlNode&) -> Result<> { return {}; });
  auto missing = r2.Finish();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "e.yaml:1:1: missing required key 'need'");
}

}  // namespace
}  // namespace rules
