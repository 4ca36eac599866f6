// The small error kit every part of Utkikk shares: Result<T>, Error and Fail().
// It lives once here, in the lowest layer, so that an error can travel from the rules loader
// through the uplink to the sensor without translation tables (docs/architecture.md).
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace rules {

enum class ErrorCode {
  kInvalidArgument,  // a caller passed something unusable
  kParse,            // text or bytes in a known format that do not parse
  kConfig,           // a configuration file or value that is wrong
  kIo,               // a file or socket operation failed
  kNotFound,         // a named thing (file, key, sensor) does not exist
  kCapture,          // libpcap refused
  kCrypto,           // OpenSSL refused, or a signature does not verify
  kCompress,         // zstd refused
  kStore,            // a database refused
  kSpoolFull,        // the spool hit its bound
  kPeerUnavailable,  // a transport peer is not there
  kRejected,         // input refused by policy (size, replay, unknown key ...)
  kInternal,         // a bug: an invariant failed
};

// What failed and where, in one line meant for a person: "utkikk.yaml:3:12: unknown key 'foo'".
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T = void>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(const tl::expected<T, Error>& e) : tl::expected<T, Error>(e) {}
  Result(tl::expected<T, Error>&& e) : tl::expected<T, Error>(std::move(e)) {}
};

inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return tl::make_unexpected(Error{code, std::move(message)});
}

// Passes an error up with context in front: "loading rules: " + "x.yaml:1:1: ...".
inline tl::unexpected<Error> Fail(const Error& cause, const std::string& context) {
  return tl::make_unexpected(Error{cause.code, context + cause.message});
}

}  // namespace rules
