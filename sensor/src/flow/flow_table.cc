// FlowTable: an open-addressing hash index (linear probing, backward-shift deletion) over records
// kept in fixed-size chunks (stable addresses, free list), with intrusive least-recently-active
// lists per timeout class so that expiry looks only at list heads.
#include "sensor/flow/flow_table.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "sensor/flow/huge_pages.h"
#include "sensor/flow/prefetch.h"

namespace sensor {
namespace {

constexpr uint32_t kNil = 0xffffffffu;
constexpr size_t kChunkShift = 10;  // 1024 records per chunk
constexpr size_t kChunkSize = size_t{1} << kChunkShift;
// Update() looks at the expiry list heads at most this often (packet time).
constexpr int64_t kExpiryCheckIntervalUs = 100'000;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpV6 = 58;

// Timeout classes; each has its own least-recently-active list.
enum TimeoutClass : uint8_t { kTcpClass, kUdpClass, kIcmpClass, kOtherClass, kClosedClass,
                              kClassCount };

inline uint64_t Mum(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// SplitMix64's finaliser: a bijection on 64-bit values.
inline uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr uint64_t kUidSeed = 0x5574'6b69'6b6b'2021ull;  // fixed: deterministic per run

// "C" + 17 base62 characters: 11 encode a bijective mix of the counter (so uids are unique per
// table), 6 more come from a second mix.
void MakeUid(uint64_t counter, std::string* out) {
  char buf[18];
  buf[0] = 'C';
  uint64_t a = SplitMix(counter ^ kUidSeed);
  for (int i = 0; i < 11; ++i) {
    buf[1 + i] = kBase62[a % 62];
    a /= 62;
  }
  uint64_t b = SplitMix(counter + 0x632be59bd9b4e019ull);
  for (int i = 0; i < 6; ++i) {
    buf[12 + i] = kBase62[b % 62];
    b /= 62;
  }
  out->assign(buf, sizeof buf);
}

// Zeek's likely_server_ports idea for UDP: a first packet from one of these to an ephemeral port
// is taken to come from the responder. (IANA service names: dns, bootps, tftp, kerberos, ntp,
// netbios-ns/dgm, snmp/snmptrap, ldap, https (QUIC), isakmp, syslog, ssdp, stun, ipsec-nat-t,
// mdns, llmnr.)
bool IsUdpServerPort(uint16_t port) {
  switch (port) {
    case 53: case 67: case 69: case 88: case 123: case 137: case 138: case 161: case 162:
    case 389: case 443: case 500: case 514: case 1900: case 3478: case 4500: case 5353:
    case 5355:
      return true;
    default:
      return false;
  }
}

// The four 16-bit fields after the addresses, loaded as one word, plus the protocol.
static_assert(offsetof(FlowKey, hi_port) == offsetof(FlowKey, lo_port) + 2 &&
              offsetof(FlowKey, vlan) == offsetof(FlowKey, lo_port) + 4 &&
              offsetof(FlowKey, inner_vlan) == offsetof(FlowKey, lo_port) + 6);
inline uint64_t KeyTail(const FlowKey& k) {
  return Load64(reinterpret_cast<const uint8_t*>(&k.lo_port)) ^ k.proto;
}

// FlowKey equality by 64-bit words (operator== compares the arrays with memcmp).
inline bool SameKey(const FlowKey& a, const FlowKey& b) {
  const uint8_t* a1 = a.lo_addr.bytes().data();
  const uint8_t* a2 = a.hi_addr.bytes().data();
  const uint8_t* b1 = b.lo_addr.bytes().data();
  const uint8_t* b2 = b.hi_addr.bytes().data();
  return ((Load64(a1) ^ Load64(b1)) | (Load64(a1 + 8) ^ Load64(b1 + 8)) |
          (Load64(a2) ^ Load64(b2)) | (Load64(a2 + 8) ^ Load64(b2 + 8)) |
          (KeyTail(a) ^ KeyTail(b)) | (a.proto ^ b.proto)) == 0;
}

// Compares addresses in byte order (the order of IpAddress::operator<=>): -1, 0 or 1.
inline int CompareAddr(const rules::IpAddress& a, const rules::IpAddress& b) {
  uint64_t a0 = __builtin_bswap64(Load64(a.bytes().data()));
  uint64_t b0 = __builtin_bswap64(Load64(b.bytes().data()));
  if (a0 != b0) {
    return a0 < b0 ? -1 : 1;
  }
  uint64_t a1 = __builtin_bswap64(Load64(a.bytes().data() + 8));
  uint64_t b1 = __builtin_bswap64(Load64(b.bytes().data() + 8));
  return a1 < b1 ? -1 : (a1 == b1 ? 0 : 1);
}

inline bool IsIcmp(uint8_t proto) { return proto == kProtoIcmp || proto == kProtoIcmpV6; }

TimeoutClass ClassOf(uint8_t proto) {
  switch (proto) {
    case kProtoTcp: return kTcpClass;
    case kProtoUdp: return kUdpClass;
    case kProtoIcmp:
    case kProtoIcmpV6: return kIcmpClass;
    default: return kOtherClass;
  }
}

bool TcpClosed(const TcpState& t) {
  return t.orig.state == TcpEndpointState::kReset || t.resp.state == TcpEndpointState::kReset ||
         (t.orig.state == TcpEndpointState::kClosed && t.resp.state == TcpEndpointState::kClosed);
}

// Resets a record for reuse, keeping string capacity (no allocation when a slot is reused).
void ResetRecord(FlowRecord& r) {
  r.key = FlowKey{};
  r.id = FlowEndpoints{};
  r.uid.clear();
  r.start_us = r.last_us = r.last_report_us = 0;
  r.orig = DirectionStats{};
  r.resp = DirectionStats{};
  r.tcp = TcpState{};
  r.history.clear();
  r.classification.service.clear();
  r.classification.application.clear();
  r.classification.done = false;
  r.dpi.reset();
  r.dpi = DpiStatePtr(nullptr, nullptr);
  r.dpi_packets = 0;
  r.attributes.reset();
}

size_t StringHeap(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;  // libstdc++ keeps up to 15 chars inline
}

// The normalised key of a packet's flow (lower address, or port on a tie, first); true when the
// packet's source is the key's lo side.
bool KeyOf(const DecodedPacket& p, FlowKey* key) {
  key->proto = p.ip_proto;
  key->vlan = p.vlan;
  key->inner_vlan = p.inner_vlan;
  uint16_t sp = 0, dp = 0;
  if (p.has_ports()) {
    sp = p.src_port;
    dp = p.dst_port;
  }
  const int order = CompareAddr(p.src, p.dst);
  const bool src_is_lo = order < 0 || (order == 0 && sp <= dp);
  if (src_is_lo) {
    key->lo_addr = p.src;
    key->hi_addr = p.dst;
    key->lo_port = sp;
    key->hi_port = dp;
  } else {
    key->lo_addr = p.dst;
    key->hi_addr = p.src;
    key->lo_port = dp;
    key->hi_port = sp;
  }
  return src_is_lo;
}

}  // namespace

size_t FlowKeyHash::operator()(const FlowKey& k) const noexcept {
  const uint8_t* lo = k.lo_addr.bytes().data();
  const uint8_t* hi = k.hi_addr.bytes().data();
  uint64_t tail = KeyTail(k);
  uint64_t h = Mum(Load64(lo) ^ 0xa0761d6478bd642full, Load64(lo + 8) ^ 0xe7037ed1a0b428dbull);
  h ^= Mum(Load64(hi) ^ 0x8ebc6af09c88c6e3ull, Load64(hi + 8) ^ 0x589965cc75374cc3ull);
  return Mum(h ^ tail, 0x1d8e4e27c47d124full ^ (uint64_t{k.proto} << 40));
}

class FlowTable::Impl {
 public:
  Impl(const FlowTableConfig& config, FlowEndFn on_end)
      : config_(config), on_end_(std::move(on_end)) {
    if (config_.max_flows == 0) {
      config_.max_flows = 1;
    }
    timeouts_[kTcpClass] = ToUs(config_.tcp_idle_timeout);
    timeouts_[kUdpClass] = ToUs(config_.udp_idle_timeout);
    timeouts_[kIcmpClass] = ToUs(config_.icmp_idle_timeout);
    timeouts_[kOtherClass] = ToUs(config_.other_idle_timeout);
    timeouts_[kClosedClass] = ToUs(config_.tcp_close_delay);
    for (int64_t& t : timeouts_) {
      t = std::max<int64_t>(t, 1);
    }
    report_interval_us_ = ToUs(config_.report_interval);  // <= 0: no interim reports
    ResizeIndex(1024);
  }

