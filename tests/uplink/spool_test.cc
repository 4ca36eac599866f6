#include "uplink/spool.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace uplink {
namespace {

namespace fs = std::filesystem;

std::string ScratchDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = ::testing::TempDir() + "/uplink_spool_" + info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir + "/spool";
}

std::string Lines(int n, const std::string& tag) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "{\"tag\":\"" + tag + "\",\"i\":" + std::to_string(i) + "}\n";
  }
  return out;
}

Batch Make(PayloadType type, const std::string& tag, int lines = 3) {
  return MakeBatch(type, 1700000000000000, 1699999940000000, 1700000000000000, Lines(lines, tag));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(SpoolTest, PutListReadRemove) {
  SpoolConfig config;
  config.dir = ScratchDir();
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer) << writer.error().message;
  std::vector<uint64_t> seqs;
  for (auto type : {PayloadType::kInventory, PayloadType::kFlows, PayloadType::kAlerts}) {
    auto put = (*writer)->Put(Make(type, std::string(PayloadTypeName(type))));
    ASSERT_TRUE(put) << put.error().message;
    EXPECT_EQ(put->dropped_batches, 0u);
    seqs.push_back(put->batch_seq);
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ((*writer)->stats().batches_put, 3u);

  auto reader = SpoolReader::Open(config);
  ASSERT_TRUE(reader) << reader.error().message;
  auto list = (*reader)->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].file_name, "00000000000000000001-p2.batch");
  EXPECT_EQ((*list)[1].file_name, "00000000000000000002-p0.batch");
  struct stat st {};
  ASSERT_EQ(::stat((config.dir + "/" + (*list)[0].file_name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  for (size_t i = 0; i < list->size(); ++i) {
    auto batch = (*reader)->Read((*list)[i]);
    ASSERT_TRUE(batch) << batch.error().message;
    ASSERT_TRUE(batch->has_value());
    EXPECT_EQ((*batch)->batch_seq, seqs[i]);
    EXPECT_EQ((*batch)->window_start_us, 1699999940000000);
    EXPECT_EQ((*batch)->created_at_us, 1700000000000000);
    EXPECT_EQ((*batch)->json_lines, Lines(3, std::string(PayloadTypeName((*batch)->payload_type))));
    ASSERT_TRUE((*reader)->Remove((*list)[i]));
  }
  EXPECT_TRUE((*reader)->Remove((*list)[0])) << "removing twice is fine";
  list = (*reader)->List();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  EXPECT_EQ((*reader)->stats().batches_read, 3u);
}

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// The examples in docs/formats.md ("Batch file", "Sequence counter file").
TEST(SpoolTest, FilesMatchTheFormatsDocExamples) {
  SpoolConfig config;
  config.dir = ScratchDir();
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Put(MakeBatch(PayloadType::kInventory, 1700000000000000, 1699999940000000,
                                       1700000000000000, "{}\n")));
  EXPECT_EQ(Hex(ReadAll(config.dir + "/00000000000000000001-p2.batch")),
            "8955544b420d0a1a00010102000000000000000100060a24181e400000060a24148ab90000060a24181e"
            "4000000000037b7d0ab0f4a40d");
  EXPECT_EQ(Hex(ReadAll(config.dir + "/batch.seq")), "55544b53455100010000000000000401757829dd");
}

TEST(SpoolTest, RefusesWhatIsNotJsonLines) {
  SpoolConfig config;
  config.dir = ScratchDir();
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer);
  Batch bad = Make(PayloadType::kFlows, "x");
  bad.json_lines = "not json\n";
  auto put = (*writer)->Put(bad);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, rules::ErrorCode::kInvalidArgument);
}

TEST(SpoolTest, OneWriterAtATime) {
  SpoolConfig config;
  config.dir = ScratchDir();
  auto first = SpoolWriter::Open(config);
  ASSERT_TRUE(first);
  EXPECT_FALSE(SpoolWriter::Open(config));
  first->reset();
  EXPECT_TRUE(SpoolWriter::Open(config));
}

