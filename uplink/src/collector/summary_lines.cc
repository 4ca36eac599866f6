#include "collector/summary_lines.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace uplink::collector_internal {
namespace {

using Json = nlohmann::json;

// Typed reads that never throw: false when present with the wrong type.
bool ReadString(const Json& obj, const char* key, std::string* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (!it->is_string())
    return false;
  *out = it->get_ref<const std::string&>();
  return true;
}
bool ReadInt(const Json& obj, const char* key, std::optional<int64_t>* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX))
      return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  if (!it->is_number_integer())
    return false;
  *out = it->get<int64_t>();
  return true;
}
bool ReadInt(const Json& obj, const char* key, int64_t* out) {
  std::optional<int64_t> v;
  if (!ReadInt(obj, key, &v))
    return false;
  if (v)
    *out = *v;
  return true;
}
bool ReadBool(const Json& obj, const char* key, bool* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (!it->is_boolean())
    return false;
  *out = it->get<bool>();
  return true;
}
bool ValidTimes(int64_t* first, int64_t* last, int64_t default_first, int64_t default_last) {
  if (*first == 0)
    *first = default_first;
  if (*last == 0)
    *last = default_last;
  if (*last < *first)
    *last = *first;
  return *first >= 0;
}

bool ParseHost(const Json& j, HostLine* h) {
  bool ok = ReadString(j, "host", &h->host) && ReadString(j, "mac", &h->mac) &&
            ReadString(j, "vendor", &h->vendor) && ReadInt(j, "first_seen", &h->first_seen) &&
            ReadInt(j, "last_seen", &h->last_seen);
  if (const auto names = j.find("names"); ok && names != j.end() && !names->is_null()) {
    if (!names->is_array())
      return false;
    for (const auto& n : *names) {
      if (!n.is_string())
        return false;
      if (!n.get_ref<const std::string&>().empty())
        h->names.push_back(n.get<std::string>());
    }
  }
  if (const auto os = j.find("os"); ok && os != j.end() && !os->is_null()) {
    if (!os->is_object())
      return false;
    ok = ReadString(*os, "vendor", &h->os_vendor) && ReadString(*os, "product", &h->os_product) &&
         ReadString(*os, "version", &h->os_version);
  }
  return ok && !h->host.empty();
}

bool ParseService(const Json& j, ServiceLine* s) {
  return ReadString(j, "host", &s->host) && ReadInt(j, "port", &s->port) &&
         ReadString(j, "proto", &s->proto) && ReadString(j, "protocol", &s->protocol) &&
         ReadBool(j, "exposed", &s->exposed) && ReadInt(j, "first_seen", &s->first_seen) &&
         ReadInt(j, "last_seen", &s->last_seen) && !s->host.empty() && !s->proto.empty() &&
         s->port >= 0 && s->port <= 65535;
}

bool ParseSoftware(const Json& j, SoftwareLine* s) {
  return ReadString(j, "host", &s->host) && ReadInt(j, "port", &s->port) &&
         ReadString(j, "role", &s->role) && ReadString(j, "vendor", &s->vendor) &&
         ReadString(j, "product", &s->product) && ReadString(j, "version", &s->version) &&
         ReadString(j, "cpe23", &s->cpe23) && ReadString(j, "raw", &s->raw) &&
         ReadInt(j, "first_seen", &s->first_seen) && ReadInt(j, "last_seen", &s->last_seen) &&
         !s->host.empty() && !s->product.empty() && s->port >= 0 && s->port <= 65535;
}

bool ParseGap(const Json& j, bool spool_drop, GapLine* g) {
  if (spool_drop) {  // the spool's own record (docs/formats.md, "Priority classes")
    g->kind = "spool_drop";
    std::string payload_type;
    const bool ok =
        ReadString(j, "reason", &g->reason) && ReadString(j, "payload_type", &payload_type) &&
        ReadInt(j, "first_batch_seq", &g->from_seq) && ReadInt(j, "last_batch_seq", &g->to_seq) &&
        ReadInt(j, "batches", &g->dropped_batches);
    if (!payload_type.empty())
      g->reason += (g->reason.empty() ? "" : " ") + payload_type;
    return ok;
  }
  g->kind = "gap";
  return ReadString(j, "reason", &g->reason) && ReadInt(j, "from_seq", &g->from_seq) &&
         ReadInt(j, "to_seq", &g->to_seq) && ReadInt(j, "dropped_batches", &g->dropped_batches);
}

}  // namespace

int JsonNestingDepth(std::string_view text) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

std::optional<std::vector<ParsedLine>> ParseSummaryLines(std::string_view json_lines,
                                                         int64_t default_first,
                                                         int64_t default_last, std::string* why) {
  std::vector<ParsedLine> lines;
  size_t line_no = 0;
  while (!json_lines.empty()) {
    ++line_no;
    const size_t nl = json_lines.find('\n');
    const std::string_view text = json_lines.substr(0, nl);
    json_lines.remove_prefix(nl == std::string_view::npos ? json_lines.size() : nl + 1);
    if (JsonNestingDepth(text) > kMaxJsonDepth) {
      if (why)
        *why = "line " + std::to_string(line_no) + ": nested too deeply";
      return std::nullopt;
    }
    const Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      if (why)
        *why = "line " + std::to_string(line_no) + ": not a JSON object";
      return std::nullopt;
    }
    ParsedLine line;
    line.text = text;
    ReadString(j, "type", &line.type);
    bool ok = true;
    if (line.type == "host") {
      line.kind = LineKind::kHost;
      ok = ParseHost(j, &line.host) &&
           ValidTimes(&line.host.first_seen, &line.host.last_seen, default_first, default_last);
    } else if (line.type == "service") {
      line.kind = LineKind::kService;
      ok = ParseService(j, &line.service) &&
           ValidTimes(&line.service.first_seen, &line.service.last_seen, default_first,
                      default_last);
    } else if (line.type == "software") {
      line.kind = LineKind::kSoftware;
      ok = ParseSoftware(j, &line.software) &&
           ValidTimes(&line.software.first_seen, &line.software.last_seen, default_first,
                      default_last);
    } else if (line.type == "gap") {
      line.kind = LineKind::kGap;
      ok = ParseGap(j, false, &line.gap);
    } else if (line.type == "key_rotation") {
      line.kind = LineKind::kKeyRotation;
      KeyRotationLine& k = line.rotation;
      ok = ReadString(j, "old_key_id", &k.old_key_id) &&
           ReadString(j, "new_public_key", &k.new_public_key) &&
           ReadString(j, "new_key_signature", &k.new_key_signature);
    } else if (line.type.empty()) {
      std::string kind;
      if (ReadString(j, "kind", &kind) && kind == "spool_drop") {
        line.kind = LineKind::kGap;
        line.type = "spool_drop";
        ok = ParseGap(j, true, &line.gap);
      }
    }
    if (!ok) {
      line.kind = LineKind::kOther;
      line.recognised = false;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace uplink::collector_internal
