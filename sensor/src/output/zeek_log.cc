#include "sensor/output/zeek_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cassert>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>

#include <fmt/format.h>

#include "sensor/flow/flow_table.h"

namespace sensor {
namespace {

using rules::ErrorCode;
using rules::Fail;
using rules::Result;

constexpr size_t kWriteChunk = 256 * 1024;

// The text of the records not yet written: a byte buffer whose appends are inline (one capacity
// check and a copy). std::string's append and push_back are calls that check, copy and write a
// terminator each time; a conn.log record makes ~80 of them (callgrind: ~4.9 k instructions a
// record). Has std::string's append/push_back so the escaping helpers take either.
class LogBuffer {
 public:
  using value_type = char;  // for std::back_inserter (fmt)

  explicit LogBuffer(size_t capacity) { Grow(capacity); }

  // Room for n more bytes at the end; Commit says where the written bytes end.
  char* Room(size_t n) {
    if (capacity_ - size_ < n) Grow(size_ + n);
    return data_.get() + size_;
  }
  void Commit(const char* end) { size_ = static_cast<size_t>(end - data_.get()); }

  void push_back(char c) {
    *Room(1) = c;
    ++size_;
  }
  void append(const char* s, size_t n) {
    std::memcpy(Room(n), s, n);
    size_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }

  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }

 private:
  [[gnu::noinline]] void Grow(size_t at_least) {  // rare: keeps the appends small and inline
    size_t capacity = std::max(at_least, capacity_ * 2);
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Decimal digits of n at p (at most 20); returns the end.
inline char* PutDecimal(char* p, uint64_t n) {
  size_t len = 1;
  for (uint64_t v = n; v >= 10; v /= 10) ++len;
  char* end = p + len;
  do {
    *--end = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  return p + len;
}

std::string_view TypeName(ZeekType t) {
  switch (t) {
    case ZeekType::kTime: return "time";
    case ZeekType::kString: return "string";
    case ZeekType::kAddr: return "addr";
    case ZeekType::kPort: return "port";
    case ZeekType::kEnum: return "enum";
    case ZeekType::kInterval: return "interval";
    case ZeekType::kCount: return "count";
    case ZeekType::kBool: return "bool";
    case ZeekType::kDouble: return "double";
    case ZeekType::kStringSet: return "set[string]";
    case ZeekType::kStringVector: return "vector[string]";
    case ZeekType::kIntervalVector: return "vector[interval]";
  }
  return "string";
}

// Seconds with 6 decimals, exact for microseconds (no floating point), negative values included.
void AppendMicros(LogBuffer* out, int64_t us) {
  int64_t sec = us / 1'000'000;
  int64_t frac = us % 1'000'000;
  char* p = out->Room(28);
  if (frac < 0) {
    frac = -frac;
  }
  if (us < 0) {
    *p++ = '-';
  }
  p = PutDecimal(p, static_cast<uint64_t>(sec < 0 ? -sec : sec));
  *p++ = '.';
  for (int i = 6; i >= 1; --i) {
    p[i - 1] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  out->Commit(p + 6);
}

// Zeek's header time format, in UTC: 2024-01-31-12-00-00.
std::string HeaderTime(int64_t us) {
  time_t sec = static_cast<time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  struct tm tm {};
  gmtime_r(&sec, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%d-%H-%M-%S", &tm);
  return std::string(buf, n);
}

// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not valid UTF-8.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  unsigned char c = p[i];
  size_t len;
  uint32_t min;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2, min = 0x80, cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, min = 0x800, cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > n) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (p[i + k] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return len;
}

// JSON string contents: valid UTF-8 passes through, control characters become \uXXXX (or the
// short forms), and bytes that are not UTF-8 become the text "\xNN" (as Zeek's JSON writer does).
template <class Out>  // std::string or LogBuffer
void AppendJsonEscaped(Out* out, std::string_view s) {
  // Fast path: plain printable ASCII (uids, states, histories, protocol names) goes in one append.
  // Eight bytes at a time while none of them needs escaping (every test below is exact).
  size_t plain = 0;
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto has_zero = [](uint64_t v) { return ((v - kOnes) & ~v & kHighs) != 0; };
  while (plain + 8 <= s.size()) {
    uint64_t w;
    std::memcpy(&w, s.data() + plain, 8);
    const bool special = ((w - 0x20 * kOnes) & ~w & kHighs) != 0 ||  // a byte < 0x20
                         (w & kHighs) != 0 ||                        // a byte >= 0x80
                         has_zero(w ^ (0x7f * kOnes)) || has_zero(w ^ ('"' * kOnes)) ||
                         has_zero(w ^ ('\\' * kOnes));
    if (special) break;
    plain += 8;
  }
  while (plain < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[plain]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      break;
    }
    ++plain;
  }
  out->append(s.data(), plain);
  for (size_t i = plain; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t len = Utf8SequenceLength(s, i);
      if (len > 0) {
        out->append(s.substr(i, len));
        i += len;
      } else {
        fmt::format_to(std::back_inserter(*out), "\\\\x{:02x}", c);
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          fmt::format_to(std::back_inserter(*out), "\\u{:04x}", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

// Zeek ASCII: backslash, the separators and non-printable bytes as \xNN; a value that reads
// like the unset or empty marker gets its first byte escaped.
void AppendTsvEscaped(LogBuffer* out, std::string_view s, bool in_container) {
  if (s.empty()) {
    out->append("(empty)");
    return;
  }
  size_t i = 0;
  if (s == "-" || s == "(empty)") {
    fmt::format_to(std::back_inserter(*out), "\\x{:02x}", static_cast<unsigned char>(s[0]));
    i = 1;
  }
  for (; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\' || (in_container && c == ',')) {
      fmt::format_to(std::back_inserter(*out), "\\x{:02x}", c);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

std::string ErrnoText(int err) { return std::strerror(err); }

}  // namespace

class ZeekLog::Impl {
 public:
  Impl(std::string file_path, std::vector<ZeekField> fields, ZeekLogFormat format, int fd)
      : file_path_(std::move(file_path)), fields_(std::move(fields)), format_(format), fd_(fd) {
    for (const ZeekField& f : fields_) {
      std::string key = "\"";
      AppendJsonEscaped(&key, f.name);
      key += "\":";
      json_keys_.push_back(std::move(key));
    }
  }
  ~Impl() {
    if (fd_ >= 0) {
      (void)Close(last_time_us_);
    }
  }

  void WriteHeader(std::string_view path, int64_t open_time_us) {
    fmt::format_to(std::back_inserter(buf_),
                   "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                   "#unset_field\t-\n#path\t{}\n#open\t{}\n#fields",
                   path, HeaderTime(open_time_us));
    for (const ZeekField& f : fields_) {
      buf_.push_back('\t');
      buf_.append(f.name);
    }
    buf_.append("\n#types");
    for (const ZeekField& f : fields_) {
      buf_.push_back('\t');
      buf_.append(TypeName(f.type));
    }
    buf_.push_back('\n');
  }

  void Begin() {
    assert(field_ == kNoRecord);
    field_ = 0;
    json_first_ = true;
    if (format_ == ZeekLogFormat::kJson) {
      buf_.push_back('{');
    }
  }

  // Starts the next field (writes separator and JSON key); returns false for JSON unset fields.
  void Next(ZeekType type) {
    assert(field_ < fields_.size() && fields_[field_].type == type);
    (void)type;
    if (format_ == ZeekLogFormat::kJson) {
      if (!json_first_) {
        buf_.push_back(',');
      }
      json_first_ = false;
      buf_.append(json_keys_[field_]);
    } else if (field_ > 0) {
      buf_.push_back('\t');
    }
    ++field_;
  }

  void Unset() {
    assert(field_ < fields_.size());
    if (format_ == ZeekLogFormat::kTsv) {
      if (field_ > 0) {
        buf_.push_back('\t');
      }
      buf_.push_back('-');
    }
    ++field_;
  }

  void Time(int64_t us) {
    Next(ZeekType::kTime);
    AppendMicros(&buf_, us);
    last_time_us_ = std::max(last_time_us_, us);
  }
  void Interval(int64_t us) {
    Next(ZeekType::kInterval);
    AppendMicros(&buf_, us);
  }
  void Str(ZeekType type, std::string_view s) {
    Next(type);
    if (format_ == ZeekLogFormat::kJson) {
      buf_.push_back('"');
      AppendJsonEscaped(&buf_, s);
      buf_.push_back('"');
    } else {
      AppendTsvEscaped(&buf_, s, false);
    }
  }
  void Addr(const rules::IpAddress& a) {
    Next(ZeekType::kAddr);
    const bool json = format_ == ZeekLogFormat::kJson;
    char* p = buf_.Room(rules::IpAddress::kMaxText + 2);
    if (json) *p++ = '"';
    p = a.Format(p);
    if (json) *p++ = '"';
    buf_.Commit(p);
  }
  void Number(ZeekType type, uint64_t n) {
    Next(type);
    buf_.Commit(PutDecimal(buf_.Room(20), n));
  }
  void Bool(bool b) {
    Next(ZeekType::kBool);
    if (format_ == ZeekLogFormat::kJson) {
      buf_.append(b ? "true" : "false");
    } else {
      buf_.push_back(b ? 'T' : 'F');
    }
  }
  void Double(double d) {
    Next(ZeekType::kDouble);
    if (format_ == ZeekLogFormat::kJson) {
      if (std::isfinite(d)) {
        size_t start = buf_.size();
        fmt::format_to(std::back_inserter(buf_), "{}", d);
        if (std::string_view(buf_.data() + start, buf_.size() - start).find_first_of(".e") ==
            std::string_view::npos) {
          buf_.append(".0");  // keep it a JSON number that reads as a double, as Zeek writes it
        }
      } else {
        buf_.append("null");
      }
    } else {
      fmt::format_to(std::back_inserter(buf_), "{:.6f}", d);
    }
  }
  void Intervals(std::span<const int64_t> items) {
    Next(ZeekType::kIntervalVector);
    if (format_ == ZeekLogFormat::kJson) buf_.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) buf_.push_back(',');
      AppendMicros(&buf_, items[i]);
    }
    if (format_ == ZeekLogFormat::kJson) {
      buf_.push_back(']');
    } else if (items.empty()) {
      buf_.append("(empty)");
    }
  }
  void List(ZeekType type, std::span<const std::string> items) {
    Next(type);
    if (format_ == ZeekLogFormat::kJson) {
      buf_.push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
          buf_.push_back(',');
        }
        buf_.push_back('"');
        AppendJsonEscaped(&buf_, items[i]);
        buf_.push_back('"');
      }
      buf_.push_back(']');
    } else if (items.empty()) {
      buf_.append("(empty)");
    } else {
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
          buf_.push_back(',');
        }
        AppendTsvEscaped(&buf_, items[i], true);
      }
    }
  }

  Result<> End() {
    assert(field_ == fields_.size());
    field_ = kNoRecord;
    if (format_ == ZeekLogFormat::kJson) {
      buf_.push_back('}');
    }
    buf_.push_back('\n');
    if (buf_.size() >= kWriteChunk) {
      return Flush();
    }
    return {};
  }

  Result<> Flush() {
    if (fd_ < 0) {
      buf_.clear();
      return Fail(ErrorCode::kIo, file_path_ + ": write: log is closed");
    }
    size_t done = 0;
    while (done < buf_.size()) {
      ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        int err = errno;
        buf_.clear();  // drop what cannot be written rather than grow without bound
        return Fail(ErrorCode::kIo, file_path_ + ": write: " + ErrnoText(err));
      }
      done += static_cast<size_t>(n);
    }
    buf_.clear();
    return {};
  }

  Result<> Close(int64_t close_time_us) {
    if (fd_ < 0) {
      return {};
    }
    if (format_ == ZeekLogFormat::kTsv) {
      buf_.append("#close\t");
      buf_.append(HeaderTime(close_time_us));
      buf_.push_back('\n');
    }
    Result<> flushed = Flush();
    int rc = ::close(fd_);
    int err = errno;
    fd_ = -1;
    if (!flushed) {
      return flushed;
    }
    if (rc != 0) {
      return Fail(ErrorCode::kIo, file_path_ + ": close: " + ErrnoText(err));
    }
    return {};
  }

  const std::string& file_path() const { return file_path_; }
  const std::vector<ZeekField>& fields() const { return fields_; }

 private:
  static constexpr size_t kNoRecord = static_cast<size_t>(-1);

  std::string file_path_;
  std::vector<ZeekField> fields_;
  std::vector<std::string> json_keys_;
  ZeekLogFormat format_;
  int fd_;
  LogBuffer buf_{kWriteChunk + 4096};
  size_t field_ = kNoRecord;
  bool json_first_ = true;
  int64_t last_time_us_ = 0;
};

Result<std::unique_ptr<ZeekLog>> ZeekLog::Open(const std::string& directory,
                                               const std::string& path,
                                               std::vector<ZeekField> fields,
                                               ZeekLogFormat format, int64_t open_time_us) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return Fail(ErrorCode::kIo, directory + ": cannot create directory: " + ec.message());
  }
  std::string file_path = directory + "/" + path + ".log";
  int fd = ::open(file_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Fail(ErrorCode::kIo, file_path + ": open: " + ErrnoText(errno));
  }
  auto impl = std::make_unique<Impl>(file_path, std::move(fields), format, fd);
  if (format == ZeekLogFormat::kTsv) {
    impl->WriteHeader(path, open_time_us);
  }
  return std::unique_ptr<ZeekLog>(new ZeekLog(std::move(impl)));
}