TEST(SpoolTest, LeftoverTempFilesAreIgnoredThenCleaned) {
  SpoolConfig config;
  config.dir = ScratchDir();
  {
    auto writer = SpoolWriter::Open(config);
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->Put(Make(PayloadType::kFlows, "a")));
  }
  // A crash between create and rename leaves a hidden, partial file.
  const std::string whole = ReadAll(config.dir + "/00000000000000000001-p0.batch");
  WriteAll(config.dir + "/.tmp-00000000000000000002-p0.batch", whole.substr(0, 20));
  WriteAll(config.dir + "/.tmp-batch.seq", "xx");
  auto reader = SpoolReader::Open(config);
  ASSERT_TRUE(reader);
  auto list = (*reader)->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].batch_seq, 1u);

  auto writer = SpoolWriter::Open(config);  // the restarted sensor
  ASSERT_TRUE(writer);
  EXPECT_EQ((*writer)->stats().temp_files_removed, 2u);
  EXPECT_FALSE(fs::exists(config.dir + "/.tmp-00000000000000000002-p0.batch"));
  auto put = (*writer)->Put(Make(PayloadType::kFlows, "b"));
  ASSERT_TRUE(put);
  EXPECT_GT(put->batch_seq, 1u);
}

TEST(SpoolTest, CorruptFilesAreQuarantinedAndTheRestStillRead) {
  SpoolConfig config;
  config.dir = ScratchDir();
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*writer)->Put(Make(PayloadType::kInventory, "b" + std::to_string(i))));
  }
  const std::string name2 = config.dir + "/00000000000000000002-p2.batch";
  const std::string name4 = config.dir + "/00000000000000000004-p2.batch";
  std::string bytes = ReadAll(name2);
  WriteAll(name2, bytes.substr(0, bytes.size() - 7));  // torn
  bytes = ReadAll(name4);
  bytes[60] ^= 0x04;  // bit rot inside the JSON
  WriteAll(name4, bytes);

  auto reader = SpoolReader::Open(config);
  ASSERT_TRUE(reader);
  auto list = (*reader)->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 5u);
  std::vector<uint64_t> good;
  for (const BatchRef& ref : *list) {
    auto batch = (*reader)->Read(ref);
    ASSERT_TRUE(batch) << batch.error().message;
    if (batch->has_value()) {
      good.push_back((*batch)->batch_seq);
    }
  }
  EXPECT_EQ(good, (std::vector<uint64_t>{1, 3, 5}));
  const auto& q = (*reader)->stats().quarantined;
  EXPECT_EQ(q[static_cast<size_t>(QuarantineReason::kTruncated)], 1u);
  EXPECT_EQ(q[static_cast<size_t>(QuarantineReason::kBadCrc)], 1u);
  EXPECT_EQ(Names(config.dir + "/quarantine"),
            (std::vector<std::string>{"00000000000000000002-p2.batch.truncated",
                                      "00000000000000000004-p2.batch.bad_crc"}));
  list = (*reader)->List();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 3u);
}

TEST(SpoolTest, EverySingleByteChangeOfABatchFileIsQuarantined) {
  SpoolConfig config;
  config.dir = ScratchDir();
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Put(Make(PayloadType::kAlerts, "a", 1)));
  auto reader = SpoolReader::Open(config);
  ASSERT_TRUE(reader);
  auto list = (*reader)->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  const BatchRef ref = (*list)[0];
  const std::string path = config.dir + "/" + ref.file_name;
  const std::string good = ReadAll(path);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x01;
    WriteAll(path, bad);
    auto batch = (*reader)->Read(ref);
    ASSERT_TRUE(batch);
    EXPECT_FALSE(batch->has_value()) << "byte " << i;
    EXPECT_FALSE(fs::exists(path));
  }
  for (size_t len = 0; len < good.size(); ++len) {
    WriteAll(path, good.substr(0, len));
    auto batch = (*reader)->Read(ref);
    ASSERT_TRUE(batch);
    EXPECT_FALSE(batch->has_value()) << "length " << len;
  }
  WriteAll(path, good);
  auto batch = (*reader)->Read(ref);
  ASSERT_TRUE(batch);
  EXPECT_TRUE(batch->has_value());
  uint64_t total = 0;
  for (uint64_t n : (*reader)->stats().quarantined) {
    total += n;
  }
  EXPECT_EQ(total, 2 * good.size());
}

