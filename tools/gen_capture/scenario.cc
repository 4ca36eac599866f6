#include "scenario.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "certificate.h"
#include "payloads.h"
#include "tcp_session.h"

namespace gen_capture {
namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kSec = 1000000;
constexpr int kOsloOffsetHours = 1;  // CET in January

// Vendor OUIs from the IEEE registry (Debian's ieee-data, oui.txt).
constexpr uint8_t kOuiDell[3] = {0x98, 0xe7, 0x43};
constexpr uint8_t kOuiHp[3] = {0x04, 0x0e, 0x3c};
constexpr uint8_t kOuiLenovo[3] = {0xe8, 0x6a, 0x64};  // LCFC (HeFei), Lenovo's ODM
constexpr uint8_t kOuiCisco[3] = {0xf4, 0xbd, 0x9e};
constexpr uint8_t kOuiVmware[3] = {0x00, 0x50, 0x56};
constexpr uint8_t kOuiAxis[3] = {0xac, 0xcc, 0x8e};
constexpr uint8_t kOuiFortinet[3] = {0x94, 0xff, 0x3c};

Mac MakeMac(const uint8_t oui[3], uint32_t nic) {
  return {oui[0], oui[1], oui[2], uint8_t(nic >> 16), uint8_t(nic >> 8), uint8_t(nic)};
}

std::string MacHex(const Mac& m) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

Bytes Ip4Bytes(Ip4 ip) {
  return {uint8_t(ip >> 24), uint8_t(ip >> 16), uint8_t(ip >> 8), uint8_t(ip)};
}

std::string ReverseName(Ip4 ip) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa", ip & 255, (ip >> 8) & 255,
                (ip >> 16) & 255, ip >> 24);
  return buf;
}

enum class ClientKind { kPc, kVdi, kPhone, kCamera };

struct Client {
  Host* host = nullptr;
  ClientKind kind = ClientKind::kPc;
  bool firefox = false;
  std::string user;
  int64_t boot_us = 0;
};

struct PublicSite {
  std::string name;
  std::string cname;
  Ip4 ip;
};

// A session crossing the firewall, logged by it when the session ends.
struct FirewallEvent {
  int64_t end_us;
  int64_t start_us;
  Ip4 src;
  uint16_t sport;
  Ip4 dst;
  uint16_t dport;
  int proto;
  std::string service;
  std::string action;
  uint64_t sent;
  uint64_t received;
};

const char* kEdgeAgent =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
const char* kFirefoxAgent =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

// Owns the hosts and drives the whole scenario; borrows the capture. Not thread-safe.
class Municipality {
 public:
  Municipality(const ScenarioOptions& options, Capture* capture)
      : options_(options),
        capture_(*capture),
        rng_(options.seed * 0x9e3779b97f4a7c15ULL + 0x5eed),
        network_(MakeMac(kOuiFortinet, 0x1a2b01), MakeMac(kOuiFortinet, 0x1a2b02)),
        start_(kCaptureStartUs),
        end_(kCaptureStartUs + int64_t{options.minutes} * 60 * kSec) {}

  rules::Result<void> Run();

 private:
  Host& AddHost(const std::string& name, Mac mac, Ip4 ip, Segment segment, uint8_t ttl) {
    Host h;
    h.name = name;
    h.mac = mac;
    h.ip = ip;
    h.segment = segment;
    h.ttl = ttl;
    h.ip_id = static_cast<uint16_t>(rng_.Next());
    hosts_.push_back(h);
    return hosts_.back();
  }
  Host& External(Ip4 ip, uint8_t ttl) {
    return AddHost(IpToString(ip), Mac{}, ip, Segment::kInternet, ttl);
  }
  int64_t Clamp(int64_t t) const { return std::min(t, end_ - 2 * kSec); }
  int64_t RandomTime(Rng& rng, int64_t from) {
    if (from >= end_ - 5 * kSec) {
      return end_ - 5 * kSec;
    }
    return rng.Range(from, end_ - 5 * kSec);
  }
  int Scaled(int per_ten_minutes) const {
    return std::max(1, per_ten_minutes * options_.minutes / 10);
  }

  void Udp(int64_t t, Host& from, Host& to, uint16_t sport, uint16_t dport, const Bytes& payload) {
    Mac src, dst;
    network_.Route(from, to, &src, &dst);
    capture_.Add(t, UdpFrame(src, dst, from, from.ip, to.ip, sport, dport, payload));
  }
  int64_t Rtt(const Host& a, const Host& b, Rng& rng) {
    if (a.segment == Segment::kInternet || b.segment == Segment::kInternet) {
      return rng.Range(18, 45) * kMs;
    }
    return rng.Range(250, 900);
  }
  void LogFirewall(const TcpSession& s, int64_t start, Host& client, Host& server, uint16_t port,
                   const std::string& service) {
    if (client.segment != Segment::kInternet && server.segment != Segment::kInternet) {
      return;
    }
    firewall_events_.push_back(FirewallEvent{s.now(), start, client.ip, s.client_port(),
                                             server.ip, port, 6, service, "close",
                                             s.bytes_client(), s.bytes_server()});
  }

  // Building blocks.
  void Infrastructure();
  int64_t BootClient(Client& c, Rng& rng);
  int64_t DnsLookup(int64_t t, Host& client, Rng& rng, const std::string& name, uint16_t qtype);
  void Ntp(int64_t t, Host& client, Rng& rng);
  void HttpIntranet(int64_t t, Host& client, Rng& rng, bool firefox);
  void HttpExternal(int64_t t, Rng& rng);
  void TlsIntranet(int64_t t, Host& client, Rng& rng);
  void TlsPublic(int64_t t, Host& client, Rng& rng, bool firefox);
  void SshSession(int64_t t, Host& client, Rng& rng, bool external);
  void SmbSession(int64_t t, Client& c, Rng& rng);
  void PrinterJobs(Host& printer, Rng& rng);
  void RdpAttempt(int64_t t, Host& attacker, Rng& rng);
  void SnmpPolling(Rng& rng);
  void SwitchSyslog(Rng& rng);
  void FirewallSyslog(Rng& rng);
  void ArpExchange(int64_t t, Host& asker, Host& target, const Mac& asker_mac);

