// Placeholder: filled in by its owner.
#include <cstdio>

#include "commands.h"

namespace utkikk_cli {

int RunIdentify(const Args&) {
  std::fputs("utkikk identify: not built yet\n", stderr);
  return 1;
}

}  // namespace utkikk_cli