// Reads every gap record line in the spool.
std::vector<std::string> GapLines(SpoolReader& reader) {
  std::vector<std::string> lines;
  auto list = reader.List();
  EXPECT_TRUE(list);
  for (const BatchRef& ref : *list) {
    if (ref.priority != Priority::kGap) {
      continue;
    }
    auto batch = reader.Read(ref);
    EXPECT_TRUE(batch && batch->has_value());
    EXPECT_EQ((*batch)->payload_type, PayloadType::kGap);
    std::string text = (*batch)->json_lines;
    for (size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines.push_back(text.substr(start, nl - start));
    }
  }
  return lines;
}

TEST(SpoolTest, WhenFullOldestFlowsGoFirstAndEveryDropIsRecorded) {
  SpoolConfig config;
  config.dir = ScratchDir();
  const Batch sample = Make(PayloadType::kFlows, "f0", 10);
  const uint64_t file_bytes = 52 + sample.json_lines.size();
  config.max_bytes = 6 * file_bytes;  // room for six batches of this size
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer);
  // f0 f1 f2 (flows), i0 i1 (inventory), h0 (health): full.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*writer)->Put(Make(PayloadType::kFlows, "f" + std::to_string(i), 10)));
  }
  ASSERT_TRUE((*writer)->Put(Make(PayloadType::kInventory, "i0", 10)));
  ASSERT_TRUE((*writer)->Put(Make(PayloadType::kInventory, "i1", 10)));
  ASSERT_TRUE((*writer)->Put(Make(PayloadType::kHealth, "h0", 10)));
  EXPECT_EQ((*writer)->stats().dropped_batches, 0u);

  // An alert arrives: the oldest flow batch (seq 1) goes.
  auto put = (*writer)->Put(Make(PayloadType::kAlerts, "a0", 10));
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(put->dropped_batches, 1u);
  EXPECT_FALSE(fs::exists(config.dir + "/00000000000000000001-p0.batch"));
  EXPECT_TRUE(fs::exists(config.dir + "/00000000000000000002-p0.batch"));

  // Two more inventory batches: flows 2 and 3 go; then health; inventory and alerts stay.
  ASSERT_TRUE((*writer)->Put(Make(PayloadType::kInventory, "i2", 10)));
  ASSERT_TRUE((*writer)->Put(Make(PayloadType::kInventory, "i3", 10)));
  ASSERT_TRUE((*writer)->Put(Make(PayloadType::kInventory, "i4", 10)));
  const auto& stats = (*writer)->stats();
  EXPECT_EQ(stats.dropped_batches, 4u);
  EXPECT_EQ(stats.dropped_by_type[static_cast<size_t>(PayloadType::kFlows)], 3u);
  EXPECT_EQ(stats.dropped_by_type[static_cast<size_t>(PayloadType::kHealth)], 1u);
  EXPECT_EQ(stats.dropped_bytes, 4 * file_bytes);
  EXPECT_EQ(stats.gap_batches_written, 4u);

  // Now only inventory and alerts: a flow batch cannot push them out and is refused.
  auto refused = (*writer)->Put(Make(PayloadType::kFlows, "f9", 10));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, rules::ErrorCode::kSpoolFull);
  EXPECT_EQ((*writer)->stats().refused_batches, 1u);
  EXPECT_EQ((*writer)->stats().dropped_by_type[static_cast<size_t>(PayloadType::kFlows)], 4u);

  auto reader = SpoolReader::Open(config);
  ASSERT_TRUE(reader);
  uint64_t regular_bytes = 0;
  std::multiset<PayloadType> kept;
  auto list = (*reader)->List();
  ASSERT_TRUE(list);
  for (const BatchRef& ref : *list) {
    if (ref.priority == Priority::kGap) {
      continue;
    }
    regular_bytes += ref.file_bytes;
    auto batch = (*reader)->Read(ref);
    ASSERT_TRUE(batch && batch->has_value());
    kept.insert((*batch)->payload_type);
  }
  EXPECT_LE(regular_bytes, config.max_bytes);
  EXPECT_EQ(kept.count(PayloadType::kInventory), 5u);
  EXPECT_EQ(kept.count(PayloadType::kAlerts), 1u);
  EXPECT_EQ(kept.count(PayloadType::kFlows), 0u);

  const auto lines = GapLines(**reader);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0],
            "{\"kind\":\"spool_drop\",\"reason\":\"spool_full\",\"payload_type\":\"flows\","
            "\"batches\":1,\"bytes\":" +
                std::to_string(file_bytes) +
                ",\"first_batch_seq\":1,\"last_batch_seq\":1,\"window_start_us\":1699999940000000,"
                "\"window_end_us\":1700000000000000}");
  EXPECT_NE(lines[3].find("\"payload_type\":\"health\""), std::string::npos);
  EXPECT_NE(lines[4].find("\"reason\":\"refused\""), std::string::npos);
  EXPECT_NE(lines[4].find("\"payload_type\":\"flows\""), std::string::npos);
}