  const ScenarioOptions options_;
  Capture& capture_;
  Rng rng_;
  Network network_;
  int64_t start_;
  int64_t end_;
  std::deque<Host> hosts_;  // stable addresses: sessions keep Host references
  std::vector<Client> clients_;
  std::vector<FirewallEvent> firewall_events_;
  std::vector<PublicSite> sites_;
  Host* fw_lan_ = nullptr;
  Host* fw_srv_ = nullptr;
  Host* switch_ = nullptr;
  Host* collector_ = nullptr;
  Host* dc_ = nullptr;
  Host* web_ = nullptr;
  Host* web_tls_ = nullptr;
  Host* ssh_ = nullptr;
  Host* files_ = nullptr;
  Host* mail_ = nullptr;
  Host* ftp_ = nullptr;
  Host* rds_ = nullptr;
  Host* monitor_ = nullptr;
  Host* printer_ = nullptr;
  Host* old_files_ = nullptr;
  Bytes intranet_cert_;
  Bytes rds_cert_;
  std::optional<Ed25519Key> intranet_key_;
  std::optional<Ed25519Key> rds_key_;
  std::optional<Ed25519Key> ssh_key_;
  uint16_t fw_syslog_port_ = 0;
  uint16_t switch_syslog_port_ = 0;
};

