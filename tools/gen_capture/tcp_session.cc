#include "tcp_session.h"

#include <algorithm>

namespace gen_capture {
namespace {

// SYN options as Windows 10 sends them: MSS, NOP, WS 8, NOP, NOP, SACK permitted.
Bytes WindowsSynOptions() { return {2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2}; }
// SYN-ACK options of a Linux server answering a peer without timestamps.
Bytes LinuxSynAckOptions() { return {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}; }

}  // namespace

TcpSession::TcpSession(Capture& capture, const Network& network, Host& client, Host& server,
                       uint16_t server_port, int64_t start_us, int64_t rtt_us, Rng& rng)
    : capture_(capture), now_(start_us), rtt_us_(rtt_us), rng_(rng) {
  hosts_[0] = &client;
  hosts_[1] = &server;
  network.Route(client, server, &src_mac_[0], &dst_mac_[0]);
  network.Route(server, client, &src_mac_[1], &dst_mac_[1]);
  client_port_ = client.EphemeralPort();
  port_[0] = client_port_;
  port_[1] = server_port;
  next_seq_[0] = static_cast<uint32_t>(rng_.Next());
  next_seq_[1] = static_cast<uint32_t>(rng_.Next());
  window_[0] = 64240;
  window_[1] = 64240;
}

void TcpSession::Emit(int dir, uint8_t flags, const Bytes& payload, const Bytes& options) {
  TcpHeader h;
  h.sport = port_[dir];
  h.dport = port_[1 - dir];
  h.seq = next_seq_[dir];
  h.ack = (flags & kAck) ? next_seq_[1 - dir] : 0;
  h.flags = flags;
  h.window = window_[dir];
  h.options = options;
  capture_.Add(now_, TcpFrame(src_mac_[dir], dst_mac_[dir], *hosts_[dir], hosts_[1 - dir]->ip, h,
                              payload));
  next_seq_[dir] += static_cast<uint32_t>(payload.size());
  if (flags & (kSyn | kFin)) {
    next_seq_[dir] += 1;
  }
  last_dir_ = dir;
}

// Moves time across the capture point when the speaking side changes.
void TcpSession::Turn(int dir) {
  if (last_dir_ == dir) {
    now_ += rng_.Range(15, 60);
  } else {
    now_ += rtt_us_ / 2 + rng_.Range(30, 400);
  }
}

void TcpSession::Connect() {
  Turn(0);
  Emit(0, kSyn, {}, WindowsSynOptions());
  Turn(1);
  Emit(1, kSyn | kAck, {}, LinuxSynAckOptions());
  Turn(0);
  Emit(0, kAck, {});
  window_[0] = 1026;  // 262,656 bytes with window scale 8
  window_[1] = 502;   // 64,256 bytes with window scale 7
}

void TcpSession::ConnectRefused() {
  Turn(0);
  Emit(0, kSyn, {}, WindowsSynOptions());
  Turn(1);
  next_seq_[1] = 0;
  window_[1] = 0;
  Emit(1, kRst | kAck, {});
}

void TcpSession::ConnectUnanswered(int retries) {
  Turn(0);
  uint32_t isn = next_seq_[0];
  Emit(0, kSyn, {}, WindowsSynOptions());
  int64_t backoff = 1000000;
  for (int i = 0; i < retries; ++i) {
    now_ += backoff + rng_.Range(0, 2000);
    backoff *= 2;
    next_seq_[0] = isn;
    Emit(0, kSyn, {}, WindowsSynOptions());
  }
}

void TcpSession::Send(int dir, const Bytes& payload) {
  int other = 1 - dir;
  if (unacked_[dir] > 0) {
    // Our earlier data is still unacknowledged: the peer's delayed ACK goes first.
    Turn(other);
    Emit(other, kAck, {});
    unacked_[dir] = 0;
  }
  Turn(dir);
  size_t off = 0;
  int in_flight = 0;
  while (off < payload.size()) {
    size_t n = std::min<size_t>(mss_, payload.size() - off);
    Bytes seg(payload.begin() + static_cast<ptrdiff_t>(off),
              payload.begin() + static_cast<ptrdiff_t>(off + n));
    off += n;
    bool last = off == payload.size();
    Emit(dir, static_cast<uint8_t>(kAck | (last ? kPsh : 0)), seg);
    sent_[dir] += n;
    ++in_flight;
    if (!last && in_flight == 2) {
      // The receiver acknowledges every second full segment.
      now_ += rtt_us_ / 2;
      Emit(other, kAck, {});
      now_ += rtt_us_ / 2;
      last_dir_ = dir;
      in_flight = 0;
    } else if (!last) {
      now_ += rng_.Range(12, 40);
    }
  }
  unacked_[dir] = in_flight;
  unacked_[other] = 0;
}

void TcpSession::Close(bool client_first) {
  int a = client_first ? 0 : 1;
  int b = 1 - a;
  Turn(a);
  Emit(a, kFin | kAck, {});
  Turn(b);
  Emit(b, kFin | kAck, {});
  Turn(a);
  Emit(a, kAck, {});
  unacked_[0] = unacked_[1] = 0;
}

void TcpSession::Reset(bool from_client) {
  int dir = from_client ? 0 : 1;
  Turn(dir);
  Emit(dir, kRst | kAck, {});
}

}  // namespace gen_capture
