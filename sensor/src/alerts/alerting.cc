// Rules evaluated in the sensor: the Alerter, the fact tee, the flow alerter, the `alerts:`
// settings and OpenAlerting (sensor/alerts/alerting.h).
#include "sensor/alerts/alerting.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace sensor {

using rules::ErrorCode;
using rules::Fail;
using rules::Result;
using rules::YamlNode;
using rules::engine::Alert;

// ---- Alerter ----

Alerter::Alerter(const rules::engine::RuleSet& rules, AlertSinkPtr sink,
                 size_t max_suppressor_entries)
    : rules_(rules), sink_(std::move(sink)), suppressor_(max_suppressor_entries) {}

void Alerter::Raise(const std::vector<Alert>& alerts, const AlertConn& conn) {
  for (const Alert& alert : alerts) {
    ++alerts_;
    if (suppressor_.Admit(alert)) {
      ++emitted_;
      sink_->OnAlert(alert, conn);
      if (observer_) observer_(alert, conn);
    } else {
      sink_->OnRepeat(alert);
    }
  }
}

AlertingStats Alerter::stats() const {
  AlertingStats s;
  s.facts_evaluated = facts_;
  s.flows_evaluated = flows_;
  s.alerts = alerts_;
  s.emitted = emitted_;
  s.suppressed = suppressor_.suppressed();
  s.store = sink_->stats();
  return s;
}

// ---- the fact tee ----

void AlertingFactSink::OnService(const rules::ServiceFact& fact) {
  next_.OnService(fact);
  alerter_.CountFact();
  alerter_.Raise(alerter_.rules().Evaluate(fact), AlertConn{0, fact.transport});
}

void AlertingFactSink::OnSoftware(const rules::SoftwareFact& fact) {
  next_.OnSoftware(fact);
  alerter_.CountFact();
  alerter_.Raise(alerter_.rules().Evaluate(fact), AlertConn{0, fact.transport});
}

// ---- flows ----

rules::engine::FlowObservation FlowAlerter::Observe(const FlowRecord& flow, bool local_orig,
                                                    bool local_resp) {
  rules::engine::FlowObservation o;
  Fill(flow, local_orig, local_resp, &o);
  return o;
}

void FlowAlerter::Fill(const FlowRecord& flow, bool local_orig, bool local_resp,
                       rules::engine::FlowObservation* o) {
  o->ts_us = flow.start_us;
  o->uid = flow.uid;
  o->orig = flow.id.orig_h;
  o->orig_port = flow.id.orig_p;
  o->resp = flow.id.resp_h;
  o->resp_port = flow.id.resp_p;
  o->transport = flow.id.proto;
  // A port that refused the connection (a RST to the SYN) or never answered offers no service
  // and exposes nothing: internet scanners probe every port of every address all day.
  const bool accepted = ResponderAccepted(flow);
  o->accepted = accepted;
  static const FlowAttributes kNone;  // a flow the extractors learnt nothing about
  const FlowAttributes& a = flow.attributes ? *flow.attributes : kNone;
  if (!accepted) {
    o->service.clear();
  } else {
    o->service = a.service.empty() ? flow.classification.service : a.service;
  }
  o->exposed = accepted && !local_orig && local_resp;
  o->tls = a.tls;
  o->cleartext_auth.reset();
  o->http_auth.clear();
  o->smb_version = a.smb_version;
  o->snmp_version = a.snmp_version;
  o->snmp_community = a.snmp_community;
  o->ja3 = a.ja3;
  o->ja4 = a.ja4;
  o->sni = a.sni;
  o->http_host = a.http_host;
  o->user_agent = a.user_agent;
  o->cert_sha256 = a.cert_sha256;
  o->cert_sha1.clear();
}

void FlowAlerter::OnFlowEnd(const FlowRecord& flow, bool local_orig, bool local_resp) {
  alerter_.CountFlow();
  Fill(flow, local_orig, local_resp, &observation_);
  alerter_.Raise(alerter_.rules().Evaluate(observation_),
                 AlertConn{observation_.orig_port, observation_.transport});
}

