#include "uplink/rule_bundle_check.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

namespace uplink {
namespace {

using rules::ErrorCode;
using rules::Result;

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

}  // namespace

Result<rules::engine::RuleSet> CheckBundleRules(const RuleBundle& bundle,
                                                const std::vector<std::string>& sources,
                                                const std::string& temp_root) {
  std::set<std::string> names;
  for (const RuleBundleFile& f : bundle.files) {
    if (!names.insert(f.name).second) {
      return rules::Fail(ErrorCode::kInvalidArgument,
                         "rule bundle: two files named '" + f.name +
                             "' (a bundle holds plain file names, one directory)");
    }
  }
  auto source_of = [&](size_t i) {
    return i < sources.size() && !sources[i].empty() ? sources[i] : bundle.files[i].name;
  };
  if (auto ok = CheckRuleFileReferences(bundle, sources); !ok) {
    return tl::make_unexpected(ok.error());
  }
  if (std::none_of(bundle.files.begin(), bundle.files.end(),
                   [](const RuleBundleFile& f) { return f.name.ends_with(".yaml"); })) {
    return rules::Fail(ErrorCode::kInvalidArgument, "rule bundle: no *.yaml rule file in it");
  }
  std::string pattern = temp_root + "/utkikk-bundle-check-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return rules::Fail(ErrorCode::kIo, temp_root + ": cannot make a temporary directory");
  }
  const std::string dir = pattern;
  std::vector<std::string> yaml;
  for (const RuleBundleFile& f : bundle.files) {
    const std::string path = dir + "/" + f.name;
    std::ofstream out(path, std::ios::binary);
    out.write(f.content.data(), static_cast<std::streamsize>(f.content.size()));
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
      return rules::Fail(ErrorCode::kIo, path + ": cannot write");
    }
    if (f.name.ends_with(".yaml")) yaml.push_back(path);
  }
  auto set = rules::engine::LoadRuleFiles(yaml);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (!set) {
    // The loader names the temporary copies: name the files the CSIRT gave instead.
    // Longer names first, so that "a.yaml" never replaces a part of "a.yaml.orig".
    rules::Error e = set.error();
    std::vector<size_t> order(bundle.files.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return bundle.files[a].name.size() > bundle.files[b].name.size();
    });
    for (size_t i : order) ReplaceAll(&e.message, dir + "/" + bundle.files[i].name, source_of(i));
    return tl::make_unexpected(e);
  }
  return set;
}

}  // namespace uplink
