#include "uplink/rule_bundle.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include "file_util.h"
#include "rules/yaml.h"

namespace uplink {
namespace {

using rules::ErrorCode;
using rules::Result;
using rules::YamlNode;

constexpr int64_t kFutureSlackS = 24 * 3600;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kRuleBundleMaxNameBytes || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
}

// Appends v big-endian. The bundle is assembled in a std::string: GCC 12 at -O3 reports false
// -Wstringop-overflow for the same appends into a std::vector<uint8_t> (as in bug 105329).
void AppendU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

std::vector<uint8_t> ToBytes(const std::string& s) { return {s.begin(), s.end()}; }

// The message the signature covers: u32 length + domain, u32 length + manifest (big-endian).
std::vector<uint8_t> SignedMessage(std::string_view manifest) {
  std::string m;
  m.reserve(8 + kRuleBundleDomain.size() + manifest.size());
  AppendU32(&m, static_cast<uint32_t>(kRuleBundleDomain.size()));
  m.append(kRuleBundleDomain);
  AppendU32(&m, static_cast<uint32_t>(manifest.size()));
  m.append(manifest);
  return ToBytes(m);
}

rules::Error Refuse(BundleRejection reason, BundleRejection* why, const std::string& detail) {
  if (why != nullptr) *why = reason;
  return rules::Error{reason == BundleRejection::kMalformed ? ErrorCode::kParse
                                                            : ErrorCode::kRejected,
                      "rule bundle refused (" + std::string(BundleRejectionName(reason)) +
                          "): " + detail};
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseHex(std::string_view s, std::span<uint8_t> out) {
  if (s.size() != out.size() * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // upper case is not the canonical form
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(s[2 * i]);
    int lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

struct ManifestFile {
  std::string name;
  uint64_t size = 0;
  Sha256Digest sha256{};
};

struct Manifest {
  RuleBundle header;  // files empty
  std::vector<ManifestFile> files;
};

// Strict: the lines in the order RuleBundleManifest writes them, single spaces, LF endings.
bool ParseManifest(std::string_view text, Manifest* m, std::string* error) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t lf = text.find('\n');
    if (lf == std::string_view::npos) {
      *error = "manifest does not end with a line feed";
      return false;
    }
    lines.push_back(text.substr(0, lf));
    text.remove_prefix(lf + 1);
  }
  auto field = [&](size_t i, std::string_view key, std::string_view* value) {
    if (i >= lines.size() || lines[i].substr(0, key.size() + 1) != std::string(key) + " ") {
      *error = "manifest line " + std::to_string(i + 1) + ": expected '" + std::string(key) + " '";
      return false;
    }
    *value = lines[i].substr(key.size() + 1);
    return true;
  };
  std::string_view v;
  uint64_t n = 0;
  if (!field(0, "utkikk-rule-bundle", &v) || v != "1") {
    if (error->empty()) *error = "manifest line 1: not format 1";
    return false;
  }
  if (!field(1, "version", &v) || !ParseDecimal(v, &m->header.version) ||
      m->header.version == 0) {
    if (error->empty()) *error = "manifest line 2: bad version";
    return false;
  }
  if (!field(2, "created", &v) || !ParseDecimal(v, &n)) {
    if (error->empty()) *error = "manifest line 3: bad created time";
    return false;
  }
  m->header.created_s = static_cast<int64_t>(n);
  if (!field(3, "expires", &v) || !ParseDecimal(v, &n)) {
    if (error->empty()) *error = "manifest line 4: bad expiry time";
    return false;
  }
  m->header.expires_s = static_cast<int64_t>(n);
  if (!field(4, "key", &v) || !ParseHex(v, m->header.key_id)) {
    if (error->empty()) *error = "manifest line 5: bad key id";
    return false;
  }
  for (size_t i = 5; i < lines.size(); ++i) {
    if (!field(i, "file", &v)) return false;
    ManifestFile f;
    size_t sp1 = v.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : v.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !ParseHex(v.substr(0, sp1), f.sha256) ||
        !ParseDecimal(v.substr(sp1 + 1, sp2 - sp1 - 1), &f.size)) {
      *error = "manifest line " + std::to_string(i + 1) + ": expected 'file SHA256 SIZE NAME'";
      return false;
    }
    f.name = std::string(v.substr(sp2 + 1));
    m->files.push_back(std::move(f));
  }
  if (m->files.empty() || m->files.size() > kRuleBundleMaxFiles) {
    *error = "manifest lists " + std::to_string(m->files.size()) + " files (1 to " +
             std::to_string(kRuleBundleMaxFiles) + ")";
    return false;
  }
  return true;
}

// Everything but the version comparison; `why` is set on refusal.
Result<RuleBundle> Open(std::span<const uint8_t> bytes, const VerifyKey& key, int64_t now_s,
                        BundleRejection* why, bool check_expiry = true) {
  if (why != nullptr) *why = BundleRejection::kNone;
  if (bytes.size() > kRuleBundleMaxBytes) {
    return tl::make_unexpected(Refuse(BundleRejection::kMalformed, why,
                                      std::to_string(bytes.size()) + " bytes is too large"));
  }
  if (bytes.size() < kRuleBundleMagic.size() + 4 ||
      std::string_view(reinterpret_cast<const char*>(bytes.data()), kRuleBundleMagic.size()) !=
          kRuleBundleMagic) {
    return tl::make_unexpected(Refuse(BundleRejection::kMalformed, why, "not a rule bundle"));
  }
  size_t pos = kRuleBundleMagic.size();
  auto u32 = [&](uint32_t* out) {
    if (bytes.size() - pos < 4) return false;
    *out = static_cast<uint32_t>(bytes[pos]) << 24 | static_cast<uint32_t>(bytes[pos + 1]) << 16 |
           static_cast<uint32_t>(bytes[pos + 2]) << 8 | bytes[pos + 3];
    pos += 4;
    return true;
  };
  uint32_t manifest_len = 0;
  if (!u32(&manifest_len) || manifest_len > kRuleBundleMaxManifestBytes ||
      bytes.size() - pos < manifest_len) {
    return tl::make_unexpected(
        Refuse(BundleRejection::kMalformed, why, "manifest length out of bounds"));
  }
  std::string_view manifest_text(reinterpret_cast<const char*>(bytes.data() + pos), manifest_len);
  pos += manifest_len;
  if (bytes.size() - pos < 2) {
    return tl::make_unexpected(Refuse(BundleRejection::kMalformed, why, "truncated"));
  }
  const uint16_t sig_len = static_cast<uint16_t>(bytes[pos] << 8 | bytes[pos + 1]);
  pos += 2;
  if (sig_len == 0) {
    return tl::make_unexpected(Refuse(BundleRejection::kUnsigned, why, "no signature"));
  }
  if (sig_len != kEd25519SignatureSize || bytes.size() - pos < sig_len) {
    return tl::make_unexpected(
        Refuse(BundleRejection::kMalformed, why, "signature length out of bounds"));
  }
  std::span<const uint8_t> signature = bytes.subspan(pos, sig_len);
  pos += sig_len;

  // The key id is read before the signature is checked only to name the right failure; nothing
  // else in the manifest is trusted before the signature verifies.
  Manifest m;
  std::string error;
  if (!ParseManifest(manifest_text, &m, &error)) {
    return tl::make_unexpected(Refuse(BundleRejection::kMalformed, why, error));
  }
  if (m.header.key_id != key.key_id()) {
    return tl::make_unexpected(
        Refuse(BundleRejection::kWrongKey, why,
               "signed by key " + ToHex(m.header.key_id) + ", expected " + ToHex(key.key_id())));
  }
  if (!key.Verify(SignedMessage(manifest_text), signature)) {
    return tl::make_unexpected(
        Refuse(BundleRejection::kBadSignature, why, "the signature does not verify"));
  }

  RuleBundle out = m.header;
  std::set<std::string> names;
  for (const ManifestFile& f : m.files) {
    if (!ValidName(f.name) || !names.insert(f.name).second) {
      return tl::make_unexpected(Refuse(BundleRejection::kBadName, why, "file name '" + f.name +
                                                                            "'"));
    }
    if (bytes.size() - pos < f.size) {
      return tl::make_unexpected(Refuse(BundleRejection::kTampered, why,
                                        f.name + ": shorter than its " + std::to_string(f.size) +
                                            " bytes"));
    }
    std::span<const uint8_t> content = bytes.subspan(pos, f.size);
    pos += f.size;
    if (Sha256(content) != f.sha256) {
      return tl::make_unexpected(
          Refuse(BundleRejection::kTampered, why, f.name + ": SHA-256 differs from the manifest"));
    }
    out.files.push_back({f.name, std::string(content.begin(), content.end())});
  }
  if (pos != bytes.size()) {
    return tl::make_unexpected(Refuse(BundleRejection::kTampered, why,
                                      std::to_string(bytes.size() - pos) +
                                          " bytes after the last file"));
  }
  if (check_expiry && out.expires_s <= now_s) {
    return tl::make_unexpected(
        Refuse(BundleRejection::kExpired, why,
               "version " + std::to_string(out.version) + " expired at " +
                   std::to_string(out.expires_s) + " (now " + std::to_string(now_s) + ")"));
  }
  if (out.created_s > now_s + kFutureSlackS) {
    return tl::make_unexpected(
        Refuse(BundleRejection::kNotYetValid, why,
               "version " + std::to_string(out.version) + " was created at " +
                   std::to_string(out.created_s) + ", more than a day after now (" +
                   std::to_string(now_s) + ")"));
  }
  return out;
}

Result<void> WriteAll(const std::string& path, std::span<const uint8_t> data) {
  internal::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                         0644));
  if (!fd.valid()) {
    return rules::Fail(ErrorCode::kIo, internal::ErrnoMessage("create", path, errno));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return rules::Fail(ErrorCode::kIo, internal::ErrnoMessage("write", path, errno));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return rules::Fail(ErrorCode::kIo, internal::ErrnoMessage("fsync", path, errno));
  }
  return {};
}