TEST(SpoolTest, GapReserveBoundsGapRecordsAndCountsWhatItCannotRecord) {
  SpoolConfig config;
  config.dir = ScratchDir();
  const Batch sample = Make(PayloadType::kFlows, "f", 10);
  config.max_bytes = 2 * (52 + sample.json_lines.size());
  config.gap_reserve_bytes = 300;  // one gap batch fits, a second one does not
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*writer)->Put(Make(PayloadType::kFlows, "f", 10)));
  }
  const auto& stats = (*writer)->stats();
  EXPECT_EQ(stats.dropped_batches, 3u);
  EXPECT_EQ(stats.gap_batches_written, 1u);
  EXPECT_EQ(stats.gap_records_lost, 2u);
}

TEST(SpoolTest, BatchNumbersNeverRepeatAcrossRestarts) {
  SpoolConfig config;
  config.dir = ScratchDir();
  config.sequence_block = 4;
  std::set<uint64_t> seen;
  for (int restart = 0; restart < 6; ++restart) {
    auto writer = SpoolWriter::Open(config);
    ASSERT_TRUE(writer) << writer.error().message;
    for (int i = 0; i < 3; ++i) {
      auto put = (*writer)->Put(Make(PayloadType::kHealth, "h"));
      ASSERT_TRUE(put);
      EXPECT_TRUE(seen.insert(put->batch_seq).second);
    }
  }
  // The counter file lost (say, restored from an old backup): files on disk still win.
  fs::remove(config.dir + "/batch.seq");
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer);
  auto put = (*writer)->Put(Make(PayloadType::kHealth, "h"));
  ASSERT_TRUE(put);
  EXPECT_GT(put->batch_seq, *seen.rbegin());
}

TEST(SpoolTest, ForeignAndHiddenNamesAreIgnored) {
  SpoolConfig config;
  config.dir = ScratchDir();
  auto writer = SpoolWriter::Open(config);
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->Put(Make(PayloadType::kFlows, "a")));
  for (const char* name : {"README", "00000000000000000009-p7.batch", "9-p0.batch",
                           "00000000000000000000-p0.batch", ".00000000000000000009-p0.batch"}) {
    WriteAll(config.dir + "/" + name, "x");
  }
  auto reader = SpoolReader::Open(config);
  ASSERT_TRUE(reader);
  auto list = (*reader)->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  // A batch name on an empty file is quarantined as truncated.
  WriteAll(config.dir + "/00000000000000000099-p1.batch", "");
  list = (*reader)->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  auto batch = (*reader)->Read((*list)[1]);
  ASSERT_TRUE(batch);
  EXPECT_FALSE(batch->has_value());
  EXPECT_EQ((*reader)->stats().quarantined[static_cast<size_t>(QuarantineReason::kTruncated)], 1u);
}

}  // namespace
}  // namespace uplink
