// utkikk-sensor with a syslog listener, end to end: util-linux logger sends an ISC dhcpd DHCPACK
// over TCP and sshd failed-password lines over UDP to `utkikk-sensor --syslog-only`; the
// inventory then holds the MAC -> IP -> name binding with source dhcp-log, the shipped
// logs-authentication pack raised log-ssh-password-guessing (alerts table and notice.log), and
// the sender has its log_senders row and a log_sender line in the summary batch the sensor spooled
// when it stopped.
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "sensor/inventory/report.h"
#include "sensor/logs/log_store.h"
#include "uplink/spool.h"

namespace sensor {
namespace {

namespace fs = std::filesystem;

bool HaveProgram(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

// A port that is free for TCP and UDP on 127.0.0.1 right now (bound to 0, then released).
uint16_t FreePort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int t = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(t, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        getsockname(t, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      close(t);
      continue;
    }
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    bool udp_free = bind(u, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(u);
    close(t);
    if (udp_free) return ntohs(a.sin_port);
  }
  return 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// count(*) of a query on the sensor's database; 0 while the table does not exist yet.
int64_t Count(const std::string& db_path, const char* sql) {
  sqlite3* db = nullptr;
  int64_t n = 0;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

// Polls `done` every 100 ms for at most `limit`; the limit only bounds a broken run.
template <class F>
bool WaitFor(F done, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

TEST(SensorSyslogTest, DhcpLeaseAndSshGuessingReachInventoryAndAlerts) {
  if (!HaveProgram("logger")) GTEST_SKIP() << "util-linux logger not installed";
  std::string dir = fs::temp_directory_path().string() + "/utkikk-sensor-syslog-e2e-" +
                    std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  uint16_t port = FreePort();
  ASSERT_NE(port, 0);
  std::string db = dir + "/inv/inventory.db";
  {
    std::ofstream cfg(dir + "/utkikk.yaml");
    cfg << "member_id: e2e\n"
           "user: root\n"  // no privilege drop, whoever runs the test
           "logs:\n  directory: " << dir << "/log\n"
           "inventory:\n  enabled: true\n  database: " << db << "\n"
           "syslog:\n  listeners:\n"
           "    - {transport: tcp, address: 127.0.0.1, port: " << port << "}\n"
           "    - {transport: udp, address: 127.0.0.1, port: " << port << "}\n"
           "  store:\n    directory: " << dir << "/store\n"
           "summary:\n  enabled: true\n  spool_directory: " << dir << "/spool\n";
  }
  std::string err = dir + "/sensor.err";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FILE* f = std::freopen(err.c_str(), "w", stderr);
    (void)f;
    std::string config = dir + "/utkikk.yaml";
    execl(SENSOR_BIN, SENSOR_BIN, "--config", config.c_str(), "--syslog-only",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  bool listening = WaitFor(
      [&] { return ReadFile(err).find("syslog only") != std::string::npos; },
      std::chrono::seconds(30));
  if (!listening) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL() << ReadFile(err);
  }
  std::string target = "--server 127.0.0.1 --port " + std::to_string(port);
  std::string dhcp = "logger --tcp " + target +
                     " -t dhcpd -p daemon.info 'DHCPACK on 10.77.0.5 to 02:aa:bb:cc:dd:05 "
                     "(kiosk-5) via eth1'";
  EXPECT_EQ(std::system(dhcp.c_str()), 0) << dhcp;
  {
    std::ofstream lines(dir + "/ssh.txt");
    for (int i = 0; i < 12; ++i) {
      lines << "Failed password for root from 203.0.113.5 port " << 40000 + i << " ssh2\n";
    }
  }
  std::string ssh = "logger --udp " + target + " -t sshd -p auth.info -f " + dir + "/ssh.txt";
  EXPECT_EQ(std::system(ssh.c_str()), 0) << ssh;

  // All 13 in the log store (the receiver calls the feed right after storing each), and the
  // sensor committed what it drained (within about a second): wait for both.
  auto stored = [&] {
    uint64_t n = 0;
    auto scan = ScanLogStore(dir + "/store", {}, [&](const StoredLogRecord&) { return ++n > 0; });
    return scan ? n : 0;
  };
  bool arrived = WaitFor(
      [&] {
        return stored() == 13 &&
               Count(db, "SELECT count(*) FROM host_addresses WHERE ip = '10.77.0.5' AND "
                         "source = 'dhcp-log'") == 1 &&
               Count(db, "SELECT count(*) FROM alerts WHERE rule_id = "
                         "'log-ssh-password-guessing'") >= 1;
      },
      std::chrono::seconds(30));
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  std::string log = ReadFile(err);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  EXPECT_TRUE(arrived) << log;
  // 1 DHCPACK + 12 sshd lines; the lease is one address and one name fact.
  EXPECT_NE(log.find("syslog: 13 messages, 2 facts, 13 log events, 0 dropped"), std::string::npos)
      << log;

  auto hosts = ReadInventory(db, {});
  ASSERT_TRUE(hosts) << hosts.error().message;
  const InventoryHost* kiosk = nullptr;
  for (const auto& h : *hosts) {
    if (h.mac == "02:aa:bb:cc:dd:05") kiosk = &h;
  }
  ASSERT_NE(kiosk, nullptr);
  ASSERT_EQ(kiosk->addresses.size(), 1u);
  EXPECT_EQ(kiosk->addresses[0].ip, "10.77.0.5");
  EXPECT_EQ(kiosk->addresses[0].source, "dhcp-log");
  ASSERT_EQ(kiosk->names.size(), 1u);
  EXPECT_EQ(kiosk->names[0].name, "kiosk-5");
  EXPECT_EQ(kiosk->names[0].source, "dhcp-log");
  EXPECT_EQ(Count(db, "SELECT messages FROM log_senders WHERE sender = '127.0.0.1'"), 13);
  std::string notice = ReadFile(dir + "/log/notice.log");
  EXPECT_NE(notice.find("log-ssh-password-guessing"), std::string::npos) << notice;
  EXPECT_NE(notice.find("203.0.113.5"), std::string::npos) << notice;

  // The per-sender statistics went into the summaries too (the final drain hands them over
  // before the last window closes).
  uplink::SpoolConfig spool;
  spool.dir = dir + "/spool";
  auto reader = uplink::SpoolReader::Open(spool);
  ASSERT_TRUE(reader) << reader.error().message;
  auto refs = (*reader)->List();
  ASSERT_TRUE(refs) << refs.error().message;
  std::string sender_line;
  for (const uplink::BatchRef& ref : *refs) {
    auto batch = (*reader)->Read(ref);
    ASSERT_TRUE(batch) << batch.error().message;
    if (!*batch) continue;
    std::istringstream lines((*batch)->json_lines);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("\"type\":\"log_sender\"") != std::string::npos) sender_line = line;
    }
  }
  EXPECT_NE(sender_line.find("\"sender\":\"127.0.0.1\""), std::string::npos) << sender_line;
  EXPECT_NE(sender_line.find("\"messages\":13"), std::string::npos) << sender_line;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sensor
