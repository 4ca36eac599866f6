// Alerts in the sensor (docs/alerts.md): facts and flows are evaluated against the loaded
// rules::engine::RuleSet, repeats are collapsed by the engine's Suppressor, and what is left goes
// to an AlertSink (notice.log and the `alerts` table).
//
//   extractors -> AlertingFactSink -> (summariser ->) inventory      software and service facts
//   pipeline flow end -> FlowAlerter                                  flows (policy, indicators)
//        both -> Alerter (RuleSet + Suppressor) -> AlertSink
//
// In the sensor's main:
//   auto alerting = sensor::OpenAlerting(config.alerts, db, log_dir, fmt, sensor_id,
//                                        config.local_nets, *facts);
//   if (!alerting) { print alerting.error().message; exit 1 }   // a broken rule file
//   facts = &(*alerting)->facts();
//   ... pipeline calls (*alerting)->flows().OnFlowEnd(flow, local_orig, local_resp) ...
//   (*alerting)->Close();
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/engine/alert.h"
#include "rules/engine/rule_set.h"
#include "rules/facts.h"
#include "rules/ip_address.h"
#include "rules/result.h"
#include "rules/yaml.h"
#include "sensor/alerts/alert_store.h"
#include "sensor/alerts/rule_source.h"
#include "sensor/flow/flow_record.h"
#include "sensor/output/zeek_log.h"

namespace sensor {

// The `alerts:` section of utkikk.yaml.
struct AlertsSettings {
  bool enabled = true;
  // Rule files; a relative path is taken in packs_dir. Empty: every *.yaml in packs_dir.
  std::vector<std::string> rule_files;
  std::string packs_dir;  // "" = the packs shipped with the build (UTKIKK_PACKS_DIR)
  // Named CIDR sets policy rules refer to (`orig_zone: building_automation`).
  std::vector<std::pair<std::string, std::vector<rules::Cidr>>> zones;
  // The CSIRT's signed rule bundle (docs/rules.md "Distribution"): the directory utkikk-uplink
  // installs into and the rules public key (PEM) it is verified with; both or neither. When a
  // bundle verifies, its rule files replace rule_files/packs_dir; when none ever did, those run.
  std::string bundle_dir;
  std::string rules_public_key;
  // The highest bundle version accepted (rollback guard); "" = the inventory database's path
  // + ".rules-bundle".
  std::string bundle_state;
};

// Reads the `alerts:` mapping (keys: enabled, rule_files, packs_dir, zones, bundle_dir,
// rules_public_key, bundle_state); errors are
// "file:line:column: message"; unknown keys are errors.
rules::Result<> ReadAlertsSettings(const rules::YamlNode& node, AlertsSettings* settings);

// The packs directory in effect (settings.packs_dir or the shipped one) and the rule files it
// resolves to, sorted.
std::string PacksDir(const AlertsSettings& settings);
rules::Result<std::vector<std::string>> RuleFiles(const AlertsSettings& settings);

// Named counters; a snapshot.
struct AlertingStats {
  uint64_t facts_evaluated = 0;  // software and service facts
  uint64_t flows_evaluated = 0;
  uint64_t alerts = 0;           // alerts the rules raised
  uint64_t emitted = 0;          // ... let through by the Suppressor
  uint64_t suppressed = 0;       // ... collapsed into an earlier alert
  AlertStoreStats store;
};

// The rules, the Suppressor and the sink, shared by AlertingFactSink and FlowAlerter so that a
// telnet service seen as a fact and as a flow raises one alert. Owns the sink; borrows the rule
// set. Not thread-safe: one packet thread.
class Alerter {
 public:
  Alerter(const rules::engine::RuleSet& rules, AlertSinkPtr sink, size_t max_suppressor_entries);
  void Raise(const std::vector<rules::engine::Alert>& alerts, const AlertConn& conn);
  // Called with every alert the sink gets (after suppression), e.g. the summariser.
  using Observer = std::function<void(const rules::engine::Alert&, const AlertConn&)>;
  void SetObserver(Observer observer) { observer_ = std::move(observer); }

