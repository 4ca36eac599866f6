#include "uplink/sequence_counter.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace uplink {
namespace {

std::string ScratchDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = ::testing::TempDir() + "/uplink_seq_" + info->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(SequenceCounterTest, StartsAtOneAndCounts) {
  const std::string path = ScratchDir() + "/envelope.seq";
  auto counter = SequenceCounter::Open(path, 4);
  ASSERT_TRUE(counter) << counter.error().message;
  for (uint64_t want = 1; want <= 10; ++want) {
    auto n = (*counter)->Next();
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, want);
  }
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(SequenceCounterTest, NeverReusesAcrossRestarts) {
  const std::string path = ScratchDir() + "/envelope.seq";
  std::set<uint64_t> seen;
  uint64_t last = 0;
  uint64_t reserved = 0;  // what the blocks can have cost in total
  for (int restart = 0; restart < 50; ++restart) {
    reserved += (restart % 11 + 7) / 8 * 8;
    // Each iteration is a process that hands out a few numbers and then dies without notice.
    auto counter = SequenceCounter::Open(path, 8);
    ASSERT_TRUE(counter) << counter.error().message;
    for (int i = 0; i < restart % 11; ++i) {
      auto n = (*counter)->Next();
      ASSERT_TRUE(n);
      EXPECT_TRUE(seen.insert(*n).second) << "reused " << *n;
      EXPECT_GT(*n, last);
      last = *n;
    }
  }
  EXPECT_FALSE(seen.empty());
  // Skips are bounded by the blocks reserved and left unused at each "crash".
  EXPECT_LE(last, reserved);
}

TEST(SequenceCounterTest, BlockIsPersistedBeforeItsFirstNumberIsUsed) {
  const std::string path = ScratchDir() + "/envelope.seq";
  auto first = SequenceCounter::Open(path, 100);
  ASSERT_TRUE(first);
  ASSERT_EQ(*(*first)->Next(), 1u);
  // A second process opening now (as after a crash right here) starts past the whole block.
  auto second = SequenceCounter::Open(path, 100);
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)->peek(), 101u);
}

TEST(SequenceCounterTest, CorruptFileIsAnErrorNotARestart) {
  const std::string dir = ScratchDir();
  const std::string path = dir + "/envelope.seq";
  {
    auto counter = SequenceCounter::Open(path, 4);
    ASSERT_TRUE(counter);
    ASSERT_TRUE((*counter)->Next());
  }
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(bytes.size(), 20u);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x10;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bad;
    auto counter = SequenceCounter::Open(path, 4);
    ASSERT_FALSE(counter) << "byte " << i;
    EXPECT_EQ(counter.error().code, rules::ErrorCode::kParse);
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, 19);
  EXPECT_FALSE(SequenceCounter::Open(path, 4));
}

TEST(SequenceCounterTest, AdvancePastSkipsAndPersists) {
  const std::string path = ScratchDir() + "/batch.seq";
  auto counter = SequenceCounter::Open(path, 4);
  ASSERT_TRUE(counter);
  (*counter)->AdvancePast(1000);
  EXPECT_EQ(*(*counter)->Next(), 1001u);
  auto again = SequenceCounter::Open(path, 4);
  ASSERT_TRUE(again);
  EXPECT_GT(*(*again)->Next(), 1001u);
}

}  // namespace
}  // namespace uplink