rules::Result<void> Municipality::Run() {
  auto intranet_key = Ed25519Key::Derive(options_.seed, "intranett");
  auto rds_key = Ed25519Key::Derive(options_.seed, "rds01");
  auto ssh_key = Ed25519Key::Derive(options_.seed, "drift01-hostkey");
  if (!intranet_key || !rds_key || !ssh_key) {
    return rules::Fail(rules::ErrorCode::kCrypto, "deriving keys failed");
  }
  intranet_key_ = *intranet_key;
  rds_key_ = *rds_key;
  ssh_key_ = *ssh_key;
  auto cert = intranet_key_->SelfSignedCertificate("intranett.kommune.local", "Eksempel kommune",
                                                   0x1000 + (options_.seed & 0xffff));
  if (!cert) {
    return tl::make_unexpected(cert.error());
  }
  intranet_cert_ = *cert;
  auto rds_cert = rds_key_->SelfSignedCertificate("RDS01.kommune.local", "Eksempel kommune",
                                                  0x2000 + (options_.seed & 0xffff));
  if (!rds_cert) {
    return tl::make_unexpected(rds_cert.error());
  }
  rds_cert_ = *rds_cert;

  fw_lan_ = &AddHost("FGT-KOMMUNE", MakeMac(kOuiFortinet, 0x1a2b01), MakeIp(10, 20, 0, 1),
                     Segment::kClients, 255);
  fw_srv_ = &AddHost("FGT-KOMMUNE", MakeMac(kOuiFortinet, 0x1a2b02), MakeIp(10, 30, 0, 1),
                     Segment::kServers, 255);
  switch_ = &AddHost("sw-kjerne-01", MakeMac(kOuiCisco, 0x03c2a1), MakeIp(10, 30, 0, 2),
                     Segment::kServers, 255);
  collector_ = &AddHost("utkikk", MakeMac(kOuiDell, 0x5e0005), MakeIp(10, 30, 0, 5),
                        Segment::kServers, 64);
  dc_ = &AddHost("dc01", MakeMac(kOuiVmware, 0x9a0010), MakeIp(10, 30, 0, 10), Segment::kServers,
                 128);
  web_ = &AddHost("intranett", MakeMac(kOuiVmware, 0x9a0020), MakeIp(10, 30, 0, 20),
                  Segment::kServers, 64);
  web_tls_ = &AddHost("intranett-tls", MakeMac(kOuiVmware, 0x9a0021), MakeIp(10, 30, 0, 21),
                      Segment::kServers, 64);
  ssh_ = &AddHost("drift01", MakeMac(kOuiVmware, 0x9a0030), MakeIp(10, 30, 0, 30),
                  Segment::kServers, 64);
  files_ = &AddHost("fil01", MakeMac(kOuiVmware, 0x9a0040), MakeIp(10, 30, 0, 40),
                    Segment::kServers, 128);
  mail_ = &AddHost("epost", MakeMac(kOuiVmware, 0x9a0050), MakeIp(10, 30, 0, 50),
                   Segment::kServers, 64);
  ftp_ = &AddHost("ftp01", MakeMac(kOuiVmware, 0x9a0051), MakeIp(10, 30, 0, 51),
                  Segment::kServers, 64);
  rds_ = &AddHost("rds01", MakeMac(kOuiVmware, 0x9a0060), MakeIp(10, 30, 0, 60),
                  Segment::kServers, 128);
  monitor_ = &AddHost("overvaking01", MakeMac(kOuiVmware, 0x9a0070), MakeIp(10, 30, 0, 70),
                      Segment::kServers, 64);
  old_files_ = &AddHost("fil-gammel", MakeMac(kOuiDell, 0x0ff0ff), MakeIp(10, 30, 0, 99),
                        Segment::kServers, 128);
  printer_ = &AddHost("skanner-2etg", MakeMac(kOuiHp, 0x7a9912), MakeIp(10, 20, 5, 20),
                      Segment::kClients, 64);
  fw_syslog_port_ = fw_srv_->EphemeralPort();
  switch_syslog_port_ = static_cast<uint16_t>(rng_.Range(50000, 60000));

  sites_ = {
      {"login.microsoftonline.com", "login.mso.msidentity.com", MakeIp(198, 51, 100, 20)},
      {"outlook.office365.com", "outlook.ha.office365.com", MakeIp(198, 51, 100, 31)},
      {"teams.microsoft.com", "", MakeIp(198, 51, 100, 42)},
      {"www.altinn.no", "", MakeIp(198, 51, 100, 77)},
      {"www.nrk.no", "", MakeIp(198, 51, 100, 90)},
  };

  // Clients: mostly PCs, with a VDI desktop, an IP phone and a camera in every ten.
  static const char* kDepartments[] = {"OKONOMI", "HELSE", "SKOLE", "TEKNISK", "PLAN",
                                       "SERVICE", "BARNEHAGE", "KULTUR"};
  static const char* kUsers[] = {"ola.nordmann", "kari.hansen", "per.olsen", "ingrid.berg",
                                 "lars.johansen", "nina.larsen", "jonas.dahl", "sara.lie"};
  for (int i = 0; i < options_.hosts; ++i) {
    Rng crng = rng_.Fork(static_cast<uint64_t>(i) + 1);
    Client c;
    uint32_t nic = static_cast<uint32_t>(crng.Next() & 0xffffff);
    int slot = i % 10;
    Mac mac;
    std::string name;
    if (slot == 8) {
      c.kind = ClientKind::kPhone;
      mac = MakeMac(kOuiCisco, nic);
      name = "SEP" + MacHex(mac);
      for (auto& ch : name) {
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      }
    } else if (slot == 9) {
      c.kind = ClientKind::kCamera;
      mac = MakeMac(kOuiAxis, nic);
      name = "axis-" + MacHex(mac);
    } else {
      c.kind = slot == 5 ? ClientKind::kVdi : ClientKind::kPc;
      const uint8_t* oui = slot == 5                        ? kOuiVmware
                           : (slot == 1 || slot == 4)       ? kOuiHp
                           : (slot == 2 || slot == 7)       ? kOuiLenovo
                                                            : kOuiDell;
      mac = MakeMac(oui, nic);
      char buf[40];
      std::snprintf(buf, sizeof(buf), "%s-%s-%03d", slot == 5 ? "VDI" : "PC",
                    kDepartments[i % 8], i + 1);
      name = buf;
    }
    // Unique per index: PCs in 10.20.10-19.x, phones in 10.20.30-39.x, cameras in 10.20.60-69.x.
    uint32_t block = static_cast<uint32_t>(i / 200);
    uint32_t third = (c.kind == ClientKind::kPhone    ? 30
                      : c.kind == ClientKind::kCamera ? 60
                                                      : 10) +
                     block;
    Ip4 ip = MakeIp(10, 20, third, 10 + static_cast<uint32_t>(i % 200));
    c.host = &AddHost(name, mac, ip, Segment::kClients,
                      c.kind == ClientKind::kPc || c.kind == ClientKind::kVdi ? 128 : 64);
    c.firefox = crng.Chance(30);
    c.user = kUsers[i % 8];
    clients_.push_back(c);
  }

  Infrastructure();
  for (size_t i = 0; i < clients_.size(); ++i) {
    Client& c = clients_[i];
    Rng crng = rng_.Fork(1000 + i);
    int64_t t = BootClient(c, crng);
    Host& h = *c.host;
    if (c.kind == ClientKind::kPhone || c.kind == ClientKind::kCamera) {
      DnsLookup(t + 200 * kMs, h, crng, "ntp.kommune.local", kDnsA);
      Ntp(t + 300 * kMs, h, crng);
      continue;
    }
    t = DnsLookup(t + crng.Range(50, 400) * kMs, h, crng, "wpad.kommune.local", kDnsA);
    t = DnsLookup(t + crng.Range(20, 200) * kMs, h, crng, "dc01.kommune.local", kDnsA);
    Ntp(t + crng.Range(100, 900) * kMs, h, crng);
    t = DnsLookup(t + crng.Range(1, 4) * kSec, h, crng, "fil01.kommune.local", kDnsA);
    t = DnsLookup(t + crng.Range(1, 30) * kMs, h, crng, "fil01.kommune.local", kDnsAaaa);
    SmbSession(t + crng.Range(1, 20) * kMs, c, crng);
    int activities = Scaled(static_cast<int>(crng.Range(3, 6)));
    for (int a = 0; a < activities; ++a) {
      int64_t at = RandomTime(crng, c.boot_us + 20 * kSec);
      switch (crng.Range(0, 9)) {
        case 0:
        case 1:
        case 2:
          HttpIntranet(at, h, crng, c.firefox);
          break;
        case 3:
          TlsIntranet(at, h, crng);
          break;
        case 4:
        case 5:
        case 6:
          TlsPublic(at, h, crng, c.firefox);
          break;
        case 7: {
          Ip4 target = crng.Pick(std::vector<Ip4>{MakeIp(10, 30, 0, 20), MakeIp(10, 30, 0, 40),
                                                  MakeIp(10, 30, 0, 60)});
          DnsLookup(at, h, crng, ReverseName(target), kDnsPtr);
          break;
        }
        case 8: {
          DnsLookup(at, h, crng, "skriver-3etg.kommune.local", kDnsA);  // NXDOMAIN
          TcpSession s(capture_, network_, h, *web_, 8080, at + 5 * kMs, Rtt(h, *web_, crng),
                       crng);
          s.ConnectRefused();
          break;
        }
        default: {
          // A decommissioned file server still in a login script: nobody answers.
          TcpSession s(capture_, network_, h, *old_files_, 445, at, 500, crng);
          s.ConnectUnanswered(2);
          break;
        }
      }
    }
    if (i == 0) {
      SshSession(RandomTime(crng, start_ + 60 * kSec), h, crng, false);  // the IT admin
    }
  }
  FirewallSyslog(rng_);
  return {};
}

void Municipality::ArpExchange(int64_t t, Host& asker, Host& target, const Mac& asker_mac) {
  capture_.Add(t, ArpFrame(asker_mac, kBroadcastMac, 1, asker_mac, asker.ip, Mac{}, target.ip));
  capture_.Add(t + rng_.Range(80, 600),
               ArpFrame(target.mac, asker_mac, 2, target.mac, target.ip, asker_mac, asker.ip));
}

void Municipality::Infrastructure() {
  Rng rng = rng_.Fork(0xbeef);
  // Servers resolve their neighbours now and then.
  ArpExchange(start_ + 1200 * kMs, *collector_, *fw_srv_, collector_->mac);
  ArpExchange(start_ + 2300 * kMs, *monitor_, *switch_, monitor_->mac);
  SnmpPolling(rng);
  SwitchSyslog(rng);
  // Exposed services reached from the internet.
  for (int i = 0; i < Scaled(3); ++i) {
    HttpExternal(RandomTime(rng, start_ + 10 * kSec), rng);
  }
  for (int i = 0; i < Scaled(4); ++i) {
    Host& attacker = External(MakeIp(203, 0, 113, static_cast<uint32_t>(rng.Range(2, 250))), 47);
    RdpAttempt(RandomTime(rng, start_ + 5 * kSec), attacker, rng);
  }
  SshSession(RandomTime(rng, start_ + 30 * kSec), *ssh_, rng, true);
  PrinterJobs(*printer_, rng);
}

