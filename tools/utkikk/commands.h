// The subcommands of `utkikk`, the CLI for people. Each lives in its own cmd_*.cc file and gets
// the arguments after its name. Returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace utkikk_cli {

using Args = std::vector<std::string>;

int RunIdentify(const Args& args);  // utkikk identify --kind KIND [--jsonl]     (cmd_identify.cc)
int RunLogs(const Args& args);      // utkikk logs parse [--jsonl] | logs query (cmd_logs.cc)
int RunInventory(const Args& args);  // utkikk inventory [--db PATH] [--format ...] (cmd_inventory.cc)
int RunRules(const Args& args);      // utkikk rules check FILE...              (cmd_rules.cc)
int RunAlerts(const Args& args);     // utkikk alerts [--db PATH] [--since T] (cmd_alerts.cc)
int RunFlows(const Args& args);     // utkikk flows [--log-dir DIR] [--host IP]  (cmd_flows.cc)

}  // namespace utkikk_cli
