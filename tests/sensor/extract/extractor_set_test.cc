// ExtractorSet on hand-made packets: recognition from payload, reassembly, bounded state,
// service facts and ARP.
#include "sensor/extract/extractor_set.h"

#include <gtest/gtest.h>

#include <string>

#include "sensor/extract/pcap_runner.h"

namespace sensor {
namespace {

using testing::RecordingSink;

const rules::IpAddress kClient = *rules::IpAddress::Parse("198.51.100.7");
const rules::IpAddress kServer = *rules::IpAddress::Parse("10.0.0.5");

class ExtractorSetTest : public ::testing::Test {
 protected:
  ExtractorSetTest()
      : extract_(ExtractConfig{}, testing::TestFingerprints(), sink_,
                 {*rules::Cidr::Parse("10.0.0.0/8")}) {
    flow_.key.proto = 6;
    flow_.id = {kClient, 50000, kServer, 443, 6};
    flow_.uid = "Ctest";
    flow_.tcp.established = true;
    flow_.history = "ShAD";
    flow_.tcp.orig.syn = flow_.tcp.resp.syn = true;
    flow_.tcp.orig.isn = 999;
    flow_.tcp.resp.isn = 89999;
  }
  // One TCP segment; `seq` relative to each direction's first byte.
  void Send(bool from_orig, uint32_t seq, const std::string& bytes) {
    DecodedPacket p;
    p.ip_version = 4;
    p.ip_proto = 6;
    p.src = from_orig ? kClient : kServer;
    p.dst = from_orig ? kServer : kClient;
    p.tcp_seq = (from_orig ? 1000 : 90000) + seq;
    p.payload = {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
    (from_orig ? flow_.orig : flow_.resp).packets++;
    if (flow_.orig.packets + flow_.resp.packets == 1) flow_.orig.packets++;  // SYN before
    extract_.OnPacket(flow_, p, from_orig);
  }
  // The service of a fresh connection to `port` that carried `bytes` in one direction.
  std::string ServiceOf(uint16_t port, bool from_orig, const std::string& bytes) {
    flow_ = FlowRecord{};
    flow_.key.proto = 6;
    flow_.id = {kClient, 50000, kServer, port, 6};
    flow_.tcp.established = true;
    flow_.history = "ShAD";
    Send(from_orig, 0, bytes);
    extract_.OnFlowEnd(flow_);
    return flow_.classification.service;
  }
  RecordingSink sink_;
  ExtractorSet extract_;
  FlowRecord flow_;
};

TEST_F(ExtractorSetTest, SshOnPort443BothSidesThenDone) {
  Send(false, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n");
  Send(true, 0, "SSH-2.0-PuTTY_Release_0.78\r\n");
  ASSERT_EQ(sink_.software.size(), 2u);
  const auto& server = sink_.software[0];
  EXPECT_EQ(server.role, "server");
  EXPECT_EQ(server.port, 443);
  EXPECT_EQ(server.kind, "ssh_banners");
  EXPECT_EQ(server.product, "OpenSSH");
  EXPECT_EQ(server.version, "9.2p1");
  EXPECT_EQ(server.origin.raw, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2");
  EXPECT_EQ(server.origin.uid, "Ctest");
  EXPECT_EQ(sink_.software[1].role, "client");
  // The Debian suffix names the OS.
  ASSERT_FALSE(sink_.os.empty());
  EXPECT_EQ(sink_.os[0].host.ip, kServer);
  // Both directions done: the state is gone, the verdict kept.
  EXPECT_EQ(extract_.stats().states_live, 0u);
  EXPECT_EQ(extract_.stats().flows_done, 1u);
  Send(true, 28, "more encrypted bytes");
  extract_.OnFlowEnd(flow_);
  ASSERT_EQ(sink_.services.size(), 1u);
  EXPECT_EQ(sink_.services[0].protocol, "ssh");  // from payload, not the port
  EXPECT_TRUE(sink_.services[0].exposed);        // the client is outside 10/8
  EXPECT_EQ(flow_.extract, nullptr);
  // The same service again: not reported twice.
  Send(false, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n");
  extract_.OnFlowEnd(flow_);
  EXPECT_EQ(sink_.services.size(), 1u);
}

// The fingerprint lookup of a banner seen before comes from the memo, with the same result.
TEST_F(ExtractorSetTest, RepeatedBannerIdentifiedOnce) {
  Send(false, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n");
  extract_.OnFlowEnd(flow_);
  EXPECT_EQ(extract_.stats().identify_cache_hits, 0u);
  flow_.orig.packets = flow_.resp.packets = 0;
  Send(false, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n");
  EXPECT_EQ(extract_.stats().identify_cache_hits, 1u);
  ASSERT_EQ(sink_.software.size(), 2u);
  ASSERT_EQ(sink_.os.size(), 2u);
  for (const auto& f : sink_.software) {
    EXPECT_EQ(f.product, "OpenSSH");
    EXPECT_EQ(f.version, "9.2p1");
    EXPECT_EQ(f.cpe23, sink_.software[0].cpe23);
  }
  EXPECT_EQ(sink_.os[1].product, sink_.os[0].product);
  EXPECT_FALSE(sink_.os[1].product.empty() && sink_.os[1].family.empty());
}

TEST_F(ExtractorSetTest, HttpHeadReassembledOutOfOrder) {
  std::string req = "GET / HTTP/1.1\r\nHost: intranet.example\r\nUser-Agent: curl/7.88.1\r\n\r\n";
  Send(true, 20, req.substr(20));  // arrives first
  EXPECT_TRUE(sink_.names.empty());
  Send(true, 0, req.substr(0, 20));
  ASSERT_EQ(sink_.names.size(), 1u);
  EXPECT_EQ(sink_.names[0].name, "intranet.example");
  EXPECT_EQ(sink_.names[0].host.ip, kServer);
  ASSERT_EQ(sink_.software.size(), 1u);
  EXPECT_EQ(sink_.software[0].product, "curl");
  EXPECT_EQ(sink_.software[0].version, "7.88.1");
  Send(false, 0, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n");
  ASSERT_EQ(sink_.software.size(), 2u);
  EXPECT_EQ(sink_.software[1].role, "server");
  EXPECT_EQ(sink_.software[1].version, "1.22.1");
  extract_.OnFlowEnd(flow_);
  ASSERT_EQ(sink_.services.size(), 1u);
  EXPECT_EQ(sink_.services[0].protocol, "http");
}

TEST_F(ExtractorSetTest, UnknownPayloadIsDroppedAtOnce) {
  Send(true, 0, std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10));
  Send(false, 0, std::string(100, '\xee'));
  EXPECT_EQ(extract_.stats().states_live, 0u);
  EXPECT_TRUE(sink_.software.empty());
}

TEST_F(ExtractorSetTest, BoundedPerDirection) {
  // A greeting that never ends its line: the direction stops after max_packets.
  Send(false, 0, "220 ");
  for (uint32_t i = 0; i < 40; ++i) Send(false, 4 + i * 10, "xxxxxxxxxx");
  Send(true, 0, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a");
  EXPECT_EQ(extract_.stats().states_live, 0u);
  EXPECT_GE(extract_.stats().truncated, 1u);
}

// LDAP from its messages (RFC 4511 4.1.1), on any port: a client's bind or search, a server's
// bind response; not other BER (SNMP's message), not a response tag from the client, not a
// negative message id, not an operation longer than its message.
TEST_F(ExtractorSetTest, LdapRecognisedFromItsMessages) {
  auto service_of = [this](bool from_orig, const std::string& bytes) {
    return ServiceOf(3268, from_orig, bytes);  // the global catalog's port
  };
  const std::string bind("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00", 14);
  EXPECT_EQ(service_of(true, bind), "ldap");
  // Active Directory's clients write every length in the 4-byte long form.
  const std::string search =
      std::string("\x30\x84\x00\x00\x00\x29\x02\x01\x02\x63\x84\x00\x00\x00\x20"
                  "\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\x87\x0b",
                  34) +
      "objectClass" + std::string("\x30\x00", 2);
  EXPECT_EQ(service_of(true, search), "ldap");
  const std::string bind_response("\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00", 14);
  EXPECT_EQ(service_of(false, bind_response), "ldap");

  EXPECT_EQ(service_of(true, bind_response), "");  // a response from the client
  const std::string snmp =
      std::string("\x30\x1a\x02\x01\x01\x04\x06", 7) + "public" +
      std::string("\xa0\x0d\x02\x01\x01\x02\x01\x00\x02\x01\x00\x30\x02\x30\x00", 15);
  EXPECT_EQ(service_of(true, snmp), "");
  const std::string negative_id("\x30\x0c\x02\x01\x81\x60\x07\x02\x01\x03\x04\x00\x80\x00", 14);
  EXPECT_EQ(service_of(true, negative_id), "");
  const std::string long_operation("\x30\x05\x02\x01\x01\x60\x7f\x02\x01\x03", 10);
  EXPECT_EQ(service_of(true, long_operation), "");
}

// Kerberos over TCP from its record (RFC 4120 7.2.2), on any port: a 4-byte length that the
// message's [APPLICATION n] TLV fills exactly, with long-form length octets (an AS-REQ) or a
// short form (a KRB-ERROR under 128 bytes); not a record whose length disagrees with the
// message's, not a client's tag from the server.
TEST_F(ExtractorSetTest, KerberosOverTcpRecognisedFromItsRecord) {
  auto record = [](uint8_t tag, const std::string& length_octets, size_t value_length) {
    const size_t total = 1 + length_octets.size() + value_length;
    std::string r{'\0', static_cast<char>(total >> 16), static_cast<char>(total >> 8),
                  static_cast<char>(total)};
    return r + static_cast<char>(tag) + length_octets + std::string(value_length, '\x30');
  };
  const std::string as_req = record(0x6a, "\x82\x01\x20", 0x120);
  EXPECT_EQ(ServiceOf(8888, true, as_req), "krb_tcp");
  const std::string krb_error = record(0x7e, "\x5a", 0x5a);
  EXPECT_EQ(ServiceOf(8888, false, krb_error), "krb_tcp");

  std::string wrong_length = krb_error;
  wrong_length[3] = static_cast<char>(wrong_length[3] + 1);  // one byte more than the message
  EXPECT_EQ(ServiceOf(8888, false, wrong_length), "");
  EXPECT_EQ(ServiceOf(8888, false, as_req), "");  // a request from the server
  EXPECT_EQ(ServiceOf(8888, true, record(0x30, "\x5a", 0x5a)), "");  // no Kerberos message
}

TEST_F(ExtractorSetTest, NoServiceWithoutAnswer) {
  flow_.tcp.established = false;
  flow_.history = "S";
  extract_.OnFlowEnd(flow_);
  EXPECT_TRUE(sink_.services.empty());
}

// A service is reported once per exposure and again after fact_repeat_us of packet time: the
// first internet client makes an internally used service exposed, and a service seen for days
// keeps its last_seen moving.
TEST_F(ExtractorSetTest, ServiceReportedAgainWhenExposedAndAfterTheRepeatTime) {
  const rules::IpAddress internal = *rules::IpAddress::Parse("10.0.0.9");
  auto end_flow = [&](const rules::IpAddress& client, int64_t start_us) {
    flow_.id.orig_h = client;
    flow_.start_us = start_us;
    extract_.OnFlowEnd(flow_);
  };
  end_flow(internal, 1'000'000);
  end_flow(internal, 2'000'000);
  ASSERT_EQ(sink_.services.size(), 1u);
  EXPECT_FALSE(sink_.services[0].exposed);
  end_flow(kClient, 3'000'000);
  ASSERT_EQ(sink_.services.size(), 2u);
  EXPECT_TRUE(sink_.services[1].exposed);
  end_flow(kClient, 4'000'000);
  end_flow(internal, 1'000'000 + ExtractConfig{}.fact_repeat_us - 1);
  EXPECT_EQ(sink_.services.size(), 2u);
  end_flow(internal, 1'000'000 + ExtractConfig{}.fact_repeat_us);
  ASSERT_EQ(sink_.services.size(), 3u);
  EXPECT_EQ(sink_.services[2].origin.ts_us, 1'000'000 + ExtractConfig{}.fact_repeat_us);
}

TEST_F(ExtractorSetTest, ArpOncePerPair) {
  DecodedPacket p;
  p.is_arp = true;
  p.arp.operation = 2;
  p.arp.sender_mac = {0, 1, 2, 3, 4, 5};
  p.arp.sender_ip = kServer;
  p.timestamp_us = 1'000'000;
  extract_.OnNonIp(p, {});
  extract_.OnNonIp(p, {});
  ASSERT_EQ(sink_.addresses.size(), 1u);
  EXPECT_EQ(sink_.addresses[0].ip, kServer);
  p.arp.sender_ip = rules::IpAddress::FromV4(0);  // probe
  extract_.OnNonIp(p, {});
  EXPECT_EQ(sink_.addresses.size(), 1u);
}

}  // namespace
}  // namespace sensor
