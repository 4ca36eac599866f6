// libFuzzer target for the issue-3 parsers: SMB/NTLMSSP/DCE-RPC/Kerberos/RDP/PostgreSQL
// (win_parsers.cc), SNMP/NTP/LLDP/CDP (net_parsers.cc), the p0f signature reader and SYN
// observer (p0f.cc), and ExtractorSet on the UDP ports and non-IP frames they come through.
#include <cstddef>
#include <cstdint>
#include <string>

#include "extract/p0f.h"
#include "extract/parsers.h"
#include "sensor/extract/extractor_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensor;
  using namespace sensor::extract;
  Bytes b(data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)NbssMessageLength(b);
  (void)LooksLikeSmb(b);
  (void)ParseSmb(b);
  (void)ParseNtlm(b);
  (void)FindNtlm(b);
  (void)FindHttpNtlm(text);
  (void)DceRpcPduLength(b, true);
  (void)ParseKerberos(b);
  (void)PostgresServerVersion(b);
  (void)TpktLength(b);
  (void)ParseRdpConnection(b);
  (void)FindRdpClientCore(b);
  (void)ParseSnmp(b);
  (void)ParseNtp(b);
  (void)ParseLldpOrCdp(b);
  if (auto db = ParseP0f(text, "fuzz")) (void)(*db)->size();
  DecodedPacket syn;
  syn.ip_version = size > 0 && (data[0] >> 4) == 6 ? 6 : 4;
  syn.ip_packet = b;
  static auto p0f = LoadP0f("/etc/p0f/p0f.fp");  // Debian's database, when installed
  if (auto o = ObserveSyn(syn)) {
    (void)o->RawSignature();
    if (p0f) {
      (void)(*p0f)->Match(*o, false);
      (void)(*p0f)->Match(*o, true);
    }
  }

  static rules::NullFactSink sink;
  static ExtractorSet extract(ExtractConfig{}, nullptr, sink, {});
  const auto client = rules::IpAddress::FromV4(0xc0000201);
  const auto server = rules::IpAddress::FromV4(0x0a000001);
  for (uint16_t port : {161, 162, 123, 88}) {
    for (int side = 0; side < 2; ++side) {
      FlowRecord flow;
      flow.key.proto = 17;
      flow.id = {client, 40000, server, port, 17};
      DecodedPacket p;
      p.ip_version = 4;
      p.ip_proto = 17;
      p.src = side == 0 ? client : server;
      p.src_port = side == 0 ? 40000 : port;
      p.dst_port = side == 0 ? port : 40000;
      p.payload = b;
      flow.orig.packets = 1;
      flow.resp.packets = static_cast<uint64_t>(side);
      extract.OnPacket(flow, p, side == 0);
      extract.OnFlowEnd(flow);
    }
  }
  DecodedPacket frame;
  extract.OnNonIp(frame, b);
  return 0;
}
