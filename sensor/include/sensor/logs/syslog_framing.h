// Splits a TCP syslog byte stream into messages (RFC 6587): octet counting ("LEN SP MSG") and
// non-transparent framing (MSG terminated by LF; NUL is accepted as a terminator too). The
// method is detected per frame from its first byte, because real senders mix them on one
// connection. Streaming: feed arbitrary chunks, whole messages come out. Bounded: at most
// max_message_bytes are buffered; a longer LF-framed line is emitted cut at the bound and the
// rest of it discarded (counted), an oversize octet count is skipped (counted).
// One decoder per connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sensor {

struct FramingStats {
  uint64_t messages = 0;
  uint64_t octet_counted = 0;
  uint64_t non_transparent = 0;
  uint64_t truncated = 0;      // LF-framed lines cut at max_message_bytes
  uint64_t oversize = 0;       // octet counts above max_message_bytes (content dropped)
  uint64_t bad_length = 0;     // digits not followed by SP, or too many digits
  uint64_t incomplete = 0;     // bytes left in a frame when Finish() was called
};

class SyslogFramer {
 public:
  // Called once per message; the view is valid only during the call.
  using MessageFn = std::function<void(std::string_view)>;

  explicit SyslogFramer(size_t max_message_bytes = 64 * 1024);
  void Feed(std::string_view chunk, const MessageFn& on_message);
  // End of stream: a pending unterminated LF frame is emitted; a short octet frame is emitted
  // as far as it got (and counted as incomplete).
  void Finish(const MessageFn& on_message);
  const FramingStats& stats() const { return stats_; }

 private:
  enum class State { kFrameStart, kLength, kOctets, kLine, kDiscardLine, kSkipOctets };
  void Emit(const MessageFn& on_message);

  size_t max_;
  State state_ = State::kFrameStart;
  size_t remaining_ = 0;  // octets still expected (kOctets, kSkipOctets)
  std::string buffer_;    // the frame being assembled (also the length digits in kLength)
  FramingStats stats_;
};

}  // namespace sensor
