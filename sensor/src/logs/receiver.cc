// The syslog receiver (sensor/logs/receiver.h): one epoll loop over UDP, TCP and TLS sockets.
#include "sensor/logs/receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "sensor/logs/syslog_framing.h"
#include "sensor/logs/syslog_parser.h"

namespace sensor {

namespace {

using rules::ErrorCode;
using rules::Fail;
using rules::IpAddress;
using rules::Result;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kUdpBatch = 64;
constexpr size_t kMaxTrackedSenders = 65536;
constexpr uint64_t kWakeId = ~0ull;
constexpr uint64_t kFirstConnId = 1ull << 32;

template <auto Fn>
struct CDeleter {
  template <class T>
  void operator()(T* p) const noexcept { Fn(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, CDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, CDeleter<SSL_free>>;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string SslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

int64_t WallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

IpAddress FromSockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    return IpAddress::FromV4(ntohl(in->sin_addr.s_addr));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    return IpAddress::FromV6Bytes(in6->sin6_addr.s6_addr);
  }
  return IpAddress();
}

Result<Fd> BindSocket(const SyslogListenerConfig& l) {
  auto addr = IpAddress::Parse(l.address);
  if (!addr) return Fail(ErrorCode::kConfig, "syslog listener: bad address " + l.address);
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (addr->is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(l.port);
    in->sin_addr.s_addr = htonl(addr->v4());
    len = sizeof(sockaddr_in);
    family = AF_INET;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(l.port);
    std::memcpy(in6->sin6_addr.s6_addr, addr->bytes().data(), 16);
    len = sizeof(sockaddr_in6);
    family = AF_INET6;
  }
  bool udp = l.transport == SyslogTransport::kUdp;
  Fd fd(::socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  std::string where = std::string(SyslogTransportName(l.transport)) + " " + l.address + ":" +
                      std::to_string(l.port);
  if (fd.get() < 0) return Fail(ErrorCode::kIo, Errno("syslog " + where + ": socket"));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (udp) {
    // Room for bursts: the kernel caps this at net.core.rmem_max unless we may force it.
    int bytes = 16 * 1024 * 1024;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0) {
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
    }
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Fail(ErrorCode::kIo, Errno("syslog " + where + ": bind"));
  }
  if (!udp && ::listen(fd.get(), 512) != 0) {
    return Fail(ErrorCode::kIo, Errno("syslog " + where + ": listen"));
  }
  return fd;
}

Result<SslCtxPtr> MakeTlsContext(const SyslogListenerConfig& l) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Fail(ErrorCode::kCrypto, "syslog tls: " + SslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), l.tls_cert.c_str()) != 1) {
    return Fail(ErrorCode::kCrypto, "syslog tls: certificate " + l.tls_cert + ": " + SslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), l.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return Fail(ErrorCode::kCrypto, "syslog tls: key " + l.tls_key + ": " + SslErrors());
  }
  if (!l.tls_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), l.tls_ca.c_str(), nullptr) != 1) {
      return Fail(ErrorCode::kCrypto, "syslog tls: ca " + l.tls_ca + ": " + SslErrors());
    }
    // With a CA, a presented client certificate must verify; require_client_cert makes it
    // mandatory (RFC 5425 section 5.2 leaves the policy to the operator).
    int mode = SSL_VERIFY_PEER;
    if (l.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx.get(), mode, nullptr);
  }
  return ctx;
}

struct Listener {
  SyslogListenerConfig config;
  Fd fd;
  uint16_t port = 0;
  SslCtxPtr tls;
};

struct Connection {
  uint64_t id = 0;
  Fd fd;
  IpAddress peer;
  SyslogTransport transport = SyslogTransport::kTcp;
  SslPtr ssl;
  bool handshake_done = false;
  SyslogFramer framer;
  Clock::time_point last_bytes;
  bool partial = false;  // an unfinished frame is buffered
  Clock::time_point partial_since;
  std::string last_tail;  // the end of the last message emitted (frame boundary check)
  bool emitted = false;

  explicit Connection(size_t max_bytes) : framer(max_bytes) {}
};

struct TokenBucket {
  double tokens = 0;
  Clock::time_point refilled;
  bool primed = false;
};

