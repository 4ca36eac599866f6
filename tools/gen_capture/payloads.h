// Application payloads of the protocols in the sample capture. Each builder returns the bytes
// that follow the UDP or TCP header, laid out as the protocol's specification says; none of them
// keeps state, and all randomness comes from the caller's Rng.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bytes.h"
#include "net.h"

namespace gen_capture {

// --- DHCP (RFC 2131, options RFC 2132) ---
enum class DhcpType : uint8_t { kDiscover = 1, kOffer = 2, kRequest = 3, kAck = 5 };
struct DhcpClientInfo {
  Mac mac{};
  std::string host_name;
  std::string vendor_class;                 // option 60, e.g. "MSFT 5.0"
  std::vector<uint8_t> parameter_list;      // option 55
};
struct DhcpServerInfo {
  Ip4 server = 0;
  Ip4 mask = 0;
  Ip4 router = 0;
  Ip4 dns = 0;
  std::string domain;
  uint32_t lease_s = 0;
};
Bytes DhcpClientMessage(DhcpType type, uint32_t xid, const DhcpClientInfo& client,
                        Ip4 requested, Ip4 server_id);
Bytes DhcpServerMessage(DhcpType type, uint32_t xid, const Mac& client_mac, Ip4 yiaddr,
                        const DhcpServerInfo& server);
// Windows 10's option 55 order.
std::vector<uint8_t> WindowsParameterList();

// --- DNS (RFC 1035) ---
Bytes DnsQuery(uint16_t id, const std::string& name, uint16_t qtype);
// Answers of type A (4-byte rdata), AAAA (16) or PTR/CNAME (a name) for `name`; a CNAME chain
// is given as cname != "" and the addresses then belong to the CNAME target.
Bytes DnsAnswer(uint16_t id, const std::string& name, uint16_t qtype, const std::string& cname,
                const std::vector<Bytes>& addresses, const std::string& ptr_target, uint32_t ttl);
// NXDOMAIN (rcode 3) or NOERROR without data (rcode 0), with the zone's SOA as authority.
Bytes DnsNegative(uint16_t id, const std::string& name, uint16_t qtype, int rcode,
                  const std::string& zone);
constexpr uint16_t kDnsA = 1, kDnsCname = 5, kDnsPtr = 12, kDnsAaaa = 28;

// --- TLS (RFC 8446, RFC 5246) ---
enum class TlsClientKind { kChromium, kFirefox, kOpenSsl };
Bytes TlsClientHello(Rng& rng, TlsClientKind kind, const std::string& sni, Bytes* client_random);
// TLS 1.2 server flight: ServerHello, Certificate, ServerKeyExchange (x25519, Ed25519-signed
// with `signature` over the randoms and parameters), ServerHelloDone. `signed_params` receives
// the bytes the caller must sign and `signature` is spliced in.
struct Tls12ServerFlight {
  Bytes server_random;
  Bytes server_public;
  Bytes certificate_der;
};
Bytes TlsServerHello12(const Tls12ServerFlight& f, const Bytes& session_id);
Bytes TlsCertificateAndKeyExchange(const Tls12ServerFlight& f, const Bytes& signature);
// The bytes a TLS 1.2 ServerKeyExchange signature covers.
Bytes TlsKeyExchangeSignedData(const Bytes& client_random, const Tls12ServerFlight& f);
Bytes TlsClientKeyExchangeFinished(Rng& rng);  // ClientKeyExchange, CCS, encrypted Finished
Bytes TlsServerFinished(Rng& rng);             // CCS, encrypted Finished
Bytes TlsServerHello13(Rng& rng, const Bytes& session_id);  // ServerHello, CCS, encrypted rest
Bytes TlsClientFinished13(Rng& rng);           // CCS, encrypted Finished
Bytes TlsApplicationData(Rng& rng, size_t plaintext_len, bool tls13);

// --- SSH (RFC 4253, RFC 8731) ---
Bytes SshKexInit(Rng& rng, bool server);
Bytes SshEcdhInit(Rng& rng);
Bytes SshEcdhReply(Rng& rng, const Bytes& host_public_key);
Bytes SshNewKeys(Rng& rng);
Bytes SshEncrypted(Rng& rng, size_t payload_len);  // chacha20-poly1305 packet

// --- SMB (MS-SMB2, MS-NLMP, RFC 4178) ---
struct SmbIds {
  uint64_t message_id = 0;
  uint64_t session_id = 0;
  uint32_t tree_id = 0;
};
Bytes Smb2NegotiateRequest(Rng& rng, const SmbIds& ids);
Bytes Smb2NegotiateResponse(Rng& rng, const SmbIds& ids, int64_t now_us);
Bytes Smb2SessionSetupNegotiate(const SmbIds& ids);
Bytes Smb2SessionSetupChallenge(Rng& rng, const SmbIds& ids, int64_t now_us);
Bytes Smb2SessionSetupAuthenticate(Rng& rng, const SmbIds& ids, const std::string& user,
                                   const std::string& workstation, int64_t now_us);
Bytes Smb2SessionSetupDone(Rng& rng, const SmbIds& ids);
Bytes Smb2TreeConnect(Rng& rng, const SmbIds& ids, const std::string& unc);
Bytes Smb2TreeConnectResponse(Rng& rng, const SmbIds& ids);
Bytes Smb1Negotiate(uint16_t pid, uint16_t mid);

// --- small UDP and TCP protocols ---
Bytes NtpPacket(Rng& rng, bool server, int64_t now_us, int64_t origin_us);
Bytes SnmpGet(uint32_t request_id, const std::string& community,
              const std::vector<std::vector<uint32_t>>& oids);
struct SnmpValue {
  std::vector<uint32_t> oid;
  uint8_t tag;  // 0x04 OCTET STRING, 0x43 TimeTicks, 0x06 OID
  Bytes value;
};
Bytes SnmpResponse(uint32_t request_id, const std::string& community,
                   const std::vector<SnmpValue>& values);
Bytes EncodeOid(const std::vector<uint32_t>& oid);
Bytes RdpConnectionRequest(const std::string& cookie_user);
Bytes RdpConnectionConfirm();
Bytes Text(const std::string& s);

// Wall-clock helpers for text protocols (HTTP Date, syslog, FortiGate fields).
std::string HttpDate(int64_t us);                 // "Mon, 05 Jan 2026 08:00:00 GMT"
std::string Rfc3164Time(int64_t us, int tz_hours);  // "Jan  5 09:00:00"
std::string Rfc5424Time(int64_t us);                // "2026-01-05T08:00:00.123456Z"
std::string LocalDate(int64_t us, int tz_hours);    // "2026-01-05"
std::string LocalTime(int64_t us, int tz_hours);    // "09:00:00"

}  // namespace gen_capture
