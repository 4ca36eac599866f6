// utkikk logs parse: reads raw syslog messages from stdin and prints one JSON object per message
// (docs/logs.md). Input: one message per line (default), JSON lines {"raw": TEXT} or
// {"raw_b64": BYTES} (--jsonl; raw_b64 wins when both are there), or a TCP syslog byte stream
// (--stream: RFC 6587 octet counting / LF framing, as the receiver sees it).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "commands.h"
#include "sensor/logs/json_value.h"
#include "sensor/logs/syslog_framing.h"
#include "sensor/logs/syslog_parser.h"

namespace utkikk_cli {

namespace {

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

}  // namespace

int RunLogs(const Args& args) {
  if (args.empty() || args[0] != "parse") {
    std::fputs(kLogsUsage, args.empty() ? stderr : stdout);
    return args.empty() || (args[0] != "--help" && args[0] != "-h") ? 2 : 0;
  }
  bool jsonl = false;
  bool stream = false;
  sensor::SyslogParserConfig config;
  for (size_t i = 1; i < args.size(); ++i) {
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

}  // namespace utkikk_cli