ZeekLog::ZeekLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ZeekLog::~ZeekLog() = default;

void ZeekLog::Begin() { impl_->Begin(); }
void ZeekLog::Time(int64_t us) { impl_->Time(us); }
void ZeekLog::String(std::string_view s) { impl_->Str(ZeekType::kString, s); }
void ZeekLog::Addr(const rules::IpAddress& a) { impl_->Addr(a); }
void ZeekLog::Port(uint16_t p) { impl_->Number(ZeekType::kPort, p); }
void ZeekLog::Enum(std::string_view s) { impl_->Str(ZeekType::kEnum, s); }
void ZeekLog::Interval(int64_t us) { impl_->Interval(us); }
void ZeekLog::Count(uint64_t n) { impl_->Number(ZeekType::kCount, n); }
void ZeekLog::Bool(bool b) { impl_->Bool(b); }
void ZeekLog::Double(double d) { impl_->Double(d); }
void ZeekLog::StringSet(std::span<const std::string> items) {
  impl_->List(ZeekType::kStringSet, items);
}
void ZeekLog::IntervalVector(std::span<const int64_t> items) { impl_->Intervals(items); }
void ZeekLog::StringVector(std::span<const std::string> items) {
  impl_->List(ZeekType::kStringVector, items);
}
void ZeekLog::Unset() { impl_->Unset(); }
Result<> ZeekLog::End() { return impl_->End(); }
Result<> ZeekLog::Flush() { return impl_->Flush(); }
Result<> ZeekLog::Close(int64_t close_time_us) { return impl_->Close(close_time_us); }
const std::string& ZeekLog::file_path() const { return impl_->file_path(); }
const std::vector<ZeekField>& ZeekLog::fields() const { return impl_->fields(); }