  FlowRecord& Update(const DecodedPacket& p, bool* from_orig);
  void Prefetch(const DecodedPacket& p) const {
    FlowKey key;
    KeyOf(p, &key);
    PrefetchLine(&index_[FlowKeyHash{}(key) & mask_]);
  }
  void Advance(int64_t now_us);
  void Flush();
  size_t size() const { return stats_.active; }
  const FlowTableStats& stats() const { return stats_; }
  size_t MemoryBytes() const;

 private:
  // Bookkeeping first: with the key at the start of the record, one lookup touches two lines.
  struct Node {
    uint64_t seq = 0;        // creation order (Flush ties)
    int64_t touch_us = 0;    // table time of the last packet (monotonic across the table)
    int64_t report_ref_us = 0;
    uint64_t hist_mask = 0;  // history letters already added: bit c-'A' (orig), 32+c-'a' (resp)
    uint32_t prev = kNil, next = kNil;            // in the timeout class list
    uint32_t rprev = kNil, rnext = kNil;          // in the interim report list
    uint32_t hash_tag = 0;
    uint8_t cls = kOtherClass;
    bool orig_is_lo = true;  // the originator is the key's lo side
    bool in_use = false;
    FlowRecord rec;
  };
  struct List {
    uint32_t head = kNil, tail = kNil;
  };
  struct Slot {
    uint32_t node = 0;  // node index + 1; 0 = empty
    uint32_t tag = 0;   // low 32 bits of the key hash
  };

