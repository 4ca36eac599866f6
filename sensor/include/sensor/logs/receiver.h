// The syslog receiver: UDP (RFC 5426), TCP with both RFC 6587 framings and TLS (RFC 5425)
// listeners on one epoll loop, with allowed-sender lists and bounds against slow, hostile or
// flooding senders. Every message is parsed (SyslogParser) for its severity and handed to the
// LogStore raw, with sender and receive time; every refusal is counted per sender.
//
// Bounds (docs/logs.md, "Receiving"): per connection at most max_message_bytes are buffered by
// the framer plus one 64 KiB read; at most max_connections (and max_connections_per_sender)
// connections; a connection with no bytes for idle_timeout, or with an unfinished frame older
// than frame_timeout, is closed; ready connections are read round-robin, one read each per loop
// turn; above limits.max_queue_bytes of unwritten store data TCP reading pauses and UDP drops.
//
// Ownership: the receiver owns its sockets and its thread; it borrows the LogStore, which must
// outlive it. Start()/Stop() from one controlling thread; stats()/Drops() are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "rules/ip_address.h"
#include "rules/result.h"
#include "sensor/logs/log_store.h"
#include "sensor/logs/syslog_config.h"
#include "sensor/logs/syslog_message.h"

namespace sensor {

struct ReceiverStats {
  uint64_t messages = 0;             // handed to the store
  uint64_t bytes = 0;                // their raw bytes
  uint64_t datagrams = 0;            // UDP datagrams read (before policy)
  uint64_t connections_accepted = 0;
  uint64_t connections_active = 0;
  uint64_t connections_peak = 0;
  uint64_t connections_rejected = 0;     // over max_connections / max_connections_per_sender
  uint64_t connections_closed_idle = 0;  // idle_timeout
  uint64_t connections_closed_slow = 0;  // frame_timeout (slowloris)
  uint64_t tls_handshake_failures = 0;
  uint64_t dropped_not_allowed = 0;  // messages / connections from senders not on the list
  uint64_t dropped_rate = 0;         // over max_messages_per_second
  uint64_t dropped_queue_full = 0;   // UDP datagrams while the store queue was full
  uint64_t truncated = 0;            // messages cut at max_message_bytes (framer or UDP)
  uint64_t oversize = 0;             // octet-counted frames over the bound, skipped
  uint64_t discarded_partial = 0;    // unfinished frames of connections closed by a timeout
  uint64_t queue_pauses = 0;         // loop turns in which TCP reading paused for the store
  // max_connections x (max_message_bytes + read chunk): the most TCP/TLS input held at once.
  uint64_t buffer_bound_bytes = 0;
};

// What was refused from one sender address.
struct SenderDrops {
  uint64_t not_allowed = 0;
  uint64_t rate_limited = 0;
  uint64_t queue_full = 0;
  uint64_t truncated = 0;
  uint64_t connections_rejected = 0;
  uint64_t connections_closed = 0;  // by idle or frame timeout
};

class SyslogReceiver {
 public:
  // Called on the receiving thread for every stored message, after the store has it.
  using MessageHook = std::function<void(const LogRecord&, const SyslogMessage&)>;

  virtual ~SyslogReceiver() = default;  // stops the thread, closes the sockets
  // The bound port of listener i (config order); useful with port 0.
  virtual uint16_t port(size_t listener) const = 0;
  virtual void SetMessageHook(MessageHook hook) = 0;  // before Start()
  virtual rules::Result<> Start() = 0;
  virtual void Stop() = 0;
  virtual ReceiverStats stats() const = 0;
  // Per sender, sorted by address; at most 65536 senders are tracked, the rest are counted
  // only in stats().
  virtual std::vector<std::pair<rules::IpAddress, SenderDrops>> Drops() const = 0;
};

// Binds every listener (so a port in use fails here) and loads TLS certificates.
rules::Result<std::unique_ptr<SyslogReceiver>> CreateSyslogReceiver(const SyslogConfig& config,
                                                                   LogStore* store);

}  // namespace sensor
