// The local log store (sensor/logs/log_store.h; format in docs/logs.md, "Store format").
#include "sensor/logs/log_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "log_store_format.h"
#include "sensor/logs/syslog_parser.h"

namespace sensor {

namespace {

using rules::ErrorCode;
using rules::Fail;
using rules::IpAddress;
using rules::Result;
using store_format::BlockHeader;

constexpr int64_t kHourUs = 3600LL * 1000 * 1000;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// The ring slot of hour number h (h may be negative for times before 1970).
size_t HourSlot(int64_t h) { return static_cast<size_t>(((h % 24) + 24) % 24); }

// Adds `count` messages at time_us to the hourly ring ending at last_seen_us.
void CountHour(SenderStats* s, int64_t time_us, uint32_t count) {
  int64_t hour = time_us / kHourUs;
  int64_t last = s->last_seen_us / kHourUs;
  if (s->messages == 0 || hour > last) {
    int64_t from = s->messages == 0 ? hour - 23 : last + 1;
    for (int64_t h = std::max(from, hour - 23); h <= hour; ++h) s->hourly[HourSlot(h)] = 0;
  } else if (last - hour >= 24) {
    return;  // older than the window
  }
  s->hourly[HourSlot(hour)] += count;
}

// ---- sender statistics file ------------------------------------------------------------------

// A place in the store: segment number and byte offset (the end of a block).
struct Position {
  uint64_t segment = 0;
  uint64_t offset = 0;
};

std::string FormatSenders(const std::vector<SenderStats>& senders, uint64_t segments_dropped,
                          uint64_t records_dropped, Position covered) {
  std::string out = "# utkikk log senders v1 segments_dropped=" + std::to_string(segments_dropped) +
                    " records_dropped=" + std::to_string(records_dropped) +
                    " covers_segment=" + std::to_string(covered.segment) +
                    " covers_offset=" + std::to_string(covered.offset) + "\n";
  for (const SenderStats& s : senders) {
    out += s.sender.ToString();
    for (uint64_t v : {s.messages, s.bytes, s.dropped, s.no_severity}) out += "\t" + std::to_string(v);
    out += "\t" + std::to_string(s.first_seen_us) + "\t" + std::to_string(s.last_seen_us);
    out += "\t";
    for (size_t i = 0; i < s.severities.size(); ++i) {
      out += (i ? "," : "") + std::to_string(s.severities[i]);
    }
    out += "\t";
    for (size_t i = 0; i < s.hourly.size(); ++i) out += (i ? "," : "") + std::to_string(s.hourly[i]);
    out += "\n";
  }
  return out;
}

bool ParseU64List(std::string_view text, uint64_t* out, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t comma = text.find(',');
    std::string part(text.substr(0, comma));
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || errno != 0) return false;
    out[i++] = v;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return i == n;
}

bool ParseSenderLine(std::string_view line, SenderStats* s) {
  std::vector<std::string_view> cols;
  while (true) {
    size_t tab = line.find('\t');
    cols.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) break;
    line.remove_prefix(tab + 1);
  }
  if (cols.size() != 9) return false;
  auto addr = IpAddress::Parse(cols[0]);
  if (!addr) return false;
  s->sender = *addr;
  uint64_t v[6];
  for (int i = 0; i < 6; ++i) {
    if (!ParseU64List(cols[1 + i], &v[i], 1)) return false;
  }
  s->messages = v[0];
  s->bytes = v[1];
  s->dropped = v[2];
  s->no_severity = v[3];
  s->first_seen_us = static_cast<int64_t>(v[4]);
  s->last_seen_us = static_cast<int64_t>(v[5]);
  if (!ParseU64List(cols[7], s->severities.data(), 8)) return false;
  uint64_t hours[24];
  if (!ParseU64List(cols[8], hours, 24)) return false;
  for (int i = 0; i < 24; ++i) s->hourly[i] = static_cast<uint32_t>(hours[i]);
  return true;
}

struct SendersFile {
  std::vector<SenderStats> senders;
  uint64_t segments_dropped = 0;
  uint64_t records_dropped = 0;
  Position covered;
};

