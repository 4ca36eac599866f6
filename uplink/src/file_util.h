// Small POSIX file helpers for files another process reads: write hidden, fsync, rename (or
// link), fsync the directory (STYLE.md 4.8, stenographer and leveldb).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rules/result.h"

namespace uplink::internal {

// Prefix of the hidden temporary name a file is written under before its rename.
inline constexpr const char* kTempPrefix = ".tmp-";

// Owns a file descriptor; closes it on destruction. Move-only, not thread-safe.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// "what path: strerror(errno)"
std::string ErrnoMessage(const std::string& what, const std::string& path, int err);

rules::Result<void> FsyncDir(const std::string& dir);

// Writes `data` to dir/name atomically: dir/.tmp-name (O_EXCL after removing a stale one, mode
// `mode`), write, fsync, then rename over dir/name (replace = true) or link to dir/name, failing
// if it exists (replace = false), then fsync dir. A reader never sees a half-written file.
rules::Result<void> WriteFileAtomic(const std::string& dir, const std::string& name,
                                    std::span<const uint8_t> data, mode_t mode, bool replace);

// Reads a whole regular file of at most `max_bytes`. *too_large is set when it is longer.
// kNotFound when it does not exist.
rules::Result<std::vector<uint8_t>> ReadFileBounded(const std::string& path, size_t max_bytes,
                                                    bool* too_large);

// Splits "a/b/c" into "a/b" and "c" ("." for a bare name).
void SplitPath(const std::string& path, std::string* dir, std::string* name);

}  // namespace uplink::internal
