#include "sensor/logs/json_value.h"

#include <gtest/gtest.h>

namespace sensor {
namespace {

TEST(JsonValueTest, ParsesObjectsWithEscapesAndSurrogates) {
  auto v = ParseJson(R"({"raw":"a\tb\u00e4\ud83d\ude00","n":[1,2.5,true,null],"o":{}})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->Get("raw")->text, "a\tb\xC3\xA4\xF0\x9F\x98\x80");
  EXPECT_EQ(v->Get("n")->items.size(), 4u);
  EXPECT_TRUE(v->Get("o")->is_object());
  EXPECT_EQ(v->Get("missing"), nullptr);
}

TEST(JsonValueTest, RejectsMalformedAndTooDeepInput) {
  EXPECT_FALSE(ParseJson("{\"a\":}"));
  EXPECT_FALSE(ParseJson("[1,2"));
  EXPECT_FALSE(ParseJson("{} x"));
  EXPECT_FALSE(ParseJson(std::string(1000, '[') + std::string(1000, ']')));
}

TEST(JsonValueTest, DecodesBase64) {
  EXPECT_EQ(*DecodeBase64("PDE+MSAtIC0="), "<1>1 - -");
  EXPECT_EQ(*DecodeBase64("AP8"), std::string("\0\xff", 2));
  EXPECT_FALSE(DecodeBase64("a*b"));
}

}  // namespace
}  // namespace sensor