  static int64_t ToUs(std::chrono::milliseconds ms) { return ms.count() * 1000; }

  Node& node(uint32_t i) { return chunks_[i >> kChunkShift][i & (kChunkSize - 1)]; }
  const Node& node(uint32_t i) const { return chunks_[i >> kChunkShift][i & (kChunkSize - 1)]; }

  // Class list (prev/next) and report list (rprev/rnext) operations.
  void ListPush(List& l, uint32_t i) {
    Node& n = node(i);
    n.prev = l.tail;
    n.next = kNil;
    if (l.tail != kNil) {
      node(l.tail).next = i;
    } else {
      l.head = i;
    }
    l.tail = i;
  }
  void ListUnlink(List& l, uint32_t i) {
    Node& n = node(i);
    if (n.prev != kNil) {
      node(n.prev).next = n.next;
    } else {
      l.head = n.next;
    }
    if (n.next != kNil) {
      node(n.next).prev = n.prev;
    } else {
      l.tail = n.prev;
    }
    n.prev = n.next = kNil;
  }
  void ReportPush(uint32_t i) {
    Node& n = node(i);
    n.rprev = reports_.tail;
    n.rnext = kNil;
    if (reports_.tail != kNil) {
      node(reports_.tail).rnext = i;
    } else {
      reports_.head = i;
    }
    reports_.tail = i;
  }
  void ReportUnlink(uint32_t i) {
    Node& n = node(i);
    if (n.rprev != kNil) {
      node(n.rprev).rnext = n.rnext;
    } else {
      reports_.head = n.rnext;
    }
    if (n.rnext != kNil) {
      node(n.rnext).rprev = n.rprev;
    } else {
      reports_.tail = n.rprev;
    }
    n.rprev = n.rnext = kNil;
  }

