// utkikk rules check FILE…: loads rule files, explains every rule in one line (id, kind,
// severity, what it matches), runs the tests embedded in the files, and reports every error as
// file:line:column. Exit 0 when all is well, 1 on any error or failing test, 2 on bad arguments.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "rules/engine/rule_set.h"

namespace utkikk_cli {
namespace {

constexpr const char* kRulesUsage =
    "usage: utkikk rules check [--quiet] FILE...\n"
    "  Validates rule files (docs/rules.md), prints one line per rule and runs the tests\n"
    "  embedded in them. Errors are printed as file:line:column: message; exit status 1.\n";

int RulesBadArgs(const std::string& message) {
  std::fprintf(stderr, "utkikk rules: %s (see utkikk rules --help)\n", message.c_str());
  return 2;
}

}  // namespace

int RunRules(const Args& args) {
  if (args.empty()) return RulesBadArgs("missing subcommand");
  if (args[0] == "--help" || args[0] == "-h") {
    std::fputs(kRulesUsage, stdout);
    return 0;
  }
  if (args[0] != "check") return RulesBadArgs("unknown subcommand '" + args[0] + "'");
  bool quiet = false;
  std::vector<std::string> files;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--quiet" || args[i] == "-q") {
      quiet = true;
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kRulesUsage, stdout);
      return 0;
    } else if (!args[i].empty() && args[i][0] == '-') {
      return RulesBadArgs("unknown option '" + args[i] + "'");
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) return RulesBadArgs("no rule files given");

  int errors = 0;
  size_t rules = 0;
  size_t tests = 0;
  for (const std::string& file : files) {
    auto set = rules::engine::LoadRuleFiles({file});
    if (!set) {
      std::fprintf(stderr, "%s\n", set.error().message.c_str());
      ++errors;
      continue;
    }
    for (const rules::engine::Rule& r : set->rules()) {
      ++rules;
      tests += r.tests.size();
      if (!quiet) {
        std::printf("%s  %-9s %-8s %s\n", r.id.c_str(),
                    std::string(rules::engine::RuleKindName(r.kind)).c_str(),
                    std::string(rules::engine::SeverityName(r.severity)).c_str(),
                    r.Summary().c_str());
      }
    }
    for (const std::string& failure : rules::engine::RunRuleTests(&*set)) {
      std::fprintf(stderr, "%s\n", failure.c_str());
      ++errors;
    }
  }
  if (errors == 0 && files.size() > 1) {
    // Ids must also be unique across the files loaded together.
    auto all = rules::engine::LoadRuleFiles(files);
    if (!all) {
      std::fprintf(stderr, "%s\n", all.error().message.c_str());
      ++errors;
    }
  }
  std::printf("%zu rules in %zu files, %zu embedded tests, %d errors\n", rules, files.size(),
              tests, errors);
  return errors == 0 ? 0 : 1;
}

}  // namespace utkikk_cli
