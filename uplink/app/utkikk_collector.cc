// utkikk-collector: the CSIRT side. Enrolls sensor keys, ingests envelopes (from the network
// with `run`, from files with `ingest`) and answers queries. Thin: parse arguments, load the
// config, call the library (uplink/collector/collector.h).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "uplink/collector/affected.h"
#include "uplink/collector/collector.h"
#include "uplink/collector/query_format.h"
#include "uplink/rule_bundle.h"
#include "uplink/rule_bundle_check.h"

namespace {

constexpr const char* kUsage = R"(usage: utkikk-collector COMMAND [--config FILE] [--store URL] ...
  run                                   listen for envelopes (Broker over mutual TLS)
  enroll --member ID --sensor-id SID --sensor-key PUBKEY.pem [--replace]
                                        enroll a sensor's public key, print its fingerprint
  keys [--format table|json]            list enrolled keys
  ingest FILE...                        verify and store envelope files (offline members, tests)
  query software --product P [--vendor V] [--version-below V] [--format table|json]
  query hosts --member ID [--format table|json]
  query gaps [--format table|json]
  query alerts [--member ID] [--since 24h|2026-11-22|2026-11-22T08:00:00Z] [--format table|json]
  query health [--format table|json]    the latest health line of every sensor
  query affected --rule ID [RULE_FILE...] [--format table|json]
                                        stored software the software rule ID matches (rule
                                        files default to every pack shipped with the build)
  rules publish --key RULES_KEY.pem --version N [--expires-days D] RULE_FILE...
                                        sign the files as rule bundle version N (expiry D days,
                                        default 30), install it in rules_bundle_dir for the
                                        uplinks, and list who its software rules affect
  rules key --out RULES_KEY.pem         make the CSIRT's Ed25519 rules key (and .pub.pem)
--config defaults to /etc/utkikk/collector.yaml; --store overrides its store_url.
)";

struct Args {
  std::string command;
  std::string subcommand;  // for query
  std::map<std::string, std::string> options;
  std::vector<std::string> files;
  bool replace = false;
};

int Usage(const std::string& problem) {
  if (!problem.empty())
    std::cerr << "utkikk-collector: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

// Options take one value each, except the flag --replace; anything else is a positional.
bool ParseArgs(int argc, char** argv, Args* args, std::string* problem) {
  static const char* const kValued[] = {"--config",    "--store",         "--member",
                                        "--sensor-id", "--sensor-key",    "--product",
                                        "--vendor",    "--version-below", "--format",
                                        "--since",     "--rule",          "--key",
                                        "--version",   "--expires-days",  "--out"};
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--replace") {
      args->replace = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      *problem = "";
      return false;
    }
    if (a.starts_with("--")) {
      bool known = false;
      for (const char* v : kValued)
        known = known || a == v;
      if (!known) {
        *problem = "unknown option " + a;
        return false;
      }
      if (i + 1 >= argc) {
        *problem = a + " needs a value";
        return false;
      }
      args->options[a] = argv[++i];
      continue;
    }
    positional.push_back(a);
  }
  if (positional.empty()) {
    *problem = "no command";
    return false;
  }
  args->command = positional[0];
  size_t first_file = 1;
  if (args->command == "rules") {
    if (positional.size() < 2) {
      *problem = "rules what? publish or key";
      return false;
    }
    args->subcommand = positional[1];
    first_file = 2;
  }
  if (args->command == "query") {
    if (positional.size() < 2) {
      *problem = "query what? software, hosts, gaps, alerts, health or affected";
      return false;
    }
    args->subcommand = positional[1];
    first_file = 2;
  }
  args->files.assign(positional.begin() + static_cast<std::ptrdiff_t>(first_file),
                     positional.end());
  return true;
}

std::string Option(const Args& args, const std::string& name) {
  const auto it = args.options.find(name);
  return it == args.options.end() ? std::string() : it->second;
}

int Fail(const std::string& message) {
  spdlog::error("{}", message);
  return 1;
}

