// Placeholder: filled in by its owner.
#include <cstdio>

#include "commands.h"

namespace utkikk_cli {

int RunLogs(const Args&) {
  std::fputs("utkikk logs: not built yet\n", stderr);
  return 1;
}

}  // namespace utkikk_cli
