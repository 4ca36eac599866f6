// Private: the stateless protocol parsers behind ExtractorSet. Each takes bytes seen on the wire
// (hostile: any length, any content), never reads past the span, never trusts a length field,
// and returns std::nullopt (or an empty result) for anything that does not parse. Pure functions,
// thread-safe. Tested one by one in tests/sensor/extract/parsers_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "extract/crypto.h"  // Md5Hex, Sha256Hex
#include "rules/facts.h"
#include "rules/ip_address.h"

namespace sensor::extract {

using Bytes = std::span<const uint8_t>;

inline std::string_view AsText(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The first line of `text` without its "\r\n" / "\n"; nullopt while no line end is in the first
// `max` bytes.
std::optional<std::string_view> FirstLine(std::string_view text, size_t max = 1024);
// Printable ASCII only (controls and bytes >= 0x7f become '?'), trimmed, at most `max` bytes.
std::string CleanText(std::string_view text, size_t max = 512);

// ---- SSH (RFC 4253 section 4.2): "SSH-protoversion-softwareversion SP comments CR LF".
// The part after "SSH-x.y-" of an identification line; nullopt when `line` is not one.
std::optional<std::string_view> SshSoftware(std::string_view line);

// ---- HTTP/1.x heads.
bool LooksLikeHttpRequest(std::string_view text);
bool LooksLikeHttpResponse(std::string_view text);
struct HttpHead {
  bool request = false;
  // The start line: request "METHOD URI HTTP/x.y", response "HTTP/x.y CODE REASON" (http.log).
  std::string method;      // request
  std::string uri;         // request, at most 8 KiB
  std::string version;     // "1.1"
  int status_code = 0;     // response
  std::string status_msg;  // response
  std::string host;        // request Host without port
  std::string user_agent;
  std::string server;      // response Server
  std::string powered_by;  // response X-Powered-By
  std::string referrer;    // request Referer, at most 8 KiB (http.log only)
  int64_t content_length = -1;     // Content-Length; -1 absent or unreadable
  bool length_unknown = false;     // Transfer-Encoding, or a Content-Length that is no number
};
// Parses a head once its blank line is in `text`; nullopt while it is incomplete or not HTTP
// (or RTSP, SSDP, SIP, Gnutella: same syntax). All four headers are read in either direction.
std::optional<HttpHead> ParseHttpHead(std::string_view text);

// ---- Server greetings (FTP/SMTP 220, POP3 +OK, IMAP * OK).
enum class GreetingKind { kNone, kFtpOrSmtp, kPop, kImap };
GreetingKind ClassifyGreeting(std::string_view first_line);
// The greeting text without the status ("220 ", "220-", "+OK ", "* OK "), cleaned.
std::string GreetingText(std::string_view first_line, GreetingKind kind);

// ---- FTP data connections announced on the control connection: the server's passive replies
// "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)" (RFC 959 4.1.3, 4.2) and "229 Entering
// Extended Passive Mode (|||port|)" (RFC 2428 3), the client's "PORT h1,h2,h3,h4,p1,p2"
// (RFC 959) and "EPRT |1|addr|port|" / "|2|addr|port|" (RFC 2428 2). `address` is absent for 229,
// whose data connection goes to the control connection's server. One line, without its CRLF.
struct FtpDataTarget {
  std::optional<rules::IpAddress> address;
  uint16_t port = 0;
};
std::optional<FtpDataTarget> FtpPassiveReply(std::string_view line);
std::optional<FtpDataTarget> FtpPortCommand(std::string_view line);

// ---- SMTP client: the mail user agent from the X-Mailer or User-Agent header of the first message
// (RFC 5321 DATA, RFC 5322 header fields). Only that header value is read: no addresses, no body.
enum class MailScan { kNeedMore, kFound, kNone };
// `client_stream`: what the client sent, from its first byte. kNone: the message's header has no
// such field, or the session turned to TLS (STARTTLS) before any DATA.
MailScan MailUserAgent(std::string_view client_stream, std::string* user_agent);
// "EHLO" / "HELO" (any case) at the start of a client stream.
bool LooksLikeSmtpClient(std::string_view client_stream);

// ---- MySQL protocol 10 initial handshake: the server version string; nullopt otherwise.
std::optional<std::string> MySqlServerVersion(Bytes data);

// ---- TLS.
struct ClientHello {
  uint16_t legacy_version = 0;
  std::vector<uint16_t> ciphers;        // in order, GREASE included
  std::vector<uint16_t> extensions;     // in order, GREASE included
  std::vector<uint16_t> groups;         // supported_groups (10)
  std::vector<uint8_t> point_formats;   // ec_point_formats (11)
  std::vector<uint16_t> sig_algs;       // signature_algorithms (13), in order
  std::vector<uint16_t> versions;       // supported_versions (43)
  std::string sni;                      // server_name host_name (0), cleaned
  std::string alpn;                     // the first ALPN protocol (16), raw bytes
  std::string quic_user_agent;          // QUIC transport parameter 0x3129 (Google), cleaned
};
// `body` is the ClientHello handshake body (after the 4-byte handshake header).
std::optional<ClientHello> ParseClientHello(Bytes body);
// The client's Initial keys for a QUIC version (1 or drafts 29-32) and Destination Connection ID.
struct QuicKeys {
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 12> iv{};
  std::array<uint8_t, 16> hp{};
};
std::optional<QuicKeys> QuicClientInitialKeys(uint32_t version, Bytes dcid);
// The CRYPTO stream (from offset 0, contiguous) of a client's QUIC Initial packet at the start of
// `datagram`, decrypted with the Initial keys (RFC 9001 5); nullopt for anything else.
std::optional<std::vector<uint8_t>> QuicInitialCrypto(Bytes datagram);
// The ServerHello's chosen version (supported_versions for TLS 1.3, RFC 8446 4.2.1) and cipher.
struct ServerHello {
  uint16_t version = 0;
  uint16_t cipher = 0;
  uint16_t group = 0;  // key_share's selected group (RFC 8446 4.2.8; TLS 1.3); 0 none
};
std::optional<ServerHello> ParseServerHello(Bytes body);
// An ECDHE/ECDH key exchange suite (RFC 8422 6, RFC 5289, RFC 5489, RFC 7251, RFC 7905): its
// ServerKeyExchange names the curve.
bool IsEcdheCipher(uint16_t cipher);
// The named curve of an ECDHE ServerKeyExchange body (RFC 8422 5.4: curve_type 3 named_curve,
// NamedCurve, then the point); nullopt for another curve_type or a truncated body.
std::optional<uint16_t> EcdheServerCurve(Bytes body);
bool IsGrease(uint16_t value);
// JA3 text "771,4865-4866,...,0-23-...,29-23,0" and its MD5 in hex.
std::string Ja3Text(const ClientHello& hello);
std::string Ja3(const ClientHello& hello);
// JA4 (https://github.com/FoxIO-LLC/ja4, JA4 section): "t13d1516h2_8daaf6152771_e5627efa2ab1".
// `transport`: 't' TCP, 'q' QUIC, 'd' DTLS.
std::string Ja4(const ClientHello& hello, char transport = 't');
// The raw form (JA4_r), useful to explain a hash.
std::string Ja4Raw(const ClientHello& hello, char transport = 't');

// The leaf certificate of a TLS <= 1.2 Certificate message body; the DER of each entry.
std::vector<Bytes> CertificateList(Bytes body, size_t max_certs = 4);
struct CertificateInfo {
  std::string subject;          // one line in certificate order, "C=US, O=Example, CN=example.org"
  std::string subject_rfc2253;  // RFC 2253 order, "CN=example.org,O=Example,C=US"
  std::string issuer;           // as subject
  std::string issuer_rfc2253;   // as subject_rfc2253 (ssl.log, as Zeek writes it)
  std::string not_before;       // "2024-01-31T12:00:00Z"
  std::string not_after;
  std::string common_name;
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries, at most 32
};
// Parses one DER certificate; nullopt when OpenSSL's d2i_X509 would not decode it.
// Fast: a DER walker reads the reported fields; certificates of unusual shape go to OpenSSL.
std::optional<CertificateInfo> ParseCertificate(Bytes der);
// The reference: OpenSSL's d2i_X509 for everything (ParseCertificate gives the same result).
std::optional<CertificateInfo> ParseCertificateOpenSsl(Bytes der);

// Incremental TLS record -> handshake message splitter for one direction. Feed() gets the whole
// reassembled direction each time and continues where it stopped; `on_message(type, body)` is
// called for each complete handshake message. Stops (done()) at the first non-handshake record
// other than alerts/change-cipher-spec, or at anything malformed.
class TlsHandshakeReader {
 public:
  template <typename Fn>
  void Feed(Bytes stream, Fn&& on_message);
  bool done() const { return done_; }
  bool malformed() const { return malformed_; }
  bool LooksLikeTls(Bytes stream) const;
  void Stop() { done_ = true; }

 private:
  size_t record_offset_ = 0;   // next record in the stream
  std::vector<uint8_t> hs_;    // handshake bytes of the records so far (bounded)
  size_t hs_offset_ = 0;       // next handshake message in hs_
  bool done_ = false;
  bool malformed_ = false;
};

// ---- DHCP (RFC 2131/2132) over BOOTP.
struct DhcpMessage {
  uint8_t op = 0;            // 1 request, 2 reply
  uint8_t type = 0;          // option 53 (1 DISCOVER ... 5 ACK)
  rules::Mac chaddr{};
  rules::IpAddress ciaddr, yiaddr;
  std::optional<rules::IpAddress> requested;  // option 50
  std::string host_name;     // option 12
  std::string fqdn;          // option 81
  std::string vendor_class;  // option 60
  std::string param_list;    // option 55, "1,3,6,15"
  std::string domain;        // option 15
  uint32_t lease_time_s = 0; // option 51
  std::optional<rules::IpAddress> server_id;  // option 54
};
std::optional<DhcpMessage> ParseDhcp(Bytes udp_payload);

// ---- DNS / mDNS / LLMNR (RFC 1035) and NBNS (RFC 1002).
struct DnsAnswer {
  std::string name;      // owner name (NBNS: the decoded NetBIOS name, trailing blanks removed)
  uint16_t type = 0;     // 1 A, 28 AAAA, 12 PTR, 5 CNAME, 32 NB
  rules::IpAddress address;  // A / AAAA / NB
  std::string target;        // PTR, CNAME
  uint32_t ttl = 0;
  bool additional = false;   // from the additional section (not an answer of the query)
};
struct DnsMessage {
  bool response = false;
  uint8_t opcode = 0;
  uint16_t id = 0;
  bool aa = false, tc = false, rd = false, ra = false;
  uint8_t z = 0;
  uint8_t rcode = 0;
  std::string query;          // the first question's name ("" when there is none)
  uint16_t qtype = 0, qclass = 0;
  std::vector<DnsAnswer> answers;  // answer + additional records of the types above, at most 64
};
// `netbios`: names use the NetBIOS first-level encoding and NB records carry addresses.
std::optional<DnsMessage> ParseDns(Bytes udp_payload, bool netbios = false);
// "4.3.2.1.in-addr.arpa" / nibble ".ip6.arpa" names to the address; nullopt otherwise.
std::optional<rules::IpAddress> PtrNameToAddress(std::string_view name);

// ---- ASN.1 BER/DER (Kerberos, SNMP): definite lengths only, at most 4 length bytes.
struct Tlv {
  uint8_t tag = 0;  // the identifier octet (low-tag-number form only)
  Bytes value;
};
// The identifier and length octets at the start of `in`: the tag, their size, and the value's
// declared length, which may run past `in` (a message still arriving); nullopt when `in` is too
// short for them, or the length is indefinite or the tag multi-byte.
struct TlvHeader {
  uint8_t tag = 0;
  size_t size = 0;    // identifier + length octets
  size_t length = 0;  // of the value
};
std::optional<TlvHeader> ReadTlvHeader(Bytes in);
// Reads the TLV at the start of `*in` and advances `*in` past it; nullopt when truncated,
// indefinite or multi-byte-tagged.
std::optional<Tlv> ReadTlv(Bytes* in);
// UTF-16LE to printable ASCII (non-ASCII code units become '?'), at most `max` characters.
std::string Utf16LeToText(Bytes in, size_t max = 256);

// ---- SMB over the NetBIOS session service (RFC 1002 4.3) or direct TCP 445 ([MS-SMB2] 2.1).
// The total length (4 + length) of the NBSS message at the start of `stream`: 0 while incomplete,
// nullopt when the first bytes are no NBSS message header.
std::optional<size_t> NbssMessageLength(Bytes stream);
// An NBSS session message carrying an SMB1 or SMB2 header, or a session request/response (139).
bool LooksLikeSmb(Bytes stream);
struct SmbMessage {
  int version = 0;       // 1 (\xffSMB, [MS-CIFS]) or 2 (\xfeSMB, [MS-SMB2]; also SMB 3.x)
  bool response = false;
  uint16_t command = 0;
  std::vector<std::string> dialects;  // SMB1 Negotiate request dialect strings, at most 16
  int dialect_index = -1;             // SMB1 Negotiate response
  uint16_t dialect_revision = 0;      // SMB2 Negotiate response (0x0202 ... 0x0311)
  std::string native_os;              // SMB1 Session Setup AndX request (client) / response
  std::string native_lanman;
};
// `body`: the NBSS message body (the SMB header onwards).
std::optional<SmbMessage> ParseSmb(Bytes body);
// "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1" for an SMB2 dialect revision; "" otherwise.
std::string Smb2DialectName(uint16_t revision);

// ---- NTLMSSP ([MS-NLMP] 2.2.1): NEGOTIATE (1), CHALLENGE (2), AUTHENTICATE (3).
struct NtlmMessage {
  uint32_t type = 0;
  std::string version;      // "10.0.20348" when the VERSION structure is present
  // CHALLENGE target info AV pairs ([MS-NLMP] 2.2.2.1).
  std::string nb_computer, nb_domain, dns_computer, dns_domain, dns_tree;
  // AUTHENTICATE (and NEGOTIATE, when supplied).
  std::string domain, user, workstation;
};
// `msg` starts at the "NTLMSSP\0" signature; offsets inside are relative to it.
std::optional<NtlmMessage> ParseNtlm(Bytes msg);
// The first NTLMSSP message in `data` (SMB security blobs, DCE-RPC auth trailers).
std::optional<NtlmMessage> FindNtlm(Bytes data);
// HTTP "Authorization: NTLM <base64>" / "WWW-Authenticate: NTLM <base64>" in a head.
std::optional<NtlmMessage> FindHttpNtlm(std::string_view head);
std::optional<std::string> Base64Decode(std::string_view text, size_t max = 8192);

// ---- DCE-RPC connection-oriented PDUs (C706 12.6): the PDU length at the start of `stream`,
// 0 while incomplete, nullopt when the bytes are no bind/bind_ack/alter_context/auth3 PDU.
std::optional<size_t> DceRpcPduLength(Bytes stream, bool first);

// ---- Kerberos (RFC 4120 5.4.1): AS-REQ (10) / TGS-REQ (12) and AS-REP/TGS-REP (11/13).
struct KerberosMessage {
  uint8_t msg_type = 0;
  std::string realm;
  std::vector<std::string> cname;   // name-string components, at most 4
  std::vector<std::string> sname;
};
// `message`: the KRB message (UDP payload, or a TCP record after its 4-byte length).
std::optional<KerberosMessage> ParseKerberos(Bytes message);

// ---- SNMP v1/v2c (RFC 1157, RFC 3416) messages.
struct SnmpMessage {
  int version = 0;           // 0 v1, 1 v2c, 3 v3 (v3 is not parsed further)
  std::string community;     // cleaned
  uint8_t pdu = 0;           // 0xa0 Get ... 0xa2 Response ... 0xa8 Report
  std::string sys_descr;     // 1.3.6.1.2.1.1.1.0
  std::string sys_name;      // 1.3.6.1.2.1.1.5.0
  std::string sys_object_id; // 1.3.6.1.2.1.1.2.0, dotted
};
std::optional<SnmpMessage> ParseSnmp(Bytes udp_payload);
std::string SnmpVersionName(int version);  // "1", "2c", "3"

// ---- NTP (RFC 5905 7.3) mode 4 server replies and mode 6 (RFC 1305 appendix B) read-variables.
struct NtpMessage {
  uint8_t version = 0;
  uint8_t mode = 0;
  uint8_t stratum = 0;
  std::string reference_id;  // stratum 1: the 4 ASCII characters; else the IPv4 address
  std::string version_text;  // mode 6: the value of "version=" (ntpd's banner), cleaned
};
std::optional<NtpMessage> ParseNtp(Bytes udp_payload);

// ---- PostgreSQL (protocol 3.0, "Message Formats"): the server's ParameterStatus
// "server_version"; nullopt while it has not come (or the bytes are no backend messages).
bool LooksLikePostgresServer(Bytes stream);
std::optional<std::string> PostgresServerVersion(Bytes stream);

// ---- RDP: TPKT (RFC 1006) + X.224 ([MS-RDPBCGR] 2.2.1.1/2.2.1.2) and client core data.
// The TPKT length at the start of `stream`: 0 while incomplete, nullopt when not TPKT.
std::optional<size_t> TpktLength(Bytes stream);
struct RdpConnection {
  bool request = false;          // X.224 Connection Request (client) / Confirm (server)
  std::string cookie;            // "Cookie: mstshash=USER" (a user name: evidence only)
  std::optional<uint32_t> protocols;  // requested (client) or selected (server) protocols
  bool failure = false;          // RDP_NEG_FAILURE
};
// `tpkt`: one whole TPKT packet.
std::optional<RdpConnection> ParseRdpConnection(Bytes tpkt);
struct RdpClientCore {
  uint32_t version = 0;   // 0x00080004 = RDP 5.0+ ...
  uint32_t build = 0;     // clientBuild
  std::string client_name;
};
// The TS_UD_CS_CORE block in an MCS Connect Initial (standard RDP security only; with TLS or
// CredSSP it is encrypted).
std::optional<RdpClientCore> FindRdpClientCore(Bytes data);
// "TLS", "CredSSP", "RDP" (standard), "CredSSP-EX", "RDSTLS" for a selected protocol.
std::string RdpProtocolName(uint32_t selected);

// ---- LLDP (IEEE 802.1AB) and CDP (Cisco, SNAP 0x2000) frames.
struct NeighborInfo {
  std::string system_name;
  std::string system_description;  // LLDP system description / CDP software version
  std::string platform;            // CDP platform
  std::optional<rules::Mac> chassis_mac;
  std::optional<rules::IpAddress> management;
};
// `frame`: the Ethernet frame (from the destination MAC).
std::optional<NeighborInfo> ParseLldpOrCdp(Bytes frame);

// ---- TlsHandshakeReader::Feed (a template: the callback is inlined).
inline constexpr size_t kMaxHandshakeBytes = 65536;

template <typename Fn>
void TlsHandshakeReader::Feed(Bytes stream, Fn&& on_message) {
  while (!done_ && record_offset_ + 5 <= stream.size()) {
    const uint8_t* r = stream.data() + record_offset_;
    uint8_t type = r[0];
    size_t length = (size_t{r[3]} << 8) | r[4];
    if (r[1] != 3 || length > 18432) {  // RFC 5246 6.2.3: at most 2^14 + 2048
      malformed_ = done_ = true;
      return;
    }
    if (record_offset_ + 5 + length > stream.size()) {
      return;  // the record is not complete yet
    }
    Bytes fragment = stream.subspan(record_offset_ + 5, length);
    record_offset_ += 5 + length;
    if (type == 21) {
      continue;  // alert
    }
    if (type != 22) {
      done_ = true;  // change_cipher_spec or application data: the plaintext handshake is over
      return;
    }
    if (hs_.size() + fragment.size() > kMaxHandshakeBytes) {
      done_ = true;
      return;
    }
    hs_.insert(hs_.end(), fragment.begin(), fragment.end());
    while (hs_offset_ + 4 <= hs_.size()) {
      const uint8_t* h = hs_.data() + hs_offset_;
      size_t body_length = (size_t{h[1]} << 16) | (size_t{h[2]} << 8) | h[3];
      if (hs_offset_ + 4 + body_length > hs_.size()) {
        break;
      }
      on_message(h[0], Bytes(h + 4, body_length));
      if (done_) {
        return;
      }
      hs_offset_ += 4 + body_length;
    }
  }
}

inline bool TlsHandshakeReader::LooksLikeTls(Bytes stream) const {
  // A handshake record of TLS 1.0-1.3 (legacy version 3.1-3.4, or 3.0) starting a handshake.
  return stream.size() >= 6 && stream[0] == 22 && stream[1] == 3 && stream[2] <= 4 &&
         (stream[5] == 1 || stream[5] == 2);
}

}  // namespace sensor::extract
