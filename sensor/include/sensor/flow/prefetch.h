// A software prefetch that the compiler keeps: GCC 12 drops __builtin_prefetch as a statement
// without effect in some inlined contexts (IPA pure-const; seen in FlowTable::Prefetch), so on
// x86-64 the instruction is written out.
#ifndef UTKIKK_SENSOR_FLOW_PREFETCH_H_
#define UTKIKK_SENSOR_FLOW_PREFETCH_H_

namespace sensor {

// Asks the CPU to bring the cache line holding `p` into all cache levels; no other effect.
inline void PrefetchLine(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace sensor

#endif  // UTKIKK_SENSOR_FLOW_PREFETCH_H_
