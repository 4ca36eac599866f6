// Renders the collector's query results for people (aligned text table) and for programs (JSON
// lines, one object per row, keys as in docs/analysts-guide.md). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uplink/collector/collector.h"

namespace uplink {

enum class OutputFormat { kTable, kJson };
// "table" or "json"; nullopt for anything else.
std::optional<OutputFormat> OutputFormatFromName(std::string_view name);

std::string FormatSoftware(const std::vector<SoftwareRow>& rows, OutputFormat format);
std::string FormatHosts(const std::vector<HostRow>& rows, OutputFormat format);
std::string FormatGaps(const std::vector<GapRow>& rows, OutputFormat format);
std::string FormatKeys(const std::vector<EnrolledKey>& rows, OutputFormat format);
std::string FormatAlerts(const std::vector<AlertRow>& rows, OutputFormat format);
std::string FormatHealth(const std::vector<HealthRow>& rows, OutputFormat format);
// A --since value: "2026-11-22", "2026-11-22T09:50:36Z" (UTC) or a span back from now_us
// ("90s", "30m", "24h", "7d"). nullopt when it is none of these.
std::optional<int64_t> ParseSinceUs(std::string_view text, int64_t now_us);
// "2026-11-22T09:50:36Z" (UTC, whole seconds); "" for 0.
std::string FormatTimeUs(int64_t us);

}  // namespace uplink