int64_t Municipality::BootClient(Client& c, Rng& rng) {
  Host& h = *c.host;
  c.boot_us = start_ + rng.Range(0, std::min<int64_t>(90, options_.minutes * 9)) * kSec +
              rng.Range(0, 999999);
  int64_t t = c.boot_us;
  DhcpClientInfo info;
  info.mac = h.mac;
  info.host_name = h.name;
  switch (c.kind) {
    case ClientKind::kPc:
    case ClientKind::kVdi:
      info.vendor_class = "MSFT 5.0";
      info.parameter_list = WindowsParameterList();
      break;
    case ClientKind::kPhone:
      info.vendor_class = "Cisco Systems, Inc. IP Phone CP-8841";
      info.parameter_list = {1, 3, 6, 15, 35, 66, 150};
      break;
    case ClientKind::kCamera:
      info.vendor_class = "udhcp 1.31.1";
      info.parameter_list = {1, 3, 6, 12, 15, 28, 42};
      break;
  }
  DhcpServerInfo server{fw_lan_->ip, MakeIp(255, 255, 0, 0), fw_lan_->ip, dc_->ip,
                        "kommune.local", 86400};
  uint32_t xid = static_cast<uint32_t>(rng.Next());
  Ip4 saved_ip = h.ip;
  Host unconfigured = h;
  unconfigured.ip = 0;
  Ip4 broadcast = MakeIp(255, 255, 255, 255);
  capture_.Add(t, UdpFrame(h.mac, kBroadcastMac, unconfigured, 0, broadcast, 68, 67,
                           DhcpClientMessage(DhcpType::kDiscover, xid, info, 0, 0)));
  t += rng.Range(1, 4) * kMs;
  capture_.Add(t, UdpFrame(fw_lan_->mac, h.mac, *fw_lan_, fw_lan_->ip, saved_ip, 67, 68,
                           DhcpServerMessage(DhcpType::kOffer, xid, h.mac, saved_ip, server)));
  t += rng.Range(2, 30) * kMs;
  capture_.Add(t, UdpFrame(h.mac, kBroadcastMac, unconfigured, 0, broadcast, 68, 67,
                           DhcpClientMessage(DhcpType::kRequest, xid, info, saved_ip,
                                             fw_lan_->ip)));
  t += rng.Range(1, 4) * kMs;
  capture_.Add(t, UdpFrame(fw_lan_->mac, h.mac, *fw_lan_, fw_lan_->ip, saved_ip, 67, 68,
                           DhcpServerMessage(DhcpType::kAck, xid, h.mac, saved_ip, server)));
  h.ip_id = unconfigured.ip_id;
  // Address conflict probe (RFC 5227), then ARP for the gateway.
  t += rng.Range(20, 200) * kMs;
  capture_.Add(t, ArpFrame(h.mac, kBroadcastMac, 1, h.mac, 0, Mac{}, h.ip));
  t += rng.Range(300, 900) * kMs;
  ArpExchange(t, h, *fw_lan_, h.mac);
  // Later the firewall re-resolves the client.
  ArpExchange(RandomTime(rng, t + 30 * kSec), *fw_lan_, h, fw_lan_->mac);
  return t + 5 * kMs;
}

int64_t Municipality::DnsLookup(int64_t t, Host& client, Rng& rng, const std::string& name,
                                uint16_t qtype) {
  uint16_t id = static_cast<uint16_t>(rng.Next());
  uint16_t sport = client.EphemeralPort();
  Udp(t, client, *dc_, sport, 53, DnsQuery(id, name, qtype));
  int64_t answered = t + rng.Range(300, 1500);
  struct Internal {
    const char* name;
    Ip4 ip;
  };
  static const Internal kZone[] = {
      {"dc01.kommune.local", MakeIp(10, 30, 0, 10)},
      {"ntp.kommune.local", MakeIp(10, 30, 0, 10)},
      {"intranett.kommune.local", MakeIp(10, 30, 0, 20)},
      {"fil01.kommune.local", MakeIp(10, 30, 0, 40)},
      {"epost.kommune.local", MakeIp(10, 30, 0, 50)},
      {"ftp01.kommune.local", MakeIp(10, 30, 0, 51)},
      {"rds01.kommune.local", MakeIp(10, 30, 0, 60)},
  };
  static const Internal kPtr[] = {
      {"20.0.30.10.in-addr.arpa", 0},
      {"40.0.30.10.in-addr.arpa", 0},
      {"60.0.30.10.in-addr.arpa", 0},
  };
  static const char* kPtrNames[] = {"intranett.kommune.local", "fil01.kommune.local",
                                    "rds01.kommune.local"};
  Bytes answer;
  if (qtype == kDnsPtr) {
    answer = DnsNegative(id, name, qtype, 3, "30.10.in-addr.arpa");
    for (size_t i = 0; i < 3; ++i) {
      if (name == kPtr[i].name) {
        answer = DnsAnswer(id, name, qtype, "", {}, kPtrNames[i], 3600);
      }
    }
  } else if (name.ends_with(".kommune.local")) {
    answer = DnsNegative(id, name, qtype, 3, "kommune.local");
    for (const auto& z : kZone) {
      if (name == z.name) {
        answer = qtype == kDnsA ? DnsAnswer(id, name, qtype, "", {Ip4Bytes(z.ip)}, "", 1200)
                                : DnsNegative(id, name, qtype, 0, "kommune.local");
      }
    }
  } else {
    answered += rng.Range(8, 30) * kMs;  // forwarded to the internet
    answer = DnsNegative(id, name, qtype, 3, "kommune.local");
    for (const auto& site : sites_) {
      if (name == site.name) {
        std::vector<Bytes> addrs = {Ip4Bytes(site.ip)};
        if (qtype == kDnsAaaa) {
          addrs = {Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                         static_cast<uint8_t>(site.ip & 255)}};
        }
        answer = DnsAnswer(id, name, qtype, site.cname, addrs, "", 300);
      }
    }
  }
  Udp(answered, *dc_, client, 53, sport, answer);
  return answered;
}