void RemoveTree(const std::string& path) {
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") ::unlink((path + "/" + name).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(path.c_str());
}

bool VersionDir(const std::string& name, uint64_t* version) {
  return name.size() > 1 && name[0] == 'v' &&
         ParseDecimal(std::string_view(name).substr(1), version);
}

// Every value of a key ending in "_file" (a string or a list of strings), anywhere in the tree.
Result<> CheckReferences(const YamlNode& node, const std::set<std::string>& names) {
  auto check = [&](const YamlNode& value) -> Result<> {
    auto s = value.AsString();
    if (!s) return tl::make_unexpected(s.error());
    if (s->find('/') != std::string::npos || !names.contains(*s)) {
      return tl::make_unexpected(value.ErrorAt(
          "'" + *s + "' is not a file of the bundle: a rule bundle's *_file must name one of "
          "its own files, without a path (sensors load the bundle from one directory)"));
    }
    return {};
  };
  if (node.is_sequence()) {
    for (const YamlNode& item : node.items()) {
      if (auto ok = CheckReferences(item, names); !ok) return ok;
    }
  } else if (node.is_mapping()) {
    for (const auto& [key, value] : node.entries()) {
      auto k = key.AsString();
      if (k && k->size() > 5 && k->ends_with("_file")) {
        if (value.is_sequence()) {
          for (const YamlNode& item : value.items()) {
            if (auto ok = check(item); !ok) return ok;
          }
        } else if (auto ok = check(value); !ok) {
          return ok;
        }
      } else if (auto ok = CheckReferences(value, names); !ok) {
        return ok;
      }
    }
  }
  return {};
}

}  // namespace