  // Hash index.
  void ResizeIndex(size_t capacity);
  uint32_t Find(const FlowKey& key, uint32_t tag) const;
  void IndexInsert(uint32_t i, uint32_t tag);
  void IndexErase(uint32_t i);

  uint32_t AllocNode();
  void End(uint32_t i, FlowEndReason reason);
  uint32_t Create(const FlowKey& key, uint32_t tag, bool src_is_lo, const DecodedPacket& p);
  bool Expired(const Node& n) const { return now_ - n.touch_us >= timeouts_[n.cls]; }
  void AddHistory(Node& n, bool from_orig, char upper) { AddHistoryBits(n, from_orig, Bit(upper)); }
  static constexpr uint32_t Bit(char upper) { return uint32_t{1} << (upper - 'A'); }
  // Appends the letters in `bits` (Bit('S') | ...) not yet in the history of that direction.
  void AddHistoryBits(Node& n, bool from_orig, uint32_t bits) {
    uint64_t wanted = uint64_t{bits} << (from_orig ? 0 : 32);
    if ((wanted & ~n.hist_mask) != 0) {
      AppendHistory(n, from_orig, bits);
    }
  }
  void AppendHistory(Node& n, bool from_orig, uint32_t bits);
  void UpdateTcp(Node& n, const DecodedPacket& p, bool from_orig);

  FlowTableConfig config_;
  FlowEndFn on_end_;
  int64_t timeouts_[kClassCount] = {};
  int64_t report_interval_us_ = 0;

  std::vector<std::unique_ptr<Node[]>> chunks_;
  uint32_t allocated_ = 0;  // nodes handed out from chunks so far
  std::vector<uint32_t> free_;
  // On huge pages once it reaches 2 MiB (huge_pages.h): a look-up lands on a random slot, and with
  // 4 KiB pages that also missed the TLB (perf: the slot load was most of Find). The record chunks
  // on huge pages measured no faster (each record is touched per packet anyway, and a huge page is
  // zeroed at its first touch), so they stay as they were.
  std::vector<Slot, HugePageAllocator<Slot>> index_;
  size_t mask_ = 0;

