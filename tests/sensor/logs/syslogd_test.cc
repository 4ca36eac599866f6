// utkikk-syslogd as a process: kill -9 in the middle of writing, restart, and check that older
// segments are byte-for-byte intact, everything stored before the kill is still there, what
// survived of the interrupted batch is a gap-free prefix, and the store keeps working.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "logs/log_store_format.h"
#include "sensor/logs/log_store.h"

extern char** environ;

namespace sensor {
namespace {

namespace fs = std::filesystem;

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int ConnectTcp(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

pid_t StartDaemon(const std::string& config, const std::string& log, uint16_t port) {
  std::vector<std::string> args = {SYSLOGD_BIN, "--config", config, "--stats-interval", "0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, SYSLOGD_BIN, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  for (int i = 0; i < 500; ++i) {  // until it listens
    int fd = ConnectTcp(port);
    if (fd >= 0) {
      ::close(fd);
      return pid;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

std::map<std::string, std::string> ReadStore(const std::string& dir, LogScanStats* stats) {
  std::map<std::string, std::string> out;  // raw -> "" (ordered view is checked separately)
  auto scan = ScanLogStore(dir, {}, [&](const StoredLogRecord& r) {
    out[r.raw];
    return true;
  });
  EXPECT_TRUE(scan);
  if (scan) *stats = *scan;
  return out;
}

std::vector<std::string> ReadOrdered(const std::string& dir) {
  std::vector<std::string> out;
  auto scan = ScanLogStore(dir, {}, [&](const StoredLogRecord& r) {
    out.push_back(r.raw);
    return true;
  });
  EXPECT_TRUE(scan);
  return out;
}

std::string Message(char batch, int i) {
  return "<13>1 2024-01-01T00:00:00Z host app - - - batch " + std::string(1, batch) + " #" +
         std::to_string(i) + " padding padding padding padding";
}

TEST(SyslogdTest, SurvivesKillNineMidWrite) {
  std::string dir = fs::temp_directory_path().string() + "/utkikk-syslogd-" +
                    std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string store = dir + "/store";
  uint16_t port = FreePort();
  std::string config = dir + "/syslogd.yaml";
  std::ofstream(config) << "member_id: test\nsyslog:\n  listeners:\n"
                        << "    - {transport: tcp, address: 127.0.0.1, port: " << port << "}\n"
                        << "  store:\n    directory: " << store << "\n"
                        << "    segment_bytes: 64KiB\n    block_bytes: 16KiB\n"
                        << "    flush_interval: 20ms\n";
  std::string log = dir + "/syslogd.log";
  pid_t pid = StartDaemon(config, log, port);
  ASSERT_GT(pid, 0) << "utkikk-syslogd did not start; see " << log;

  // Batch A: sent, then visible in the store before the kill.
  constexpr int kA = 20000;
  int fd = ConnectTcp(port);
  ASSERT_GE(fd, 0);
  std::string stream;
  for (int i = 0; i < kA; ++i) stream += Message('A', i) + "\n";
  ASSERT_EQ(::send(fd, stream.data(), stream.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(stream.size()));
  ::close(fd);
  LogScanStats stats;
  for (int i = 0; i < 1000 && ReadStore(store, &stats).size() < kA; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(ReadStore(store, &stats).size(), static_cast<size_t>(kA));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past the fsync window
  auto numbers = store_format::ListSegments(store);
  ASSERT_TRUE(numbers);
  ASSERT_GE(numbers->size(), 2u);
  std::map<uint64_t, std::string> sealed;  // all but the segment being written
  for (size_t i = 0; i + 1 < numbers->size(); ++i) {
    std::string path = store_format::SegmentPath(store, (*numbers)[i]);
    sealed[(*numbers)[i]] = *store_format::ReadWholeFile(path);
  }

  // Batch B: streaming while the daemon is killed.
  std::atomic<int> b_sent{0};
  std::thread sender([&] {
    int b = ConnectTcp(port);
    if (b < 0) return;
    for (int i = 0; i < 200000; ++i) {
      std::string m = Message('B', i) + "\n";
      if (::send(b, m.data(), m.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(m.size())) break;
      b_sent = i + 1;
    }
    ::close(b);
  });
  while (b_sent < 5000) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  sender.join();
  EXPECT_TRUE(WIFSIGNALED(status));

  pid = StartDaemon(config, log, port);
  ASSERT_GT(pid, 0) << "restart failed; see " << log;
  for (const auto& [number, bytes] : sealed) {
    EXPECT_EQ(*store_format::ReadWholeFile(store_format::SegmentPath(store, number)), bytes)
        << "segment " << number << " changed";
  }
  std::vector<std::string> all = ReadOrdered(store);
  ReadStore(store, &stats);
  EXPECT_EQ(stats.bad_blocks, 0u);
  ASSERT_GE(all.size(), static_cast<size_t>(kA));
  for (int i = 0; i < kA; ++i) ASSERT_EQ(all[i], Message('A', i));
  // What survived of batch B is a prefix, in order, without gaps or duplicates.
  for (size_t i = kA; i < all.size(); ++i) {
    ASSERT_EQ(all[i], Message('B', static_cast<int>(i - kA)));
  }

  // The restarted daemon stores new messages after the survivors, then stops cleanly.
  fd = ConnectTcp(port);
  ASSERT_GE(fd, 0);
  std::string c = Message('C', 0) + "\n";
  ASSERT_EQ(::send(fd, c.data(), c.size(), MSG_NOSIGNAL), static_cast<ssize_t>(c.size()));
  ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  all = ReadOrdered(store);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back(), Message('C', 0));
  auto senders = ReadSenderStats(store);
  ASSERT_TRUE(senders);
  ASSERT_EQ(senders->size(), 1u);
  // Statistics written before the kill plus the replay at restart count every stored record once.
  EXPECT_EQ((*senders)[0].messages, all.size());
  std::printf("kill -9 after %d of batch B sent: %zu of them stored\n", b_sent.load(),
              all.size() - kA - 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sensor
