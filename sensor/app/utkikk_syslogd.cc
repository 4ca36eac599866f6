// utkikk-syslogd: the syslog receiver and local log store as a small daemon of its own
// (docs/logs.md, "Receiving"). Reads a config file with `member_id` and `syslog:`, opens the
// store, binds the listeners and runs until SIGINT or SIGTERM, then flushes and exits 0.
// Everything worth testing lives in the sensor_syslog library.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "sensor/logs/log_store.h"
#include "sensor/logs/receiver.h"
#include "sensor/logs/syslog_config.h"

namespace {

constexpr const char* kUsage =
    "usage: utkikk-syslogd --config FILE [--stats-interval SECONDS] [--status-file PATH]\n"
    "  --config FILE            member_id and the syslog: section (docs/logs.md)\n"
    "  --stats-interval SECONDS print receiver counters this often (default 60, 0 = never)\n"
    "  --status-file PATH       rewrite PATH every 100 ms with the counters as one JSON line\n";

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

void PrintStats(const sensor::SyslogReceiver& receiver, const sensor::LogStore& store) {
  sensor::ReceiverStats r = receiver.stats();
  sensor::LogStoreStats s = store.stats();
  std::fprintf(stderr,
               "utkikk-syslogd: messages=%llu bytes=%llu connections=%llu rejected=%llu "
               "not_allowed=%llu rate=%llu queue_full=%llu truncated=%llu slow_closed=%llu "
               "stored=%llu durable=%llu segments=%llu segments_dropped=%llu\n",
               static_cast<unsigned long long>(r.messages),
               static_cast<unsigned long long>(r.bytes),
               static_cast<unsigned long long>(r.connections_active),
               static_cast<unsigned long long>(r.connections_rejected),
               static_cast<unsigned long long>(r.dropped_not_allowed),
               static_cast<unsigned long long>(r.dropped_rate),
               static_cast<unsigned long long>(r.dropped_queue_full),
               static_cast<unsigned long long>(r.truncated),
               static_cast<unsigned long long>(r.connections_closed_slow),
               static_cast<unsigned long long>(s.written),
               static_cast<unsigned long long>(s.durable),
               static_cast<unsigned long long>(s.segments),
               static_cast<unsigned long long>(s.segments_dropped));
}

// One JSON line with the receiver and store counters, written to path.tmp and renamed.
void WriteStatus(const std::string& path, const sensor::SyslogReceiver& receiver,
                 const sensor::LogStore& store) {
  sensor::ReceiverStats r = receiver.stats();
  sensor::LogStoreStats s = store.stats();
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::fprintf(f,
               "{\"messages\":%llu,\"bytes\":%llu,\"datagrams\":%llu,\"connections\":%llu,"
               "\"rejected\":%llu,\"not_allowed\":%llu,\"rate_limited\":%llu,"
               "\"queue_full\":%llu,\"truncated\":%llu,\"queue_pauses\":%llu,"
               "\"appended\":%llu,\"written\":%llu,\"durable\":%llu,\"bytes_raw\":%llu,"
               "\"bytes_stored\":%llu,\"segments\":%llu,\"segments_dropped\":%llu}\n",
               u(r.messages), u(r.bytes), u(r.datagrams), u(r.connections_active),
               u(r.connections_rejected), u(r.dropped_not_allowed), u(r.dropped_rate),
               u(r.dropped_queue_full), u(r.truncated), u(r.queue_pauses), u(s.appended),
               u(s.written), u(s.durable), u(s.bytes_raw), u(s.bytes_stored), u(s.segments),
               u(s.segments_dropped));
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::string status_path;
  long stats_interval = 60;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "utkikk-syslogd: %s needs a value\n%s", arg.c_str(), kUsage);
      return 2;
    }
    if (arg == "--config") {
      config_path = argv[++i];
    } else if (arg == "--status-file") {
      status_path = argv[++i];
    } else if (arg == "--stats-interval") {
      char* end = nullptr;
      stats_interval = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || stats_interval < 0) {
        std::fprintf(stderr, "utkikk-syslogd: bad --stats-interval\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "utkikk-syslogd: unknown argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto config = sensor::ReadSyslogdConfigFile(config_path);
  if (!config) {
    std::fprintf(stderr, "utkikk-syslogd: %s\n", config.error().message.c_str());
    return 1;
  }
  auto store = sensor::OpenLogStore(config->syslog.store);
  if (!store) {
    std::fprintf(stderr, "utkikk-syslogd: %s\n", store.error().message.c_str());
    return 1;
  }
  sensor::LogStoreStats opened = (*store)->stats();
  if (opened.torn_blocks > 0) {
    std::fprintf(stderr, "utkikk-syslogd: cut %llu torn block(s) from the last segment\n",
                 static_cast<unsigned long long>(opened.torn_blocks));
  }
  auto receiver = sensor::CreateSyslogReceiver(config->syslog, store->get());
  if (!receiver) {
    std::fprintf(stderr, "utkikk-syslogd: %s\n", receiver.error().message.c_str());
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (auto ok = (*receiver)->Start(); !ok) {
    std::fprintf(stderr, "utkikk-syslogd: %s\n", ok.error().message.c_str());
    return 1;
  }
  for (size_t i = 0; i < config->syslog.listeners.size(); ++i) {
    const auto& l = config->syslog.listeners[i];
    std::fprintf(stderr, "utkikk-syslogd: member %s: listening %s %s:%u\n",
                 config->member_id.c_str(), sensor::SyslogTransportName(l.transport),
                 l.address.c_str(), (*receiver)->port(i));
  }
  auto next_stats = std::chrono::steady_clock::now() + std::chrono::seconds(stats_interval);
  while (!g_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (stats_interval > 0 && std::chrono::steady_clock::now() >= next_stats) {
      PrintStats(**receiver, **store);
      next_stats += std::chrono::seconds(stats_interval);
    }
    if (!status_path.empty()) WriteStatus(status_path, **receiver, **store);
  }
  (*receiver)->Stop();
  auto flushed = (*store)->Flush();
  PrintStats(**receiver, **store);
  if (!status_path.empty()) WriteStatus(status_path, **receiver, **store);
  receiver->reset();
  store->reset();
  if (!flushed) {
    std::fprintf(stderr, "utkikk-syslogd: %s\n", flushed.error().message.c_str());
    return 1;
  }
  return 0;
}