std::string_view BundleRejectionName(BundleRejection why) {
  switch (why) {
    case BundleRejection::kNone: return "none";
    case BundleRejection::kMalformed: return "malformed";
    case BundleRejection::kUnsigned: return "unsigned";
    case BundleRejection::kWrongKey: return "wrong key";
    case BundleRejection::kBadSignature: return "bad signature";
    case BundleRejection::kTampered: return "tampered";
    case BundleRejection::kBadName: return "bad file name";
    case BundleRejection::kRollback: return "rollback";
    case BundleRejection::kAlreadyInstalled: return "already installed";
    case BundleRejection::kExpired: return "expired";
    case BundleRejection::kNotYetValid: return "not yet valid";
  }
  return "unknown";
}

std::string RuleBundleManifest(const RuleBundle& bundle) {
  std::string m = "utkikk-rule-bundle 1\n";
  m += "version " + std::to_string(bundle.version) + "\n";
  m += "created " + std::to_string(bundle.created_s) + "\n";
  m += "expires " + std::to_string(bundle.expires_s) + "\n";
  m += "key " + ToHex(bundle.key_id) + "\n";
  for (const RuleBundleFile& f : bundle.files) {
    m += "file " + ToHex(Sha256(Bytes(f.content))) + " " + std::to_string(f.content.size()) + " " +
         f.name + "\n";
  }
  return m;
}

