// The production PipelineSink: conn.log, weird.log and stats.log through the Zeek log writers.
// Files are opened at their first record, stamped with that record's packet time (#open), so a
// replay writes the same bytes every time. stats.log counters are per interval, as in Zeek.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sensor/output/zeek_log.h"
#include "sensor/pipeline/pipeline.h"

namespace sensor {
namespace {

using rules::ErrorCode;
using rules::Result;

Result<> MakeDirectories(const std::string& dir) {
  std::string path;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty()) continue;
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return rules::Fail(ErrorCode::kIo, "log directory " + path + ": " + std::strerror(errno));
    }
  }
  if (access(dir.c_str(), W_OK) != 0) {
    return rules::Fail(ErrorCode::kIo, "log directory " + dir + ": " + std::strerror(errno));
  }
  return {};
}

class ZeekLogSink : public PipelineSink {
 public:
  ZeekLogSink(std::string dir, ZeekLogFormat format, std::string peer)
      : dir_(std::move(dir)), format_(format), peer_(std::move(peer)) {}

  void OnFlowEnd(const FlowRecord& flow, FlowEndReason, bool local_orig,
                 bool local_resp) override {
    if (!conn_ && !Open(ConnLog::Open(dir_, format_, flow.start_us), &conn_)) return;
    Keep(conn_->Write(flow, local_orig, local_resp));
  }

  void OnWeird(int64_t ts_us, Weird weird, const DecodedPacket& packet,
               const FlowRecord* flow) override {
    if (!weird_ && !Open(WeirdLog::Open(dir_, format_, ts_us), &weird_)) return;
    WeirdRecord r;
    r.ts_us = ts_us;
    r.name = WeirdName(weird);
    r.peer = peer_;
    FlowEndpoints endpoints;
    if (flow != nullptr) {
      r.uid = flow->uid;
      r.id = &flow->id;
    } else if (packet.ip_version != 0) {
      endpoints.orig_h = packet.src;
      endpoints.resp_h = packet.dst;
      endpoints.orig_p = packet.src_port;
      endpoints.resp_p = packet.dst_port;
      endpoints.proto = packet.ip_proto;
      r.id = &endpoints;
    }
    Keep(weird_->Write(r));
  }

  void OnStats(const StatsRecord& s) override {
    if (!stats_ && !Open(StatsLog::Open(dir_, format_, s.ts_us), &stats_)) return;
    SensorStatsSnapshot out;
    out.ts_us = s.ts_us;
    out.peer = s.peer;
    out.mem = s.mem_bytes >> 20;
    out.pkts_proc = s.pkts_proc - last_.pkts_proc;
    out.bytes_recv = s.bytes_recv - last_.bytes_recv;
    if (s.pkts_link != 0 || s.pkts_dropped != 0 || s.pkts_if_dropped != 0) {
      out.pkts_link = s.pkts_link - last_.pkts_link;
      out.pkts_dropped = s.pkts_dropped - last_.pkts_dropped;
      out.pkts_if_dropped = s.pkts_if_dropped - last_.pkts_if_dropped;
    }
    out.active_tcp_conns = s.active_tcp_conns;
    out.active_udp_conns = s.active_udp_conns;
    out.active_icmp_conns = s.active_icmp_conns;
    out.tcp_conns = s.tcp_conns - last_.tcp_conns;
    out.udp_conns = s.udp_conns - last_.udp_conns;
    out.icmp_conns = s.icmp_conns - last_.icmp_conns;
    out.flows_evicted = s.flows_evicted - last_.flows_evicted;
    out.dpi_states = s.dpi_states;
    out.weirds = s.weirds - last_.weirds;
    last_ = s;
    Keep(stats_->Write(out));
    // stats.log is what an operator tails: make each record visible at once.
    Keep(stats_->Flush());
    if (conn_) Keep(conn_->Flush());
    if (weird_) Keep(weird_->Flush());
  }

  Result<> Close(int64_t ts_us) override {
    if (conn_) Keep(conn_->Close(ts_us));
    if (weird_) Keep(weird_->Close(ts_us));
    if (stats_) Keep(stats_->Close(ts_us));
    if (!first_error_.message.empty()) {
      return tl::make_unexpected(first_error_);
    }
    return {};
  }

 private:
  template <class T>
  bool Open(Result<std::unique_ptr<T>> opened, std::unique_ptr<T>* out) {
    if (!opened) {
      Keep(tl::make_unexpected(opened.error()));
      return false;
    }
    *out = std::move(*opened);
    return true;
  }

  // Remembers the first write error; the capture goes on (logs are not worth a stopped sensor),
  // and Close() returns it.
  void Keep(const Result<>& r) {
    if (!r && first_error_.message.empty()) {
      first_error_ = r.error();
    }
  }

  std::string dir_;
  ZeekLogFormat format_;
  std::string peer_;
  std::unique_ptr<ConnLog> conn_;
  std::unique_ptr<WeirdLog> weird_;
  std::unique_ptr<StatsLog> stats_;
  StatsRecord last_;
  rules::Error first_error_;
};

}  // namespace

Result<PipelineSinkPtr> OpenZeekLogSink(const std::string& dir, LogFormat format,
                                        const std::string& peer) {
  if (auto made = MakeDirectories(dir); !made) {
    return tl::make_unexpected(made.error());
  }
  return std::make_unique<ZeekLogSink>(
      dir, format == LogFormat::kTsv ? ZeekLogFormat::kTsv : ZeekLogFormat::kJson, peer);
}

}  // namespace sensor