  const rules::engine::RuleSet& rules() const { return rules_; }
  AlertSink& sink() { return *sink_; }
  AlertingStats stats() const;
  void CountFact() { ++facts_; }
  void CountFlow() { ++flows_; }

 private:
  const rules::engine::RuleSet& rules_;
  AlertSinkPtr sink_;
  rules::engine::Suppressor suppressor_;
  Observer observer_;
  uint64_t facts_ = 0;
  uint64_t flows_ = 0;
  uint64_t alerts_ = 0;
  uint64_t emitted_ = 0;
};

// A tee in front of the next sink (the inventory, or the summariser in front of it): forwards
// every fact first, then evaluates software facts (software rules) and service facts (policy
// rules). Borrows the Alerter and `next`, which must outlive it; not thread-safe.
class AlertingFactSink : public rules::FactSink {
 public:
  AlertingFactSink(Alerter& alerter, rules::FactSink& next) : alerter_(alerter), next_(next) {}

  void OnAddress(const rules::AddressFact& fact) override { next_.OnAddress(fact); }
  void OnName(const rules::NameFact& fact) override { next_.OnName(fact); }
  void OnOs(const rules::OsFact& fact) override { next_.OnOs(fact); }
  void OnService(const rules::ServiceFact& fact) override;
  void OnSoftware(const rules::SoftwareFact& fact) override;

 private:
  Alerter& alerter_;
  rules::FactSink& next_;
};

// Evaluates ended flows (policy and indicator rules). A flow whose responder never answered
// (no SYN-ACK, no reply packet) is evaluated as not exposed and without a service, so a scan of
// port 3389 from the internet is not "RDP exposed"; indicator rules still see it. Borrows the
// Alerter; not thread-safe.
class FlowAlerter {
 public:
  explicit FlowAlerter(Alerter& alerter) : alerter_(alerter) {}
  // Call for every ended flow (not for interim reports); local_* as for conn.log.
  void OnFlowEnd(const FlowRecord& flow, bool local_orig, bool local_resp);

  // What OnFlowEnd evaluates (exposed for tests).
  static rules::engine::FlowObservation Observe(const FlowRecord& flow, bool local_orig,
                                                bool local_resp);

 private:
  // Sets every field of *o from the flow (Observe's result), reusing o's string buffers.
  static void Fill(const FlowRecord& flow, bool local_orig, bool local_resp,
                   rules::engine::FlowObservation* o);

  Alerter& alerter_;
  rules::engine::FlowObservation observation_;  // reused: no string allocations per flow
};

// What rules are running; a snapshot for the log and the health summary.
struct RulesState {
  size_t rules = 0;               // rules in the running set
  size_t files = 0;               // rule files they came from
  int64_t loaded_at_us = 0;       // wall clock of the load that made the running set
  uint64_t reloads = 0;           // successful reloads since the start
  uint64_t reload_failures = 0;   // reloads refused (the running set stayed)
  std::string last_error;         // why the latest reload was refused; "" after a good one
  uint64_t bundle_version = 0;    // the signed bundle running (0: the configured files)
  int64_t bundle_expires = 0;     // its expiry, Unix seconds
  bool bundle_expired = false;    // the running bundle is past its expiry (kept: last good set)
  std::string bundle_error;       // why the installed bundle is not running ("" when it is)

  // One JSON object for the health summary (`rules` field): the members above.
  std::string Json() const;
};

// Everything OpenAlerting builds. Owned by the sensor's main; not thread-safe.
class Alerting {
 public:
  Alerting(rules::engine::RuleSet rules, AlertSinkPtr sink, rules::FactSink& next,
           std::vector<std::string> rule_files);
  Alerting(const Alerting&) = delete;
  Alerting& operator=(const Alerting&) = delete;