void Alerting::OnDns(const rules::engine::DnsObservation& dns) {
  alerter_.Raise(rules_.Evaluate(dns), AlertConn{0, 17});
}

void Alerting::OnLogEvent(const rules::engine::LogEvent& event) {
  alerter_.Raise(rules_.Evaluate(event, &log_windows_), AlertConn{});
}

// ---- settings ----

Result<> ReadAlertsSettings(const YamlNode& node, AlertsSettings* settings) {
  if (!node.is_mapping()) return tl::make_unexpected(node.ErrorAt("alerts must be a mapping"));
  rules::MappingReader r(node);
  r.Optional("enabled", [settings](const YamlNode& v) -> Result<> {
    auto b = v.AsBool();
    if (!b) return tl::make_unexpected(b.error());
    settings->enabled = *b;
    return {};
  });
  for (auto [key, field] : {std::pair{"bundle_dir", &settings->bundle_dir},
                            std::pair{"rules_public_key", &settings->rules_public_key},
                            std::pair{"bundle_state", &settings->bundle_state}}) {
    r.Optional(key, [key, field](const YamlNode& v) -> Result<> {
      auto s = v.AsString();
      if (!s) return tl::make_unexpected(s.error());
      if (s->empty()) return tl::make_unexpected(v.ErrorAt(std::string(key) + " must not be empty"));
      *field = *s;
      return {};
    });
  }
  r.Optional("packs_dir", [settings](const YamlNode& v) -> Result<> {
    auto s = v.AsString();
    if (!s) return tl::make_unexpected(s.error());
    if (s->empty()) return tl::make_unexpected(v.ErrorAt("packs_dir must not be empty"));
    settings->packs_dir = *s;
    return {};
  });
  r.Optional("rule_files", [settings](const YamlNode& v) -> Result<> {
    auto list = v.AsStringList();
    if (!list) return tl::make_unexpected(list.error());
    for (size_t i = 0; i < list->size(); ++i) {
      if ((*list)[i].empty()) {
        return tl::make_unexpected(v.items().size() > i ? v.items()[i].ErrorAt("empty file name")
                                                        : v.ErrorAt("empty file name"));
      }
    }
    settings->rule_files = std::move(*list);
    return {};
  });
  r.Optional("zones", [settings](const YamlNode& v) -> Result<> {
    if (!v.is_mapping()) {
      return tl::make_unexpected(v.ErrorAt("zones must map a zone name to a list of CIDRs"));
    }
    settings->zones.clear();
    for (const auto& [name, cidrs] : v.entries()) {
      auto zone = name.AsString();
      if (!zone) return tl::make_unexpected(zone.error());
      if (zone->empty() || *zone == "internet" || *zone == "local") {
        return tl::make_unexpected(
            name.ErrorAt("zone name '" + *zone + "' is empty or reserved (internet, local)"));
      }
      if (!cidrs.is_sequence()) {
        return tl::make_unexpected(cidrs.ErrorAt("zone '" + *zone + "' needs a list of CIDRs"));
      }
      std::vector<rules::Cidr> parsed;
      for (const YamlNode& item : cidrs.items()) {
        auto text = item.AsString();
        if (!text) return tl::make_unexpected(text.error());
        auto cidr = rules::Cidr::Parse(*text);
        if (!cidr) return tl::make_unexpected(item.ErrorAt("'" + *text + "' is not a CIDR"));
        parsed.push_back(*cidr);
      }
      settings->zones.emplace_back(*zone, std::move(parsed));
    }
    return {};
  });
  if (auto ok = r.Finish(); !ok) return ok;
  if (settings->bundle_dir.empty() != settings->rules_public_key.empty()) {
    return tl::make_unexpected(
        node.ErrorAt("alerts: bundle_dir and rules_public_key go together (the bundle is "
                     "verified with the key)"));
  }
  return {};
}

std::string PacksDir(const AlertsSettings& settings) {
  return settings.packs_dir.empty() ? std::string(UTKIKK_PACKS_DIR) : settings.packs_dir;
}