void Municipality::Ntp(int64_t t, Host& client, Rng& rng) {
  Udp(t, client, *dc_, 123, 123, NtpPacket(rng, false, t, 0));
  int64_t back = t + rng.Range(200, 900);
  Udp(back, *dc_, client, 123, 123, NtpPacket(rng, true, back, t));
}

namespace {

std::string Filler(Rng& rng, size_t n) {
  static const char* kWords[] = {"kommune", "innbygger", "vedtak", "budsjett", "skole",
                                 "barnehage", "helse", "plan", "byggesak", "tilskudd",
                                 "melding", "rutine", "ansatt", "avdeling", "kunngjøring"};
  std::string s;
  while (s.size() < n) {
    s += kWords[rng.Range(0, 14)];
    s += rng.Chance(12) ? ".\n" : " ";
  }
  s.resize(n);
  return s;
}

std::string HttpResponse(int64_t t, int status, const std::string& reason,
                         const std::string& type, const std::string& body, bool php) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  r += "Date: " + HttpDate(t) + "\r\n";
  r += "Server: Apache/2.4.49 (Debian)\r\n";
  if (php) {
    r += "X-Powered-By: PHP/7.4.33\r\n";
  } else if (status == 200) {
    r += "Last-Modified: Tue, 02 Dec 2025 10:14:07 GMT\r\nAccept-Ranges: bytes\r\n";
  }
  r += "Vary: Accept-Encoding\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "Keep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n";
  r += "Content-Type: " + type + "\r\n\r\n";
  return r + body;
}

std::string HttpRequest(const std::string& path, const std::string& host, bool firefox,
                        const std::string& accept) {
  std::string r = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n";
  if (firefox) {
    r += std::string("User-Agent: ") + kFirefoxAgent + "\r\n";
    r += "Accept: " + accept + "\r\n";
    r += "Accept-Language: nb-NO,nb;q=0.9,no-NO;q=0.8,no;q=0.6,nn-NO;q=0.5,en;q=0.3\r\n";
    r += "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n";
    r += "Upgrade-Insecure-Requests: 1\r\n\r\n";
  } else {
    r += "Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\n";
    r += std::string("User-Agent: ") + kEdgeAgent + "\r\n";
    r += "Accept: " + accept + "\r\n";
    r += "Accept-Encoding: gzip, deflate\r\nAccept-Language: nb,no;q=0.9,en;q=0.8\r\n\r\n";
  }
  return r;
}

}  // namespace

void Municipality::HttpIntranet(int64_t t, Host& client, Rng& rng, bool firefox) {
  t = DnsLookup(t, client, rng, "intranett.kommune.local", kDnsA);
  TcpSession s(capture_, network_, client, *web_, 80, t + rng.Range(1, 5) * kMs,
               Rtt(client, *web_, rng), rng);
  s.Connect();
  static const char* kPages[] = {"/", "/nyheter/", "/ansatt/telefonliste.php", "/skjema/ferie.php"};
  const std::string html_accept =
      "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
  std::string page = kPages[rng.Range(0, 3)];
  s.ClientSend(Text(HttpRequest(page, "intranett.kommune.local", firefox, html_accept)));
  std::string body = "<!DOCTYPE html>\n<html lang=\"nb\"><head><title>Intranett - Eksempel "
                     "kommune</title><link rel=\"stylesheet\" href=\"/css/main.css\"></head>"
                     "<body>\n" +
                     Filler(rng, static_cast<size_t>(rng.Range(1500, 7000))) +
                     "\n</body></html>\n";
  s.ServerSend(Text(HttpResponse(s.now(), 200, "OK", "text/html; charset=UTF-8", body, true)));
  s.Wait(rng.Range(5, 40) * kMs);
  s.ClientSend(Text(HttpRequest("/css/main.css", "intranett.kommune.local", firefox,
                                "text/css,*/*;q=0.1")));
  s.ServerSend(Text(HttpResponse(s.now(), 200, "OK", "text/css",
                                 "body{font-family:sans-serif}\n" +
                                     Filler(rng, static_cast<size_t>(rng.Range(300, 1200))),
                                 false)));
  s.ClientSend(Text(HttpRequest("/favicon.ico", "intranett.kommune.local", firefox,
                                "image/avif,image/webp,*/*")));
  s.ServerSend(Text(HttpResponse(
      s.now(), 404, "Not Found", "text/html; charset=iso-8859-1",
      "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not "
      "Found</title>\n</head><body>\n<h1>Not Found</h1>\n</body></html>\n",
      false)));
  s.Wait(5 * kSec + rng.Range(0, 200) * kMs);  // Apache's keep-alive timeout
  s.Close(false);
}