Result<SendersFile> LoadSenders(const std::string& dir) {
  SendersFile file;
  std::string path = dir + "/" + store_format::kSendersFile;
  auto text = store_format::ReadWholeFile(path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return file;
    return tl::make_unexpected(text.error());
  }
  std::string_view rest = *text;
  int line_no = 0;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    if (line[0] == '#') {
      for (auto [key, out] : {std::pair{"segments_dropped=", &file.segments_dropped},
                              std::pair{"records_dropped=", &file.records_dropped},
                              std::pair{"covers_segment=", &file.covered.segment},
                              std::pair{"covers_offset=", &file.covered.offset}}) {
        size_t at = line.find(key);
        if (at != std::string_view::npos) {
          *out = std::strtoull(std::string(line.substr(at + std::strlen(key))).c_str(), nullptr, 10);
        }
      }
      continue;
    }
    SenderStats s;
    if (!ParseSenderLine(line, &s)) {
      return Fail(ErrorCode::kParse, path + ":" + std::to_string(line_no) + ": bad sender line");
    }
    file.senders.push_back(s);
  }
  return file;
}

// ---- the writer --------------------------------------------------------------------------------

struct Segment {
  uint64_t number = 0;
  uint64_t bytes = 0;
  uint64_t records = 0;
  int64_t max_time_us = std::numeric_limits<int64_t>::min();
};

class LogStoreImpl final : public LogStore {
 public:
  explicit LogStoreImpl(const LogStoreConfig& config) : config_(config) {}

  ~LogStoreImpl() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Result<> Open() {
    if (::mkdir(config_.directory.c_str(), 0750) != 0 && errno != EEXIST) {
      return Fail(ErrorCode::kIo, Errno("log store " + config_.directory));
    }
    std::string lock_path = config_.directory + "/LOCK";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (lock_fd_ < 0) return Fail(ErrorCode::kIo, Errno(lock_path));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return Fail(ErrorCode::kIo, Errno(lock_path + ": another writer holds the store"));
    }
    auto loaded = LoadSenders(config_.directory);
    if (!loaded) return tl::make_unexpected(loaded.error());
    for (const SenderStats& s : loaded->senders) senders_[s.sender] = s;
    stats_.segments_dropped = loaded->segments_dropped;
    stats_.records_dropped = loaded->records_dropped;