Result<std::vector<std::string>> RuleFiles(const AlertsSettings& settings) {
  namespace fs = std::filesystem;
  const std::string dir = PacksDir(settings);
  std::vector<std::string> files;
  if (!settings.rule_files.empty()) {
    for (const std::string& f : settings.rule_files) {
      files.push_back(fs::path(f).is_absolute() ? f : (fs::path(dir) / f).string());
    }
    return files;
  }
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Fail(ErrorCode::kNotFound, "rule packs: " + dir + ": " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    if (p.extension() == ".yaml" && it->is_regular_file(ec)) files.push_back(p.string());
  }
  if (ec) return Fail(ErrorCode::kIo, "rule packs: " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return Fail(ErrorCode::kNotFound, "rule packs: no *.yaml in " + dir);
  return files;
}

// ---- wiring ----

namespace {

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A JSON string literal: quotes, backslashes and control bytes escaped (rule errors quote file
// names and YAML text).
std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string RulesState::Json() const {
  return "{\"rules\":" + std::to_string(rules) + ",\"files\":" + std::to_string(files) +
         ",\"loaded_at\":" + std::to_string(loaded_at_us) +
         ",\"reloads\":" + std::to_string(reloads) +
         ",\"reload_failures\":" + std::to_string(reload_failures) +
         ",\"last_error\":" + JsonString(last_error) +
         ",\"bundle_version\":" + std::to_string(bundle_version) +
         ",\"bundle_expires\":" + std::to_string(bundle_expires) +
         ",\"bundle_expired\":" + (bundle_expired ? "true" : "false") +
         ",\"bundle_error\":" + JsonString(bundle_error) + "}";
}

Alerting::Alerting(rules::engine::RuleSet rules, AlertSinkPtr sink, rules::FactSink& next,
                   std::vector<std::string> rule_files)
    : rules_(std::move(rules)),
      rule_files_(std::move(rule_files)),
      alerter_(rules_, std::move(sink), 100000),
      facts_(alerter_, next),
      flows_(alerter_) {
  state_.rules = rules_.rules().size();
  state_.files = rule_files_.size();
  state_.loaded_at_us = WallMicros();
}

void Alerting::SetReloadSource(AlertsSettings settings, rules::engine::Networks networks) {
  settings_ = std::move(settings);
  networks_ = std::move(networks);
}

namespace {

struct ChosenRules {
  rules::engine::RuleSet set;
  std::vector<std::string> files;
};

Result<ChosenRules> LoadConfiguredRules(const AlertsSettings& settings) {
  auto files = RuleFiles(settings);
  if (!files) return tl::make_unexpected(files.error());
  auto set = rules::engine::LoadRuleFiles(*files);
  if (!set) return tl::make_unexpected(set.error());
  return ChosenRules{std::move(*set), std::move(*files)};
}

// The rules to run: the installed bundle's when it verifies at now_s and its rules load; the
// configured files when no bundle is installed, or when it is refused (or does not load) at the
// start or while no bundle runs — never no rules. Otherwise the refusal: the running bundle
// stays. Records the bundle's state in *state.
Result<ChosenRules> LoadChosenRules(const AlertsSettings& settings, RuleBundleSource* bundle,
                                    bool starting, int64_t now_s, RulesState* state) {
  if (bundle == nullptr) return LoadConfiguredRules(settings);
  rules::Error refusal;
  bool none_installed = false;
  auto candidate = bundle->Verify(now_s);
  if (candidate) {
    auto set = rules::engine::LoadRuleFiles(candidate->files);
    if (set) {
      state->bundle_version = candidate->version;
      state->bundle_expires = candidate->expires_s;
      state->bundle_expired = candidate->expired;
      state->bundle_error.clear();
      if (auto ok = bundle->Accept(*candidate); !ok) {
        state->bundle_error = "running, but the accepted version is not recorded: " +
                              ok.error().message;
      }
      return ChosenRules{std::move(*set), std::move(candidate->files)};
    }
    bundle->Reject(*candidate);
    refusal = rules::Error{set.error().code, "rule bundle version " +
                                                 std::to_string(candidate->version) +
                                                 ": rules: " + set.error().message};
  } else {
    refusal = candidate.error();
    none_installed = refusal.code == ErrorCode::kNotFound;
  }
  state->bundle_error = none_installed ? "" : refusal.message;
  if (none_installed || starting || bundle->running_version() == 0) {
    bundle->RunConfigured();
    state->bundle_version = 0;
    state->bundle_expires = 0;
    state->bundle_expired = false;
    return LoadConfiguredRules(settings);
  }
  return tl::make_unexpected(refusal);  // the running bundle stays
}

}  // namespace

Result<> Alerting::CheckBundle(int64_t now_us, bool* reloaded) {
  *reloaded = false;
  if (!bundle_) return {};
  const int64_t now_s = now_us / 1'000'000;
  Result<> result;
  if (bundle_->Changed()) {
    uint64_t before = state_.bundle_version;
    result = ReloadAt(now_s);
    *reloaded = result.has_value() && state_.bundle_version != before;
  }
  // The running bundle may expire while it runs: it stays (the last good set), and says so.
  state_.bundle_expired =
      bundle_->running_version() != 0 && now_s >= bundle_->running_expires_s();
  std::vector<rules::engine::Alert> alerts = bundle_->ExpiryAlerts(now_s);
  if (!alerts.empty()) alerter_.Raise(alerts, {});
  return result;
}

Result<> Alerting::Reload() { return ReloadAt(WallMicros() / 1'000'000); }

Result<> Alerting::ReloadAt(int64_t now_s) {
  auto chosen = LoadChosenRules(settings_, bundle_.get(), false, now_s, &state_);
  if (!chosen) {
    ++state_.reload_failures;
    state_.last_error = chosen.error().message;
    return tl::make_unexpected(chosen.error());
  }
  chosen->set.SetNetworks(networks_);
  rules_ = std::move(chosen->set);  // the Alerter's reference now sees the new set
  rule_files_ = std::move(chosen->files);
  ++state_.reloads;
  state_.rules = rules_.rules().size();
  state_.files = rule_files_.size();
  state_.loaded_at_us = WallMicros();
  state_.last_error.clear();
  return {};
}

Result<std::unique_ptr<Alerting>> OpenAlerting(const AlertsSettings& settings,
                                               const std::string& db_path,
                                               const std::string& log_dir, ZeekLogFormat format,
                                               const std::string& sensor_id,
                                               const std::vector<rules::Cidr>& local_nets,
                                               rules::FactSink& next) {
  std::unique_ptr<RuleBundleSource> bundle;
  if (!settings.bundle_dir.empty()) {
    std::string state_path = settings.bundle_state.empty() ? db_path + ".rules-bundle"
                                                           : settings.bundle_state;
    auto source =
        RuleBundleSource::Open(settings.bundle_dir, settings.rules_public_key, state_path);
    if (!source) return tl::make_unexpected(source.error());
    bundle = std::move(*source);
  }
  RulesState bundle_state;
  auto chosen = LoadChosenRules(settings, bundle.get(), true, WallMicros() / 1'000'000,
                                &bundle_state);
  if (!chosen) return Fail(chosen.error(), "rules: ");
  rules::engine::Networks networks;
  networks.local = local_nets;
  networks.zones = settings.zones;
  chosen->set.SetNetworks(networks);
  auto store = OpenAlertStore(db_path, log_dir, format, sensor_id);
  if (!store) return Fail(store.error(), "alerts: ");
  auto alerting = std::make_unique<Alerting>(std::move(chosen->set), std::move(*store), next,
                                             std::move(chosen->files));
  alerting->SetReloadSource(settings, std::move(networks));
  alerting->bundle_ = std::move(bundle);
  alerting->state_.bundle_version = bundle_state.bundle_version;
  alerting->state_.bundle_expires = bundle_state.bundle_expires;
  alerting->state_.bundle_expired = bundle_state.bundle_expired;
  alerting->state_.bundle_error = bundle_state.bundle_error;
  return alerting;
}

}  // namespace sensor
