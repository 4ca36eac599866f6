// The protocol logs that carry the inventory's evidence, in Zeek's formats (field names and order
// of Zeek's base/protocols/*/main.zeek; docs/inventory.md "Protocol logs"): ssh.log, http.log and
// ssl.log from the flow's attributes when it ends (the first transaction of the flow, as the
// extractors saw it), dns.log and dhcp.log per message from the extractors. Files open at their
// first record, in the log directory and format of the other logs. These logs stay on the box:
// nothing in them goes into the summaries (URIs, queries).
//
//   sensor::ProtocolLogs logs(dir, ZeekLogFormat::kJson);
//   extractors.SetProtocolLogs(&logs);     // calls OnFlowEnd / OnDns / OnDhcp
//   ...
//   logs.Close(last_packet_time);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/facts.h"
#include "rules/ip_address.h"
#include "rules/result.h"
#include "sensor/flow/flow_record.h"
#include "sensor/output/zeek_log.h"

namespace sensor {

// One DNS response (or a query nobody answered is not logged: the sensor sees responses).
struct DnsTransaction {
  int64_t ts_us = 0;
  const FlowRecord* flow = nullptr;  // uid and id.* (orig = the client)
  uint16_t trans_id = 0;
  std::string query;
  uint16_t qclass = 0, qtype = 0;
  uint8_t rcode = 0;
  bool aa = false, tc = false, rd = false, ra = false;
  uint8_t z = 0;
  std::vector<std::string> answers;  // addresses and names, in the order of the response
  std::vector<int64_t> ttls_us;
};

// One DHCP message (Zeek merges a whole exchange into one line; the sensor writes one line per
// message it sees, with msg_types naming it).
struct DhcpTransaction {
  int64_t ts_us = 0;
  const FlowRecord* flow = nullptr;
  rules::IpAddress client_addr, server_addr;  // unset: not known
  rules::Mac mac{};
  std::string host_name, client_fqdn, domain;
  rules::IpAddress requested_addr, assigned_addr;
  int64_t lease_time_us = 0;
  std::string msg_type;      // "DISCOVER", "OFFER", "REQUEST", "ACK", ...
  std::string vendor_class;  // option 60 (an extra field)
};

struct ProtocolLogStats {
  uint64_t ssh = 0, http = 0, ssl = 0, dns = 0, dhcp = 0;
  uint64_t write_errors = 0;
};

class ProtocolLogs {
 public:
  ProtocolLogs(std::string directory, ZeekLogFormat format);
  ~ProtocolLogs();
  ProtocolLogs(const ProtocolLogs&) = delete;
  ProtocolLogs& operator=(const ProtocolLogs&) = delete;

  void OnFlowEnd(const FlowRecord& flow);
  void OnDns(const DnsTransaction& dns);
  void OnDhcp(const DhcpTransaction& dhcp);

  rules::Result<> Flush();
  rules::Result<> Close(int64_t close_time_us);
  const ProtocolLogStats& stats() const { return stats_; }
  // The first write error, if any (the capture goes on without the log).
  const std::string& error() const { return error_; }

  // "TLSv12" ... as Zeek names versions; "" for an unknown one.
  static std::string TlsVersionName(uint16_t version);

 private:
  // The field list is made only when the file is opened (once per run).
  ZeekLog* Log(std::unique_ptr<ZeekLog>* log, const char* name,
               std::vector<ZeekField> (*fields)(), int64_t ts_us);
  void End(ZeekLog* log);

  std::string directory_;
  ZeekLogFormat format_;
  std::unique_ptr<ZeekLog> ssh_, http_, ssl_, dns_, dhcp_;
  ProtocolLogStats stats_;
  std::string error_;
  bool failed_ = false;
};

}  // namespace sensor