class ReceiverImpl final : public SyslogReceiver {
 public:
  ReceiverImpl(const SyslogConfig& config, LogStore* store)
      : config_(config), store_(store), parser_(ParserConfig(config)) {}

  ~ReceiverImpl() override { Stop(); }

  Result<> Init() {
    epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
    if (epoll_.get() < 0) return Fail(ErrorCode::kIo, Errno("epoll_create1"));
    wake_ = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (wake_.get() < 0) return Fail(ErrorCode::kIo, Errno("eventfd"));
    if (auto ok = Watch(wake_.get(), kWakeId); !ok) return ok;
    for (const SyslogListenerConfig& lc : config_.listeners) {
      Listener l;
      l.config = lc;
      auto fd = BindSocket(lc);
      if (!fd) return tl::make_unexpected(fd.error());
      l.fd = std::move(*fd);
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      ::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
      l.port = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
      if (lc.transport == SyslogTransport::kTls) {
        auto ctx = MakeTlsContext(lc);
        if (!ctx) return tl::make_unexpected(ctx.error());
        l.tls = std::move(*ctx);
      }
      if (auto ok = Watch(l.fd.get(), listeners_.size()); !ok) return ok;
      listeners_.push_back(std::move(l));
    }
    udp_buffer_size_ = std::min<size_t>(config_.limits.max_message_bytes, 65535) + 1;
    udp_buffers_.resize(kUdpBatch * udp_buffer_size_);
    read_buffer_.resize(kReadChunk);
    live_.buffer_bound_bytes =
        config_.limits.max_connections * (config_.limits.max_message_bytes + kReadChunk);
    Publish();
    return {};
  }

  uint16_t port(size_t i) const override { return i < listeners_.size() ? listeners_[i].port : 0; }

  void SetMessageHook(MessageHook hook) override { hook_ = std::move(hook); }

  Result<> Start() override {
    if (thread_.joinable()) return Fail(ErrorCode::kInvalidArgument, "receiver already running");
    stop_.store(false);
    thread_ = std::thread([this] { Loop(); });
    return {};
  }

