// Fuzzes the YAML reader that every configuration and rule file goes through.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = rules::ParseYamlDocuments(text, "fuzz.yaml");
  if (docs) {
    for (const auto& doc : *docs) {
      rules::MappingReader r(doc);
      r.Optional("a", [](const rules::YamlNode& v) -> rules::Result<> {
        (void)v.AsDuration();
        (void)v.AsSize();
        (void)v.AsInt(0, 100);
        return {};
      });
      (void)r.Finish();
    }
  }
  return 0;
}