std::string_view ZeekProtoName(uint8_t ip_proto) {
  switch (ip_proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1:
    case 58: return "icmp";
    default: return "unknown_transport";
  }
}

// ---- conn.log ----

std::vector<ZeekField> ConnLog::Fields() {
  using T = ZeekType;
  return {{"ts", T::kTime},           {"uid", T::kString},        {"id.orig_h", T::kAddr},
          {"id.orig_p", T::kPort},    {"id.resp_h", T::kAddr},    {"id.resp_p", T::kPort},
          {"proto", T::kEnum},        {"service", T::kString},    {"duration", T::kInterval},
          {"orig_bytes", T::kCount},  {"resp_bytes", T::kCount},  {"conn_state", T::kString},
          {"local_orig", T::kBool},   {"local_resp", T::kBool},   {"missed_bytes", T::kCount},
          {"history", T::kString},    {"orig_pkts", T::kCount},   {"orig_ip_bytes", T::kCount},
          {"resp_pkts", T::kCount},   {"resp_ip_bytes", T::kCount}, {"app", T::kString}};
}

Result<std::unique_ptr<ConnLog>> ConnLog::Open(const std::string& directory,
                                               ZeekLogFormat format, int64_t open_time_us) {
  auto log = ZeekLog::Open(directory, "conn", Fields(), format, open_time_us);
  if (!log) {
    return tl::make_unexpected(log.error());
  }
  return std::unique_ptr<ConnLog>(new ConnLog(std::move(*log)));
}

Result<> ConnLog::Write(const FlowRecord& flow, bool local_orig, bool local_resp) {
  ZeekLog& l = *log_;
  l.Begin();
  l.Time(flow.start_us);
  l.String(flow.uid);
  l.Addr(flow.id.orig_h);
  l.Port(flow.id.orig_p);
  l.Addr(flow.id.resp_h);
  l.Port(flow.id.resp_p);
  l.Enum(ZeekProtoName(flow.id.proto));
  if (flow.classification.service.empty()) {
    l.Unset();
  } else {
    l.String(flow.classification.service);
  }
  // Zeek sets duration and the byte counts only when the duration is positive.
  int64_t duration = flow.last_us - flow.start_us;
  if (duration > 0) {
    l.Interval(duration);
    l.Count(flow.orig.payload_bytes);
    l.Count(flow.resp.payload_bytes);
  } else {
    l.Unset();
    l.Unset();
    l.Unset();
  }
  l.String(ConnState(flow));
  l.Bool(local_orig);
  l.Bool(local_resp);
  l.Count(flow.orig.missed_bytes + flow.resp.missed_bytes);
  if (flow.history.empty()) {
    l.Unset();
  } else {
    l.String(flow.history);
  }
  l.Count(flow.orig.packets);
  l.Count(flow.orig.ip_bytes);
  l.Count(flow.resp.packets);
  l.Count(flow.resp.ip_bytes);
  if (flow.classification.application.empty()) {
    l.Unset();
  } else {
    l.String(flow.classification.application);
  }
  return l.End();
}