  rules::FactSink& facts() { return facts_; }  // put this in front of `next`
  FlowAlerter& flows() { return flows_; }
  // A DNS response (ExtractorSet::SetDnsObserver) against the indicator rules: a domain or an
  // address on a list in the query or the answers raises an alert about the asking client.
  void OnDns(const rules::engine::DnsObservation& dns);
  // A log event (syslog, via LogFeed) against the log rules; their thresholds count in this
  // object's LogWindows. Alerts the caller makes itself (log-sender-quiet) go through Raise.
  void OnLogEvent(const rules::engine::LogEvent& event);
  void Raise(const std::vector<rules::engine::Alert>& alerts) { alerter_.Raise(alerts, {}); }
  const rules::engine::RuleSet& rule_set() const { return rules_; }
  const std::vector<std::string>& rule_files() const { return rule_files_; }
  // Zones rules refer to that the settings do not define (those conditions never match).
  std::vector<std::string> UnknownZones() const { return rules_.UnknownZones(); }
  AlertingStats stats() const { return alerter_.stats(); }
  // Every emitted alert also goes to `observer` (the summariser's alert lines).
  void SetObserver(Alerter::Observer observer) { alerter_.SetObserver(std::move(observer)); }

  // Where Reload() reads the rules from: the settings and networks OpenAlerting used.
  void SetReloadSource(AlertsSettings settings, rules::engine::Networks networks);
  // Loads the rule files again (the directory is listed again, so a new pack file counts). A
  // broken file keeps the running set and returns its "file:line:column: message"; either way
  // the suppression state stays, so a reload does not repeat alerts. Between packets only.
  rules::Result<> Reload();
  const RulesState& rules_state() const { return state_; }
  // Once a minute (wall clock): reloads when the uplink installed another bundle version
  // (*reloaded set; a refused bundle leaves the running set and returns why) and raises
  // rules-expiring / rules-expired for the running bundle. Without a bundle_dir: nothing.
  rules::Result<> CheckBundle(int64_t now_us, bool* reloaded);

  rules::Result<> Flush() { return alerter_.sink().Flush(); }
  // ts_us: the packet time for notice.log's TSV #close line.
  rules::Result<> Close(int64_t ts_us = 0) { return alerter_.sink().Close(ts_us); }

 private:
  rules::Result<> ReloadAt(int64_t now_s);  // Reload with the bundle checked at now_s
  friend rules::Result<std::unique_ptr<Alerting>> OpenAlerting(
      const AlertsSettings&, const std::string&, const std::string&, ZeekLogFormat,
      const std::string&, const std::vector<rules::Cidr>&, rules::FactSink&);

  rules::engine::RuleSet rules_;  // the Alerter refers to this object; Reload assigns into it
  std::vector<std::string> rule_files_;
  AlertsSettings settings_;
  rules::engine::Networks networks_;
  RulesState state_;
  Alerter alerter_;
  rules::engine::LogWindows log_windows_;  // log rule thresholds (OnLogEvent)
  std::unique_ptr<RuleBundleSource> bundle_;  // null without alerts.bundle_dir
  AlertingFactSink facts_;
  FlowAlerter flows_;
};

// Loads the rule files of `settings` (a broken file fails with "file:line:column: message"; the
// sensor refuses to start), sets the networks (local_nets and settings.zones), opens notice.log
// in log_dir and the `alerts` table in db_path (after the Inventory has opened that file), and
// wires the tee in front of `next`.
rules::Result<std::unique_ptr<Alerting>> OpenAlerting(const AlertsSettings& settings,
                                                      const std::string& db_path,
                                                      const std::string& log_dir,
                                                      ZeekLogFormat format,
                                                      const std::string& sensor_id,
                                                      const std::vector<rules::Cidr>& local_nets,
                                                      rules::FactSink& next);

}  // namespace sensor
