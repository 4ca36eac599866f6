// utkikk-sensor: captures (live or from a file), decodes, tracks and classifies flows, and writes
// Zeek-style logs. Parses arguments, loads the config, opens the capture, drops privileges,
// wires the pipeline and runs it. Everything worth testing lives in the sensor library.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "rules/fingerprint.h"
#include "sensor/config.h"
#include "sensor/extract/extractor_set.h"
#include "sensor/inventory/inventory.h"
#include "sensor/output/protocol_log.h"
#include "sensor/logs/log_feed.h"
#include "sensor/logs/receiver.h"
#include "sensor/pipeline/pipeline.h"
#include "sensor/summary/summariser.h"
#include "sensor/alerts/alerting.h"

namespace {

constexpr const char* kUsage =
    "usage: utkikk-sensor --config FILE (--read CAPTURE | --interface IF | --syslog-only)\n"
    "                     [--log-dir DIR]\n"
    "  --config FILE     the sensor configuration (see docs/configuration.md)\n"
    "  --read CAPTURE    process a pcap or pcapng file, then exit\n"
    "  --interface IF    capture live on IF until SIGINT or SIGTERM\n"
    "  --syslog-only     no capture: only the config's syslog listeners, until SIGINT/SIGTERM\n"
    "  --log-dir DIR     write logs here instead of the config's logs.directory\n";

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};  // SIGHUP: load the rule files again

void OnSignal(int) { g_stop.store(true); }
void OnReloadSignal(int) { g_reload.store(true); }

struct Options {
  std::string config;
  std::string read;
  std::string interface;
  std::string log_dir;
  bool syslog_only = false;
};

bool ParseOptions(int argc, char** argv, Options* o, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string* target = nullptr;
    if (arg == "--syslog-only") {
      o->syslog_only = true;
      continue;
    }
    if (arg == "--config") target = &o->config;
    else if (arg == "--read" || arg == "-r") target = &o->read;
    else if (arg == "--interface" || arg == "-i") target = &o->interface;
    else if (arg == "--log-dir") target = &o->log_dir;
    else {
      *error = "unknown argument '" + arg + "'";
      return false;
    }
    if (i + 1 >= argc || argv[i + 1][0] == '\0') {
      *error = arg + " needs a value";
      return false;
    }
    *target = argv[++i];
  }
  if (o->config.empty()) {
    *error = "--config is required";
    return false;
  }
  if (o->syslog_only ? !(o->read.empty() && o->interface.empty())
                     : o->read.empty() == o->interface.empty()) {
    *error = "give exactly one of --read CAPTURE, --interface IF or --syslog-only";
    return false;
  }
  return true;
}

// Leaves root for the configured user once the capture is open (the packet socket stays usable).
// The folders the sensor writes to after that (logs, the inventory's) are handed to that user.
bool DropPrivileges(const std::string& user, const std::vector<std::string>& writable_dirs,
                    std::string* error) {
  if (geteuid() != 0 || user.empty() || user == "root") {
    return true;
  }
  errno = 0;
  struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    *error = "user '" + user + "' (config key 'user') does not exist";
    return false;
  }
  for (const auto& dir : writable_dirs) {
    if (chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      *error = "cannot hand " + dir + " to user '" + user + "': " + std::strerror(errno);
      return false;
    }
  }
  if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
    *error = "cannot switch to user '" + user + "': " + std::strerror(errno);
    return false;
  }
  if (setuid(0) == 0) {
    *error = "privileges were not dropped";
    return false;
  }
  return true;
}

// The files the log store opened as root (segments, index, LOCK) go to the configured user too,
// so the store can rotate and rewrite them after the privileges are dropped.
bool HandOverTree(const std::string& user, const std::string& dir, std::string* error) {
  if (geteuid() != 0 || user.empty() || user == "root") return true;
  struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return true;  // DropPrivileges reports it
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (lchown(it->path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      *error = "cannot hand " + it->path().string() + " to user '" + user + "': " +
               std::strerror(errno);
      return false;
    }
  }
  return true;
}

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PrintProgress(const sensor::PacketSource& source, uint64_t packets) {
  uint64_t total = source.bytes_total();
  if (total > 0) {
    std::fprintf(stderr, "\r%s: %llu packets, %.1f%%   ", source.name().c_str(),
                 static_cast<unsigned long long>(packets),
                 100.0 * static_cast<double>(source.bytes_read()) / static_cast<double>(total));
  } else {
    std::fprintf(stderr, "\r%s: %llu packets   ", source.name().c_str(),
                 static_cast<unsigned long long>(packets));
  }
}

