// The hand-over from the syslog receiver's thread to the sensor's packet thread
// (docs/logs.md, "The receiver inside the sensor"). The receiver's MessageHook calls OnMessage,
// which turns the message into facts and a log event (log_facts.h) and queues them; the packet
// thread calls Drain at its drain points (the pipeline's OnTime, and once at the end), which
// hands the facts to the sensor's FactSink chain and the events to the log rules on that thread,
// so nothing downstream has to be thread-safe.
//
// Bounded: at most `capacity` items and about `max_bytes` of their text wait; beyond that new
// items are dropped and counted (a log flood must not grow the sensor's memory; the log store
// still has every message).
// OnMessage and stats() are thread-safe; Drain is for one consumer thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <variant>
#include <vector>

#include "rules/engine/alert.h"
#include "rules/engine/observations.h"
#include "rules/facts.h"
#include "sensor/logs/log_store.h"
#include "sensor/logs/syslog_message.h"

namespace sensor {

struct LogFeedStats {
  uint64_t messages = 0;         // OnMessage calls
  uint64_t facts = 0;            // facts queued
  uint64_t events = 0;           // log events queued
  uint64_t dropped_facts = 0;    // facts refused: the queue was full
  uint64_t dropped_events = 0;   // events refused: the queue was full
  uint64_t delivered = 0;        // items handed out by Drain
  uint64_t queued = 0;           // waiting now
  uint64_t queued_bytes = 0;     // ... their approximate size
  uint64_t peak_queued = 0;
};

class LogFeed {
 public:
  using EventHandler = std::function<void(const rules::engine::LogEvent&)>;

  // `events` false: only facts are queued (no log rules loaded).
  explicit LogFeed(size_t capacity = 65536, bool events = true,
                   size_t max_bytes = 32 * 1024 * 1024)
      : capacity_(capacity), max_bytes_(max_bytes), events_(events) {}
  LogFeed(const LogFeed&) = delete;
  LogFeed& operator=(const LogFeed&) = delete;

  // Any thread (the receiver's MessageHook).
  void OnMessage(const LogRecord& record, const SyslogMessage& message);
  // The consumer thread: hands everything queued before the call to `facts` (may be null) and
  // `on_event` (may be empty), in arrival order; returns the number of items handed out.
  size_t Drain(rules::FactSink* facts, const EventHandler& on_event);
  LogFeedStats stats() const;

 private:
  using Item = std::variant<rules::AddressFact, rules::NameFact, rules::engine::LogEvent>;

  bool Room(size_t bytes) const { return queue_.size() < capacity_ && bytes_ + bytes <= max_bytes_; }

  const size_t capacity_;
  const size_t max_bytes_;
  const bool events_;
  mutable std::mutex mu_;
  std::vector<Item> queue_;  // guarded by mu_
  size_t bytes_ = 0;         // guarded by mu_
  LogFeedStats stats_;       // guarded by mu_
};

// Per-sender watch on the packet thread: from the log store's sender statistics, the rows for
// the inventory / summaries with the "went quiet" state (ClassifySender), and one alert
// `log-sender-quiet` for each quiet period that starts (a sender that speaks again and later
// goes quiet again raises a new one).
struct LogSenderState {
  SenderStats stats;
  bool quiet = false;
};

class LogSenderWatch {
 public:
  explicit LogSenderWatch(const LogStoreConfig& config) : config_(config) {}
  // Classifies every sender at now_us; appends the alerts for senders that just went quiet.
  std::vector<LogSenderState> Update(const std::vector<SenderStats>& senders, int64_t now_us,
                                     std::vector<rules::engine::Alert>* alerts);

 private:
  LogStoreConfig config_;
  // Senders alerted as quiet, with the last_seen_us of the quiet period alerted on.
  std::vector<std::pair<rules::IpAddress, int64_t>> alerted_;
};

// The alert LogSenderWatch raises (exposed for tests and docs/alerts.md).
inline constexpr const char* kLogSenderQuietRule = "log-sender-quiet";

}  // namespace sensor
