// One TCP connection between two hosts, as the sensor's SPAN sees it: handshake, data with
// consistent sequence and acknowledgement numbers, delayed ACKs, FIN teardown or RST.
#pragma once

#include <cstdint>

#include "bytes.h"
#include "net.h"

namespace gen_capture {

// Borrows the capture, network, hosts and random generator, which must outlive it. Not
// thread-safe. Time only moves forward: every packet advances now().
class TcpSession {
 public:
  TcpSession(Capture& capture, const Network& network, Host& client, Host& server,
             uint16_t server_port, int64_t start_us, int64_t rtt_us, Rng& rng);

  // SYN, SYN-ACK, ACK.
  void Connect();
  // SYN answered by RST-ACK (closed port).
  void ConnectRefused();
  // SYN and `retries` retransmissions (1 s, 2 s, 4 s ...) that nobody answers.
  void ConnectUnanswered(int retries);
  void ClientSend(const Bytes& payload) { Send(0, payload); }
  void ServerSend(const Bytes& payload) { Send(1, payload); }
  // FIN from one side, FIN-ACK back, last ACK.
  void Close(bool client_first = true);
  // RST-ACK from one side (aborted connection).
  void Reset(bool from_client);
  // Think time or idle time, in microseconds.
  void Wait(int64_t us) { now_ += us; }
  int64_t now() const { return now_; }
  uint16_t client_port() const { return client_port_; }
  uint64_t bytes_client() const { return sent_[0]; }
  uint64_t bytes_server() const { return sent_[1]; }

 private:
  void Emit(int dir, uint8_t flags, const Bytes& payload, const Bytes& options = {});
  void Turn(int dir);
  void Send(int dir, const Bytes& payload);

  Capture& capture_;
  Host* hosts_[2];
  Mac src_mac_[2];
  Mac dst_mac_[2];
  uint16_t port_[2];
  uint16_t client_port_;
  uint32_t next_seq_[2];
  uint16_t window_[2];
  int unacked_[2] = {0, 0};  // segments sent by side i that side 1-i has not acked yet
  uint64_t sent_[2] = {0, 0};
  int last_dir_ = -1;
  int64_t now_;
  int64_t rtt_us_;
  uint32_t mss_ = 1460;
  Rng& rng_;
};

}  // namespace gen_capture