    auto numbers = store_format::ListSegments(config_.directory);
    if (!numbers) return tl::make_unexpected(numbers.error());
    for (uint64_t n : *numbers) {
      std::string path = store_format::SegmentPath(config_.directory, n);
      store_format::SegmentSummary summary;
      auto ok = store_format::SummarizeSegment(path, n == numbers->back(), &summary);
      if (!ok) return tl::make_unexpected(ok.error());
      if (summary.valid_bytes < summary.file_bytes && n == numbers->back()) {
        // A torn tail (kill -9 or power loss mid-block): cut it off so the segment ends clean.
        // Only the last segment can have one; older ones were fsynced when they were closed.
        stats_.torn_blocks += 1;
        if (::truncate(path.c_str(), static_cast<off_t>(summary.valid_bytes)) != 0) {
          return Fail(ErrorCode::kIo, Errno(path + ": truncate torn block"));
        }
      }
      segments_.push_back(Segment{n, summary.valid_bytes, summary.records, summary.max_time_us});
      next_segment_ = n + 1;
    }
    stats_.segments = segments_.size();
    // Records written after the last senders.tsv (a crash in between) are counted again here.
    for (const Segment& seg : segments_) {
      if (seg.number < loaded->covered.segment) continue;
      uint64_t from = seg.number == loaded->covered.segment ? loaded->covered.offset : 0;
      LogScanStats ignored;
      auto ok = store_format::ReadSegment(
          store_format::SegmentPath(config_.directory, seg.number), from,
          [](const BlockHeader&) { return true; },
          [this](const StoredLogRecord& r) {
            Account(LogRecord{r.receive_time_us, r.sender, r.transport, r.severity, r.raw});
            return true;
          },
          &ignored);
      if (!ok) return tl::make_unexpected(ok.error());
      covered_ = Position{seg.number, seg.bytes};
    }
    writer_ = std::thread([this] { WriterLoop(); });
    return {};
  }

  void Append(const LogRecord& r) override {
    std::lock_guard lock(mu_);
    PendingBlock& b = current_;
    if (b.count == 0) b.since = std::chrono::steady_clock::now();
    store_format::AppendRecord(r, &b.records);
    ++b.count;
    b.min_time_us = std::min(b.min_time_us, r.receive_time_us);
    b.max_time_us = std::max(b.max_time_us, r.receive_time_us);
    b.senders.insert(r.sender);
    ++stats_.appended;
    stats_.queued_bytes += store_format::kRecordHeaderBytes + r.raw.size();
    if (b.records.size() >= config_.block_bytes) {
      ready_.push_back(std::move(current_));
      current_ = PendingBlock{};
      current_.records.reserve(config_.block_bytes + 1024);
      cv_.notify_one();
    }
  }

  // Sender statistics follow what is written, so that senders.tsv can say exactly which
  // records it covers and Open() can replay the rest after a crash. mu_ held.
  void Account(const LogRecord& r) {
    SenderStats& s = senders_[r.sender];
    if (s.messages == 0) {
      s.sender = r.sender;
      if (s.first_seen_us == 0) s.first_seen_us = r.receive_time_us;
    }
    CountHour(&s, r.receive_time_us, 1);
    ++s.messages;
    s.bytes += r.raw.size();
    if (r.severity >= 0 && r.severity < 8) ++s.severities[r.severity];
    else ++s.no_severity;
    s.last_seen_us = std::max(s.last_seen_us, r.receive_time_us);
  }

  void NoteDropped(const IpAddress& sender, uint64_t count) override {
    std::lock_guard lock(mu_);
    SenderStats& s = senders_[sender];
    s.sender = sender;
    s.dropped += count;
  }

  Result<> Flush() override {
    std::unique_lock lock(mu_);
    uint64_t target = ++flush_requested_;
    cv_.notify_all();
    done_cv_.wait(lock, [&] { return flush_done_ >= target || writer_exited_; });
    if (!last_error_.empty()) return Fail(ErrorCode::kIo, last_error_);
    return {};
  }

  LogStoreStats stats() const override {
    std::lock_guard lock(mu_);
    return stats_;
  }

  std::vector<SenderStats> Senders() const override {
    std::lock_guard lock(mu_);
    return SortedSenders();
  }

  const LogStoreConfig& config() const override { return config_; }

 private:
  std::vector<SenderStats> SortedSenders() const {
    std::vector<SenderStats> out;
    out.reserve(senders_.size());
    for (const auto& [addr, s] : senders_) out.push_back(s);
    std::sort(out.begin(), out.end(),
              [](const SenderStats& a, const SenderStats& b) { return a.sender < b.sender; });
    return out;
  }

  void WriterLoop() {
    std::unique_lock lock(mu_);
    auto last_sync = std::chrono::steady_clock::now();
    auto last_senders = last_sync;
    bool dirty = false;  // written but not fsynced
    while (true) {
      auto now = std::chrono::steady_clock::now();
      auto deadline = current_.count ? current_.since + config_.flush_interval
                                     : now + config_.flush_interval;
      if (dirty) deadline = std::min(deadline, last_sync + config_.flush_interval);
      cv_.wait_until(lock, deadline, [&] {
        return stop_ || flush_requested_ > flush_done_ || !ready_.empty();
      });
      bool stopping = stop_;
      uint64_t flush_target = flush_requested_;
      now = std::chrono::steady_clock::now();
      if (current_.count > 0 && (stopping || flush_target > flush_done_ ||
                                 now >= current_.since + config_.flush_interval)) {
        ready_.push_back(std::move(current_));
        current_ = PendingBlock{};
      }
      // Everything appended before flush_target is in ready_ now.
      while (!ready_.empty()) {
        PendingBlock block = std::move(ready_.front());
        ready_.pop_front();
        BlockHeader header;
        header.records = block.count;
        header.min_time_us = block.min_time_us;
        header.max_time_us = block.max_time_us;
        header.senders.assign(block.senders.begin(), block.senders.end());
        std::sort(header.senders.begin(), header.senders.end());
        lock.unlock();
        auto ok = WriteBlock(header, block.records);
        lock.lock();
        stats_.queued_bytes -= std::min<uint64_t>(stats_.queued_bytes, block.records.size());
        if (ok) {
          store_format::ForEachRecord(block.records, [this](const LogRecord& r) {
            Account(r);
            return true;
          });
          covered_ = Position{segments_.back().number, segments_.back().bytes};
          stats_.written += header.records;
          stats_.blocks += 1;
          stats_.bytes_raw += block.records.size();
          stats_.bytes_stored += *ok;
          dirty = true;
        } else {
          ++stats_.write_errors;
          last_error_ = ok.error().message;
        }
        if (!stopping && flush_target <= flush_done_) break;  // let the sync below keep pace
      }
      now = std::chrono::steady_clock::now();
      bool sync_now = dirty && (stopping || flush_target > flush_done_ ||
                                now >= last_sync + config_.flush_interval);
      if (sync_now) {
        uint64_t written = stats_.written;
        int fd = segment_fd_;
        lock.unlock();
        bool synced = fd < 0 || ::fdatasync(fd) == 0;
        lock.lock();
        if (synced) {
          stats_.durable = written;
          ++stats_.fsyncs;
        } else {
          ++stats_.write_errors;
          last_error_ = Errno("fdatasync");
        }
        dirty = false;
        last_sync = now;
      }
      if (stopping || flush_target > flush_done_ ||
          now >= last_senders + std::chrono::seconds(1)) {
        std::string text = FormatSenders(SortedSenders(), stats_.segments_dropped,
                                         stats_.records_dropped, covered_);
        lock.unlock();
        auto ok = store_format::WriteFileAtomically(
            config_.directory + "/" + store_format::kSendersFile, text);
        lock.lock();
        if (!ok) last_error_ = ok.error().message;
        last_senders = now;
      }
      flush_done_ = std::max(flush_done_, flush_target);
      done_cv_.notify_all();
      if (stopping && ready_.empty() && current_.count == 0) break;
    }
    if (segment_fd_ >= 0) ::close(segment_fd_);
    segment_fd_ = -1;
    writer_exited_ = true;
    done_cv_.notify_all();
  }

  // Runs on the writer thread without mu_ held, except for the short segment bookkeeping.
  Result<uint64_t> WriteBlock(const BlockHeader& header, const std::string& records) {
    std::string block;
    auto built = store_format::BuildBlock(header, records, config_.compression_level, cctx_.get(),
                                          &block);
    if (!built) return tl::make_unexpected(built.error());
    if (segment_fd_ >= 0 && current_bytes_ + block.size() > config_.segment_bytes &&
        current_bytes_ > store_format::kSegmentHeaderBytes) {
      if (auto sealed = SealSegment(); !sealed) return tl::make_unexpected(sealed.error());
    }
    if (segment_fd_ < 0) {
      if (auto opened = StartSegment(header.min_time_us); !opened) {
        return tl::make_unexpected(opened.error());
      }
    }
    if (auto w = store_format::WriteAll(segment_fd_, block); !w) return tl::make_unexpected(w.error());
    current_bytes_ += block.size();
    std::lock_guard lock(mu_);
    Segment& seg = segments_.back();
    seg.bytes = current_bytes_;
    seg.records += header.records;
    seg.max_time_us = std::max(seg.max_time_us, header.max_time_us);
    EnforceBounds();
    return block.size();
  }

  Result<> StartSegment(int64_t time_us) {
    uint64_t number;
    {
      std::lock_guard lock(mu_);
      number = next_segment_++;
    }
    std::string path = store_format::SegmentPath(config_.directory, number);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return Fail(ErrorCode::kIo, Errno(path));
    std::string head = store_format::SegmentHeader(time_us);
    if (auto w = store_format::WriteAll(fd, head); !w) {
      ::close(fd);
      return w;
    }
    // The new directory entry must survive a crash too.
    store_format::SyncDirectory(config_.directory);
    segment_fd_ = fd;
    current_bytes_ = head.size();
    std::lock_guard lock(mu_);
    segments_.push_back(Segment{number, current_bytes_, 0, time_us});
    stats_.segments = segments_.size();
    return {};
  }

  Result<> SealSegment() {
    int fd = segment_fd_;
    segment_fd_ = -1;
    bool ok = ::fdatasync(fd) == 0;
    ::close(fd);
    if (!ok) return Fail(ErrorCode::kIo, Errno("fdatasync segment"));
    std::lock_guard lock(mu_);
    ++stats_.fsyncs;
    stats_.durable = stats_.written;
    return {};
  }

  // Drops the oldest sealed segments while over max_bytes or past max_age. mu_ held.
  void EnforceBounds() {
    uint64_t total = 0;
    for (const Segment& s : segments_) total += s.bytes;
    int64_t now = NowUs();
    while (segments_.size() > 1) {  // never the segment being written
      const Segment& oldest = segments_.front();
      bool too_big = total > config_.max_bytes;
      bool too_old = config_.max_age.count() > 0 &&
                     oldest.max_time_us < now - config_.max_age.count() * 1000;
      if (!too_big && !too_old) break;
      std::string path = store_format::SegmentPath(config_.directory, oldest.number);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        ++stats_.write_errors;
        last_error_ = Errno(path + ": unlink");
        break;
      }
      total -= oldest.bytes;
      ++stats_.segments_dropped;
      stats_.records_dropped += oldest.records;
      segments_.pop_front();
    }
    stats_.segments = segments_.size();
  }

  const LogStoreConfig config_;
  int lock_fd_ = -1;
  std::unique_ptr<ZSTD_CCtx, store_format::CCtxDeleter> cctx_{ZSTD_createCCtx()};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  bool stop_ = false;
  bool writer_exited_ = false;
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;
  std::string last_error_;
  // Records not yet written: the block being filled and full blocks waiting for the writer.
  struct PendingBlock {
    std::string records;
    uint32_t count = 0;
    int64_t min_time_us = std::numeric_limits<int64_t>::max();
    int64_t max_time_us = std::numeric_limits<int64_t>::min();
    std::unordered_set<IpAddress, rules::IpAddressHash> senders;
    std::chrono::steady_clock::time_point since;
  };
  PendingBlock current_;
  std::deque<PendingBlock> ready_;
  std::unordered_map<IpAddress, SenderStats, rules::IpAddressHash> senders_;
  LogStoreStats stats_;
  std::deque<Segment> segments_;
  uint64_t next_segment_ = 1;
  Position covered_;  // the sender statistics include every record before this
  // Writer thread only.
  int segment_fd_ = -1;
  uint64_t current_bytes_ = 0;
  std::thread writer_;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

