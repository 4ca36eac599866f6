// utkikk flows: what the sensor's conn.log says, summarised per service (responder address,
// port and protocol), with exposure: a service is "exposed" when an address outside local_nets
// reached it. Reads Zeek JSON lines or Zeek TSV.
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"

namespace utkikk_cli {
namespace {

constexpr const char* kFlowsUsage =
    "usage: utkikk flows [--log-dir DIR] [--host IP] [--format table|json]\n";

struct ServiceRow {
  std::string host;
  uint32_t port = 0;
  std::string proto;
  std::set<std::string> services;
  std::set<std::string> apps;
  std::set<std::string> clients;
  uint64_t flows = 0;
  uint64_t established = 0;
  uint64_t bytes = 0;
  bool exposed = false;
  bool internal = false;
};

using Key = std::tuple<std::string, uint32_t, std::string>;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) {
      return out;
    }
    start = pos + 1;
  }
}

// One conn.log record as JSON, from either format.
bool ReadRecords(const std::string& path, std::vector<nlohmann::json>* out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot open";
    return false;
  }
  std::string line;
  std::vector<std::string> fields;
  std::vector<std::string> types;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) {
      continue;
    }
    if (line[0] == '{') {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        *error = path + ":" + std::to_string(line_no) + ": not a JSON object";
        return false;
      }
      out->push_back(std::move(j));
      continue;
    }
    if (line[0] == '#') {
      if (line.rfind("#fields\t", 0) == 0) fields = Split(line.substr(8), '\t');
      if (line.rfind("#types\t", 0) == 0) types = Split(line.substr(7), '\t');
      continue;
    }
    auto values = Split(line, '\t');
    if (values.size() != fields.size() || values.size() != types.size()) {
      *error = path + ":" + std::to_string(line_no) + ": does not match the #fields line";
      return false;
    }
    nlohmann::json j = nlohmann::json::object();
    for (size_t i = 0; i < fields.size(); ++i) {
      if (values[i] == "-") continue;
      const std::string& t = types[i];
      if (t == "count" || t == "port") {
        j[fields[i]] = std::stoull(values[i]);
      } else if (t == "bool") {
        j[fields[i]] = values[i] == "T";
      } else if (t == "time" || t == "interval" || t == "double") {
        j[fields[i]] = std::stod(values[i]);
      } else {
        j[fields[i]] = values[i];
      }
    }
    out->push_back(std::move(j));
  }
  return true;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& v : s) {
    out += out.empty() ? v : "," + v;
  }
  return out.empty() ? "-" : out;
}

std::string HumanBytes(uint64_t b) {
  char buf[32];
  if (b >= (1ULL << 30)) std::snprintf(buf, sizeof(buf), "%.1f GiB", static_cast<double>(b) / (1ULL << 30));
  else if (b >= (1ULL << 20)) std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(b) / (1ULL << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(b) / 1024);
  else std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace

int RunFlows(const Args& args) {
  std::string dir = "/var/log/utkikk";
  std::string host;
  std::string format = "table";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "--log-dir" || a == "--host" || a == "--format") && i + 1 < args.size()) {
      (a == "--log-dir" ? dir : a == "--host" ? host : format) = args[++i];
    } else {
      std::fprintf(stderr, "utkikk flows: bad argument '%s'\n%s", a.c_str(), kFlowsUsage);
      return 2;
    }
  }
  if (format != "table" && format != "json") {
    std::fprintf(stderr, "utkikk flows: --format must be table or json\n");
    return 2;
  }
  std::vector<nlohmann::json> records;
  std::string error;
  if (!ReadRecords(dir + "/conn.log", &records, &error)) {
    std::fprintf(stderr, "utkikk flows: %s\n", error.c_str());
    return 1;
  }
  std::map<Key, ServiceRow> rows;
  std::set<std::string> hosts;
  for (const auto& r : records) {
    std::string orig = r.value("id.orig_h", "");
    std::string resp = r.value("id.resp_h", "");
    if (!host.empty() && orig != host && resp != host) continue;
    hosts.insert(orig);
    hosts.insert(resp);
    std::string state = r.value("conn_state", "");
    bool answered = state != "S0" && state != "REJ" && state != "OTH" && state != "RSTOS0" &&
                    state != "SH";
    if (!answered) continue;  // a service is a responder that answered
    // An FTP transfer's port was agreed for that transfer: not a service (as in the inventory).
    if (r.value("service", "") == "ftp-data") continue;
    Key key{resp, r.value("id.resp_p", 0u), r.value("proto", "")};
    ServiceRow& row = rows[key];
    row.host = resp;
    row.port = std::get<1>(key);
    row.proto = std::get<2>(key);
    if (r.contains("service")) row.services.insert(r["service"].get<std::string>());
    if (r.contains("app")) row.apps.insert(r["app"].get<std::string>());
    row.clients.insert(orig);
    ++row.flows;
    row.bytes += r.value("orig_bytes", 0ULL) + r.value("resp_bytes", 0ULL);
    bool local_orig = r.value("local_orig", false);
    bool local_resp = r.value("local_resp", false);
    if (local_resp && !local_orig) row.exposed = true;
    if (local_resp && local_orig) row.internal = true;
  }
  if (format == "json") {
    for (const auto& [key, row] : rows) {
      nlohmann::json j = {{"host", row.host}, {"port", row.port}, {"proto", row.proto},
                          {"services", row.services}, {"applications", row.apps},
                          {"clients", row.clients.size()}, {"flows", row.flows},
                          {"bytes", row.bytes}, {"exposed", row.exposed},
                          {"internal", row.internal}};
      std::printf("%s\n", j.dump().c_str());
    }
    return 0;
  }
  std::printf("%zu flow records, %zu hosts, %zu services that answered\n\n", records.size(),
              hosts.size(), rows.size());
  std::printf("%-40s %-11s %-10s %-22s %6s %7s %10s  %s\n", "SERVER", "PORT", "SERVICE",
              "APPLICATION", "FLOWS", "CLIENTS", "BYTES", "REACHED FROM");
  for (const auto& [key, row] : rows) {
    std::string port = std::to_string(row.port) + "/" + row.proto;
    std::string reach = row.exposed ? (row.internal ? "internet+internal" : "internet")
                                    : (row.internal ? "internal" : "-");
    std::printf("%-40s %-11s %-10s %-22s %6llu %7zu %10s  %s\n", row.host.c_str(), port.c_str(),
                Join(row.services).c_str(), Join(row.apps).c_str(),
                static_cast<unsigned long long>(row.flows), row.clients.size(),
                HumanBytes(row.bytes).c_str(), reach.c_str());
  }
  return 0;
}

}  // namespace utkikk_cli
