#include "sensor/logs/log_feed.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "sensor/logs/log_facts.h"

namespace sensor {

namespace {

constexpr size_t kItemOverhead = 128;  // the record itself, roughly

size_t FactBytes(const rules::FactOrigin& o) { return kItemOverhead + o.raw.size(); }

size_t EventBytes(const rules::engine::LogEvent& e) {
  size_t n = kItemOverhead + e.host.size() + e.program.size() + e.message.size();
  for (const auto& [k, v] : e.fields) n += k.size() + v.size() + 64;
  return n;
}

}  // namespace

void LogFeed::OnMessage(const LogRecord& record, const SyslogMessage& message) {
  // The conversion runs outside the lock: the receiver thread pays for it, not the consumer.
  int64_t ts = LogMessageTimeUs(message, record.receive_time_us);
  LogFacts facts;
  DhcpLeaseFacts(message, ts, record.raw, &facts);
  std::optional<rules::engine::LogEvent> event;
  if (events_) event = ToLogEvent(message, ts, record.sender);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.messages;
  auto push = [&](auto&& item, size_t bytes, uint64_t* queued, uint64_t* dropped) {
    if (!Room(bytes)) {
      ++*dropped;
      return;
    }
    queue_.emplace_back(std::move(item));
    bytes_ += bytes;
    ++*queued;
  };
  for (auto& f : facts.addresses) {
    push(std::move(f), FactBytes(f.origin), &stats_.facts, &stats_.dropped_facts);
  }
  for (auto& f : facts.names) {
    push(std::move(f), FactBytes(f.origin) + f.name.size(), &stats_.facts, &stats_.dropped_facts);
  }
  if (event) push(std::move(*event), EventBytes(*event), &stats_.events, &stats_.dropped_events);
  stats_.peak_queued = std::max<uint64_t>(stats_.peak_queued, queue_.size());
}

size_t LogFeed::Drain(rules::FactSink* facts, const EventHandler& on_event) {
  std::vector<Item> items;
  {
    std::lock_guard<std::mutex> lock(mu_);
    items.swap(queue_);
    bytes_ = 0;
    stats_.delivered += items.size();
  }
  for (const Item& item : items) {
    if (const auto* a = std::get_if<rules::AddressFact>(&item)) {
      if (facts) facts->OnAddress(*a);
    } else if (const auto* n = std::get_if<rules::NameFact>(&item)) {
      if (facts) facts->OnName(*n);
    } else if (const auto* e = std::get_if<rules::engine::LogEvent>(&item)) {
      if (on_event) on_event(*e);
    }
  }
  return items.size();
}

LogFeedStats LogFeed::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  LogFeedStats s = stats_;
  s.queued = queue_.size();
  s.queued_bytes = bytes_;
  return s;
}

std::vector<LogSenderState> LogSenderWatch::Update(const std::vector<SenderStats>& senders,
                                                   int64_t now_us,
                                                   std::vector<rules::engine::Alert>* alerts) {
  std::vector<LogSenderState> out;
  out.reserve(senders.size());
  for (const SenderStats& s : senders) {
    LogSenderState state;
    state.stats = s;
    state.quiet = ClassifySender(s, config_, now_us) == SenderState::kQuiet;
    auto it = std::find_if(alerted_.begin(), alerted_.end(),
                           [&](const auto& a) { return a.first == s.sender; });
    if (!state.quiet) {
      if (it != alerted_.end()) alerted_.erase(it);  // it speaks again
    } else if (it == alerted_.end() || it->second != s.last_seen_us) {
      if (it == alerted_.end()) {
        alerted_.emplace_back(s.sender, s.last_seen_us);
      } else {
        it->second = s.last_seen_us;
      }
      rules::engine::Alert a;
      a.rule_id = kLogSenderQuietRule;
      a.title = "A steady log sender went quiet";
      a.severity = rules::engine::Severity::kMedium;
      a.kind = rules::engine::RuleKind::kLog;
      a.ts_first_us = now_us;
      a.ts_last_us = now_us;
      a.src = s.sender;
      a.key = s.sender.ToString();
      int64_t silent_min = (now_us - s.last_seen_us) / 60'000'000;
      a.evidence = a.key + " sent at least " + std::to_string(config_.quiet_min_per_hour) +
                   " messages an hour for " + std::to_string(config_.quiet_steady_hours) +
                   " hours (" + std::to_string(s.messages) + " in all), silent for " +
                   std::to_string(silent_min) + " min";
      a.count = s.messages;
      a.suppress_us = config_.quiet_after.count() * 1000;
      a.advice_en =
          "A device that sent logs steadily has stopped. Check that it is up, that its syslog "
          "configuration still points here, and that nobody turned its logging off.";
      a.advice_nb =
          "En enhet som jevnlig sendte logger, har sluttet. Sjekk at den kjører, at "
          "syslog-oppsettet fortsatt peker hit, og at ingen har slått av loggingen.";
      alerts->push_back(std::move(a));
    }
    out.push_back(std::move(state));
  }
  return out;
}

}  // namespace sensor
