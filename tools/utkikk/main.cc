// utkikk: the command-line tool for people. Dispatches to the subcommands in commands.h.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "commands.h"

namespace {

constexpr const char* kUsage =
    "usage: utkikk COMMAND [ARGS]\n"
    "commands:\n"
    "  inventory [--db PATH] [--format table|json|csv] [--exposed] [--host IP] [--changes]\n"
    "                                   hosts, services, OS and software the sensor found\n"
    "  alerts [--db PATH] [--since TIME] [--format table|json]\n"
    "                                   alerts the rules raised, with their evidence\n"
    "  rules check FILE...              validate rule files and explain each rule\n"
    "  identify --kind KIND [--jsonl]   name vendor/product/version of banners read from stdin\n"
    "  logs parse [--jsonl]             parse syslog messages read from stdin into JSON\n"
    "  logs [--dir D] [--host H] [--since T] [--until T] [--grep TEXT] [--format text|json]\n"
    "                                   query the local log store; logs senders: who sends logs\n"
    "  flows [--log-dir DIR] [--host IP] [--format table|json]\n"
    "                                   services seen in conn.log, internal and exposed\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  utkikk_cli::Args args(argv + 2, argv + argc);
  try {
    if (command == "identify") return utkikk_cli::RunIdentify(args);
    if (command == "logs") return utkikk_cli::RunLogs(args);
    if (command == "flows") return utkikk_cli::RunFlows(args);
    if (command == "inventory") return utkikk_cli::RunInventory(args);
    if (command == "rules") return utkikk_cli::RunRules(args);
    if (command == "alerts") return utkikk_cli::RunAlerts(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "utkikk %s: %s\n", command.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "utkikk: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}