// Signs the rule files as one bundle, installs it where the transport offers it, and evaluates
// its software rules against the software every member already sent.
int RunPublish(uplink::Collector& collector, const uplink::CollectorConfig& config,
               const Args& args) {
  const std::string key_path = Option(args, "--key");
  const std::string version_text = Option(args, "--version");
  if (key_path.empty() || version_text.empty() || args.files.empty())
    return Usage("rules publish needs --key, --version and at least one RULE_FILE");
  uint64_t version = 0;
  int64_t days = 30;
  try {
    version = std::stoull(version_text);
    if (args.options.contains("--expires-days"))
      days = std::stoll(Option(args, "--expires-days"));
  } catch (const std::exception&) {
    return Usage("--version and --expires-days take numbers");
  }
  if (version == 0 || days < 1 || days > 3650)
    return Usage("--version must be 1 or more and --expires-days 1 to 3650");
  auto key = uplink::SigningKey::LoadPemFile(key_path);
  if (!key)
    return Fail(key.error().message);
  uplink::RuleBundle bundle;
  bundle.version = version;
  bundle.created_s = static_cast<int64_t>(std::time(nullptr));
  bundle.expires_s = bundle.created_s + days * 86400;
  for (const std::string& path : args.files) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return Fail(path + ": cannot read");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bundle.files.push_back({std::filesystem::path(path).filename().string(), std::move(content)});
  }
  // The bundle must load as rules the way the sensors load it (one directory, *_file naming its
  // own files): a broken file is refused before any sensor sees it.
  auto checked = uplink::CheckBundleRules(bundle, args.files,
                                          std::filesystem::temp_directory_path().string());
  if (!checked)
    return Fail("not published: " + checked.error().message);
  auto bytes = uplink::BuildRuleBundle(bundle, *key);
  if (!bytes)
    return Fail(bytes.error().message);
  auto installed = uplink::InstalledBundleVersion(config.rules_bundle_dir);
  if (!installed)
    return Fail(installed.error().message);
  auto verified = uplink::OpenRuleBundle(*bytes, key->verify_key(), bundle.created_s,
                                         *installed, nullptr);
  if (!verified)
    return Fail("not published: " + verified.error().message);
  if (auto ok = uplink::InstallRuleBundle(config.rules_bundle_dir, *bytes, *verified); !ok)
    return Fail(ok.error().message);
  std::cout << "published rule bundle version " << version << " (" << bundle.files.size()
            << " files, " << checked->rules().size() << " rules, expires in " << days
            << " days) in " << config.rules_bundle_dir << "\n";
  for (const auto& rule : checked->rules()) {
    if (rule.kind != rules::engine::RuleKind::kSoftware)
      continue;
    auto rows = uplink::QueryAffected(collector, *checked, rule.id);
    if (!rows)
      return Fail(rows.error().message);
    if (rows->empty())
      continue;
    std::set<std::string> members;
    for (const auto& r : *rows)
      members.insert(r.software.member_id);
    std::cout << "  " << rule.id << ": " << rows->size() << " installations at "
              << members.size() << " members (utkikk-collector query affected --rule " << rule.id
              << ")\n";
  }
  return 0;
}

int RunIngest(uplink::Collector& collector, const std::vector<std::string>& files) {
  if (files.empty())
    return Usage("ingest needs at least one FILE");
  int failures = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      spdlog::error("{}: cannot open", file);
      ++failures;
      continue;
    }
    // Read at most one byte more than the limit would allow: Ingest refuses it as too_large.
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    const uplink::IngestOutcome out = collector.Ingest(bytes);
    if (out.ack) {
      std::cout << file << ": " << (out.duplicate ? "duplicate" : "stored") << " " << out.sensor_id
                << " #" << out.sequence << "\n";
    } else {
      std::cout << file << ": rejected (" << out.reason << "): " << out.message << "\n";
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}