void Municipality::HttpExternal(int64_t t, Rng& rng) {
  bool scanner = rng.Chance(60);
  Host& visitor = External(MakeIp(scanner ? 192 : 203, 0, scanner ? 2 : 113,
                                  static_cast<uint32_t>(rng.Range(2, 250))),
                           static_cast<uint8_t>(rng.Range(45, 56)));
  TcpSession s(capture_, network_, visitor, *web_, 80, t, Rtt(visitor, *web_, rng), rng);
  int64_t start = t;
  s.Connect();
  if (scanner) {
    // Probe for CVE-2021-41773, the path traversal of Apache 2.4.49.
    s.ClientSend(Text("GET /cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd HTTP/1.1\r\nHost: " +
                      IpToString(web_->ip) +
                      "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                      "(KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\nAccept: */*\r\n"
                      "Connection: close\r\n\r\n"));
    s.ServerSend(Text(HttpResponse(
        s.now(), 403, "Forbidden", "text/html; charset=iso-8859-1",
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>403 "
        "Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n</body></html>\n",
        false)));
    s.Close(false);
  } else {
    s.ClientSend(Text(HttpRequest("/", "intranett.eksempel-kommune.no", true,
                                  "text/html,application/xhtml+xml,*/*;q=0.8")));
    s.ServerSend(Text(HttpResponse(s.now(), 200, "OK", "text/html; charset=UTF-8",
                                   "<!DOCTYPE html>\n<html><body>\n" + Filler(rng, 2500) +
                                       "</body></html>\n",
                                   true)));
    s.Wait(rng.Range(1, 3) * kSec);
    s.Close(true);
  }
  LogFirewall(s, start, visitor, *web_, 80, "HTTP");
}

void Municipality::TlsIntranet(int64_t t, Host& client, Rng& rng) {
  t = DnsLookup(t, client, rng, "intranett.kommune.local", kDnsA);
  TcpSession s(capture_, network_, client, *web_tls_, 443, t + rng.Range(1, 5) * kMs,
               Rtt(client, *web_tls_, rng), rng);
  s.Connect();
  Bytes client_random;
  Bytes hello = TlsClientHello(rng, TlsClientKind::kOpenSsl, "intranett.kommune.local",
                               &client_random);
  s.ClientSend(hello);
  Tls12ServerFlight f{rng.RandomBytes(32), rng.RandomBytes(32), intranet_cert_};
  auto sig = intranet_key_->Sign(TlsKeyExchangeSignedData(client_random, f));
  Bytes flight = TlsServerHello12(f, rng.RandomBytes(32));
  Bytes rest = TlsCertificateAndKeyExchange(f, sig ? *sig : Bytes(64, 0));
  flight.insert(flight.end(), rest.begin(), rest.end());
  s.ServerSend(flight);
  s.ClientSend(TlsClientKeyExchangeFinished(rng));
  s.ServerSend(TlsServerFinished(rng));
  int exchanges = static_cast<int>(rng.Range(1, 3));
  for (int i = 0; i < exchanges; ++i) {
    s.ClientSend(TlsApplicationData(rng, static_cast<size_t>(rng.Range(300, 700)), false));
    s.ServerSend(TlsApplicationData(rng, static_cast<size_t>(rng.Range(800, 6000)), false));
    s.Wait(rng.Range(100, 2000) * kMs);
  }
  Bytes alert = {21, 3, 3, 0, 26};  // encrypted close_notify: nonce 8 + alert 2 + tag 16
  Bytes sealed = rng.RandomBytes(26);
  alert.insert(alert.end(), sealed.begin(), sealed.end());
  s.ClientSend(alert);
  s.Close(true);
}

void Municipality::TlsPublic(int64_t t, Host& client, Rng& rng, bool firefox) {
  const PublicSite& site = sites_[static_cast<size_t>(rng.Range(0, static_cast<int64_t>(sites_.size()) - 1))];
  t = DnsLookup(t, client, rng, site.name, kDnsA);
  Host& server = External(site.ip, 52);
  TcpSession s(capture_, network_, client, server, 443, t + rng.Range(1, 5) * kMs,
               Rtt(client, server, rng), rng);
  int64_t start = s.now();
  s.Connect();
  Bytes client_random;
  Bytes hello = TlsClientHello(rng, firefox ? TlsClientKind::kFirefox : TlsClientKind::kChromium,
                               site.name, &client_random);
  // The session id is at a fixed place: record 5 + handshake 4 + version 2 + random 32 + len 1.
  Bytes session_id(hello.begin() + 44, hello.begin() + 76);
  s.ClientSend(hello);
  s.ServerSend(TlsServerHello13(rng, session_id));
  s.ClientSend(TlsClientFinished13(rng));
  int exchanges = static_cast<int>(rng.Range(1, 4));
  for (int i = 0; i < exchanges; ++i) {
    s.ClientSend(TlsApplicationData(rng, static_cast<size_t>(rng.Range(200, 900)), true));
    s.ServerSend(TlsApplicationData(rng, static_cast<size_t>(rng.Range(500, 9000)), true));
    s.Wait(rng.Range(50, 3000) * kMs);
  }
  if (rng.Chance(15)) {
    s.Reset(true);  // the browser tab was closed
  } else {
    s.Close(true);
  }
  LogFirewall(s, start, client, server, 443, "HTTPS");
}

void Municipality::SshSession(int64_t t, Host& client, Rng& rng, bool external) {
  Host* from = &client;
  if (external) {
    from = &External(MakeIp(203, 0, 113, static_cast<uint32_t>(rng.Range(2, 250))), 49);
  }
  TcpSession s(capture_, network_, *from, *ssh_, 22, t, Rtt(*from, *ssh_, rng), rng);
  int64_t start = t;
  s.Connect();
  s.ServerSend(Text("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n"));
  s.ClientSend(Text(external ? "SSH-2.0-Go\r\n" : "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n"));
  s.ClientSend(SshKexInit(rng, false));
  s.ServerSend(SshKexInit(rng, true));
  s.ClientSend(SshEcdhInit(rng));
  s.ServerSend(SshEcdhReply(rng, ssh_key_->public_key()));
  s.ClientSend(SshNewKeys(rng));
  int rounds = external ? 3 : static_cast<int>(rng.Range(20, 60));
  for (int i = 0; i < rounds; ++i) {
    s.ClientSend(SshEncrypted(rng, static_cast<size_t>(rng.Range(8, 120))));
    s.ServerSend(SshEncrypted(rng, static_cast<size_t>(rng.Range(20, external ? 80 : 1400))));
    s.Wait(rng.Range(external ? 100 : 300, external ? 900 : 4000) * kMs);
  }
  if (external) {
    s.Reset(true);  // the brute-forcer gives up after failed logins
    LogFirewall(s, start, *from, *ssh_, 22, "SSH");
  } else {
    s.Close(true);
  }
}

void Municipality::SmbSession(int64_t t, Client& c, Rng& rng) {
  Host& h = *c.host;
  TcpSession s(capture_, network_, h, *files_, 445, t, Rtt(h, *files_, rng), rng);
  s.Connect();
  SmbIds ids;
  s.ClientSend(Smb2NegotiateRequest(rng, ids));
  s.ServerSend(Smb2NegotiateResponse(rng, ids, s.now()));
  ids.message_id = 1;
  s.ClientSend(Smb2SessionSetupNegotiate(ids));
  ids.session_id = 0x0000100000000000ULL | (rng.Next() & 0xffffffff);
  s.ServerSend(Smb2SessionSetupChallenge(rng, ids, s.now()));
  ids.message_id = 2;
  s.ClientSend(Smb2SessionSetupAuthenticate(rng, ids, c.user, h.name, s.now()));
  s.ServerSend(Smb2SessionSetupDone(rng, ids));
  ids.message_id = 3;
  s.ClientSend(Smb2TreeConnect(rng, ids, "\\\\fil01.kommune.local\\felles"));
  ids.tree_id = static_cast<uint32_t>(rng.Range(1, 9));
  s.ServerSend(Smb2TreeConnectResponse(rng, ids));
  // The drive stays mapped: the session idles until the capture ends.
  s.Wait(std::max<int64_t>(kSec, end_ - s.now() - rng.Range(1, 3) * kSec));
  s.Close(true);
}

void Municipality::PrinterJobs(Host& printer, Rng& rng) {
  // An old scanner speaks SMB1 only; the file server refuses it.
  int64_t t = RandomTime(rng, start_ + 60 * kSec);
  {
    TcpSession s(capture_, network_, printer, *files_, 445, t, Rtt(printer, *files_, rng), rng);
    s.Connect();
    s.ClientSend(Smb1Negotiate(static_cast<uint16_t>(rng.Range(1, 60000)), 1));
    s.Reset(false);
  }
  // Scan to FTP.
  t = RandomTime(rng, start_ + 60 * kSec);
  {
    TcpSession s(capture_, network_, printer, *ftp_, 21, t, Rtt(printer, *ftp_, rng), rng);
    s.Connect();
    s.ServerSend(Text("220 (vsFTPd 3.0.3)\r\n"));
    s.ClientSend(Text("USER skanner\r\n"));
    s.ServerSend(Text("331 Please specify the password.\r\n"));
    s.ClientSend(Text("PASS skann3r2019\r\n"));
    s.ServerSend(Text("230 Login successful.\r\n"));
    s.ClientSend(Text("SYST\r\n"));
    s.ServerSend(Text("215 UNIX Type: L8\r\n"));
    s.ClientSend(Text("TYPE I\r\n"));
    s.ServerSend(Text("200 Switching to Binary mode.\r\n"));
    s.ClientSend(Text("CWD /skann\r\n"));
    s.ServerSend(Text("250 Directory successfully changed.\r\n"));
    s.ClientSend(Text("QUIT\r\n"));
    s.ServerSend(Text("221 Goodbye.\r\n"));
    s.Close(false);
  }
  // Scan to e-mail.
  t = RandomTime(rng, start_ + 60 * kSec);
  {
    TcpSession s(capture_, network_, printer, *mail_, 25, t, Rtt(printer, *mail_, rng), rng);
    s.Connect();
    s.ServerSend(Text("220 epost.kommune.local ESMTP Postfix (Debian/GNU)\r\n"));
    s.ClientSend(Text("EHLO skanner-2etg\r\n"));
    s.ServerSend(Text("250-epost.kommune.local\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                      "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
                      "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"));
    s.ClientSend(Text("MAIL FROM:<skanner@kommune.local>\r\n"));
    s.ServerSend(Text("250 2.1.0 Ok\r\n"));
    s.ClientSend(Text("RCPT TO:<kari.hansen@kommune.local>\r\n"));
    s.ServerSend(Text("250 2.1.5 Ok\r\n"));
    s.ClientSend(Text("DATA\r\n"));
    s.ServerSend(Text("354 End data with <CR><LF>.<CR><LF>\r\n"));
    s.ClientSend(Text("From: skanner@kommune.local\r\nTo: kari.hansen@kommune.local\r\n"
                      "Subject: Skannet dokument\r\nDate: " + HttpDate(s.now()) +
                      "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
                      Filler(rng, 900) + "\r\n.\r\n"));
    char queue_id[16];
    std::snprintf(queue_id, sizeof(queue_id), "%08llX",
                  static_cast<unsigned long long>(rng.Next() & 0xffffffffULL));
    s.ServerSend(Text(std::string("250 2.0.0 Ok: queued as ") + queue_id + "\r\n"));
    s.ClientSend(Text("QUIT\r\n"));
    s.ServerSend(Text("221 2.0.0 Bye\r\n"));
    s.Close(false);
  }
}

void Municipality::RdpAttempt(int64_t t, Host& attacker, Rng& rng) {
  TcpSession s(capture_, network_, attacker, *rds_, 3389, t, Rtt(attacker, *rds_, rng), rng);
  int64_t start = t;
  s.Connect();
  s.ClientSend(RdpConnectionRequest(rng.Chance(50) ? "Administr" : "admin"));
  s.ServerSend(RdpConnectionConfirm());
  Bytes client_random;
  s.ClientSend(TlsClientHello(rng, TlsClientKind::kOpenSsl, "", &client_random));
  Tls12ServerFlight f{rng.RandomBytes(32), rng.RandomBytes(32), rds_cert_};
  auto sig = rds_key_->Sign(TlsKeyExchangeSignedData(client_random, f));
  Bytes flight = TlsServerHello12(f, rng.RandomBytes(32));
  Bytes rest = TlsCertificateAndKeyExchange(f, sig ? *sig : Bytes(64, 0));
  flight.insert(flight.end(), rest.begin(), rest.end());
  s.ServerSend(flight);
  s.ClientSend(TlsClientKeyExchangeFinished(rng));
  s.ServerSend(TlsServerFinished(rng));
  s.ClientSend(TlsApplicationData(rng, static_cast<size_t>(rng.Range(40, 300)), false));
  s.ServerSend(TlsApplicationData(rng, static_cast<size_t>(rng.Range(200, 400)), false));
  s.Reset(true);
  LogFirewall(s, start, attacker, *rds_, 3389, "RDP");
}

void Municipality::SnmpPolling(Rng& rng) {
  const std::vector<uint32_t> sys_descr = {1, 3, 6, 1, 2, 1, 1, 1, 0};
  const std::vector<uint32_t> sys_uptime = {1, 3, 6, 1, 2, 1, 1, 3, 0};
  const std::vector<uint32_t> sys_name = {1, 3, 6, 1, 2, 1, 1, 5, 0};
  const std::string descr =
      "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, RELEASE "
      "SOFTWARE (fc1)\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) "
      "1986-2023 by Cisco Systems, Inc.\r\nCompiled Fri 10-Mar-23 07:42 by mcpre";
  uint16_t sport = monitor_->EphemeralPort();
  uint32_t request_id = static_cast<uint32_t>(rng.Range(1, 0x7fffffff));
  for (int64_t t = start_ + rng.Range(3, 20) * kSec; t < end_ - kSec; t += 60 * kSec) {
    Udp(t, *monitor_, *switch_, sport, 161,
        SnmpGet(request_id, "public", {sys_descr, sys_uptime, sys_name}));
    int64_t back = t + rng.Range(2, 9) * kMs;
    uint32_t ticks = static_cast<uint32_t>(812345600 + (back - start_) / 10000);
    Bytes ticks_bytes = {uint8_t(ticks >> 24), uint8_t(ticks >> 16), uint8_t(ticks >> 8),
                         uint8_t(ticks)};
    Udp(back, *switch_, *monitor_, 161, sport,
        SnmpResponse(request_id, "public",
                     {{sys_descr, 0x04, Text(descr)},
                      {sys_uptime, 0x43, ticks_bytes},
                      {sys_name, 0x04, Text("sw-kjerne-01.kommune.local")}}));
    ++request_id;
  }
}

void Municipality::SwitchSyslog(Rng& rng) {
  int seq = static_cast<int>(rng.Range(1000, 5000));
  for (int64_t t = start_ + rng.Range(5, 60) * kSec; t < end_ - kSec;
       t += rng.Range(30, 120) * kSec) {
    int port = static_cast<int>(rng.Range(1, 48));
    std::string msg;
    int pri;
    switch (rng.Range(0, 3)) {
      case 0:
        pri = 187;  // local7.err
        msg = "%LINK-3-UPDOWN: Interface GigabitEthernet1/0/" + std::to_string(port) +
              ", changed state to " + (rng.Chance(50) ? "up" : "down");
        break;
      case 1:
        pri = 189;  // local7.notice
        msg = "%LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet1/0/" +
              std::to_string(port) + ", changed state to up";
        break;
      case 2:
        pri = 190;
        msg = "%SYS-6-LOGGINGHOST_STARTSTOP: Logging to host 10.30.0.5 port 514 started - CLI "
              "initiated";
        break;
      default:
        pri = 188;
        msg = "%PM-4-ERR_DISABLE: bpduguard error detected on Gi1/0/" + std::to_string(port) +
              ", putting Gi1/0/" + std::to_string(port) + " in err-disable state";
        break;
    }
    // RFC 3164: <PRI>Mmm dd hh:mm:ss HOSTNAME TAG: text (local time).
    std::string line = "<" + std::to_string(pri) + ">" + Rfc3164Time(t, kOsloOffsetHours) +
                       " sw-kjerne-01 " + std::to_string(seq++) + ": " + msg;
    Udp(t, *switch_, *collector_, switch_syslog_port_, 514, Text(line));
  }
}

void Municipality::FirewallSyslog(Rng& rng) {
  Rng r = rng.Fork(0xf1);
  // Inbound noise the firewall drops: it shows up only in the firewall's log.
  for (int64_t t = start_ + r.Range(1, 5) * kSec; t < end_ - kSec; t += r.Range(2, 9) * kSec) {
    static const uint16_t kPorts[] = {23, 445, 1433, 3306, 5900, 8080, 8443, 6379};
    Ip4 src = MakeIp(r.Chance(50) ? 192 : 203, 0, r.Chance(50) ? 2 : 113,
                     static_cast<uint32_t>(r.Range(2, 250)));
    firewall_events_.push_back(FirewallEvent{t, t, src, static_cast<uint16_t>(r.Range(1024, 65535)),
                                             MakeIp(198, 51, 100, 2), kPorts[r.Range(0, 7)], 6,
                                             "tcp", "deny", 0, 0});
  }
  uint64_t session = static_cast<uint64_t>(r.Range(100000, 900000));
  for (const auto& e : firewall_events_) {
    int64_t t = std::min(e.end_us + r.Range(10, 900) * kMs, end_ - 100 * kMs);
    bool inbound = (e.src >> 24) != 10;
    uint64_t eventtime_ns = static_cast<uint64_t>(t) * 1000;
    std::string kv = "date=" + LocalDate(t, kOsloOffsetHours) +
                     " time=" + LocalTime(t, kOsloOffsetHours) +
                     " devname=\"FGT-KOMMUNE\" devid=\"FG100FTK21004711\" eventtime=" +
                     std::to_string(eventtime_ns) + " tz=\"+0100\" logid=\"" +
                     (e.action == "deny" ? "0000000013" : "0000000013") +
                     "\" type=\"traffic\" subtype=\"" + (inbound ? "local" : "forward") +
                     "\" level=\"" + (e.action == "deny" ? "warning" : "notice") +
                     "\" vd=\"root\" srcip=" + IpToString(e.src) +
                     " srcport=" + std::to_string(e.sport) + " srcintf=\"" +
                     (inbound ? "wan1" : "internal") + "\" dstip=" + IpToString(e.dst) +
                     " dstport=" + std::to_string(e.dport) + " dstintf=\"" +
                     (inbound ? "dmz" : "wan1") + "\" sessionid=" + std::to_string(session++) +
                     " proto=" + std::to_string(e.proto) + " action=\"" + e.action +
                     "\" policyid=" + (e.action == "deny" ? "0" : inbound ? "12" : "3") +
                     " service=\"" + e.service + "\"";
    if (e.action != "deny") {
      kv += " duration=" + std::to_string((e.end_us - e.start_us) / kSec) +
            " sentbyte=" + std::to_string(e.sent) + " rcvdbyte=" + std::to_string(e.received);
      if (!inbound) {
        kv += " trandisp=\"snat\" transip=198.51.100.2";
      } else {
        kv += " trandisp=\"dnat\"";
      }
    }
    // RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG.
    std::string line = "<189>1 " + Rfc5424Time(t) + " FGT-KOMMUNE - - - - " + kv;
    Udp(t, *fw_srv_, *collector_, fw_syslog_port_, 514, Text(line));
  }
}

}  // namespace

rules::Result<void> GenerateScenario(const ScenarioOptions& options, Capture* capture) {
  Municipality m(options, capture);
  return m.Run();
}

}  // namespace gen_capture