// The syslog side on the packet thread: drains the LogFeed into the fact chain and the log rules,
// commits what it delivered (at most once a second), and once a minute writes the per-sender
// statistics to the inventory and the summaries and raises log-sender-quiet.
struct LogWiring {
  sensor::LogFeed* feed = nullptr;
  sensor::LogStore* store = nullptr;
  rules::FactSink* facts = nullptr;  // null without the inventory
  sensor::Inventory* inventory = nullptr;
  sensor::Summariser* summariser = nullptr;
  sensor::Alerting* alerting = nullptr;
  std::unique_ptr<sensor::LogSenderWatch> watch;
  spdlog::logger* log = nullptr;
  bool pending = false;  // delivered but not yet committed
  int64_t next_flush_us = 0;
  int64_t next_senders_us = 0;

  void Drain(bool final) {
    sensor::Alerting* a = alerting;
    size_t n = feed->Drain(facts, [a](const rules::engine::LogEvent& e) {
      if (a) a->OnLogEvent(e);
    });
    pending = pending || n > 0;
    int64_t now = WallMicros();
    if (final || now >= next_senders_us) {
      next_senders_us = now + 60'000'000;
      Senders(now);
    }
    if (pending && (final || now >= next_flush_us)) {
      next_flush_us = now + 1'000'000;
      pending = false;
      if (inventory) {
        if (auto ok = inventory->Flush(); !ok) log->error("inventory: {}", ok.error().message);
      }
      if (alerting) {
        if (auto ok = alerting->Flush(); !ok) log->error("alerts: {}", ok.error().message);
      }
    }
  }

  void Senders(int64_t now) {
    std::vector<rules::engine::Alert> alerts;
    std::vector<sensor::LogSenderState> senders = watch->Update(store->Senders(), now, &alerts);
    if (alerting && !alerts.empty()) {
      alerting->Raise(alerts);
      pending = true;
    }
    std::vector<sensor::InventoryLogSender> rows;
    std::vector<sensor::LogSenderSummary> summaries;
    for (const sensor::LogSenderState& s : senders) {
      sensor::InventoryLogSender r;
      r.sender = s.stats.sender.ToString();
      r.messages = s.stats.messages;
      r.bytes = s.stats.bytes;
      r.severities = s.stats.severities;
      r.no_severity = s.stats.no_severity;
      r.dropped = s.stats.dropped;
      r.first_seen_us = s.stats.first_seen_us;
      r.last_seen_us = s.stats.last_seen_us;
      r.quiet = s.quiet;
      if (summariser) {
        sensor::LogSenderSummary m;
        m.sender = r.sender;
        m.messages = r.messages;
        m.bytes = r.bytes;
        m.severities = r.severities;
        m.first_seen_us = r.first_seen_us;
        m.last_seen_us = r.last_seen_us;
        m.quiet = r.quiet;
        summaries.push_back(std::move(m));
      }
      rows.push_back(std::move(r));
    }
    if (inventory && !rows.empty()) {
      if (auto ok = inventory->SetLogSenders(rows); !ok) {
        log->error("inventory: log senders: {}", ok.error().message);
      }
    }
    if (summariser) summariser->SetLogSenders(std::move(summaries));
  }
};

