// Private: passive OS fingerprinting of TCP SYN and SYN+ACK packets with p0f's signature
// database (Debian package p0f, /etc/p0f/p0f.fp), read at start and never hard-coded. The format
// is p0f 3's (README section 5, "Signatures" and "TCP signatures", /usr/share/doc/p0f/README.gz):
//
//   [tcp:request]                      (SYN)    [tcp:response] (SYN+ACK)
//   label = s:unix:Linux:3.11 and newer        type (s specific, g generic):class:name:flavor
//   sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0
//           ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass
//
// Only the two TCP sections are read; [mtu] and [http:*] are skipped.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/result.h"
#include "sensor/decode/packet.h"

namespace sensor::extract {

// Quirk bits (p0f README: "quirks").
enum P0fQuirk : uint32_t {
  kQuirkDf = 1u << 0, kQuirkIdPlus = 1u << 1, kQuirkIdMinus = 1u << 2, kQuirkEcn = 1u << 3,
  kQuirkZeroPlus = 1u << 4, kQuirkFlow = 1u << 5, kQuirkSeqMinus = 1u << 6,
  kQuirkAckPlus = 1u << 7, kQuirkAckMinus = 1u << 8, kQuirkUptrPlus = 1u << 9,
  kQuirkUrgfPlus = 1u << 10, kQuirkPushfPlus = 1u << 11, kQuirkTs1Minus = 1u << 12,
  kQuirkTs2Plus = 1u << 13, kQuirkOptPlus = 1u << 14, kQuirkExws = 1u << 15,
  kQuirkBad = 1u << 16,
};

// What one SYN or SYN+ACK looks like, in the terms of a signature.
struct P0fObservation {
  uint8_t ip_version = 4;
  uint8_t ttl = 0;
  uint32_t olen = 0;       // IPv4 option bytes
  int32_t mss = -1;        // -1: no MSS option
  uint16_t wsize = 0;
  int32_t scale = -1;      // -1: no window scale option
  std::string olayout;     // "mss,sok,ts,nop,ws"
  uint32_t quirks = 0;
  bool payload = false;
  // p0f's raw_sig notation of this packet, "4:64+0:0:1460:mss*10,7:mss,sok,ts,nop,ws:df,id+:0".
  std::string RawSignature() const;
};
// Reads the IP and TCP headers of a decoded TCP packet; nullopt when they are not there.
std::optional<P0fObservation> ObserveSyn(const DecodedPacket& packet);

struct P0fLabel {
  bool generic = false;     // "g": a generic signature (weaker)
  std::string os_class;     // "unix", "win", "!" (an application)
  std::string name;         // "Linux"
  std::string flavor;       // "3.11 and newer"
};

struct P0fMatch {
  const P0fLabel* label = nullptr;
  bool fuzzy = false;       // only with p0f's allowed fuzziness (TTL, df/id+ gone, id-/ecn new)
  int line = 0;             // the signature's line in the file
};

class P0fDb {
 public:
  // `response`: a SYN+ACK ([tcp:response]); otherwise a SYN ([tcp:request]).
  std::optional<P0fMatch> Match(const P0fObservation& o, bool response) const;
  size_t size() const { return sigs_[0].size() + sigs_[1].size(); }

  struct Signature {
    int ver = 0;            // 0 any, 4, 6
    int ittl = 0;
    bool bad_ttl = false;   // "64-": random TTLs up to ittl
    int olen = 0;
    int mss = -1;           // -1 '*'
    enum class Win : uint8_t { kAny, kValue, kMss, kMtu, kMod } win = Win::kAny;
    int win_value = 0;
    int scale = -1;         // -1 '*'
    std::string olayout;
    uint32_t quirks = 0;
    char pclass = '*';      // '0', '+', '*'
    size_t label = 0;       // index into labels_
    int line = 0;
  };

 private:
  friend rules::Result<std::unique_ptr<P0fDb>> ParseP0f(std::string_view text,
                                                        const std::string& name);
  std::vector<P0fLabel> labels_;
  std::vector<Signature> sigs_[2];  // [0] request, [1] response
  // olayout -> indices into sigs_[i], so a packet is compared with few signatures.
  std::unordered_map<std::string, std::vector<size_t>> by_layout_[2];
};

// Parses p0f.fp text. Errors name `name:line: what`. Unknown sections are skipped.
rules::Result<std::unique_ptr<P0fDb>> ParseP0f(std::string_view text, const std::string& name);
// Reads and parses the file (the default is /etc/p0f/p0f.fp).
rules::Result<std::unique_ptr<P0fDb>> LoadP0f(const std::string& path);

}  // namespace sensor::extract