Result<std::vector<uint8_t>> BuildRuleBundle(const RuleBundle& bundle, const SigningKey& key) {
  if (bundle.version == 0) {
    return rules::Fail(ErrorCode::kInvalidArgument, "rule bundle: version must be 1 or more");
  }
  if (bundle.expires_s <= bundle.created_s) {
    return rules::Fail(ErrorCode::kInvalidArgument, "rule bundle: expires before it is created");
  }
  if (bundle.files.empty() || bundle.files.size() > kRuleBundleMaxFiles) {
    return rules::Fail(ErrorCode::kInvalidArgument, "rule bundle: 1 to " +
                                                        std::to_string(kRuleBundleMaxFiles) +
                                                        " files");
  }
  std::set<std::string> names;
  for (const RuleBundleFile& f : bundle.files) {
    if (!ValidName(f.name) || !names.insert(f.name).second) {
      return rules::Fail(ErrorCode::kInvalidArgument,
                         "rule bundle: file name '" + f.name +
                             "' (letters, digits, '.', '_', '-'; unique; no leading '.')");
    }
  }
  RuleBundle signed_bundle = bundle;
  signed_bundle.key_id = key.key_id();
  const std::string manifest = RuleBundleManifest(signed_bundle);
  if (manifest.size() > kRuleBundleMaxManifestBytes) {
    return rules::Fail(ErrorCode::kInvalidArgument, "rule bundle: manifest too large");
  }
  auto signature = key.Sign(SignedMessage(manifest));
  if (!signature) return tl::make_unexpected(signature.error());
  std::string out(kRuleBundleMagic);
  AppendU32(&out, static_cast<uint32_t>(manifest.size()));
  out.append(manifest);
  out.push_back(static_cast<char>(signature->size() >> 8));
  out.push_back(static_cast<char>(signature->size() & 0xff));
  out.append(reinterpret_cast<const char*>(signature->data()), signature->size());
  for (const RuleBundleFile& f : bundle.files) out.append(f.content);
  if (out.size() > kRuleBundleMaxBytes) {
    return rules::Fail(ErrorCode::kInvalidArgument, "rule bundle: larger than 256 MiB");
  }
  return ToBytes(out);
}

Result<RuleBundle> OpenRuleBundle(std::span<const uint8_t> bytes, const VerifyKey& key,
                                  int64_t now_s, uint64_t installed_version,
                                  BundleRejection* why) {
  auto opened = Open(bytes, key, now_s, why);
  if (!opened) return opened;
  if (opened->version < installed_version) {
    return tl::make_unexpected(Refuse(BundleRejection::kRollback, why,
                                      "version " + std::to_string(opened->version) +
                                          " is older than the installed " +
                                          std::to_string(installed_version)));
  }
  if (opened->version == installed_version) {
    return tl::make_unexpected(Refuse(BundleRejection::kAlreadyInstalled, why,
                                      "version " + std::to_string(opened->version)));
  }
  return opened;
}

Result<uint64_t> InstalledBundleVersion(const std::string& dir) {
  bool too_large = false;
  auto text = internal::ReadFileBounded(dir + "/current", 64, &too_large);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return uint64_t{0};
    return tl::make_unexpected(text.error());
  }
  std::string s(text->begin(), text->end());
  uint64_t version = 0;
  if (too_large || s.size() < 3 || s.back() != '\n' ||
      !VersionDir(s.substr(0, s.size() - 1), &version)) {
    return rules::Fail(ErrorCode::kParse, dir + "/current: expected 'v<N>' and a line feed");
  }
  return version;
}

