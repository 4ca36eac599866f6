#include "sensor/logs/syslog_framing.h"

#include <algorithm>

namespace sensor {

namespace {

// An octet count longer than this many digits is not a length (RFC 6587 3.4.1 MSG-LEN is
// NONZERO-DIGIT *DIGIT; nothing we accept needs more than 9 digits).
constexpr size_t kMaxLengthDigits = 9;

bool IsTerminator(char c) { return c == '\n' || c == '\0'; }

}  // namespace

SyslogFramer::SyslogFramer(size_t max_message_bytes)
    : max_(max_message_bytes == 0 ? 1 : max_message_bytes) {}

void SyslogFramer::Emit(const MessageFn& on_message) {
  std::string_view frame = buffer_;
  if (state_ == State::kLine && !frame.empty() && frame.back() == '\r') {
    frame.remove_suffix(1);
  }
  if (!frame.empty()) {
    ++stats_.messages;
    on_message(frame);
  }
  buffer_.clear();
}

void SyslogFramer::Feed(std::string_view chunk, const MessageFn& on_message) {
  size_t i = 0;
  const size_t n = chunk.size();
  while (i < n) {
    switch (state_) {
      case State::kFrameStart: {
        char c = chunk[i];
        // Separators between frames, and the stray SP some Cisco ASAs send after the LF.
        if (IsTerminator(c) || c == '\r' || c == ' ') {
          ++i;
          break;
        }
        buffer_.clear();
        if (c >= '1' && c <= '9') {
          state_ = State::kLength;
        } else {
          state_ = State::kLine;
          ++stats_.non_transparent;
        }
        break;
      }
      case State::kLength: {
        char c = chunk[i];
        if (c >= '0' && c <= '9' && buffer_.size() < kMaxLengthDigits) {
          buffer_.push_back(c);
          ++i;
          break;
        }
        if (c == ' ') {
          size_t length = 0;
          for (char d : buffer_) length = length * 10 + static_cast<size_t>(d - '0');
          ++i;
          buffer_.clear();
          ++stats_.octet_counted;
          if (length > max_) {
            ++stats_.oversize;
            remaining_ = length;
            state_ = State::kSkipOctets;
          } else {
            remaining_ = length;
            state_ = State::kOctets;
          }
          break;
        }
        // Digits not followed by SP: a digit-leading LF-framed message; keep what we have.
        if (buffer_.size() >= kMaxLengthDigits) ++stats_.bad_length;
        ++stats_.non_transparent;
        state_ = State::kLine;
        break;
      }
      case State::kOctets: {
        size_t take = std::min(remaining_, n - i);
        buffer_.append(chunk.data() + i, take);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          Emit(on_message);
          state_ = State::kFrameStart;
        }
        break;
      }
      case State::kSkipOctets: {
        size_t take = std::min(remaining_, n - i);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kFrameStart;
        break;
      }
      case State::kLine: {
        size_t end = i;
        while (end < n && !IsTerminator(chunk[end])) ++end;
        size_t room = max_ - buffer_.size();
        size_t take = end - i;
        if (take > room) {
          buffer_.append(chunk.data() + i, room);
          ++stats_.truncated;
          Emit(on_message);
          i += room;
          state_ = State::kDiscardLine;
          break;
        }
        buffer_.append(chunk.data() + i, take);
        i = end;
        if (end < n) {  // terminator found
          ++i;
          Emit(on_message);
          state_ = State::kFrameStart;
        }
        break;
      }
      case State::kDiscardLine: {
        while (i < n && !IsTerminator(chunk[i])) ++i;
        if (i < n) {
          ++i;
          state_ = State::kFrameStart;
        }
        break;
      }
    }
  }
}

void SyslogFramer::Finish(const MessageFn& on_message) {
  switch (state_) {
    case State::kLine:
      Emit(on_message);
      break;
    case State::kLength:  // digits only: a tiny LF-framed message without its LF
      state_ = State::kLine;
      Emit(on_message);
      break;
    case State::kOctets:
      ++stats_.incomplete;
      Emit(on_message);
      break;
    default:
      break;
  }
  buffer_.clear();
  remaining_ = 0;
  state_ = State::kFrameStart;
}

}  // namespace sensor
