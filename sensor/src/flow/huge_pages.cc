#include "sensor/flow/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace sensor {
namespace {
constexpr size_t kPage = 4096;
size_t RoundUp(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }
}  // namespace

void* MapHugePages(size_t bytes) {
  const size_t used = RoundUp(bytes, kPage);
  const size_t mapped = used + kHugePageBytes;  // room to move the start to a 2 MiB boundary
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = RoundUp(start, kHugePageBytes);
  if (aligned > start) munmap(p, aligned - start);
  const uintptr_t end = start + mapped;
  if (end > aligned + used) munmap(reinterpret_cast<void*>(aligned + used), end - aligned - used);
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void*>(aligned), used, MADV_HUGEPAGE);  // advice: failure is harmless
#endif
  return reinterpret_cast<void*>(aligned);
}

void UnmapHugePages(void* p, size_t bytes) { munmap(p, RoundUp(bytes, kPage)); }

}  // namespace sensor
