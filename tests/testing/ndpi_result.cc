#include "testing/ndpi_result.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace testing_util {
namespace {

// "1.2.3.4:80" or "[2001:db8::1]:80"
bool SplitEndpoint(const std::string& text, std::string* addr, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  std::string a = text.substr(0, colon);
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') {
    a = a.substr(1, a.size() - 2);
  }
  *addr = a;
  *port = static_cast<uint16_t>(std::strtoul(text.c_str() + colon + 1, nullptr, 10));
  return true;
}

std::string Bracketed(const std::string& line, const std::string& prefix) {
  size_t at = line.find("[" + prefix);
  if (at == std::string::npos) {
    return "";
  }
  size_t start = at + 1 + prefix.size();
  size_t end = line.find(']', start);
  return line.substr(start, end - start);
}

}  // namespace

std::vector<NdpiFlowLine> ReadNdpiResult(const std::string& path, std::string* error) {
  std::vector<NdpiFlowLine> flows;
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot open";
    return flows;
  }
  std::string line;
  bool undetected = false;
  while (std::getline(in, line)) {
    if (line.rfind("Undetected flows", 0) == 0) {
      undetected = true;
      continue;
    }
    // "\t<n>\t<L4> <src> <-> <dst> [..."
    if (line.size() < 3 || line[0] != '\t') {
      continue;
    }
    size_t tab = line.find('\t', 1);
    if (tab == std::string::npos) {
      continue;
    }
    std::string rest = line.substr(tab + 1);
    size_t sp1 = rest.find(' ');
    size_t sp2 = rest.find(' ', sp1 + 1);
    size_t sp3 = rest.find(' ', sp2 + 1);
    size_t sp4 = rest.find(' ', sp3 + 1);
    if (sp4 == std::string::npos) {
      continue;
    }
    std::string arrow = rest.substr(sp2 + 1, sp3 - sp2 - 1);
    if (arrow != "<->" && arrow != "->") {
      continue;
    }
    NdpiFlowLine f;
    f.l4 = rest.substr(0, sp1);
    if (!SplitEndpoint(rest.substr(sp1 + 1, sp2 - sp1 - 1), &f.src, &f.src_port) ||
        !SplitEndpoint(rest.substr(sp3 + 1, sp4 - sp3 - 1), &f.dst, &f.dst_port)) {
      continue;
    }
    std::string vlan = Bracketed(rest, "VLAN: ");
    f.vlan = static_cast<uint16_t>(std::strtoul(vlan.c_str(), nullptr, 10));
    std::string proto = Bracketed(rest, "proto: ");  // "91.26/TLS.ntop"
    size_t slash = proto.find('/');
    f.proto = slash == std::string::npos ? proto : proto.substr(slash + 1);
    f.master = f.proto.substr(0, f.proto.find('.'));
    f.guessed = GuessedConfidence(ConfidenceOf(rest));
    // "[41 pkts/2892 bytes <-> 27 pkts/2679 bytes]" or "[6 pkts/420 bytes -> 0 pkts/0 bytes]"
    size_t pk = rest.find(" pkts/");
    if (pk == std::string::npos) {
      continue;
    }
    size_t open = rest.rfind('[', pk);
    unsigned long long a = 0, b = 0, c = 0, d = 0;
    std::string counters = rest.substr(open + 1);
    if (std::sscanf(counters.c_str(), "%llu pkts/%llu bytes <-> %llu pkts/%llu bytes", &a, &b, &c,
                    &d) != 4 &&
        std::sscanf(counters.c_str(), "%llu pkts/%llu bytes -> %llu pkts/%llu bytes", &a, &b, &c,
                    &d) != 4) {
      continue;
    }
    f.src_packets = a;
    f.src_bytes = b;
    f.dst_packets = c;
    f.dst_bytes = d;
    f.undetected = undetected;
    flows.push_back(std::move(f));
  }
  return flows;
}

}  // namespace testing_util