Result<void> InstallRuleBundle(const std::string& dir, std::span<const uint8_t> bytes,
                               const RuleBundle& bundle) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return rules::Fail(ErrorCode::kIo, internal::ErrnoMessage("mkdir", dir, errno));
  }
  auto previous = InstalledBundleVersion(dir);
  if (!previous) return tl::make_unexpected(previous.error());
  const std::string name = "v" + std::to_string(bundle.version);
  const std::string temp = dir + "/" + internal::kTempPrefix + name;
  const std::string final_dir = dir + "/" + name;
  // Leftovers of a crash: a half-written temporary, or a complete directory `current` never
  // named. Neither is in force, so both are rebuilt from the verified bytes.
  RemoveTree(temp);
  if (bundle.version != *previous) RemoveTree(final_dir);
  if (::mkdir(temp.c_str(), 0755) != 0) {
    return rules::Fail(ErrorCode::kIo, internal::ErrnoMessage("mkdir", temp, errno));
  }
  if (auto ok = WriteAll(temp + "/bundle.utb", bytes); !ok) return ok;
  for (const RuleBundleFile& f : bundle.files) {
    if (auto ok = WriteAll(temp + "/" + f.name, Bytes(f.content)); !ok) return ok;
  }
  if (auto ok = internal::FsyncDir(temp); !ok) return ok;
  if (::rename(temp.c_str(), final_dir.c_str()) != 0) {
    return rules::Fail(ErrorCode::kIo, internal::ErrnoMessage("rename", temp, errno));
  }
  if (auto ok = internal::FsyncDir(dir); !ok) return ok;
  const std::string current = name + "\n";
  if (auto ok = internal::WriteFileAtomic(dir, "current", Bytes(current), 0644, true); !ok) {
    return ok;
  }
  // Keep the new and the previous version; older ones go.
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> old;
    while (dirent* e = ::readdir(d)) {
      uint64_t v = 0;
      std::string n = e->d_name;
      if (VersionDir(n, &v) && v != bundle.version && v != *previous) old.push_back(n);
    }
    ::closedir(d);
    for (const std::string& n : old) RemoveTree(dir + "/" + n);
  }
  return {};
}

Result<InstalledBundle> LoadInstalledBundle(const std::string& dir, const VerifyKey& key,
                                            int64_t now_s, uint64_t accepted_version,
                                            BundleRejection* why, bool allow_expired) {
  if (why != nullptr) *why = BundleRejection::kNone;
  auto version = InstalledBundleVersion(dir);
  if (!version) return tl::make_unexpected(version.error());
  if (*version == 0) return rules::Fail(ErrorCode::kNotFound, dir + ": no bundle installed");
  InstalledBundle out;
  out.directory = dir + "/v" + std::to_string(*version);
  bool too_large = false;
  auto bytes = internal::ReadFileBounded(out.directory + "/bundle.utb", kRuleBundleMaxBytes,
                                         &too_large);
  if (!bytes) return tl::make_unexpected(bytes.error());
  auto opened = Open(*bytes, key, now_s, why, !allow_expired);
  if (!opened) return rules::Fail(opened.error(), out.directory + "/bundle.utb: ");
  if (opened->version != *version) {
    return tl::make_unexpected(Refuse(BundleRejection::kTampered, why,
                                      out.directory + " holds version " +
                                          std::to_string(opened->version)));
  }
  if (opened->version < accepted_version) {
    return tl::make_unexpected(Refuse(BundleRejection::kRollback, why,
                                      "version " + std::to_string(opened->version) +
                                          " is older than the accepted " +
                                          std::to_string(accepted_version)));
  }
  // The loose files are what the rule loader reads: each must be the verified content.
  for (const RuleBundleFile& f : opened->files) {
    std::string path = out.directory + "/" + f.name;
    auto loose = internal::ReadFileBounded(path, f.content.size() + 1, &too_large);
    // Compared as bytes: std::equal of uint8_t against (signed) char would call every byte
    // >= 0x80 — UTF-8 text such as the Norwegian advice — different.
    if (!loose || too_large || loose->size() != f.content.size() ||
        (!f.content.empty() && std::memcmp(loose->data(), f.content.data(), f.content.size()))) {
      return tl::make_unexpected(
          Refuse(BundleRejection::kTampered, why, path + " differs from the signed bundle"));
    }
    out.paths.push_back(std::move(path));
  }
  out.bundle = std::move(*opened);
  return out;
}

Result<void> CheckRuleFileReferences(const RuleBundle& bundle,
                                     const std::vector<std::string>& sources) {
  std::set<std::string> names;
  for (const RuleBundleFile& f : bundle.files) names.insert(f.name);
  for (size_t i = 0; i < bundle.files.size(); ++i) {
    const RuleBundleFile& f = bundle.files[i];
    if (!f.name.ends_with(".yaml")) continue;
    const std::string source = i < sources.size() && !sources[i].empty() ? sources[i] : f.name;
    auto docs = rules::ParseYamlDocuments(f.content, source);
    if (!docs) return tl::make_unexpected(docs.error());
    for (const YamlNode& doc : *docs) {
      if (auto ok = CheckReferences(doc, names); !ok) return ok;
    }
  }
  return {};
}

}  // namespace uplink
