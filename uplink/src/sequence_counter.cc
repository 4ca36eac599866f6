#include "uplink/sequence_counter.h"

#include <algorithm>
#include <array>
#include <vector>

#include "byte_io.h"
#include "crc32c.h"
#include "file_util.h"

namespace uplink {

using rules::ErrorCode;
using rules::Fail;

namespace {

// File: magic "UTKSEQ\0\1" (8) | limit u64 BE (8) | CRC-32C of the first 16 bytes, u32 BE (4).
constexpr std::array<uint8_t, 8> kMagic = {'U', 'T', 'K', 'S', 'E', 'Q', 0, 1};
constexpr size_t kFileSize = 20;

std::vector<uint8_t> Encode(uint64_t limit) {
  std::vector<uint8_t> out;
  internal::PutBytes(&out, kMagic);
  internal::PutU64(&out, limit);
  internal::PutU32(&out, internal::Crc32c(out));
  return out;
}

}  // namespace

rules::Result<std::unique_ptr<SequenceCounter>> SequenceCounter::Open(const std::string& path,
                                                                      uint64_t block_size) {
  if (block_size == 0) {
    return Fail(ErrorCode::kInvalidArgument, "sequence counter: block size 0");
  }
  std::string dir;
  std::string name;
  internal::SplitPath(path, &dir, &name);
  bool too_large = false;
  auto data = internal::ReadFileBounded(path, kFileSize, &too_large);
  uint64_t next = 1;
  if (!data) {
    if (data.error().code != ErrorCode::kNotFound) {
      return Fail(data.error(), "sequence counter: ");
    }
  } else {
    internal::ByteReader r(*data);
    std::span<const uint8_t> magic;
    uint64_t limit = 0;
    uint32_t crc = 0;
    if (too_large || data->size() != kFileSize || !r.ReadBytes(kMagic.size(), &magic) ||
        !std::equal(magic.begin(), magic.end(), kMagic.begin()) || !r.ReadU64(&limit) ||
        !r.ReadU32(&crc) || crc != internal::Crc32c(std::span(*data).first(16)) || limit == 0) {
      return Fail(ErrorCode::kParse,
                  "sequence counter " + path +
                      ": corrupt; refusing to restart numbering (it could reuse numbers)");
    }
    next = limit;
  }
  return std::unique_ptr<SequenceCounter>(
      new SequenceCounter(std::move(dir), std::move(name), next, block_size));
}

rules::Result<uint64_t> SequenceCounter::Next() {
  if (next_ == limit_) {
    if (next_ > UINT64_MAX - block_size_) {
      return Fail(ErrorCode::kInternal, "sequence counter exhausted");
    }
    const uint64_t new_limit = next_ + block_size_;
    auto written = internal::WriteFileAtomic(dir_, name_, Encode(new_limit), 0600,
                                             /*replace=*/true);
    if (!written) {
      return Fail(written.error(), "sequence counter: ");
    }
    limit_ = new_limit;
  }
  return next_++;
}

}  // namespace uplink