  List lists_[kClassCount];
  List reports_;
  int64_t now_ = INT64_MIN;
  int64_t next_check_us_ = INT64_MIN;
  uint64_t uid_counter_ = 0;
  uint64_t seq_ = 0;
  FlowTableStats stats_;
};

void FlowTable::Impl::ResizeIndex(size_t capacity) {
  std::vector<Slot, HugePageAllocator<Slot>> old;
  old.swap(index_);
  index_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (const Slot& s : old) {
    if (s.node != 0) {
      size_t pos = s.tag & mask_;
      while (index_[pos].node != 0) {
        pos = (pos + 1) & mask_;
      }
      index_[pos] = s;
    }
  }
}

uint32_t FlowTable::Impl::Find(const FlowKey& key, uint32_t tag) const {
  size_t pos = tag & mask_;
  while (true) {
    const Slot& s = index_[pos];
    if (s.node == 0) {
      return kNil;
    }
    if (s.tag == tag && SameKey(node(s.node - 1).rec.key, key)) {
      return s.node - 1;
    }
    pos = (pos + 1) & mask_;
  }
}

void FlowTable::Impl::IndexInsert(uint32_t i, uint32_t tag) {
  if ((stats_.active + 1) * 2 > index_.size()) {
    ResizeIndex(index_.size() * 2);
  }
  size_t pos = tag & mask_;
  while (index_[pos].node != 0) {
    pos = (pos + 1) & mask_;
  }
  index_[pos] = Slot{i + 1, tag};
}

void FlowTable::Impl::IndexErase(uint32_t i) {
  size_t pos = node(i).hash_tag & mask_;
  while (index_[pos].node != i + 1) {
    assert(index_[pos].node != 0);
    pos = (pos + 1) & mask_;
  }
  // Backward-shift deletion: move later members of the probe run into the hole.
  size_t hole = pos;
  size_t j = pos;
  while (true) {
    j = (j + 1) & mask_;
    if (index_[j].node == 0) {
      break;
    }
    size_t home = index_[j].tag & mask_;
    // Keep the entry at j where it is if its home lies cyclically in (hole, j].
    bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!stays) {
      index_[hole] = index_[j];
      hole = j;
    }
  }
  index_[hole] = Slot{};
}

uint32_t FlowTable::Impl::AllocNode() {
  if (!free_.empty()) {
    uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  if ((allocated_ >> kChunkShift) >= chunks_.size()) {
    chunks_.push_back(std::make_unique<Node[]>(kChunkSize));
  }
  return allocated_++;
}

void FlowTable::Impl::End(uint32_t i, FlowEndReason reason) {
  Node& n = node(i);
  // Unlink first so that the table is consistent while the callback runs.
  IndexErase(i);
  ListUnlink(lists_[n.cls], i);
  ReportUnlink(i);
  --stats_.active;
  if (reason == FlowEndReason::kIdle || reason == FlowEndReason::kClosed) {
    ++stats_.expired;
  } else if (reason == FlowEndReason::kEvicted) {
    ++stats_.evicted;
  }
  if (on_end_) {
    on_end_(n.rec, reason);
  }
  ResetRecord(n.rec);
  n.in_use = false;
  n.hist_mask = 0;
  free_.push_back(i);
}

uint32_t FlowTable::Impl::Create(const FlowKey& key, uint32_t tag, bool src_is_lo,
                                 const DecodedPacket& p) {
  if (stats_.active >= config_.max_flows) {
    // The least recently active flow is the oldest head among the class lists.
    uint32_t victim = kNil;
    for (const List& l : lists_) {
      if (l.head != kNil && (victim == kNil || node(l.head).touch_us < node(victim).touch_us)) {
        victim = l.head;
      }
    }
    if (victim != kNil) {
      End(victim, FlowEndReason::kEvicted);
    }
  }
  uint32_t i = AllocNode();
  Node& n = node(i);
  n.in_use = true;
  n.seq = seq_++;
  n.hash_tag = tag;
  n.cls = ClassOf(key.proto);
  n.touch_us = now_;
  n.report_ref_us = now_;
  n.hist_mask = 0;

  FlowRecord& r = n.rec;
  r.key = key;
  MakeUid(uid_counter_++, &r.uid);
  r.start_us = r.last_us = p.timestamp_us;
  r.last_report_us = p.timestamp_us;

  bool flip = false;
  if (key.proto == kProtoTcp) {
    flip = (p.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck);
  } else if (key.proto == kProtoUdp) {
    flip = IsUdpServerPort(p.src_port) && p.dst_port >= 1024 && !IsUdpServerPort(p.dst_port);
  }
  n.orig_is_lo = src_is_lo != flip;
  r.id.proto = key.proto;
  if (!flip) {
    r.id.orig_h = p.src;
    r.id.resp_h = p.dst;
    r.id.orig_p = p.src_port;
    r.id.resp_p = p.dst_port;
  } else {
    r.id.orig_h = p.dst;
    r.id.resp_h = p.src;
    r.id.orig_p = p.dst_port;
    r.id.resp_p = p.src_port;
  }
  if (!IsIcmp(key.proto) && !p.has_ports()) {
    r.id.orig_p = r.id.resp_p = 0;
  }
  if (flip) {
    r.history.push_back('^');
  }

  IndexInsert(i, tag);
  ListPush(lists_[n.cls], i);
  ReportPush(i);
  ++stats_.created;
  ++stats_.active;
  stats_.peak_active = std::max(stats_.peak_active, stats_.active);
  return i;
}

void FlowTable::Impl::AppendHistory(Node& n, bool from_orig, uint32_t bits) {
  // The order letters of one packet are added in.
  static constexpr char kOrder[] = "ISHFRADWGT";
  const int shift = from_orig ? 0 : 32;
  for (const char* c = kOrder; *c != '\0'; ++c) {
    uint64_t m = uint64_t{Bit(*c)} << shift;
    if ((bits & Bit(*c)) != 0 && (n.hist_mask & m) == 0) {
      n.hist_mask |= m;
      n.rec.history.push_back(from_orig ? *c : static_cast<char>(*c - 'A' + 'a'));
    }
  }
}

void FlowTable::Impl::UpdateTcp(Node& n, const DecodedPacket& p, bool from_orig) {
  FlowRecord& r = n.rec;
  TcpDirection& e = from_orig ? r.tcp.orig : r.tcp.resp;
  TcpDirection& peer = from_orig ? r.tcp.resp : r.tcp.orig;
  DirectionStats& s = from_orig ? r.orig : r.resp;
  const uint8_t f = p.tcp_flags;
  const bool syn = f & kTcpSyn;
  const bool ack = f & kTcpAck;
  const bool fin = f & kTcpFin;
  const bool rst = f & kTcpRst;
  const uint32_t len = p.payload_length;
  e.flags_seen |= f;

  // History letters (Zeek's conn.log "history"), once per direction.
  uint32_t letters = 0;
  if (syn) {
    letters |= ack ? Bit('H') : Bit('S');
    if (fin || rst) {
      letters |= Bit('I');
    }
  }
  if (fin) {
    letters |= Bit('F');
  }
  if (rst) {
    letters |= Bit('R');
  }
  if (ack && !syn && !fin && !rst && len == 0) {
    letters |= Bit('A');
  }
  if (len > 0) {
    letters |= Bit('D');
    e.saw_data = true;
  }
  if (p.tcp_window == 0 && !syn && !fin && !rst) {
    letters |= Bit('W');
  }

  // Sequence space: payload_bytes is the span of sequence numbers carried (gaps included, as
  // Zeek's orig_bytes), missed_bytes the gaps, T for data below what was already seen.
  const uint32_t seq = p.tcp_seq;
  if (!e.seq_valid) {
    e.seq_valid = true;
    e.isn = seq;
    e.next_seq = syn ? seq + 1 : seq;
  }
  if (len > 0 && !rst) {
    const uint32_t data_seq = syn ? seq + 1 : seq;
    const int32_t d = static_cast<int32_t>(data_seq - e.next_seq);
    if (d > 0) {
      s.missed_bytes += static_cast<uint32_t>(d);
      s.payload_bytes += static_cast<uint32_t>(d);
      e.next_seq = data_seq;
      letters |= Bit('G');
    } else if (d < 0) {
      letters |= Bit('T');
    }
    const int32_t adv = static_cast<int32_t>(data_seq + len - e.next_seq);
    if (adv > 0) {
      s.payload_bytes += static_cast<uint32_t>(adv);
      e.next_seq = data_seq + len;
    }
  }

  AddHistoryBits(n, from_orig, letters);

  // Endpoint state machine (Zeek's TCP_INACTIVE ... TCP_RESET).
  using S = TcpEndpointState;
  if (syn) {
    e.syn = true;
    if (ack) {
      if (e.state == S::kInactive || e.state == S::kSynSent) {
        e.state = S::kSynAckSent;
      }
      if (peer.syn) {
        r.tcp.syn_ack = true;
      }
    } else if (e.state == S::kInactive) {
      e.state = S::kSynSent;
    }
  } else if (ack) {
    if (e.state == S::kSynSent || e.state == S::kSynAckSent) {
      e.state = S::kEstablished;
    }
    if (peer.state == S::kSynAckSent) {
      peer.state = S::kEstablished;
    }
    if (e.state == S::kEstablished && peer.state == S::kEstablished) {
      r.tcp.established = true;
    }
  }
  if (e.state == S::kInactive) {
    e.state = S::kPartial;
  }
  if (rst) {
    e.rst = true;
    e.state = S::kReset;
  } else if (fin && e.state != S::kReset) {
    e.fin = true;
    e.state = S::kClosed;
  }
}

FlowRecord& FlowTable::Impl::Update(const DecodedPacket& p, bool* from_orig) {
  assert(p.ip_version != 0);
  if (p.timestamp_us > now_) {
    now_ = p.timestamp_us;
  }
  if (__builtin_expect(now_ >= next_check_us_, 0)) {
    Advance(now_);
  }

  FlowKey key;
  const bool src_is_lo = KeyOf(p, &key);
  const uint32_t tag = static_cast<uint32_t>(FlowKeyHash{}(key));

  uint32_t i = Find(key, tag);
  if (i != kNil) {
    Node& n = node(i);
    if (Expired(n)) {
      End(i, n.cls == kClosedClass ? FlowEndReason::kClosed : FlowEndReason::kIdle);
      i = kNil;
    } else if (key.proto == kProtoTcp && (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn &&
               TcpClosed(n.rec.tcp)) {
      End(i, FlowEndReason::kClosed);  // a new connection reuses the 5-tuple
      i = kNil;
    }
  }
  if (i == kNil) {
    i = Create(key, tag, src_is_lo, p);
  }

  Node& n = node(i);
  FlowRecord& r = n.rec;
  const bool orig = src_is_lo == n.orig_is_lo;
  *from_orig = orig;
  if (p.timestamp_us > r.last_us) {
    r.last_us = p.timestamp_us;
  }
  n.touch_us = now_;

  DirectionStats& s = orig ? r.orig : r.resp;
  ++s.packets;
  s.wire_bytes += p.wire_length;
  s.ip_bytes += p.ip_length;
  uint8_t new_cls = n.cls;
  if (key.proto == kProtoTcp) {
    UpdateTcp(n, p, orig);
    if (TcpClosed(r.tcp)) {
      new_cls = kClosedClass;
    }
  } else {
    s.payload_bytes += p.payload_length;
    if (key.proto == kProtoUdp && p.payload_length > 0) {
      AddHistory(n, orig, 'D');
    }
  }
  // Move to the tail of its (possibly new) class list: most recently active.
  if (new_cls != n.cls || lists_[n.cls].tail != i) {
    ListUnlink(lists_[n.cls], i);
    n.cls = new_cls;
    ListPush(lists_[n.cls], i);
  }
  return r;
}

void FlowTable::Impl::Advance(int64_t now_us) {
  if (now_us > now_) {
    now_ = now_us;
  }
  next_check_us_ = now_ + kExpiryCheckIntervalUs;
  for (int c = 0; c < kClassCount; ++c) {
    List& l = lists_[c];
    while (l.head != kNil && Expired(node(l.head))) {
      End(l.head, c == kClosedClass ? FlowEndReason::kClosed : FlowEndReason::kIdle);
    }
  }
  while (report_interval_us_ > 0 && reports_.head != kNil &&
         now_ - node(reports_.head).report_ref_us >= report_interval_us_) {
    uint32_t i = reports_.head;
    Node& n = node(i);
    ReportUnlink(i);
    n.report_ref_us = now_;
    n.rec.last_report_us = now_;
    ReportPush(i);
    ++stats_.interim_reports;
    if (on_end_) {
      on_end_(n.rec, FlowEndReason::kInterim);
    }
  }
}

void FlowTable::Impl::Flush() {
  std::vector<uint32_t> live;
  live.reserve(stats_.active);
  for (uint32_t i = 0; i < allocated_; ++i) {
    if (node(i).in_use) {
      live.push_back(i);
    }
  }
  std::sort(live.begin(), live.end(), [this](uint32_t a, uint32_t b) {
    const Node& x = node(a);
    const Node& y = node(b);
    return x.rec.start_us != y.rec.start_us ? x.rec.start_us < y.rec.start_us : x.seq < y.seq;
  });
  for (uint32_t i : live) {
    End(i, FlowEndReason::kShutdown);
  }
}

size_t FlowTable::Impl::MemoryBytes() const {
  size_t bytes = sizeof(*this) + chunks_.capacity() * sizeof(chunks_[0]) +
                 chunks_.size() * kChunkSize * sizeof(Node) +
                 free_.capacity() * sizeof(uint32_t) + index_.capacity() * sizeof(Slot);
  // String heap blocks (kept by free slots too, since they are reused). DPI state is not
  // counted here: the classifier reports its own.
  for (uint32_t i = 0; i < allocated_; ++i) {
    const FlowRecord& r = node(i).rec;
    bytes += StringHeap(r.uid) + StringHeap(r.history) +
             StringHeap(r.classification.service) + StringHeap(r.classification.application);
  }
  return bytes;
}

FlowTable::FlowTable(const FlowTableConfig& config, FlowEndFn on_end)
    : impl_(std::make_unique<Impl>(config, std::move(on_end))) {}
FlowTable::~FlowTable() = default;

FlowRecord& FlowTable::Update(const DecodedPacket& packet, bool* from_orig) {
  return impl_->Update(packet, from_orig);
}
void FlowTable::Prefetch(const DecodedPacket& packet) const { impl_->Prefetch(packet); }
void FlowTable::Advance(int64_t now_us) { impl_->Advance(now_us); }
void FlowTable::Flush() { impl_->Flush(); }
size_t FlowTable::size() const { return impl_->size(); }
const FlowTableStats& FlowTable::stats() const { return impl_->stats(); }
size_t FlowTable::memory_bytes() const { return impl_->MemoryBytes(); }

// Zeek's conn_state, following the decision order of Zeek's base/protocols/conn/main.zeek
// (conn_state()) over the endpoint states kept above.
std::string ConnState(const FlowRecord& flow) {
  if (flow.key.proto != kProtoTcp) {
    return flow.resp.packets > 0 && flow.orig.packets > 0 ? "SF" : "S0";
  }
  using S = TcpEndpointState;
  const S os = flow.tcp.orig.state;
  const S rs = flow.tcp.resp.state;
  const bool o_inactive = os == S::kInactive || os == S::kPartial;
  const bool r_inactive = rs == S::kInactive || rs == S::kPartial;
  if (rs == S::kReset) {
    if (os == S::kSynSent || os == S::kSynAckSent ||
        (os == S::kReset && flow.orig.payload_bytes == 0 && flow.resp.payload_bytes == 0)) {
      return "REJ";
    }
    return o_inactive ? "RSTRH" : "RSTR";
  }
  if (os == S::kReset) {
    if (r_inactive) {
      // Zeek: history =~ /^\^?S[^HAFGIWRTDdfr]*R/ (a SYN, then the originator's RST).
      const std::string& h = flow.history;
      size_t pos = !h.empty() && h[0] == '^' ? 1 : 0;
      if (pos < h.size() && h[pos] == 'S') {
        for (++pos; pos < h.size(); ++pos) {
          char c = h[pos];
          if (c == 'R') {
            return "RSTOS0";
          }
          if (std::strchr("HAFGIWRTDdfr", c) != nullptr) {
            break;
          }
        }
      }
      return "OTH";
    }
    return "RSTO";
  }
  if (rs == S::kClosed && os == S::kClosed) {
    return "SF";
  }
  if (os == S::kClosed) {
    return r_inactive ? "SH" : "S2";
  }
  if (rs == S::kClosed) {
    return o_inactive ? "SHR" : "S3";
  }
  if (os == S::kSynSent && rs == S::kInactive) {
    return "S0";
  }
  if (os == S::kEstablished && rs == S::kEstablished) {
    return "S1";
  }
  return "OTH";
}

bool ResponderAccepted(const FlowRecord& flow) {
  if (flow.key.proto != kProtoTcp) {
    return flow.resp.packets > 0;
  }
  // A SYN-ACK (even one whose SYN the capture missed), a completed handshake, data, or a live
  // endpoint state that no SYN began (kPartial, or kClosed after it).
  const TcpEndpointState rs = flow.tcp.resp.state;
  return flow.tcp.resp.syn || flow.tcp.established || flow.tcp.resp.saw_data ||
         (rs != TcpEndpointState::kInactive && rs != TcpEndpointState::kReset);
}

}  // namespace sensor