const char* SenderStateName(SenderState state) {
  switch (state) {
    case SenderState::kActive: return "active";
    case SenderState::kQuiet: return "quiet";
    case SenderState::kInactive: return "inactive";
  }
  return "?";
}

SenderState ClassifySender(const SenderStats& s, const LogStoreConfig& config, int64_t now_us) {
  if (s.messages == 0 || now_us - s.last_seen_us < config.quiet_after.count() * 1000) {
    return s.messages == 0 ? SenderState::kInactive : SenderState::kActive;
  }
  int64_t last_hour = s.last_seen_us / kHourUs;
  for (int i = 1; i <= config.quiet_steady_hours; ++i) {
    if (s.hourly[HourSlot(last_hour - i)] < config.quiet_min_per_hour) return SenderState::kInactive;
  }
  return SenderState::kQuiet;
}

Result<std::unique_ptr<LogStore>> OpenLogStore(const LogStoreConfig& config) {
  if (config.directory.empty()) return Fail(ErrorCode::kConfig, "log store: no directory");
  auto store = std::make_unique<LogStoreImpl>(config);
  if (auto ok = store->Open(); !ok) return tl::make_unexpected(ok.error());
  return std::unique_ptr<LogStore>(std::move(store));
}

Result<LogScanStats> ScanLogStore(const std::string& directory, const LogQuery& query,
                                  const std::function<bool(const StoredLogRecord&)>& on_record) {
  LogScanStats scan;
  auto numbers = store_format::ListSegments(directory);
  if (!numbers) return tl::make_unexpected(numbers.error());
  SyslogParser parser;
  SyslogMessage parsed;
  bool stop = false;
  for (uint64_t n : *numbers) {
    if (stop) break;
    ++scan.segments;
    std::string path = store_format::SegmentPath(directory, n);
    auto block_filter = [&](const BlockHeader& h) {
      if (h.max_time_us < query.since_us || h.min_time_us >= query.until_us) return false;
      if (query.sender &&
          !std::binary_search(h.senders.begin(), h.senders.end(), *query.sender)) {
        return false;
      }
      return true;
    };
    auto on_stored = [&](const StoredLogRecord& r) {
      if (r.receive_time_us < query.since_us || r.receive_time_us >= query.until_us) return true;
      if (query.sender && r.sender != *query.sender) return true;
      if (!query.grep.empty() && r.raw.find(query.grep) == std::string::npos) return true;
      if (!query.host_name.empty()) {
        parser.Parse(r.raw, &parsed);
        if (!EqualsIgnoreCase(parsed.hostname, query.host_name)) return true;
      }
      ++scan.records;
      if (!on_record(r)) stop = true;
      return !stop;
    };
    auto ok = store_format::ReadSegment(path, 0, block_filter, on_stored, &scan);
    if (!ok && ok.error().code != ErrorCode::kNotFound) return tl::make_unexpected(ok.error());
  }
  return scan;
}

Result<std::vector<SenderStats>> ReadSenderStats(const std::string& directory) {
  auto file = LoadSenders(directory);
  if (!file) return tl::make_unexpected(file.error());
  std::sort(file->senders.begin(), file->senders.end(),
            [](const SenderStats& a, const SenderStats& b) { return a.sender < b.sender; });
  return std::move(file->senders);
}

}  // namespace sensor
