// libFuzzer target for the protocol extractors: the input is one TCP payload (and, split in two,
// a second segment) fed to every extractor through ExtractorSet, plus each stateless parser.
// Build (fuzz/CMakeLists.txt is not ours; by hand):
//   clang++-14 -std=c++20 -fsanitize=fuzzer,address,undefined -I sensor/include -I sensor/src \
//     -I rules/include fuzz/extract_fuzz.cc sensor/src/extract/*.cc <rules/sensor libs> -lcrypto
#include <cstddef>
#include <cstdint>
#include <string>

#include "extract/parsers.h"
#include "sensor/extract/extractor_set.h"
#include "sensor/output/protocol_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensor;
  std::span<const uint8_t> bytes(data, size);
  static rules::NullFactSink sink;
  static ExtractorSet extract(ExtractConfig{}, nullptr, sink, {});
  // The protocol logs' records are built (attributes, DNS/DHCP transactions); their directory
  // cannot exist (a path under /dev/null), so nothing is written.
  static ProtocolLogs protocol_logs("/dev/null/utkikk-fuzz", ZeekLogFormat::kJson);
  static bool wired = (extract.SetProtocolLogs(&protocol_logs), true);
  (void)wired;
  const auto client = rules::IpAddress::FromV4(0xc0000201);
  const auto server = rules::IpAddress::FromV4(0x0a000001);
  // Every TCP recogniser: the payload from either side, in two segments (second first).
  for (int side = 0; side < 2; ++side) {
    FlowRecord flow;
    flow.key.proto = 6;
    flow.id = {client, 40000, server, 443, 6};
    flow.tcp.established = true;
    size_t half = size / 2;
    for (int part = 1; part >= 0; --part) {
      DecodedPacket p;
      p.ip_version = 4;
      p.ip_proto = 6;
      p.tcp_seq = 1000 + static_cast<uint32_t>(part == 0 ? 0 : half);
      p.payload = part == 0 ? bytes.subspan(0, half) : bytes.subspan(half);
      (side == 0 ? flow.orig : flow.resp).packets += 1;
      flow.orig.packets += 1;
      extract.OnPacket(flow, p, side == 0);
    }
    extract.OnFlowEnd(flow);
  }
  // An FTP control connection: a greeting, then the input as the client's commands and as the
  // server's replies (PORT/EPRT, 227/229), then a connection to the announced places.
  {
    static const std::string kGreeting = "220 FTP server ready\r\n";
    FlowRecord flow;
    flow.key.proto = 6;
    flow.id = {client, 40000, server, 21, 6};
    flow.tcp.established = true;
    auto send = [&](bool from_orig, uint32_t seq, std::span<const uint8_t> payload) {
      DecodedPacket p;
      p.ip_version = 4;
      p.ip_proto = 6;
      p.tcp_seq = seq;
      p.payload = payload;
      (from_orig ? flow.orig : flow.resp).packets += 1;
      extract.OnPacket(flow, p, from_orig);
    };
    send(false, 1000, {reinterpret_cast<const uint8_t*>(kGreeting.data()), kGreeting.size()});
    send(true, 5000, bytes);
    send(false, 1000 + static_cast<uint32_t>(kGreeting.size()), bytes);
    extract.OnFlowEnd(flow);
    for (const auto& orig : {client, server}) {
      FlowRecord conn;
      conn.key.proto = 6;
      DecodedPacket p;
      p.ip_version = 4;
      p.ip_proto = 6;
      p.src = orig;
      p.dst = orig == client ? server : client;
      p.dst_port = size >= 2 ? static_cast<uint16_t>(data[0] << 8 | data[1]) : 20;
      conn.id = {p.src, 30000, p.dst, p.dst_port, 6};
      conn.orig.packets = 1;
      extract.OnPacket(conn, p, true);
      extract.OnFlowEnd(conn);
    }
  }
  // Every UDP recogniser (DHCP by content; DNS, mDNS, NBNS, SSDP by port).
  for (uint16_t port : {67, 53, 5353, 137, 1900, 5060}) {
    FlowRecord flow;
    flow.key.proto = 17;
    flow.id = {client, 40000, server, port, 17};
    DecodedPacket p;
    p.ip_version = 4;
    p.ip_proto = 17;
    p.src = server;
    p.src_port = port;
    p.dst_port = 40000;
    p.payload = bytes;
    flow.orig.packets = 1;
    flow.resp.packets = 1;
    extract.OnPacket(flow, p, false);
    extract.OnFlowEnd(flow);
  }
  // Stateless parsers directly, also the DER decoder and the TLS message bodies.
  (void)extract::ParseClientHello(bytes);
  (void)extract::ParseServerHello(bytes);
  (void)extract::EcdheServerCurve(bytes);
  (void)extract::QuicInitialCrypto(bytes);
  std::string agent;
  (void)extract::MailUserAgent(extract::AsText(bytes), &agent);
  (void)extract::ParseCertificate(bytes);
  for (auto der : extract::CertificateList(bytes)) (void)extract::ParseCertificate(der);
  (void)extract::PtrNameToAddress(extract::AsText(bytes));
  (void)extract::FtpPassiveReply(extract::AsText(bytes));
  (void)extract::FtpPortCommand(extract::AsText(bytes));
  return 0;
}
