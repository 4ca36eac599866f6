// An allocator for large, randomly accessed arrays (hash indexes): from 2 MiB on, memory is mapped
// aligned to 2 MiB with transparent huge pages requested (MADV_HUGEPAGE; honoured when THP is
// "madvise" or "always", ignored otherwise), so that a look-up at a random slot of a multi-MiB
// array does not also miss the TLB. Smaller arrays come from the ordinary allocator.
#ifndef UTKIKK_SENSOR_FLOW_HUGE_PAGES_H_
#define UTKIKK_SENSOR_FLOW_HUGE_PAGES_H_

#include <cstddef>
#include <memory>

namespace sensor {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Maps `bytes` (rounded up to 4 KiB) at a 2 MiB boundary; throws std::bad_alloc on failure.
void* MapHugePages(size_t bytes);
void UnmapHugePages(void* p, size_t bytes);

template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding, as allocators do
  T* allocate(size_t n) {
    if (n * sizeof(T) < kHugePageBytes) return std::allocator<T>().allocate(n);
    return static_cast<T*>(MapHugePages(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePageBytes) {
      std::allocator<T>().deallocate(p, n);
    } else {
      UnmapHugePages(p, n * sizeof(T));
    }
  }
  bool operator==(const HugePageAllocator&) const { return true; }
};

}  // namespace sensor

#endif  // UTKIKK_SENSOR_FLOW_HUGE_PAGES_H_
