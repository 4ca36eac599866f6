// A persisted, crash-safe source of increasing sequence numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "rules/result.h"

namespace uplink {

// Hands out 1, 2, 3, ... and never the same number twice, across crashes and restarts. The file
// records a limit: every number below it may have been handed out. Numbers are reserved in
// blocks: before the first number of a block is returned, the new limit is written (temporary
// file, fsync, rename, fsync of the directory), so a crash at any instant can only skip numbers
// (at most one block), never reuse one. The file format is in docs/formats.md.
//
// One SequenceCounter object per file, in one process at a time (the caller ensures this, e.g.
// the spool's lock file). Not thread-safe: callers serialise Next().
class SequenceCounter {
 public:
  // Opens (or creates, starting at 1) the counter file at `path`. A file that exists but does
  // not parse is an error (kParse), never a silent restart at 1, which could reuse numbers.
  static rules::Result<std::unique_ptr<SequenceCounter>> Open(const std::string& path,
                                                              uint64_t block_size = 1024);

  // The next number. Writes the file when a new block is needed; an I/O error returns an error
  // and hands out nothing.
  rules::Result<uint64_t> Next();

  // Makes sure every later number is greater than `seen` (e.g. the highest number found on disk
  // when the counter file was lost). Persisted with the next reservation.
  void AdvancePast(uint64_t seen) {
    if (seen >= next_) {
      next_ = seen + 1;
      limit_ = next_;
    }
  }

  // The number Next() would return now (for tests and status output).
  uint64_t peek() const { return next_; }

 private:
  SequenceCounter(std::string dir, std::string name, uint64_t next, uint64_t block_size)
      : dir_(std::move(dir)),
        name_(std::move(name)),
        next_(next),
        limit_(next),
        block_size_(block_size) {}
  std::string dir_;
  std::string name_;
  uint64_t next_;
  uint64_t limit_;  // numbers in [next_, limit_) are reserved on disk and free to hand out
  uint64_t block_size_;
};

}  // namespace uplink
