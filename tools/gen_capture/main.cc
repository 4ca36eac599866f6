// utkikk-gen-capture: writes a deterministic sample capture of a small municipal LAN.
//   utkikk-gen-capture --out FILE.pcap [--seed N] [--hosts N] [--minutes M]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "net.h"
#include "scenario.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: utkikk-gen-capture --out FILE.pcap [--seed N] [--hosts N] [--minutes M]\n"
               "  --seed N     deterministic seed (default 1); the same seed gives the same file\n"
               "  --hosts N    client machines, 1..2000 (default 20)\n"
               "  --minutes M  length of the capture, 1..1440 (default 10)\n");
}

bool ParseNumber(const char* text, long long lo, long long hi, long long* out) {
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  gen_capture::ScenarioOptions options;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      Usage();
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "utkikk-gen-capture: %s needs a value\n", arg.c_str());
      Usage();
      return 2;
    }
    const char* value = argv[++i];
    long long n = 0;
    if (arg == "--out") {
      out = value;
    } else if (arg == "--seed" && ParseNumber(value, 0, (1LL << 62), &n)) {
      options.seed = static_cast<uint64_t>(n);
    } else if (arg == "--hosts" && ParseNumber(value, 1, 2000, &n)) {
      options.hosts = static_cast<int>(n);
    } else if (arg == "--minutes" && ParseNumber(value, 1, 1440, &n)) {
      options.minutes = static_cast<int>(n);
    } else {
      std::fprintf(stderr, "utkikk-gen-capture: bad argument %s %s\n", arg.c_str(), value);
      Usage();
      return 2;
    }
  }
  if (out.empty()) {
    Usage();
    return 2;
  }
  gen_capture::Capture capture;
  auto made = gen_capture::GenerateScenario(options, &capture);
  if (!made) {
    std::fprintf(stderr, "utkikk-gen-capture: %s\n", made.error().message.c_str());
    return 1;
  }
  auto written = capture.WriteTo(out);
  if (!written) {
    std::fprintf(stderr, "utkikk-gen-capture: %s\n", written.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "utkikk-gen-capture: wrote %zu packets to %s\n", capture.frame_count(),
               out.c_str());
  return 0;
}
