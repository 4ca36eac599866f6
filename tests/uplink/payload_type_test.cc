#include "uplink/payload_type.h"

#include <string>

#include <gtest/gtest.h>

namespace uplink {
namespace {

TEST(PayloadTypeTest, NamesAndWireBytes) {
  EXPECT_EQ(PayloadTypeName(PayloadType::kInventory), "inventory");
  EXPECT_EQ(PayloadTypeName(PayloadType::kGap), "gap");
  EXPECT_EQ(PayloadTypeFromByte(2), PayloadType::kFlows);
  EXPECT_FALSE(PayloadTypeFromByte(0));
  EXPECT_FALSE(PayloadTypeFromByte(7));
}

TEST(PayloadTypeTest, AcceptsJsonLines) {
  EXPECT_TRUE(ValidJsonLines("{}\n", nullptr));
  EXPECT_TRUE(ValidJsonLines("{\"a\":\"\tæøå ✓ 𝄞\"}\n{\"b\": [1, 2]}\n", nullptr));
  EXPECT_TRUE(ValidJsonLines("{\"del\":\"\x7f\"}\n", nullptr));
}

TEST(PayloadTypeTest, RejectsWhatIsNotJsonLinesAndSaysWhere) {
  std::string why;
  EXPECT_FALSE(ValidJsonLines("", &why));
  EXPECT_FALSE(ValidJsonLines("{}", &why));
  EXPECT_FALSE(ValidJsonLines("{}\n\n", &why));
  EXPECT_EQ(why, "line 2: empty line");
  EXPECT_FALSE(ValidJsonLines("{}\n[]\n", &why));
  EXPECT_EQ(why, "line 2: does not start with '{'");
  EXPECT_FALSE(ValidJsonLines("{} \n", &why));
  EXPECT_FALSE(ValidJsonLines("{}\r\n", &why));
  EXPECT_EQ(why, "line 1: control character 0x0d");
  EXPECT_FALSE(ValidJsonLines(std::string("{\0}\n", 4), &why));
  // Overlong '/', a lone surrogate, above U+10FFFF, a stray continuation byte, a cut sequence.
  for (const char* bad : {"{\"\xC0\xAF\"}\n", "{\"\xED\xB0\x80\"}\n", "{\"\xF4\x90\x80\x80\"}\n",
                          "{\"\x80\"}\n", "{\"\xE2\x9C\"}\n"}) {
    EXPECT_FALSE(ValidJsonLines(bad, &why)) << bad;
    EXPECT_NE(why.find("invalid UTF-8"), std::string::npos) << why;
  }
}

}  // namespace
}  // namespace uplink