int Run(int argc, char** argv) {
  Options options;
  std::string error;
  if (!ParseOptions(argc, argv, &options, &error)) {
    std::fprintf(stderr, "utkikk-sensor: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  auto log = spdlog::stderr_color_mt("sensor");
  log->set_pattern("%L %n: %v");

  auto config = sensor::LoadSensorConfig(options.config);
  if (!config) {
    std::fprintf(stderr, "utkikk-sensor: %s\n", config.error().message.c_str());
    return 1;
  }
  if (!options.log_dir.empty()) {
    config->logs.directory = options.log_dir;
  }

  const bool syslog_on = config->syslog.enabled && !config->syslog.listeners.empty();
  if (options.syslog_only && !syslog_on) {
    std::fprintf(stderr, "utkikk-sensor: --syslog-only needs a syslog: section with listeners\n");
    return 2;
  }
  sensor::PacketSourcePtr source;
  if (!options.syslog_only) {
    rules::Result<sensor::PacketSourcePtr> opened =
        options.read.empty() ? [&] {
          sensor::CaptureConfig capture = config->capture;
          capture.interface = options.interface;
          return sensor::OpenLiveInterface(capture);
        }()
                             : sensor::OpenPcapFile(options.read);
    if (!opened) {
      std::fprintf(stderr, "utkikk-sensor: %s\n", opened.error().message.c_str());
      return 1;
    }
    source = std::move(*opened);
  }
  auto sink = sensor::OpenZeekLogSink(config->logs.directory, config->logs.format,
                                       config->sensor_id);
  if (!sink) {
    std::fprintf(stderr, "utkikk-sensor: %s\n", sink.error().message.c_str());
    return 1;
  }
  std::vector<std::string> writable = {config->logs.directory};
  if (config->inventory.enabled) {
    const std::string& db = config->inventory.database;
    size_t slash = db.find_last_of('/');
    writable.push_back(slash == std::string::npos ? "." : db.substr(0, slash == 0 ? 1 : slash));
  }
  if (config->summary.enabled) {
    writable.push_back(config->summary.spool_directory);
  }
  if (syslog_on) writable.push_back(config->syslog.store.directory);
  for (const auto& dir : writable) {
    if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
      std::fprintf(stderr, "utkikk-sensor: cannot create %s: %s\n", dir.c_str(), std::strerror(errno));
      return 1;
    }
  }
  // The syslog receiver binds its ports (514 needs root) and the log store opens before the
  // privileges go; the receiver's thread starts once the rest is wired (docs/logs.md).
  std::unique_ptr<sensor::LogStore> log_store;
  std::unique_ptr<sensor::SyslogReceiver> receiver;
  if (syslog_on) {
    auto store = sensor::OpenLogStore(config->syslog.store);
    if (!store) {
      std::fprintf(stderr, "utkikk-sensor: %s\n", store.error().message.c_str());
      return 1;
    }
    log_store = std::move(*store);
    auto created = sensor::CreateSyslogReceiver(config->syslog, log_store.get());
    if (!created) {
      std::fprintf(stderr, "utkikk-sensor: %s\n", created.error().message.c_str());
      return 1;
    }
    receiver = std::move(*created);
    if (!HandOverTree(config->user, config->syslog.store.directory, &error)) {
      std::fprintf(stderr, "utkikk-sensor: %s\n", error.c_str());
      return 1;
    }
  }
  if (!DropPrivileges(config->user, writable, &error)) {
    std::fprintf(stderr, "utkikk-sensor: %s\n", error.c_str());
    return 1;
  }
  // The inventory: fingerprints, the SQLite store, and the extractors that feed it.
  std::unique_ptr<rules::FingerprintDb> fingerprints;
  std::unique_ptr<sensor::Inventory> inventory;
  std::unique_ptr<sensor::Summariser> summariser;  // tee in front of the inventory
  std::unique_ptr<sensor::Alerting> alerting;      // tee in front of both: rules on facts
  std::unique_ptr<sensor::ProtocolLogs> protocol_logs;  // declared first: outlives extractors
  std::unique_ptr<sensor::ExtractorSet> extractors;
  rules::FactSink* fact_head = nullptr;  // where facts enter the chain (also those from logs)
  if (config->inventory.enabled) {
    std::string fp_dir = config->inventory.fingerprints.empty() ? std::string(UTKIKK_FINGERPRINT_DIR)
                                                                : config->inventory.fingerprints;
    auto db = rules::LoadFingerprintDb(fp_dir);
    if (!db) {
      std::fprintf(stderr, "utkikk-sensor: %s\n", db.error().message.c_str());
      return 1;
    }
    fingerprints = std::make_unique<rules::FingerprintDb>(std::move(*db));
    sensor::InventoryConfig inventory_config;
    inventory_config.log_dir = config->logs.directory;
    inventory_config.log_format = config->logs.format == sensor::LogFormat::kTsv
                                      ? sensor::ZeekLogFormat::kTsv
                                      : sensor::ZeekLogFormat::kJson;
    auto opened = sensor::Inventory::Open(config->inventory.database, inventory_config);
    if (!opened) {
      std::fprintf(stderr, "utkikk-sensor: %s\n", opened.error().message.c_str());
      return 1;
    }
    inventory = std::move(*opened);
    rules::FactSink* facts = inventory.get();
    if (config->summary.enabled) {
      auto spool = uplink::SpoolWriter::Open({.dir = config->summary.spool_directory});
      if (!spool) {
        std::fprintf(stderr, "utkikk-sensor: spool: %s\n", spool.error().message.c_str());
        return 1;
      }
      sensor::SummariserConfig summary;
      summary.interval_us = config->summary.interval.count() * 1000;
      summary.max_batch_bytes = config->summary.max_batch_bytes;
      summary.client_banners = config->summary.client_banners;
      summary.max_peer_addresses = config->summary.peer_addresses;
      summary.alert_personal_evidence = config->summary.alert_personal_evidence;
      summary.local_nets = config->local_nets;
      summary.disk_paths = {{"spool", config->summary.spool_directory},
                            {"logs", config->logs.directory}};
      summariser = std::make_unique<sensor::Summariser>(summary, std::move(*spool), facts);
      facts = summariser.get();
    }
    if (config->alerts.enabled) {
      auto opened_alerting = sensor::OpenAlerting(
          config->alerts, config->inventory.database, config->logs.directory,
          inventory_config.log_format, config->sensor_id, config->local_nets, *facts);
      if (!opened_alerting) {
        std::fprintf(stderr, "utkikk-sensor: %s\n", opened_alerting.error().message.c_str());
        return 1;
      }
      alerting = std::move(*opened_alerting);
      for (const auto& zone : alerting->UnknownZones()) {
        log->warn("rules name zone '{}', which the config does not define", zone);
      }
      facts = &alerting->facts();
      if (summariser) {
        alerting->SetObserver([s = summariser.get()](const rules::engine::Alert& alert,
                                                     const sensor::AlertConn&) {
          s->OnAlert(alert);
        });
      }
    }
    sensor::ExtractConfig extract_config;
    extract_config.p0f_database = config->inventory.p0f_database;
    extractors = std::make_unique<sensor::ExtractorSet>(extract_config, fingerprints.get(), *facts,
                                                        config->local_nets);
    if (!extractors->warning().empty()) log->warn("{}", extractors->warning());
    if (config->logs.protocol_logs) {
      protocol_logs = std::make_unique<sensor::ProtocolLogs>(
          config->logs.directory, config->logs.format == sensor::LogFormat::kTsv
                                      ? sensor::ZeekLogFormat::kTsv
                                      : sensor::ZeekLogFormat::kJson);
      extractors->SetProtocolLogs(protocol_logs.get());
    }
    fact_head = facts;
  }

  auto classifier = sensor::MakeNdpiClassifier(sensor::ClassifierConfig{});
  if (!classifier) {
    std::fprintf(stderr, "utkikk-sensor: %s\n", classifier.error().message.c_str());
    return 1;
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = OnReloadSignal;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  signal(SIGPIPE, SIG_IGN);

  sensor::Pipeline pipeline(*config, std::move(*classifier), std::move(*sink), extractors.get());
  if (alerting) {
    pipeline.SetFlowAlerter(&alerting->flows());
    if (extractors) {
      sensor::Alerting* a = alerting.get();
      extractors->SetDnsObserver([a](const rules::engine::DnsObservation& dns) { a->OnDns(dns); });
    }
  }
  // Syslog: the receiver's thread queues facts and log events in the feed; the packet thread
  // drains it at every OnTime (about once a second) and once at the end.
  std::unique_ptr<sensor::LogFeed> log_feed;
  LogWiring log_wiring;
  if (receiver) {
    log_feed = std::make_unique<sensor::LogFeed>(65536, alerting != nullptr);
    receiver->SetMessageHook([f = log_feed.get()](const sensor::LogRecord& record,
                                                  const sensor::SyslogMessage& message) {
      f->OnMessage(record, message);
    });
    log_wiring.feed = log_feed.get();
    log_wiring.store = log_store.get();
    log_wiring.facts = fact_head;
    log_wiring.inventory = inventory.get();
    log_wiring.summariser = summariser.get();
    log_wiring.alerting = alerting.get();
    log_wiring.watch = std::make_unique<sensor::LogSenderWatch>(config->syslog.store);
    log_wiring.log = log.get();
    if (auto started = receiver->Start(); !started) {
      std::fprintf(stderr, "utkikk-sensor: %s\n", started.error().message.c_str());
      return 1;
    }
    for (size_t i = 0; i < config->syslog.listeners.size(); ++i) {
      const auto& l = config->syslog.listeners[i];
      log->info("syslog: listening {} {}:{}", sensor::SyslogTransportName(l.transport), l.address,
                receiver->port(i));
    }
  }
  // Flow aggregates and the summary heartbeat (capture counters, Tick) from the pipeline; rule
  // reloads (SIGHUP) between packets, on the packet thread.
  struct SummaryObserver : sensor::PipelineObserver {
    sensor::Summariser* summariser = nullptr;
    sensor::Alerting* alerting = nullptr;
    spdlog::logger* log = nullptr;
    void OnFlowEnd(const sensor::FlowRecord& flow, bool local_orig, bool local_resp) override {
      if (summariser) summariser->OnFlowEnd(flow, local_orig, local_resp);
    }
    void OnTime(int64_t now_us, uint64_t packets, const sensor::CaptureStats& capture) override {
      if (logs) logs->Drain(false);
      if (alerting && g_reload.exchange(false)) {
        if (auto r = alerting->Reload(); r) {
          log->info("rules reloaded: {} rules from {} files", alerting->rules_state().rules,
                    alerting->rules_state().files);
        } else {
          log->error("rules not reloaded, the previous set keeps running: {}", r.error().message);
        }
        if (summariser) summariser->SetHealthField("rules", alerting->rules_state().Json());
      }
      // The signed rule bundle: a new version installed by the uplink, and its expiry. Wall
      // clock, once a minute (also while reading a capture: the bundle lives in real time).
      int64_t wall = WallMicros();
      if (alerting && wall >= next_bundle_check_us) {
        next_bundle_check_us = wall + 60'000'000;
        bool reloaded = false;
        const bool was_expired = alerting->rules_state().bundle_expired;
        if (auto r = alerting->CheckBundle(wall, &reloaded); !r) {
          log->error("rule bundle refused, the running rules stay: {}", r.error().message);
        } else if (reloaded) {
          log->info("rule bundle version {} running: {} rules",
                    alerting->rules_state().bundle_version, alerting->rules_state().rules);
        }
        if (!was_expired && alerting->rules_state().bundle_expired) {
          log->warn("rule bundle version {} expired at {}; it keeps running as the last good set "
                    "until a newer one arrives (alert rules-expired)",
                    alerting->rules_state().bundle_version, alerting->rules_state().bundle_expires);
        }
        if (summariser) summariser->SetHealthField("rules", alerting->rules_state().Json());
      }
      if (protocol_logs && wall >= next_protocol_flush_us) {
        next_protocol_flush_us = wall + 10'000'000;  // what an operator tails appears soon
        if (auto ok = protocol_logs->Flush(); !ok) log->error("protocol logs: {}", ok.error().message);
      }
      if (summariser) {
        summariser->SetCaptureStats(packets, capture.dropped + capture.interface_dropped);
        summariser->Tick(now_us);
      }
    }
    LogWiring* logs = nullptr;
    int64_t next_bundle_check_us = 0;
    sensor::ProtocolLogs* protocol_logs = nullptr;
    int64_t next_protocol_flush_us = 0;
  } summary_observer;
  summary_observer.protocol_logs = protocol_logs.get();
  summary_observer.summariser = summariser.get();
  summary_observer.alerting = alerting.get();
  summary_observer.log = log.get();
  if (receiver) summary_observer.logs = &log_wiring;
  if (summariser && alerting) summariser->SetHealthField("rules", alerting->rules_state().Json());
  if (alerting && alerting->rules_state().bundle_version != 0) {
    log->info("rule bundle version {} (expires {}{})", alerting->rules_state().bundle_version,
              alerting->rules_state().bundle_expires,
              alerting->rules_state().bundle_expired ? ": EXPIRED, kept as the last good set" : "");
  } else if (alerting && !alerting->rules_state().bundle_error.empty()) {
    log->error("rule bundle refused, running the configured rule files: {}",
               alerting->rules_state().bundle_error);
  }
  if (summariser || alerting || receiver || protocol_logs) {
    pipeline.SetObserver(&summary_observer);
  }
  bool tty = isatty(STDERR_FILENO) == 1 && source;
  rules::Result<> done;
  if (source) {
    log->info("capturing from {}, logs in {}", source->name(), config->logs.directory);
    std::function<void(const sensor::PacketSource&, uint64_t)> progress;
    if (tty) {
      progress = PrintProgress;
    }
    done = sensor::RunCapture(*source, pipeline, g_stop, progress);
    if (tty) {
      std::fputc('\n', stderr);
    }
  } else {
    // --syslog-only: wall-clock time passes for the pipeline (stats, summaries, the drain).
    log->info("syslog only, logs in {}", config->logs.directory);
    while (!g_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      pipeline.Tick(WallMicros());
    }
    done = pipeline.Finish();
  }
  if (receiver) {
    receiver->Stop();
    log_wiring.Drain(true);
    if (auto flushed = log_store->Flush(); !flushed) {
      log->error("log store: {}", flushed.error().message);
    }
    sensor::LogFeedStats fs = log_feed->stats();
    log->info("syslog: {} messages, {} facts, {} log events, {} dropped (feed full)",
              fs.messages, fs.facts, fs.events, fs.dropped_facts + fs.dropped_events);
  }
  sensor::StatsRecord stats = pipeline.CurrentStats();
  log->info("{} packets, {} flows, {} anomalies, {} dropped by the capture", stats.pkts_proc,
            stats.tcp_conns + stats.udp_conns + stats.icmp_conns, stats.weirds,
            stats.pkts_dropped + stats.pkts_if_dropped);
  int status = 0;
  if (!done) {
    log->error("{}", done.error().message);
    status = 1;
  }
  if (summariser) {
    summariser->SetCaptureStats(stats.pkts_proc, stats.pkts_dropped + stats.pkts_if_dropped);
    if (auto closed = summariser->Close(); !closed) {
      log->error("summary: {}", closed.error().message);
      status = 1;
    }
    log->info("summary: {} batches in {}", summariser->stats().batches,
              config->summary.spool_directory);
  }
  if (protocol_logs) {
    if (auto closed = protocol_logs->Close(stats.ts_us); !closed) {
      log->error("protocol logs: {}", closed.error().message);
    }
  }
  if (inventory) {
    if (auto closed = inventory->Close(); !closed) {
      log->error("inventory: {}", closed.error().message);
      status = 1;
    }
    sensor::InventoryStats is = inventory->stats();
    log->info("inventory: {} facts, {} without SQL, {} rows new, {} last-seen updates, {} commits",
              is.facts, is.cache_hits, is.rows_inserted, is.rows_touched, is.commits);
  }
  if (alerting) {
    if (auto closed = alerting->Close(); !closed) {
      log->error("alerts: {}", closed.error().message);
      status = 1;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "utkikk-sensor: fatal: %s\n", e.what());
    return 1;
  }
}
