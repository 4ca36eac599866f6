// utkikk logs: the local log store and the syslog parser from the command line (docs/logs.md).
//   utkikk logs [--dir D] [--host NAME|IP] [--since T] [--until T] [--grep TEXT]
//               [--format text|json]          stored messages, oldest first
//   utkikk logs senders [--dir D] [--format text|json] [--quiet-after DUR] ...
//                                             who sends logs, and who went quiet
//   utkikk logs parse ...                     raw syslog messages from stdin -> JSON
// `logs parse` reads one message per line (default), JSON lines {"raw": TEXT} or
// {"raw_b64": BYTES} (--jsonl; raw_b64 wins when both are there), or a TCP syslog byte stream
// (--stream: RFC 6587 octet counting / LF framing, as the receiver sees it).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "commands.h"
#include "sensor/logs/json_value.h"
#include "sensor/logs/log_store.h"
#include "sensor/logs/log_store_query.h"
#include "sensor/logs/syslog_framing.h"
#include "sensor/logs/syslog_parser.h"

namespace utkikk_cli {

namespace {

constexpr const char* kDefaultDir = "/var/lib/utkikk/logs";

constexpr const char* kQueryUsage =
    "usage: utkikk logs [--dir D] [--host NAME|IP] [--since T] [--until T] [--grep TEXT]\n"
    "                   [--format text|json]\n"
    "  prints stored messages, oldest first (store: --dir, default /var/lib/utkikk/logs)\n"
    "  --host NAME|IP  sender address, or the HOSTNAME in the message\n"
    "  --since/--until T  now, 15m, 2h, 7d (back from now), @UNIX, 2024-05-01,\n"
    "                  2024-05-01T10:00:00Z (RFC 3339); receive time, --until exclusive\n"
    "  --grep TEXT     the raw message contains TEXT\n"
    "usage: utkikk logs senders [--dir D] [--format text|json] [--quiet-after DUR]\n"
    "                   [--min-per-hour N] [--steady-hours N] [--now T]\n"
    "  senders with messages, bytes, drops, first/last seen and state (active, quiet:\n"
    "  steady for --steady-hours at --min-per-hour then silent for --quiet-after, inactive)\n";

constexpr const char* kLogsUsage =
    "usage: utkikk logs parse [--jsonl | --stream] [--year YYYY] [--max-bytes N]\n"
    "  reads syslog messages from stdin, prints one JSON object per message\n"
    "  --jsonl      input lines are {\"raw\": TEXT} or {\"raw_b64\": BASE64} objects\n"
    "  --stream     input is a TCP syslog stream (octet counting or LF framing)\n"
    "  --year YYYY  year for RFC 3164 timestamps without one (default: current year)\n";

void Emit(sensor::SyslogParser& parser, std::string_view raw, std::string* out) {
  sensor::SyslogMessage message;
  parser.Parse(raw, &message);
  out->clear();
  sensor::AppendJson(message, out);
  out->push_back('\n');
  std::fwrite(out->data(), 1, out->size(), stdout);
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ParseFormat(const std::string& value, bool* json) {
  if (value == "json") *json = true;
  else if (value == "text") *json = false;
  else return false;
  return true;
}

int RunQuery(const Args& args) {
  std::string dir = kDefaultDir;
  sensor::LogQuery query;
  bool json = false;
  int64_t now = NowUs();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kQueryUsage, stdout);
      return 0;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "utkikk logs: unknown option or missing value '%s'\n%s", a.c_str(),
                   kQueryUsage);
      return 2;
    }
    const std::string& v = args[++i];
    if (a == "--dir") {
      dir = v;
    } else if (a == "--host") {
      if (auto ip = rules::IpAddress::Parse(v)) query.sender = *ip;
      else query.host_name = v;
    } else if (a == "--since" || a == "--until") {
      auto t = sensor::ParseQueryTime(v, now);
      if (!t) {
        std::fprintf(stderr, "utkikk logs: bad time for %s: '%s'\n", a.c_str(), v.c_str());
        return 2;
      }
      (a == "--since" ? query.since_us : query.until_us) = *t;
    } else if (a == "--grep") {
      query.grep = v;
    } else if (a == "--format") {
      if (!ParseFormat(v, &json)) {
        std::fprintf(stderr, "utkikk logs: --format is text or json\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "utkikk logs: unknown option '%s'\n%s", a.c_str(), kQueryUsage);
      return 2;
    }
  }
  std::string out;
  auto scan = sensor::ScanLogStore(dir, query, [&](const sensor::StoredLogRecord& r) {
    out.clear();
    if (json) sensor::AppendRecordJson(r, &out);
    else sensor::AppendRecordText(r, &out);
    out.push_back('\n');
    return std::fwrite(out.data(), 1, out.size(), stdout) == out.size();
  });
  if (!scan) {
    std::fprintf(stderr, "utkikk logs: %s\n", scan.error().message.c_str());
    return 1;
  }
  if (scan->bad_blocks > 0) {
    std::fprintf(stderr, "utkikk logs: %llu damaged block(s) skipped\n",
                 static_cast<unsigned long long>(scan->bad_blocks));
  }
  return 0;
}

int RunSenders(const Args& args) {
  std::string dir = kDefaultDir;
  bool json = false;
  sensor::LogStoreConfig thresholds;
  int64_t now = NowUs();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kQueryUsage, stdout);
      return 0;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "utkikk logs senders: missing value for '%s'\n", a.c_str());
      return 2;
    }
    const std::string& v = args[++i];
    bool ok = true;
    if (a == "--dir") {
      dir = v;
    } else if (a == "--format") {
      ok = ParseFormat(v, &json);
    } else if (a == "--now") {
      auto t = sensor::ParseQueryTime(v, now);
      ok = t.has_value();
      if (ok) now = *t;
    } else if (a == "--quiet-after") {
      // A duration back from "now" gives its length.
      auto t = sensor::ParseQueryTime(v, 0);
      ok = t && *t < 0;
      if (ok) thresholds.quiet_after = std::chrono::milliseconds(-*t / 1000);
    } else if (a == "--min-per-hour" || a == "--steady-hours") {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      ok = *end == '\0' && n >= 1 && (a == "--min-per-hour" || n <= 23);
      if (ok && a == "--min-per-hour") thresholds.quiet_min_per_hour = static_cast<uint64_t>(n);
      if (ok && a == "--steady-hours") thresholds.quiet_steady_hours = static_cast<int>(n);
    } else {
      std::fprintf(stderr, "utkikk logs senders: unknown option '%s'\n%s", a.c_str(),
                   kQueryUsage);
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "utkikk logs senders: bad value for %s: '%s'\n", a.c_str(), v.c_str());
      return 2;
    }
  }
  auto senders = sensor::ReadSenderStats(dir);
  if (!senders) {
    std::fprintf(stderr, "utkikk logs senders: %s\n", senders.error().message.c_str());
    return 1;
  }
  std::string out;
  if (!json) {
    char head[160];
    std::snprintf(head, sizeof(head), "%-39s %-8s %12s %14s %10s %s\n", "SENDER", "STATE",
                  "MESSAGES", "BYTES", "DROPPED", "FIRST_SEEN LAST_SEEN");
    out += head;
  }
  for (const sensor::SenderStats& s : *senders) {
    sensor::SenderState state = sensor::ClassifySender(s, thresholds, now);
    if (json) sensor::AppendSenderJson(s, state, &out);
    else sensor::AppendSenderText(s, state, &out);
    out.push_back('\n');
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int RunParse(const Args& args) {
  bool jsonl = false;
  bool stream = false;
  sensor::SyslogParserConfig config;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--jsonl") {
      jsonl = true;
    } else if (a == "--stream") {
      stream = true;
    } else if ((a == "--year" || a == "--max-bytes") && i + 1 < args.size()) {
      char* end = nullptr;
      long v = std::strtol(args[i + 1].c_str(), &end, 10);
      if (end == args[i + 1].c_str() || *end != '\0' || v <= 0 ||
          (a == "--year" && v > 9999)) {
        std::fprintf(stderr, "utkikk logs parse: bad value for %s: '%s'\n", a.c_str(),
                     args[i + 1].c_str());
        return 2;
      }
      if (a == "--year") config.default_year = static_cast<int>(v);
      else config.max_message_bytes = static_cast<size_t>(v);
      ++i;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kLogsUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "utkikk logs parse: unknown option '%s'\n%s", a.c_str(), kLogsUsage);
      return 2;
    }
  }
  if (jsonl && stream) {
    std::fputs("utkikk logs parse: --jsonl and --stream exclude each other\n", stderr);
    return 2;
  }
  sensor::SyslogParser parser(config);
  std::string out;
  if (stream) {
    sensor::SyslogFramer framer(config.max_message_bytes);
    auto on_message = [&](std::string_view m) { Emit(parser, m, &out); };
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) {
      framer.Feed(std::string_view(buf, n), on_message);
    }
    framer.Finish(on_message);
    return 0;
  }
  std::string line;
  int bad = 0;
  uint64_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!jsonl) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      Emit(parser, line, &out);
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto doc = sensor::ParseJson(line);
    const sensor::JsonValue* b64 = doc ? doc->Get("raw_b64") : nullptr;
    const sensor::JsonValue* raw = doc ? doc->Get("raw") : nullptr;
    if (b64 && b64->is_string()) {
      auto bytes = sensor::DecodeBase64(b64->text);
      if (bytes) {
        Emit(parser, *bytes, &out);
        continue;
      }
    } else if (raw && raw->is_string()) {
      Emit(parser, raw->text, &out);
      continue;
    }
    ++bad;
    std::fprintf(stderr, "utkikk logs parse: line %llu: not a {\"raw\"} or {\"raw_b64\"} object\n",
                 static_cast<unsigned long long>(line_no));
  }
  return bad == 0 ? 0 : 1;
}

}  // namespace

int RunLogs(const Args& args) {
  if (!args.empty() && args[0] == "parse") return RunParse(Args(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "senders") return RunSenders(Args(args.begin() + 1, args.end()));
  return RunQuery(args);
}

}  // namespace utkikk_cli