// ---- weird.log ----

std::vector<ZeekField> WeirdLog::Fields() {
  using T = ZeekType;
  return {{"ts", T::kTime},        {"uid", T::kString},    {"id.orig_h", T::kAddr},
          {"id.orig_p", T::kPort}, {"id.resp_h", T::kAddr}, {"id.resp_p", T::kPort},
          {"name", T::kString},    {"addl", T::kString},   {"notice", T::kBool},
          {"peer", T::kString},    {"source", T::kString}};
}

Result<std::unique_ptr<WeirdLog>> WeirdLog::Open(const std::string& directory,
                                                 ZeekLogFormat format, int64_t open_time_us) {
  auto log = ZeekLog::Open(directory, "weird", Fields(), format, open_time_us);
  if (!log) {
    return tl::make_unexpected(log.error());
  }
  return std::unique_ptr<WeirdLog>(new WeirdLog(std::move(*log)));
}

Result<> WeirdLog::Write(const WeirdRecord& w) {
  ZeekLog& l = *log_;
  l.Begin();
  l.Time(w.ts_us);
  if (w.uid.empty()) {
    l.Unset();
  } else {
    l.String(w.uid);
  }
  if (w.id != nullptr) {
    l.Addr(w.id->orig_h);
    l.Port(w.id->orig_p);
    l.Addr(w.id->resp_h);
    l.Port(w.id->resp_p);
  } else {
    l.Unset();
    l.Unset();
    l.Unset();
    l.Unset();
  }
  l.String(w.name);
  if (w.addl.empty()) {
    l.Unset();
  } else {
    l.String(w.addl);
  }
  l.Bool(w.notice);
  l.String(w.peer);
  if (w.source.empty()) {
    l.Unset();
  } else {
    l.String(w.source);
  }
  return l.End();
}

// ---- stats.log ----

std::vector<ZeekField> StatsLog::Fields() {
  using T = ZeekType;
  return {{"ts", T::kTime},
          {"peer", T::kString},
          {"mem", T::kCount},
          {"pkts_proc", T::kCount},
          {"bytes_recv", T::kCount},
          {"pkts_dropped", T::kCount},
          {"pkts_link", T::kCount},
          {"pkts_if_dropped", T::kCount},
          {"active_tcp_conns", T::kCount},
          {"active_udp_conns", T::kCount},
          {"active_icmp_conns", T::kCount},
          {"tcp_conns", T::kCount},
          {"udp_conns", T::kCount},
          {"icmp_conns", T::kCount},
          {"flows_evicted", T::kCount},
          {"dpi_states", T::kCount},
          {"weirds", T::kCount}};
}

Result<std::unique_ptr<StatsLog>> StatsLog::Open(const std::string& directory,
                                                 ZeekLogFormat format, int64_t open_time_us) {
  auto log = ZeekLog::Open(directory, "stats", Fields(), format, open_time_us);
  if (!log) {
    return tl::make_unexpected(log.error());
  }
  return std::unique_ptr<StatsLog>(new StatsLog(std::move(*log)));
}

Result<> StatsLog::Write(const SensorStatsSnapshot& s) {
  ZeekLog& l = *log_;
  auto optional_count = [&l](const std::optional<uint64_t>& v) {
    if (v) {
      l.Count(*v);
    } else {
      l.Unset();
    }
  };
  l.Begin();
  l.Time(s.ts_us);
  l.String(s.peer);
  l.Count(s.mem);
  l.Count(s.pkts_proc);
  l.Count(s.bytes_recv);
  optional_count(s.pkts_dropped);
  optional_count(s.pkts_link);
  optional_count(s.pkts_if_dropped);
  l.Count(s.active_tcp_conns);
  l.Count(s.active_udp_conns);
  l.Count(s.active_icmp_conns);
  l.Count(s.tcp_conns);
  l.Count(s.udp_conns);
  l.Count(s.icmp_conns);
  l.Count(s.flows_evicted);
  l.Count(s.dpi_states);
  l.Count(s.weirds);
  return l.End();
}

}  // namespace sensor
