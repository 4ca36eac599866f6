// The syslog receiver with real senders from Debian (util-linux logger, openssl s_client) on
// 127.0.0.1, and hostile clients written here: slowloris, endless lines, floods, a full store
// queue. Checks the receiver's own counters and bounds, never timing.
#include "sensor/logs/receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sensor {
namespace {

namespace fs = std::filesystem;
using rules::IpAddress;

std::string TempDir(const std::string& name) {
  std::string dir = fs::temp_directory_path().string() + "/utkikk-receiver-" + name + "-" +
                    std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

bool HaveProgram(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Waits until pred() holds (at most 10 s: generous for a loaded CI machine).
bool WaitFor(const std::function<bool()>& pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

struct Harness {
  std::string dir;
  SyslogConfig config;
  std::unique_ptr<LogStore> store;
  std::unique_ptr<SyslogReceiver> receiver;

  explicit Harness(const std::string& name) : dir(TempDir(name)) {
    config.store.directory = dir + "/store";
    config.store.flush_interval = std::chrono::milliseconds(50);
  }
  void AddListener(SyslogTransport t) {
    SyslogListenerConfig l;
    l.transport = t;
    l.address = "127.0.0.1";
    l.port = 0;
    config.listeners.push_back(l);
  }
  void Start() {
    auto s = OpenLogStore(config.store);
    ASSERT_TRUE(s) << s.error().message;
    store = std::move(*s);
    auto r = CreateSyslogReceiver(config, store.get());
    ASSERT_TRUE(r) << r.error().message;
    receiver = std::move(*r);
    ASSERT_TRUE(receiver->Start());
  }
  std::vector<StoredLogRecord> Stored(const LogQuery& q = {}) {
    EXPECT_TRUE(store->Flush());
    std::vector<StoredLogRecord> out;
    auto scan = ScanLogStore(config.store.directory, q, [&](const StoredLogRecord& r) {
      out.push_back(r);
      return true;
    });
    EXPECT_TRUE(scan);
    return out;
  }
  bool WaitMessages(uint64_t n) {
    return WaitFor([&] { return receiver->stats().messages >= n; });
  }
  SenderDrops DropsOf(const char* ip) {
    for (auto& [addr, d] : receiver->Drops()) {
      if (addr == *IpAddress::Parse(ip)) return d;
    }
    return {};
  }
  ~Harness() {
    receiver.reset();
    store.reset();
    fs::remove_all(dir);
  }
};

// A blocking client socket from a chosen loopback source address (127.0.0.2 is a second sender).
int Connect(uint16_t port, const char* source = "127.0.0.1", int type = SOCK_STREAM) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Runs logger with the given transport options; returns the messages it sent (--stderr prints
// each one exactly as put on the wire, framing aside).
std::vector<std::string> RunLogger(const Harness& h, uint16_t port, const std::string& options,
                                   const std::vector<std::string>& texts) {
  std::string err = h.dir + "/logger.err";
  std::vector<std::string> sent;
  for (const std::string& text : texts) {
    std::string cmd = "logger --server 127.0.0.1 --port " + std::to_string(port) + " " +
                      options + " --stderr -t utkikk-test -- '" + text + "' 2>" + err;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    for (std::string line : ReadLines(err)) {
      if (options.find("--octet-count") != std::string::npos) {
        // logger prints the frame: "LEN SP MSG"; the stored message is MSG.
        size_t sp = line.find(' ');
        EXPECT_NE(sp, std::string::npos);
        EXPECT_EQ(std::stoul(line.substr(0, sp)), line.size() - sp - 1);
        line.erase(0, sp + 1);
      }
      sent.push_back(line);
    }
  }
  return sent;
}

void ExpectStoredExactly(Harness& h, const std::vector<std::string>& sent,
                         SyslogTransport transport) {
  ASSERT_TRUE(h.WaitMessages(sent.size())) << h.receiver->stats().messages;
  auto stored = h.Stored();
  ASSERT_EQ(stored.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(stored[i].raw, sent[i]);
    EXPECT_EQ(stored[i].sender, *IpAddress::Parse("127.0.0.1"));
    EXPECT_EQ(stored[i].transport, transport);
  }
}

const std::vector<std::string> kTexts = {
    "first message", "second: with [brackets] and \"quotes\"", "tab\there", "last one 3"};

TEST(ReceiverTest, LoggerOverUdpRfc5424AndRfc3164) {
  if (!HaveProgram("logger")) GTEST_SKIP() << "util-linux logger not installed";
  Harness h("udp");
  h.AddListener(SyslogTransport::kUdp);
  h.Start();
  auto sent = RunLogger(h, h.receiver->port(0), "--udp --rfc5424", kTexts);
  auto more = RunLogger(h, h.receiver->port(0), "--udp --rfc3164 -p local0.err", kTexts);
  sent.insert(sent.end(), more.begin(), more.end());
  ASSERT_EQ(sent.size(), 8u);
  ExpectStoredExactly(h, sent, SyslogTransport::kUdp);
  auto stored = h.Stored();
  EXPECT_EQ(stored[0].severity, 5);  // user.notice
  EXPECT_EQ(stored[4].severity, 3);  // local0.err
  auto senders = h.store->Senders();
  ASSERT_EQ(senders.size(), 1u);
  EXPECT_EQ(senders[0].messages, 8u);
  EXPECT_EQ(senders[0].severities[3], 4u);
}

TEST(ReceiverTest, LoggerOverTcpWithBothFramings) {
  if (!HaveProgram("logger")) GTEST_SKIP() << "util-linux logger not installed";
  Harness h("tcp");
  h.AddListener(SyslogTransport::kTcp);
  h.Start();
  uint16_t port = h.receiver->port(0);
  auto sent = RunLogger(h, port, "--tcp --rfc5424", kTexts);
  auto octets = RunLogger(h, port, "--tcp --octet-count --rfc5424", kTexts);
  auto bsd = RunLogger(h, port, "--tcp --octet-count --rfc3164", kTexts);
  sent.insert(sent.end(), octets.begin(), octets.end());
  sent.insert(sent.end(), bsd.begin(), bsd.end());
  ExpectStoredExactly(h, sent, SyslogTransport::kTcp);
  EXPECT_EQ(h.receiver->stats().connections_accepted, 12u);
  EXPECT_TRUE(WaitFor([&] { return h.receiver->stats().connections_active == 0; }));
}

TEST(ReceiverTest, OctetCountingKeepsEmbeddedNewlinesByteForByte) {
  Harness h("octets");
  h.AddListener(SyslogTransport::kTcp);
  h.Start();
  std::vector<std::string> sent = {"<34>1 - host app - - - line one\nline two",
                                   std::string("<13>binary \xff\xfe\x00 bytes", 21),
                                   "<13>1 - h a - - - trailing LF inside\n"};
  std::string stream;
  for (const std::string& m : sent) stream += std::to_string(m.size()) + " " + m;
  int fd = Connect(h.receiver->port(0));
  ASSERT_GE(fd, 0);
  for (char c : stream) ASSERT_TRUE(SendAll(fd, std::string_view(&c, 1)));  // worst-case splits
  ::close(fd);
  ExpectStoredExactly(h, sent, SyslogTransport::kTcp);
}

TEST(ReceiverTest, AllowedSendersAreEnforcedPerListener) {
  Harness h("allowed");
  h.AddListener(SyslogTransport::kUdp);
  h.AddListener(SyslogTransport::kTcp);
  for (auto& l : h.config.listeners) l.allowed_senders = {*rules::Cidr::Parse("127.0.0.2/32")};
  h.Start();
  for (const char* source : {"127.0.0.1", "127.0.0.2"}) {
    int u = Connect(h.receiver->port(0), source, SOCK_DGRAM);
    ASSERT_GE(u, 0);
    ASSERT_TRUE(SendAll(u, std::string("<13>udp from ") + source));
    ::close(u);
    int t = Connect(h.receiver->port(1), source);
    ASSERT_GE(t, 0);
    SendAll(t, std::string("<13>tcp from ") + source + "\n");  // may fail: closed by policy
    ::close(t);
  }
  ASSERT_TRUE(h.WaitMessages(2));
  ASSERT_TRUE(WaitFor([&] { return h.receiver->stats().dropped_not_allowed >= 2; }));
  auto stored = h.Stored();
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& r : stored) {
    EXPECT_EQ(r.sender, *IpAddress::Parse("127.0.0.2"));
    EXPECT_NE(r.raw.find("from 127.0.0.2"), std::string::npos);
  }
  EXPECT_EQ(h.DropsOf("127.0.0.1").not_allowed, 2u);
  EXPECT_EQ(h.DropsOf("127.0.0.2").not_allowed, 0u);
}

TEST(ReceiverTest, SlowlorisIsBoundedAndDoesNotStarveOthers) {
  Harness h("slowloris");
  h.AddListener(SyslogTransport::kTcp);
  h.config.limits.max_connections = 8;
  h.config.limits.max_connections_per_sender = 4;
  h.config.limits.frame_timeout = std::chrono::milliseconds(600);
  h.Start();
  uint16_t port = h.receiver->port(0);
  std::vector<int> slow;
  for (int i = 0; i < 20; ++i) {
    int fd = Connect(port, "127.0.0.1");
    ASSERT_GE(fd, 0);
    slow.push_back(fd);
  }
  ASSERT_TRUE(WaitFor([&] { return h.receiver->stats().connections_rejected >= 16; }));
  EXPECT_EQ(h.receiver->stats().connections_active, 4u);
  // One byte per connection every 100 ms: never a whole frame.
  int good = Connect(port, "127.0.0.2");
  ASSERT_GE(good, 0);
  for (int round = 0; round < 12; ++round) {
    for (int fd : slow) SendAll(fd, "<");
    ASSERT_TRUE(SendAll(good, "<13>good sender " + std::to_string(round) + "\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(h.WaitMessages(12));
  ReceiverStats s = h.receiver->stats();
  EXPECT_EQ(s.connections_rejected, 16u);
  EXPECT_LE(s.connections_peak, 5u);  // 4 slow + the good one
  EXPECT_GE(s.connections_closed_slow, 4u);
  EXPECT_EQ(s.messages, 12u);
  EXPECT_EQ(h.DropsOf("127.0.0.1").connections_rejected, 16u);
  EXPECT_GE(h.DropsOf("127.0.0.1").connections_closed, 4u);
  EXPECT_EQ(h.DropsOf("127.0.0.2").connections_closed, 0u);
  EXPECT_EQ(s.buffer_bound_bytes, 8u * (64 * 1024 + 64 * 1024));
  for (int fd : slow) ::close(fd);
  ::close(good);
}

TEST(ReceiverTest, EndlessLineIsCutAtTheBound) {
  Harness h("endless");
  h.AddListener(SyslogTransport::kTcp);
  h.config.limits.max_message_bytes = 4096;
  h.Start();
  uint16_t port = h.receiver->port(0);
  int endless = Connect(port, "127.0.0.1");
  ASSERT_GE(endless, 0);
  std::string chunk(64 * 1024, 'A');
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(SendAll(endless, chunk));  // 4 MiB, no LF
  int good = Connect(port, "127.0.0.2");
  ASSERT_TRUE(SendAll(good, "<13>still here\n"));
  ASSERT_TRUE(SendAll(endless, "\n<13>after the long line\n"));
  ASSERT_TRUE(h.WaitMessages(3));
  auto stored = h.Stored();
  ASSERT_EQ(stored.size(), 3u);
  size_t longest = 0;
  for (const auto& r : stored) longest = std::max(longest, r.raw.size());
  EXPECT_EQ(longest, 4096u);
  EXPECT_EQ(h.receiver->stats().truncated, 1u);
  EXPECT_EQ(h.DropsOf("127.0.0.1").truncated, 1u);
  ::close(endless);
  ::close(good);
}

TEST(ReceiverTest, FloodFromOneSenderIsRateLimitedAndCounted) {
  Harness h("flood");
  h.AddListener(SyslogTransport::kUdp);
  h.config.limits.max_messages_per_second = 200;
  h.config.limits.burst_messages = 200;
  h.Start();
  uint16_t port = h.receiver->port(0);
  int flooder = Connect(port, "127.0.0.1", SOCK_DGRAM);
  int quiet = Connect(port, "127.0.0.2", SOCK_DGRAM);
  ASSERT_GE(flooder, 0);
  ASSERT_GE(quiet, 0);
  for (int i = 0; i < 5000; ++i) {
    SendAll(flooder, "<13>flood " + std::to_string(i));
    if (i % 50 == 0) {
      ASSERT_TRUE(SendAll(quiet, "<13>normal " + std::to_string(i / 50)));
    }
  }
  ASSERT_TRUE(WaitFor([&] {
    auto s = h.receiver->stats();
    return s.messages + s.dropped_rate >= 5100 || s.datagrams >= 5100;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  LogQuery q;
  q.sender = *IpAddress::Parse("127.0.0.2");
  EXPECT_EQ(h.Stored(q).size(), 100u);  // the other sender lost nothing
  SenderDrops d = h.DropsOf("127.0.0.1");
  EXPECT_GT(d.rate_limited, 0u);
  EXPECT_EQ(h.DropsOf("127.0.0.2").rate_limited, 0u);
  q.sender = *IpAddress::Parse("127.0.0.1");
  size_t flood_stored = h.Stored(q).size();
  // Whatever the kernel delivered was either stored or counted.
  EXPECT_EQ(flood_stored + d.rate_limited, h.receiver->stats().datagrams - 100);
  auto senders = h.store->Senders();
  ASSERT_EQ(senders.size(), 2u);
  EXPECT_EQ(senders[0].dropped, d.rate_limited);
  ::close(flooder);
  ::close(quiet);
}

TEST(ReceiverTest, FullStoreQueuePausesTcpWithoutLoss) {
  Harness h("queue");
  h.AddListener(SyslogTransport::kTcp);
  h.AddListener(SyslogTransport::kUdp);
  h.config.limits.max_queue_bytes = 256 * 1024;
  h.config.store.block_bytes = 16 * 1024 * 1024;  // nothing leaves the queue until Flush()
  h.config.store.flush_interval = std::chrono::hours(1);
  h.Start();
  int tcp = Connect(h.receiver->port(0));
  ASSERT_GE(tcp, 0);
  std::thread sender([&] {
    std::string batch;
    for (int i = 0; i < 20000; ++i) batch += "<13>queued message number " + std::to_string(i) + "\n";
    SendAll(tcp, batch);  // ~650 KB: more than the queue holds
    ::close(tcp);
  });
  ASSERT_TRUE(WaitFor([&] { return h.receiver->stats().queue_pauses > 0; }));
  uint64_t paused_at = h.receiver->stats().messages;
  EXPECT_LT(paused_at, 20000u);
  int udp = Connect(h.receiver->port(1), "127.0.0.1", SOCK_DGRAM);
  SendAll(udp, "<13>udp while full");
  ::close(udp);
  ASSERT_TRUE(WaitFor([&] { return h.receiver->stats().dropped_queue_full == 1; }));
  // Drain the queue until everything is in.
  ASSERT_TRUE(WaitFor([&] {
    EXPECT_TRUE(h.store->Flush());
    return h.receiver->stats().messages == 20000;
  }));
  sender.join();
  auto stored = h.Stored();
  ASSERT_EQ(stored.size(), 20000u);
  EXPECT_EQ(stored.back().raw, "<13>queued message number 19999");
  EXPECT_EQ(h.DropsOf("127.0.0.1").queue_full, 1u);
}

// ---- TLS (RFC 5425) with openssl s_client as the sender ---------------------------------------

struct Certs {
  std::string cert, key;
};

Certs MakeCert(const std::string& dir, const std::string& name) {
  Certs c{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                    "-days 1 -subj /CN=" + name + " -keyout " + c.key + " -out " + c.cert +
                    " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return c;
}

// Sends `stream` over TLS; returns s_client's exit status.
int SendTls(const std::string& dir, uint16_t port, const std::string& stream,
            const Certs* client = nullptr) {
  std::string in = dir + "/tls.in";
  std::ofstream(in, std::ios::binary) << stream;
  std::string cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                    " -quiet -no_ign_eof";
  if (client) cmd += " -cert " + client->cert + " -key " + client->key;
  cmd += " <" + in + " >/dev/null 2>>" + dir + "/s_client.err";
  return std::system(cmd.c_str());
}

TEST(ReceiverTest, TlsWithOpensslClient) {
  if (!HaveProgram("openssl")) GTEST_SKIP() << "openssl not installed";
  Harness h("tls");
  Certs server = MakeCert(h.dir, "server");
  h.AddListener(SyslogTransport::kTls);
  h.config.listeners[0].tls_cert = server.cert;
  h.config.listeners[0].tls_key = server.key;
  h.Start();
  std::vector<std::string> sent = {"<13>1 2024-05-01T10:00:00Z host app 1 - - over tls",
                                   "<14>May  1 10:00:01 host app[2]: second\nwith a newline"};
  std::string stream;
  for (const std::string& m : sent) stream += std::to_string(m.size()) + " " + m;
  EXPECT_EQ(SendTls(h.dir, h.receiver->port(0), stream), 0);
  ExpectStoredExactly(h, sent, SyslogTransport::kTls);
}

TEST(ReceiverTest, TlsRequiresClientCertificateWhenConfigured) {
  if (!HaveProgram("openssl")) GTEST_SKIP() << "openssl not installed";
  Harness h("tlsclient");
  Certs server = MakeCert(h.dir, "server");
  Certs client = MakeCert(h.dir, "client");  // self-signed: it is its own CA
  h.AddListener(SyslogTransport::kTls);
  auto& l = h.config.listeners[0];
  l.tls_cert = server.cert;
  l.tls_key = server.key;
  l.tls_ca = client.cert;
  l.require_client_cert = true;
  h.Start();
  SendTls(h.dir, h.receiver->port(0), "<13>without a certificate\n");
  ASSERT_TRUE(WaitFor([&] { return h.receiver->stats().tls_handshake_failures >= 1; }));
  EXPECT_EQ(h.receiver->stats().messages, 0u);
  std::vector<std::string> sent = {"<13>with a certificate"};
  SendTls(h.dir, h.receiver->port(0), sent[0] + "\n", &client);
  ExpectStoredExactly(h, sent, SyslogTransport::kTls);
}

// rsyslog (Debian's rsyslogd with the ossl stream driver) as the TLS client, mutual
// authentication: logger -> rsyslog imudp -> omfwd over TLS, octet-counted -> the receiver.
TEST(ReceiverTest, RsyslogOverTlsWithClientCertificate) {
  if (!HaveProgram("openssl") || !HaveProgram("logger") ||
      std::system("test -x /usr/sbin/rsyslogd && ls /usr/lib/*/rsyslog/lmnsd_ossl.so "
                  ">/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "rsyslog with rsyslog-openssl not installed (tools/setup)";
  }
  Harness h("rsyslog");
  Certs server = MakeCert(h.dir, "server");
  Certs client = MakeCert(h.dir, "client");
  h.AddListener(SyslogTransport::kTls);
  auto& l = h.config.listeners[0];
  l.tls_cert = server.cert;
  l.tls_key = server.key;
  l.tls_ca = client.cert;
  l.require_client_cert = true;
  h.Start();

  int probe = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(probe);
  uint16_t rsyslog_port = ntohs(a.sin_port);

  fs::create_directories(h.dir + "/rsyslog-work");
  std::string conf = h.dir + "/rsyslog.conf";
  std::ofstream(conf)
      << "global(workDirectory=\"" << h.dir << "/rsyslog-work\"\n"
      << "       defaultNetstreamDriver=\"ossl\"\n"
      << "       defaultNetstreamDriverCAFile=\"" << server.cert << "\"\n"
      << "       defaultNetstreamDriverCertFile=\"" << client.cert << "\"\n"
      << "       defaultNetstreamDriverKeyFile=\"" << client.key << "\")\n"
      << "module(load=\"imudp\")\n"
      << "input(type=\"imudp\" address=\"127.0.0.1\" port=\"" << rsyslog_port << "\")\n"
      << "template(name=\"fixed\" type=\"string\"\n"
      << "  string=\"<%PRI%>1 2024-05-01T10:00:00Z relay %APP-NAME% - - - %msg:2:$%\")\n"
      << "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"" << h.receiver->port(0) << "\"\n"
      << "  protocol=\"tcp\" tcp_framing=\"octet-counted\" template=\"fixed\"\n"
      << "  streamDriver=\"ossl\" streamDriverMode=\"1\"\n"
      << "  streamDriverAuthMode=\"x509/name\" streamDriverPermittedPeers=\"server\")\n";
  std::string pidfile = h.dir + "/rsyslog.pid";
  std::string log = h.dir + "/rsyslog.log";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    ::execl("/usr/sbin/rsyslogd", "rsyslogd", "-n", "-f", conf.c_str(), "-i", pidfile.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // imudp bound
  std::vector<std::string> texts = {"relayed one", "relayed two with ] and \" and \\"};
  std::vector<std::string> sent;
  for (const std::string& t : texts) {
    std::string cmd = "logger --server 127.0.0.1 --port " + std::to_string(rsyslog_port) +
                      " --udp --rfc3164 -t relaytest -- '" + t + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    sent.push_back("<13>1 2024-05-01T10:00:00Z relay relaytest - - - " + t);
  }
  bool arrived = h.WaitMessages(sent.size());
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  std::ifstream rlog(log);
  std::stringstream rsyslog_output;
  rsyslog_output << rlog.rdbuf();
  ASSERT_TRUE(arrived) << "rsyslog output:\n" << rsyslog_output.str();
  ExpectStoredExactly(h, sent, SyslogTransport::kTls);
  EXPECT_EQ(h.receiver->stats().tls_handshake_failures, 0u);
}

}  // namespace
}  // namespace sensor
