// libFuzzer target for the fingerprint database: hostile banners through Identify (every kind
// of the real database) and hostile data files through the loader.
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Irules/include -Irules/src \
//     -DUTKIKK_FINGERPRINT_DIR='"rules/fingerprints"' fuzz/fingerprint_fuzz.cc \
//     rules/src/fingerprint.cc rules/src/fingerprint_template.cc rules/src/yaml.cc -lre2 -lyaml
// Input: first byte picks the mode and kind, the rest is the banner (or YAML text).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "rules/fingerprint.h"

namespace {

const rules::FingerprintDb& Db() {
  static const rules::FingerprintDb* db = [] {
    auto loaded = rules::LoadFingerprintDb(UTKIKK_FINGERPRINT_DIR);
    if (!loaded) std::abort();  // the shipped database must load
    return new rules::FingerprintDb(std::move(*loaded));
  }();
  return *db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const rules::FingerprintDb& db = Db();
  static const std::vector<std::string> kinds = db.Kinds();
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] == 0xff) {
    // A data file: must either load or fail cleanly; if it loads, it must match safely.
    auto loaded = rules::LoadFingerprintDbFromString("k", rest, "fuzz.yaml");
    if (loaded) (void)loaded->Identify("k", rest);
    return 0;
  }
  const std::string& kind = kinds[data[0] % kinds.size()];
  if (auto id = db.Identify(kind, rest)) {
    for (const auto& [key, value] : id->Fields()) {
      if (value.empty() || value.size() > (key == "cpe23" ? 512u : 260u)) std::abort();
    }
  }
  return 0;
}