int Main(int argc, char** argv) {
  Args args;
  std::string problem;
  if (!ParseArgs(argc, argv, &args, &problem))
    return Usage(problem);

  // Needs no collector configuration (it may run on the CSIRT's offline machine).
  if (args.command == "rules" && args.subcommand == "key") {
    const std::string out = Option(args, "--out");
    if (out.empty())
      return Usage("rules key needs --out FILE");
    auto key = uplink::SigningKey::Generate();
    if (!key)
      return Fail(key.error().message);
    if (auto saved = key->SavePemFile(out); !saved)
      return Fail(saved.error().message);
    auto pub = key->verify_key().ToPem();
    if (!pub)
      return Fail(pub.error().message);
    const std::string pub_path = out.ends_with(".pem") ? out.substr(0, out.size() - 4) + ".pub.pem"
                                                       : out + ".pub";
    std::ofstream pub_out(pub_path);
    pub_out << *pub;
    pub_out.flush();
    if (!pub_out)
      return Fail(pub_path + ": cannot write");
    std::cout << "rules key " << out << "\npublic key " << pub_path << " (alerts.rules_public_key "
              << "on every sensor, rules_public_key for every uplink)\nfingerprint "
              << key->verify_key().Fingerprint() << "\n";
    return 0;
  }

  const std::string config_path =
      args.options.contains("--config") ? Option(args, "--config") : "/etc/utkikk/collector.yaml";
  auto config = uplink::LoadCollectorConfig(config_path);
  if (!config)
    return Fail(config.error().message);
  if (args.options.contains("--store"))
    config->store_url = Option(args, "--store");

  const std::string format_name =
      args.options.contains("--format") ? Option(args, "--format") : "table";
  const auto format = uplink::OutputFormatFromName(format_name);
  if (!format)
    return Usage("--format must be table or json");

  if (args.command == "run") {
#ifdef UTKIKK_HAVE_COLLECTOR_DAEMON
    return uplink::RunCollectorDaemon(*config);
#else
    std::cerr << "utkikk-collector: network listener not built yet\n";
    return 1;
#endif
  }

  auto opened = uplink::Collector::Open(*config);
  if (!opened)
    return Fail(opened.error().message);
  uplink::Collector& collector = **opened;

  if (args.command == "enroll") {
    const std::string member = Option(args, "--member");
    const std::string sensor = Option(args, "--sensor-id");
    const std::string key_file = Option(args, "--sensor-key");
    if (member.empty() || sensor.empty() || key_file.empty()) {
      return Usage("enroll needs --member, --sensor-id and --sensor-key");
    }
    auto key = uplink::VerifyKey::LoadPemFile(key_file);
    if (!key)
      return Fail(key.error().message);
    auto enrolled = collector.Enroll(member, sensor, *key, args.replace);
    if (!enrolled)
      return Fail(enrolled.error().message);
    std::cout << "enrolled sensor " << enrolled->sensor_id << " of member " << enrolled->member_id
              << "\nfingerprint " << enrolled->fingerprint
              << "\ncompare it with the one the sensor printed\n";
    return 0;
  }
  if (args.command == "keys") {
    auto keys = collector.Keys();
    if (!keys)
      return Fail(keys.error().message);
    std::cout << uplink::FormatKeys(*keys, *format);
    return 0;
  }
  if (args.command == "ingest")
    return RunIngest(collector, args.files);
  if (args.command == "rules" && args.subcommand == "publish")
    return RunPublish(collector, *config, args);
  if (args.command == "query") {
    if (args.subcommand == "software") {
      uplink::SoftwareQuery query{Option(args, "--product"), Option(args, "--vendor"),
                                  Option(args, "--version-below")};
      if (query.product.empty())
        return Usage("query software needs --product");
      auto rows = collector.QuerySoftware(query);
      if (!rows)
        return Fail(rows.error().message);
      std::cout << uplink::FormatSoftware(*rows, *format);
      return 0;
    }
    if (args.subcommand == "hosts") {
      const std::string member = Option(args, "--member");
      if (member.empty())
        return Usage("query hosts needs --member");
      auto rows = collector.QueryHosts(member);
      if (!rows)
        return Fail(rows.error().message);
      std::cout << uplink::FormatHosts(*rows, *format);
      return 0;
    }
    if (args.subcommand == "gaps") {
      auto rows = collector.QueryGaps();
      if (!rows)
        return Fail(rows.error().message);
      std::cout << uplink::FormatGaps(*rows, *format);
      return 0;
    }
    if (args.subcommand == "alerts") {
      uplink::AlertQuery query{Option(args, "--member"), 0};
      if (const std::string since = Option(args, "--since"); !since.empty()) {
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        const auto us = uplink::ParseSinceUs(since, now);
        if (!us)
          return Usage("--since '" + since + "': a date, a UTC time or a span like 24h");
        query.since_us = *us;
      }
      auto rows = collector.QueryAlerts(query);
      if (!rows)
        return Fail(rows.error().message);
      std::cout << uplink::FormatAlerts(*rows, *format);
      return 0;
    }
    if (args.subcommand == "health") {
      auto rows = collector.QueryHealth();
      if (!rows)
        return Fail(rows.error().message);
      std::cout << uplink::FormatHealth(*rows, *format);
      return 0;
    }
    if (args.subcommand == "affected") {
      const std::string rule = Option(args, "--rule");
      if (rule.empty())
        return Usage("query affected needs --rule ID");
      std::vector<std::string> files = args.files;
      if (files.empty()) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(UTKIKK_RULE_PACK_DIR, ec)) {
          if (e.path().extension() == ".yaml")
            files.push_back(e.path().string());
        }
        std::sort(files.begin(), files.end());
      }
      auto rules = rules::engine::LoadRuleFiles(files);
      if (!rules)
        return Fail(rules.error().message);
      auto rows = uplink::QueryAffected(collector, *rules, rule);
      if (!rows)
        return Fail(rows.error().message);
      std::vector<uplink::SoftwareRow> software;
      std::set<std::string> members;
      for (const auto& r : *rows) {
        members.insert(r.software.member_id);
        software.push_back(r.software);
      }
      if (*format != uplink::OutputFormat::kJson) {
        std::cout << "rule " << rule << ": " << software.size() << " installations at "
                  << members.size() << " members\n";
      }
      std::cout << uplink::FormatSoftware(software, *format);
      return 0;
    }
    return Usage("unknown query '" + args.subcommand + "'");
  }
  return Usage("unknown command '" + args.command + "'");
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("collector");
  logger->set_pattern("%L %n: %v");
  spdlog::set_default_logger(logger);
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    spdlog::critical("unexpected: {}", e.what());
    return 1;
  }
}