  void Stop() override {
    if (!thread_.joinable()) return;
    stop_.store(true);
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_.get(), &one, sizeof(one));
    (void)ignored;
    thread_.join();
  }

  ReceiverStats stats() const override {
    std::lock_guard lock(stats_mu_);
    return published_;
  }

  std::vector<std::pair<IpAddress, SenderDrops>> Drops() const override {
    std::lock_guard lock(stats_mu_);
    std::vector<std::pair<IpAddress, SenderDrops>> out(drops_.begin(), drops_.end());
    return out;
  }

 private:
  static SyslogParserConfig ParserConfig(const SyslogConfig& c) {
    SyslogParserConfig p;
    p.max_message_bytes = c.limits.max_message_bytes;
    return p;
  }

  Result<> Watch(int fd, uint64_t id) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      return Fail(ErrorCode::kIo, Errno("epoll_ctl"));
    }
    return {};
  }

  void Publish() {
    std::lock_guard lock(stats_mu_);
    published_ = live_;
  }

  // Counts a refusal for `sender` (under stats_mu_; drops are the slow path).
  template <class Field>
  void CountDrop(const IpAddress& sender, Field field, uint64_t n = 1) {
    std::lock_guard lock(stats_mu_);
    auto it = drops_.find(sender);
    if (it == drops_.end()) {
      if (drops_.size() >= kMaxTrackedSenders) return;
      it = drops_.emplace(sender, SenderDrops{}).first;
    }
    it->second.*field += n;
  }

  // ---- the loop ------------------------------------------------------------------------------

  void Loop() {
    std::vector<epoll_event> events(256);
    std::vector<uint64_t> again;  // TLS connections with decrypted bytes still buffered
    auto last_sweep = Clock::now();
    while (!stop_.load(std::memory_order_relaxed)) {
      int timeout = again.empty() ? 200 : 0;
      int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
      if (n < 0 && errno != EINTR) break;
      queue_full_ = store_->stats().queued_bytes > config_.limits.max_queue_bytes;
      if (queue_full_) ++live_.queue_pauses;
      std::vector<uint64_t> ready;
      ready.swap(again);
      for (int i = 0; i < n; ++i) {
        uint64_t id = events[i].data.u64;
        if (id == kWakeId) continue;
        if (id < listeners_.size()) {
          Listener& l = listeners_[id];
          if (l.config.transport == SyslogTransport::kUdp) {
            ReadUdp(l);
          } else {
            Accept(l);
          }
          continue;
        }
        if (std::find(ready.begin(), ready.end(), id) == ready.end()) ready.push_back(id);
      }
      if (!queue_full_) {
        for (uint64_t id : ready) {
          auto it = conns_.find(id);
          if (it == conns_.end()) continue;
          if (ReadConnection(*it->second)) {
            if (it->second->ssl && SSL_has_pending(it->second->ssl.get())) again.push_back(id);
          } else {
            Close(id, false);
          }
        }
      } else {
        for (uint64_t id : ready) {
          if (conns_.count(id) && conns_[id]->ssl) again.push_back(id);
        }
        // TCP senders wait in their TCP windows; give the store writer the core.
        timespec pause{0, 1000000};
        ::nanosleep(&pause, nullptr);
      }
      auto now = Clock::now();
      if (now - last_sweep >= std::chrono::milliseconds(250)) {
        Sweep(now);
        last_sweep = now;
      }
      Publish();
    }
    std::vector<uint64_t> ids;
    for (auto& [id, c] : conns_) ids.push_back(id);
    for (uint64_t id : ids) Close(id, false);
    Publish();
  }

  void Sweep(Clock::time_point now) {
    std::vector<std::pair<uint64_t, bool>> doomed;  // id, slow (vs idle)
    for (auto& [id, c] : conns_) {
      if (now - c->last_bytes > config_.limits.idle_timeout) {
        doomed.emplace_back(id, false);
      } else if (c->partial && now - c->partial_since > config_.limits.frame_timeout) {
        doomed.emplace_back(id, true);
      } else if (!c->handshake_done && now - c->partial_since > config_.limits.frame_timeout) {
        doomed.emplace_back(id, true);  // a TLS handshake that never completes
      }
    }
    for (auto [id, slow] : doomed) {
      Connection& c = *conns_[id];
      ++(slow ? live_.connections_closed_slow : live_.connections_closed_idle);
      CountDrop(c.peer, &SenderDrops::connections_closed);
      if (c.partial) ++live_.discarded_partial;
      conns_[id]->partial = false;
      Close(id, true);
    }
  }

  bool Allowed(const Listener& l, const IpAddress& sender) const {
    if (l.config.allowed_senders.empty()) return true;
    for (const rules::Cidr& c : l.config.allowed_senders) {
      if (c.Contains(sender)) return true;
    }
    return false;
  }

  // Token bucket per sender; false when the message must be dropped.
  bool TakeToken(const IpAddress& sender, Clock::time_point now) {
    uint64_t rate = config_.limits.max_messages_per_second;
    if (rate == 0) return true;
    double burst = static_cast<double>(config_.limits.burst_messages ? config_.limits.burst_messages
                                                                     : rate);
    auto it = buckets_.find(sender);
    if (it == buckets_.end()) {
      if (buckets_.size() >= kMaxTrackedSenders) buckets_.clear();  // crude but bounded
      it = buckets_.emplace(sender, TokenBucket{burst, now, true}).first;
    }
    TokenBucket& b = it->second;
    double elapsed = std::chrono::duration<double>(now - b.refilled).count();
    b.tokens = std::min(burst, b.tokens + elapsed * static_cast<double>(rate));
    b.refilled = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  void Deliver(const IpAddress& sender, SyslogTransport transport, std::string_view raw,
               Clock::time_point now) {
    if (!TakeToken(sender, now)) {
      ++live_.dropped_rate;
      CountDrop(sender, &SenderDrops::rate_limited);
      store_->NoteDropped(sender, 1);
      return;
    }
    parser_.Parse(raw, &parsed_);
    LogRecord record;
    record.receive_time_us = WallUs();
    record.sender = sender;
    record.transport = transport;
    record.severity = parsed_.pri ? *parsed_.pri % 8 : -1;
    record.raw = raw;
    store_->Append(record);
    ++live_.messages;
    live_.bytes += raw.size();
    if (hook_) hook_(record, parsed_);
  }

  void ReadUdp(Listener& l) {
    mmsghdr msgs[kUdpBatch];
    iovec iov[kUdpBatch];
    sockaddr_storage from[kUdpBatch];
    for (size_t i = 0; i < kUdpBatch; ++i) {
      iov[i] = iovec{udp_buffers_.data() + i * udp_buffer_size_, udp_buffer_size_};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
    }
    int n = ::recvmmsg(l.fd.get(), msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    auto now = Clock::now();
    size_t max = config_.limits.max_message_bytes;
    for (int i = 0; i < n; ++i) {
      ++live_.datagrams;
      IpAddress sender = FromSockaddr(from[i]);
      if (!Allowed(l, sender)) {
        ++live_.dropped_not_allowed;
        CountDrop(sender, &SenderDrops::not_allowed);
        continue;
      }
      if (queue_full_) {
        ++live_.dropped_queue_full;
        CountDrop(sender, &SenderDrops::queue_full);
        store_->NoteDropped(sender, 1);
        continue;
      }
      size_t len = msgs[i].msg_len;
      if (len > max || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
        len = std::min(len, max);
        ++live_.truncated;
        CountDrop(sender, &SenderDrops::truncated);
      }
      Deliver(sender, SyslogTransport::kUdp,
              std::string_view(udp_buffers_.data() + i * udp_buffer_size_, len), now);
    }
  }

  void Accept(Listener& l) {
    for (int k = 0; k < 16; ++k) {
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      Fd fd(::accept4(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                      SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (fd.get() < 0) return;
      IpAddress peer = FromSockaddr(ss);
      if (!Allowed(l, peer)) {
        ++live_.dropped_not_allowed;
        CountDrop(peer, &SenderDrops::not_allowed);
        continue;  // closed by Fd
      }
      size_t& per_sender = per_sender_conns_[peer];
      if (conns_.size() >= config_.limits.max_connections ||
          per_sender >= config_.limits.max_connections_per_sender) {
        if (per_sender == 0) per_sender_conns_.erase(peer);
        ++live_.connections_rejected;
        CountDrop(peer, &SenderDrops::connections_rejected);
        continue;
      }
      auto c = std::make_unique<Connection>(config_.limits.max_message_bytes);
      c->id = next_id_++;
      c->peer = peer;
      c->transport = l.config.transport;
      c->last_bytes = Clock::now();
      c->partial_since = c->last_bytes;
      c->handshake_done = l.tls == nullptr;
      if (l.tls) {
        c->ssl.reset(SSL_new(l.tls.get()));
        if (!c->ssl || SSL_set_fd(c->ssl.get(), fd.get()) != 1) {
          ++live_.tls_handshake_failures;
          ERR_clear_error();
          continue;
        }
        SSL_set_accept_state(c->ssl.get());
      }
      if (!Watch(fd.get(), c->id)) continue;
      c->fd = std::move(fd);
      ++per_sender;
      ++live_.connections_accepted;
      conns_.emplace(c->id, std::move(c));
      live_.connections_active = conns_.size();
      live_.connections_peak = std::max<uint64_t>(live_.connections_peak, conns_.size());
    }
  }

  // One read (round-robin fairness). False when the connection is finished.
  bool ReadConnection(Connection& c) {
    ssize_t n;
    if (c.ssl) {
      ERR_clear_error();
      if (!c.handshake_done) {
        int r = SSL_do_handshake(c.ssl.get());
        if (r == 1) {
          c.handshake_done = true;
          c.last_bytes = Clock::now();
        } else {
          int e = SSL_get_error(c.ssl.get(), r);
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
          ++live_.tls_handshake_failures;
          ERR_clear_error();
          return false;
        }
      }
      int r = SSL_read(c.ssl.get(), read_buffer_.data(), static_cast<int>(read_buffer_.size()));
      if (r <= 0) {
        int e = SSL_get_error(c.ssl.get(), r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
        ERR_clear_error();
        n = 0;  // close_notify, reset or a protocol error: the stream is over
      } else {
        n = r;
      }
    } else {
      n = ::read(c.fd.get(), read_buffer_.data(), read_buffer_.size());
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    auto now = Clock::now();
    uint64_t truncated_before = c.framer.stats().truncated;
    uint64_t oversize_before = c.framer.stats().oversize;
    auto on_message = [&](std::string_view m) {
      c.emitted = true;
      c.last_tail.assign(m.substr(m.size() > 64 ? m.size() - 64 : 0));
      Deliver(c.peer, c.transport, m, now);
    };
    if (n == 0) {
      c.framer.Finish(on_message);
      c.partial = false;
      return false;
    }
    c.last_bytes = now;
    std::string_view chunk(read_buffer_.data(), static_cast<size_t>(n));
    c.emitted = false;
    c.framer.Feed(chunk, on_message);
    UpdatePartial(&c, chunk, now);
    uint64_t truncated = c.framer.stats().truncated - truncated_before;
    uint64_t oversize = c.framer.stats().oversize - oversize_before;
    if (truncated || oversize) {
      live_.truncated += truncated;
      live_.oversize += oversize;
      CountDrop(c.peer, &SenderDrops::truncated, truncated + oversize);
    }
    return true;
  }

  // Whether the framer now holds an unfinished frame: the chunk ends in a terminator, or with
  // the message just emitted (an octet-counted frame that ended with the read).
  static void UpdatePartial(Connection* c, std::string_view chunk, Clock::time_point now) {
    bool boundary = false;
    char last = chunk.back();
    if (last == '\n' || last == '\0') {
      boundary = true;
    } else if (c->emitted) {
      size_t k = std::min(c->last_tail.size(), chunk.size());
      boundary = k > 0 && chunk.substr(chunk.size() - k) ==
                              std::string_view(c->last_tail).substr(c->last_tail.size() - k);
    }
    if (boundary) {
      c->partial = false;
    } else if (!c->partial || c->emitted) {
      c->partial = true;
      c->partial_since = now;
    }
  }

  void Close(uint64_t id, bool forced) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Connection& c = *it->second;
    if (!forced && c.partial) {
      c.framer.Finish([&](std::string_view m) { Deliver(c.peer, c.transport, m, Clock::now()); });
    }
    if (c.ssl && c.handshake_done && !forced) SSL_shutdown(c.ssl.get());
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    auto pc = per_sender_conns_.find(c.peer);
    if (pc != per_sender_conns_.end() && --pc->second == 0) per_sender_conns_.erase(pc);
    conns_.erase(it);
    live_.connections_active = conns_.size();
  }

  const SyslogConfig config_;
  LogStore* const store_;
  SyslogParser parser_;
  SyslogMessage parsed_;
  MessageHook hook_;
  Fd epoll_;
  Fd wake_;
  std::vector<Listener> listeners_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::unordered_map<IpAddress, size_t, rules::IpAddressHash> per_sender_conns_;
  std::unordered_map<IpAddress, TokenBucket, rules::IpAddressHash> buckets_;
  uint64_t next_id_ = kFirstConnId;
  size_t udp_buffer_size_ = 0;
  std::vector<char> udp_buffers_;
  std::vector<char> read_buffer_;
  bool queue_full_ = false;
  ReceiverStats live_;  // loop thread only
  std::atomic<bool> stop_{false};
  std::thread thread_;

  mutable std::mutex stats_mu_;
  ReceiverStats published_;
  std::map<IpAddress, SenderDrops> drops_;
};

}  // namespace

Result<std::unique_ptr<SyslogReceiver>> CreateSyslogReceiver(const SyslogConfig& config,
                                                            LogStore* store) {
  if (store == nullptr) return Fail(ErrorCode::kInvalidArgument, "syslog receiver: no store");
  if (config.listeners.empty()) return Fail(ErrorCode::kConfig, "syslog receiver: no listeners");
  auto r = std::make_unique<ReceiverImpl>(config, store);
  if (auto ok = r->Init(); !ok) return tl::make_unexpected(ok.error());
  return std::unique_ptr<SyslogReceiver>(std::move(r));
}

}  // namespace sensor
