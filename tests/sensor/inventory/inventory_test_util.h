// Helpers shared by the inventory tests: scratch directories, fact builders and raw SQL reads.
#pragma once

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "rules/facts.h"
#include "rules/ip_address.h"

namespace sensor::inventory_test {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000'000000;  // 2023-11-14T22:13:20Z
constexpr int64_t kSecond = 1'000'000;

inline rules::IpAddress Ip(std::string_view s) { return *rules::IpAddress::Parse(s); }
inline rules::Mac MacOf(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f) {
  return rules::Mac{a, b, c, d, e, f};
}

inline fs::path ScratchDir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(testing::TempDir()) / "inventory_test" /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Compares with tests/data/inventory/golden/<name>, or rewrites it when UPDATE_GOLDEN=1.
inline testing::AssertionResult MatchesGolden(const std::string& actual,
                                              const std::string& name) {
  fs::path golden = fs::path(TEST_DATA_DIR) / "inventory" / "golden" / name;
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << actual;
    return testing::AssertionSuccess();
  }
  if (!fs::exists(golden)) {
    return testing::AssertionFailure() << golden << " missing; run with UPDATE_GOLDEN=1";
  }
  std::string expected = ReadFile(golden);
  if (actual != expected) {
    return testing::AssertionFailure() << "differs from " << golden << ":\n"
                                       << actual << "\nexpected:\n" << expected;
  }
  return testing::AssertionSuccess();
}

// All rows of a query, columns joined by '|', NULL as "NULL".
inline std::vector<std::string> Rows(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    ADD_FAILURE() << "cannot open " << db_path;
    return out;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i > 0) row += "|";
      const auto* t = sqlite3_column_text(stmt, i);
      row += t != nullptr ? std::string(reinterpret_cast<const char*>(t),
                                        static_cast<size_t>(sqlite3_column_bytes(stmt, i)))
                          : "NULL";
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

inline rules::FactOrigin At(int64_t ts, std::string source, std::string raw = "") {
  rules::FactOrigin o;
  o.ts_us = ts;
  o.source = std::move(source);
  o.raw = std::move(raw);
  return o;
}

inline rules::HostRef Host(std::string_view ip, std::optional<rules::Mac> mac = std::nullopt) {
  return rules::HostRef{Ip(ip), mac};
}

inline rules::SoftwareFact Software(rules::HostRef host, uint16_t port, std::string role,
                                    std::string kind, std::string vendor, std::string product,
                                    std::string version, std::string cpe, rules::FactOrigin o) {
  rules::SoftwareFact f;
  f.host = std::move(host);
  f.port = port;
  f.role = std::move(role);
  f.kind = std::move(kind);
  f.vendor = std::move(vendor);
  f.product = std::move(product);
  f.version = std::move(version);
  f.cpe23 = std::move(cpe);
  f.origin = std::move(o);
  return f;
}

inline rules::ServiceFact Service(rules::HostRef host, uint16_t port, uint8_t transport,
                                  std::string protocol, bool exposed, rules::FactOrigin o) {
  rules::ServiceFact f;
  f.host = std::move(host);
  f.port = port;
  f.transport = transport;
  f.protocol = std::move(protocol);
  f.exposed = exposed;
  f.client = exposed ? Ip("198.51.100.7") : Ip("10.0.0.200");
  f.origin = std::move(o);
  return f;
}

inline rules::OsFact Os(rules::HostRef host, std::string vendor, std::string product,
                        std::string version, std::string family, int confidence,
                        rules::FactOrigin o) {
  rules::OsFact f;
  f.host = std::move(host);
  f.vendor = std::move(vendor);
  f.product = std::move(product);
  f.version = std::move(version);
  f.family = std::move(family);
  f.confidence = confidence;
  f.origin = std::move(o);
  return f;
}

inline rules::NameFact Name(rules::HostRef host, std::string name, std::string kind,
                            rules::FactOrigin o) {
  rules::NameFact f;
  f.host = std::move(host);
  f.name = std::move(name);
  f.kind = std::move(kind);
  f.origin = std::move(o);
  return f;
}

}  // namespace sensor::inventory_test
