#include "sensor/inventory/inventory.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "inventory/oui.h"
#include "inventory/row_cache.h"
#include "inventory/sqlite_db.h"
#include "inventory/text.h"
#include "rules/version.h"

namespace sensor {

using inventory_internal::Bind;
using inventory_internal::BindNull;
using inventory_internal::ColumnInt;
using inventory_internal::ColumnText;
using inventory_internal::MacVendors;
using inventory_internal::SqlitePtr;
using inventory_internal::StmtPtr;
using rules::ErrorCode;
using rules::Fail;
using rules::Result;

namespace {

constexpr char kSep = '\x1f';  // never in a bounded string (controls are escaped)

// The tables a cache key can name; the first byte of every key.
enum Table : char {
  kHosts = 'h',
  kAddresses = 'a',
  kNames = 'n',
  kOs = 'o',
  kServices = 's',
  kSoftware = 'w',
};

const char* TableName(char t) {
  switch (t) {
    case kHosts: return "hosts";
    case kAddresses: return "host_addresses";
    case kNames: return "host_names";
    case kOs: return "host_os";
    case kServices: return "services";
    case kSoftware: return "software";
  }
  return "";
}

enum TouchState { kHit, kLoaded, kCreated };

// "aa:bb:cc:dd:ee:ff" back to bytes.
std::optional<rules::Mac> ParseMac(std::string_view s) {
  rules::Mac mac{};
  if (s.size() != 17) return std::nullopt;
  for (size_t i = 0; i < 6; ++i) {
    unsigned v = 0;
    for (size_t k = 0; k < 2; ++k) {
      char c = s[i * 3 + k];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<unsigned>(d);
    }
    mac[i] = static_cast<uint8_t>(v);
  }
  return mac;
}

bool IsUnspecified(const rules::IpAddress& ip) {
  if (ip == rules::IpAddress()) return true;
  return ip.is_v4() && (ip.v4() == 0 || ip.v4() == 0xffffffffu);
}

// Zeek's software_type for a banner kind and role.
std::string SoftwareType(std::string_view kind, std::string_view role, std::string_view source) {
  bool server = role != "client";
  auto has = [&](std::string_view s) { return kind.find(s) != std::string_view::npos; };
  if (has("ssh")) return server ? "SSH::SERVER" : "SSH::CLIENT";
  if (has("powered")) return "HTTP::APPSERVER";
  if (has("http") || has("user_agent")) return server ? "HTTP::SERVER" : "HTTP::BROWSER";
  if (has("ftp")) return server ? "FTP::SERVER" : "FTP::CLIENT";
  if (has("smtp")) return server ? "SMTP::MAIL_SERVER" : "SMTP::MAIL_CLIENT";
  if (has("mysql")) return server ? "MySQL::SERVER" : "MySQL::CLIENT";
  std::string base(!source.empty() ? source : kind);
  for (char& c : base) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return base + (server ? "::SERVER" : "::CLIENT");
}

// Whether a software row's identity includes its raw banner. Client software whose product is
// named is one row per (host, kind, vendor, product, version), as in Zeek's software framework:
// every User-Agent string a browser sends (or a scanner makes up) is not a new row, and `raw`
// keeps the first banner as evidence. A version change is still a new row. Without a product the
// banner is all there is; a TLS client's JA3/JA4 hash *is* the identity.
bool SoftwareRawInKey(std::string_view role, std::string_view kind, std::string_view product) {
  return role != "client" || product.empty() || kind == "tls_client";
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// What the cache knows about one stored row.
struct CacheEntry {
  int64_t id = 0;
  int64_t first = 0;     // first_seen as stored
  int64_t stored = 0;    // last_seen as stored
  int64_t latest = 0;    // newest last_seen seen (> stored: pending, written on Flush)
  int32_t extra = 0;     // services: exposed; host_os: confidence
  bool dirty = false;
  bool preloaded = false;  // read at Open and not yet seen in this run (see Preload)
};

class Inventory::Impl {
 public:
  Impl(std::string path, const InventoryConfig& config) : path_(std::move(path)), config_(config) {}

  Result<> Init();
  void Address(const rules::AddressFact& f);
  void Name(const rules::NameFact& f);
  void Os(const rules::OsFact& f);
  void Service(const rules::ServiceFact& f);
  void Software(const rules::SoftwareFact& f);
  Result<> Flush();
  Result<> Close();
  Result<> LogSenders(const std::vector<InventoryLogSender>& senders);

  InventoryStats stats_;
  std::optional<rules::Error> last_error_;

 private:
  struct Statements {
    StmtPtr select, insert, touch;
  };

  // Bounds a fact string into one of the scratch buffers.
  const std::string& B(std::string_view in, std::string* buf) {
    auto r = inventory_internal::BoundString(in, kInventoryMaxStringBytes, buf);
    stats_.strings_cut += r.cut;
    stats_.strings_escaped += r.escaped;
    return *buf;
  }
  bool Begin(int64_t ts);
  void AfterFact(int64_t ts);
  void Error(rules::Error e);
  void Error(const char* what) { Error(inventory_internal::DbError(db_.get(), what)); }
  void ResetCaches();
  Result<> WriteDirty();
  Result<> Commit();
  Result<> LoadOwners();
  Result<> Preload();
  // Finds or creates the row `key` of `table`: binds the key columns with bind_key (parameters
  // from 1) and, for an insert, the other columns with bind_rest (from after the key columns)
  // followed by first_seen, last_seen. Updates last_seen as the cache policy says. nullptr on a
  // store error.
  // *state: kHit (in the cache), kLoaded (read from the database) or kCreated (inserted).
  template <class BindKey, class BindRest>
  CacheEntry* Touch(Table table, const std::string& key, int64_t ts, const BindKey& bind_key,
                    const BindRest& bind_rest, int* state);
  bool WriteTouch(Table table, CacheEntry* e, int64_t ts);
  // The host a HostRef names (see the header); 0 on error.
  int64_t ResolveHost(const rules::HostRef& ref, int64_t ts, std::string_view source);
  // The host row and the address row; nullptr on a store error.
  CacheEntry* TouchHost(const rules::Mac* mac, const rules::IpAddress& ip, int64_t ts);
  CacheEntry* TouchAddress(int64_t host, const rules::IpAddress& ip, int64_t ts,
                           std::string_view source);
  // Touch's outcome for a row already in the cache without a database write: true when `ts`
  // changes nothing but the row's pending last_seen. Hit() then applies it as Touch would.
  bool PureHit(const CacheEntry& e, int64_t ts) const {
    return !e.preloaded && ts >= e.first && ts < e.stored + config_.last_seen_granularity_us;
  }
  void Hit(Table table, CacheEntry* e, int64_t ts) {
    ++stats_.cache_hits;
    if (ts > e->latest) {
      e->latest = ts;
      if (!e->dirty) {
        e->dirty = true;
        dirty_.emplace_back(table, e);
      }
    }
  }
  // Forgets every HostMemo (the cache was dropped or an address changed owner).
  void ForgetHosts() { ++memo_epoch_; }
  // Empties the row cache (its CacheEntry pointers die with it): nothing is complete any more,
  // nothing pending, no HostMemo valid.
  void DropCache() {
    cache_.Clear();
    ForgetHosts();
    dirty_.clear();
    std::fill(std::begin(complete_), std::end(complete_), false);
  }
  bool FirstInRun(std::string_view key);
  ZeekLog* Log(std::unique_ptr<ZeekLog>* log, const char* name, std::vector<ZeekField> fields,
               int64_t ts);
  void EndRecord(ZeekLog* log);

  std::string path_;
  InventoryConfig config_;
  SqlitePtr db_;
  Statements st_[128];  // by Table character
  // Tables that were empty at Open while the cache has never been dropped since: every row of
  // theirs is in the cache, so a cache miss is a new row and needs no SELECT.
  bool complete_[128] = {};
  StmtPtr begin_, commit_, rollback_, raise_confidence_, expose_;
  // The IEEE registries (~4 MiB of CSV), read when the first new MAC-keyed host is stored: a
  // restarted sensor whose hosts are all known never needs them (start-up -40 M instructions).
  const MacVendors& Vendors() {
    if (!vendors_loaded_) {
      vendors_.Load(config_.oui_dir);
      vendors_loaded_ = true;
    }
    return vendors_;
  }
  MacVendors vendors_;
  bool vendors_loaded_ = false;
  inventory_internal::RowHasher row_key_;
  inventory_internal::RowMap<CacheEntry> cache_;  // by row_key_(key)
  std::vector<std::pair<Table, CacheEntry*>> dirty_;
  std::unordered_map<rules::IpAddress, rules::Mac, rules::IpAddressHash> owner_;  // ip -> MAC
  // ResolveHost's memo, direct-mapped by address: the rows an (address, MAC) resolved to, so
  // that the next fact about the same host (a TLS ClientHello gives three) does not build and
  // hash two row keys again (~800 instructions). An entry counts only while memo_epoch_ is the
  // one it was filled in (the cache not dropped, no address changed owner since) and only when
  // both rows are pure hits (PureHit); anything else takes the full path.
  struct HostMemo {
    rules::IpAddress ip;
    rules::Mac mac{};
    bool has_mac = false;
    uint64_t epoch = 0;  // 0: empty
    int64_t host = 0;
    CacheEntry* host_row = nullptr;
    CacheEntry* address_row = nullptr;
  };
  std::vector<HostMemo> host_memo_ = std::vector<HostMemo>(1024);
  uint64_t memo_epoch_ = 1;
  inventory_internal::RowMap<char> logged_;  // by row_key_: what the logs have had this run
  bool in_txn_ = false;
  bool closed_ = false;
  int64_t txn_start_ = 0;
  size_t txn_writes_ = 0;
  int64_t last_ts_ = 0;
  std::unique_ptr<ZeekLog> hosts_log_, services_log_, software_log_;
  // The text of an address for a bound parameter, in ip_text_ (valid until the next call).
  const std::string& IpText(const rules::IpAddress& ip) {
    ip_text_.clear();
    ip.AppendTo(&ip_text_);
    return ip_text_;
  }
  std::string key_, s1_, s2_, s3_, s4_, s5_, s6_, s7_, s8_, ip_text_;  // scratch, reused per fact
};

namespace {

struct TableSql {
  Table table;
  const char* select;
  const char* insert;
};

// Per table: the lookup by key columns, and the insert (key columns, other columns, first_seen,
// last_seen). The touch statement is built from the table name.
const TableSql kTableSql[] = {
    {kHosts, "SELECT id, first_seen, last_seen, 0 FROM hosts WHERE key_kind = ?1 AND key = ?2",
     "INSERT INTO hosts(key_kind, key, mac, vendor, mac_random, first_seen, last_seen) "
     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
    {kAddresses,
     "SELECT id, first_seen, last_seen, 0 FROM host_addresses WHERE host_id = ?1 AND ip = ?2",
     "INSERT INTO host_addresses(host_id, ip, source, first_seen, last_seen) "
     "VALUES(?1, ?2, ?3, ?4, ?5)"},
    {kNames,
     "SELECT id, first_seen, last_seen, 0 FROM host_names WHERE host_id = ?1 AND name = ?2 AND "
     "kind = ?3 AND source = ?4",
     "INSERT INTO host_names(host_id, name, kind, source, first_seen, last_seen) "
     "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
    {kOs,
     "SELECT id, first_seen, last_seen, confidence FROM host_os WHERE host_id = ?1 AND "
     "source = ?2 AND vendor = ?3 AND product = ?4 AND version = ?5 AND family = ?6",
     "INSERT INTO host_os(host_id, source, vendor, product, version, family, confidence, raw, "
     "first_seen, last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
    {kServices,
     "SELECT id, first_seen, last_seen, exposed FROM services WHERE host_id = ?1 AND ip = ?2 "
     "AND port = ?3 AND transport = ?4 AND protocol = ?5",
     "INSERT INTO services(host_id, ip, port, transport, protocol, application, exposed, "
     "first_exposed_seen, first_seen, last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
    {kSoftware,
     // ?9 NULL: any raw (client software with a named product, see SoftwareRawInKey); the
     // newest such row.
     "SELECT id, first_seen, last_seen, 0 FROM software WHERE host_id = ?1 AND port = ?2 AND "
     "transport = ?3 AND role = ?4 AND kind = ?5 AND vendor = ?6 AND product = ?7 AND "
     "version = ?8 AND (?9 IS NULL OR raw = ?9) ORDER BY id DESC LIMIT 1",
     "INSERT INTO software(host_id, port, transport, role, kind, vendor, product, version, raw, "
     "ip, name, cpe23, source, first_seen, last_seen) "
     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"},
};

// Appends the parts to a cache key, kSep between them (no temporaries: this runs per fact).
void AppendParts(std::string* key, std::initializer_list<std::string_view> parts) {
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) key->push_back(kSep);
    first = false;
    key->append(p);
  }
}

void AppendInt(std::string* key, int64_t v) {
  char buf[sizeof v];
  std::memcpy(buf, &v, sizeof v);
  key->append(buf, sizeof buf);
}

}  // namespace

Result<> Inventory::Impl::Init() {
  // NOMUTEX: the connection is used by the packet thread alone (see the class comment), so
  // SQLite's per-call mutex is pure cost (~30 % of the instructions of Preload on a large
  // database: every column read takes and drops it).
  auto db = inventory_internal::OpenDb(
      path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!db) return tl::make_unexpected(db.error());
  db_ = std::move(*db);
  if (auto ok = inventory_internal::EnsureSchema(db_.get(), path_, true); !ok) return ok;
  // Added beside schema version 1 (readers that predate it ignore it; ReadInventory checks
  // that it exists). Times are microseconds of wall clock, like the log store's.
  if (auto ok = inventory_internal::Exec(
          db_.get(),
          "CREATE TABLE IF NOT EXISTS log_senders(sender TEXT PRIMARY KEY, messages INTEGER "
          "NOT NULL, bytes INTEGER NOT NULL, sev0 INTEGER NOT NULL, sev1 INTEGER NOT NULL, "
          "sev2 INTEGER NOT NULL, sev3 INTEGER NOT NULL, sev4 INTEGER NOT NULL, sev5 INTEGER "
          "NOT NULL, sev6 INTEGER NOT NULL, sev7 INTEGER NOT NULL, no_severity INTEGER NOT "
          "NULL, dropped INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT "
          "NULL, quiet INTEGER NOT NULL)");
      !ok) {
    return Fail(ok.error(), path_ + ": ");
  }
  // foreign_keys stays off in the writer: every host_id it writes is the id of a row of hosts
  // it inserted or read in the same or an earlier transaction (a rollback drops the cache), so
  // the per-row parent look-up would only cost (~10 % of an insert).
  if (auto ok = inventory_internal::Exec(
          db_.get(), "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                     "PRAGMA foreign_keys = OFF; PRAGMA journal_size_limit = 67108864; "
                     // A page cache that holds a municipal inventory (tens of MiB at most): the
                     // unique indexes are written in key order, not row order, and every page
                     // that falls out of the default 2 MiB cache is read back through the WAL
                     // index. Fewer, larger checkpoints (each one syncs).
                     "PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY; "
                     "PRAGMA wal_autocheckpoint = 8192; "
                     // Reads (the preload scans every table at start) come straight from a
                     // mapping of the file instead of a read() and a copy into the page cache
                     // per page: start-up over a 22 MiB inventory 0.21 -> 0.18 s. Nothing
                     // truncates the file under the sensor (no VACUUM anywhere).
                     "PRAGMA mmap_size = 268435456");
      !ok) {
    return Fail(ok.error(), path_ + ": ");
  }
  for (const auto& t : kTableSql) {
    Statements& s = st_[static_cast<int>(t.table)];
    std::string touch = std::string("UPDATE ") + TableName(t.table) +
                        " SET last_seen = max(last_seen, ?2), first_seen = min(first_seen, ?2)"
                        " WHERE id = ?1";
    auto sel = inventory_internal::Prepare(db_.get(), t.select);
    auto ins = inventory_internal::Prepare(db_.get(), t.insert);
    auto tch = inventory_internal::Prepare(db_.get(), touch);
    if (!sel || !ins || !tch) return Fail(inventory_internal::DbError(db_.get(), path_), "");
    s.select = std::move(*sel);
    s.insert = std::move(*ins);
    s.touch = std::move(*tch);
  }
  auto b = inventory_internal::Prepare(db_.get(), "BEGIN");
  auto c = inventory_internal::Prepare(db_.get(), "COMMIT");
  auto r = inventory_internal::Prepare(db_.get(), "ROLLBACK");
  auto rc = inventory_internal::Prepare(db_.get(),
                                        "UPDATE host_os SET confidence = ?2 WHERE id = ?1");
  auto ex = inventory_internal::Prepare(
      db_.get(),
      "UPDATE services SET exposed = 1, first_exposed_seen = "
      "min(coalesce(first_exposed_seen, ?2), ?2) WHERE id = ?1");
  if (!b || !c || !r || !rc || !ex) {
    return Fail(inventory_internal::DbError(db_.get(), path_), "");
  }
  begin_ = std::move(*b);
  commit_ = std::move(*c);
  rollback_ = std::move(*r);
  raise_confidence_ = std::move(*rc);
  expose_ = std::move(*ex);
  for (const auto& t : kTableSql) {
    std::string sql = std::string("SELECT 1 FROM ") + TableName(t.table) + " LIMIT 1";
    auto any = inventory_internal::Prepare(db_.get(), sql);
    if (!any) return Fail(any.error(), path_ + ": ");
    auto row = inventory_internal::Step(db_.get(), any->get(), TableName(t.table));
    if (!row) return Fail(row.error(), path_ + ": ");
    complete_[static_cast<int>(t.table)] = !*row;
  }
  if (auto ok = LoadOwners(); !ok) return ok;
  return Preload();
}

// Reads every stored row into the cache, keyed as the fact paths key them, so that a restarted
// sensor finds its rows without one indexed SELECT per row (a table scan costs a fraction of
// that); the tables are then complete and a cache miss is a new row. Skipped when the rows would
// not fit in max_cache_entries (then the SELECT path finds them one by one). A row keeps
// `preloaded` until its first fact, which is then treated exactly like a row the SELECT found
// (known_* logs, last_seen written when the fact is newer).
Result<> Inventory::Impl::Preload() {
  auto count = inventory_internal::Prepare(
      db_.get(),
      "SELECT (SELECT count(*) FROM hosts) + (SELECT count(*) FROM host_addresses) + "
      "(SELECT count(*) FROM host_names) + (SELECT count(*) FROM host_os) + "
      "(SELECT count(*) FROM services) + (SELECT count(*) FROM software)");
  if (!count) return Fail(count.error(), path_ + ": ");
  auto counted = inventory_internal::Step(db_.get(), count->get(), "counting rows");
  if (!counted) return Fail(counted.error(), path_ + ": ");
  int64_t rows = *counted ? ColumnInt(count->get(), 0) : 0;
  sqlite3_reset(count->get());
  if (rows == 0 || static_cast<uint64_t>(rows) >= config_.max_cache_entries) return {};
  cache_.Reserve(static_cast<size_t>(rows));
  // Rows go into the cache in batches whose slots were prefetched first: with ~250,000 rows the
  // slot table is far larger than the caches, and each insert would otherwise wait for memory.
  struct Pending {
    inventory_internal::RowKey key;
    CacheEntry entry;
  };
  constexpr size_t kBatch = 16;
  std::array<Pending, kBatch> pending;
  size_t npending = 0;
  auto drain = [&] {
    for (size_t i = 0; i < npending; ++i) {
      CacheEntry* found = cache_.Find(pending[i].key);
      if (found != nullptr) {
        *found = pending[i].entry;
      } else {
        cache_.Insert(pending[i].key, pending[i].entry);
      }
    }
    npending = 0;
  };
  struct Query {
    Table table;
    const char* sql;  // id, first_seen, last_seen, extra, then the key columns
  };
  const Query kQueries[] = {
      {kHosts, "SELECT id, first_seen, last_seen, 0, key_kind, key FROM hosts"},
      {kAddresses, "SELECT id, first_seen, last_seen, 0, host_id, ip FROM host_addresses"},
      {kNames,
       "SELECT id, first_seen, last_seen, 0, host_id, name, kind, source FROM host_names"},
      {kOs,
       "SELECT id, first_seen, last_seen, confidence, host_id, source, vendor, product, version, "
       "family FROM host_os"},
      {kServices,
       "SELECT id, first_seen, last_seen, exposed, host_id, ip, port, transport, protocol "
       "FROM services"},
      // By id: of rows that differ only in raw (written before SoftwareRawInKey), the newest
      // wins, as the SELECT path's ORDER BY id DESC.
      {kSoftware,
       "SELECT id, first_seen, last_seen, 0, host_id, port, transport, role, kind, vendor, "
       "product, version, raw FROM software ORDER BY id"},
  };
  std::string key;
  for (const Query& q : kQueries) {
    auto stmt = inventory_internal::Prepare(db_.get(), q.sql);
    if (!stmt) return Fail(stmt.error(), path_ + ": ");
    sqlite3_stmt* st = stmt->get();
    auto text = [st](int col) {
      const auto* p = sqlite3_column_text(st, col);
      return std::string_view(p != nullptr ? reinterpret_cast<const char*>(p) : "",
                              static_cast<size_t>(sqlite3_column_bytes(st, col)));
    };
    while (true) {
      auto row = inventory_internal::Step(db_.get(), st, TableName(q.table));
      if (!row) return Fail(row.error(), path_ + ": ");
      if (!*row) break;
      key.assign(1, q.table);
      bool ok = true;
      switch (q.table) {
        case kHosts: {
          if (text(4) == "mac") {
            auto mac = ParseMac(text(5));
            ok = mac.has_value();
            if (ok) {
              key.push_back('m');
              key.append(reinterpret_cast<const char*>(mac->data()), mac->size());
            }
          } else {
            auto ip = rules::IpAddress::Parse(text(5));
            ok = ip.has_value();
            if (ok) {
              key.push_back('i');
              key.append(reinterpret_cast<const char*>(ip->bytes().data()), ip->bytes().size());
            }
          }
          break;
        }
        case kAddresses:
        case kServices: {
          auto ip = rules::IpAddress::Parse(text(5));
          ok = ip.has_value();
          if (ok) {
            AppendInt(&key, ColumnInt(st, 4));
            key.append(reinterpret_cast<const char*>(ip->bytes().data()), ip->bytes().size());
            if (q.table == kServices) {
              AppendInt(&key, static_cast<uint16_t>(ColumnInt(st, 6)));
              AppendInt(&key, static_cast<uint8_t>(ColumnInt(st, 7)));
              key.append(text(8));
            }
          }
          break;
        }
        case kNames:
          AppendInt(&key, ColumnInt(st, 4));
          AppendParts(&key, {text(5), text(6), text(7)});
          break;
        case kOs:
          AppendInt(&key, ColumnInt(st, 4));
          AppendParts(&key, {text(5), text(6), text(7), text(8), text(9)});
          break;
        case kSoftware:
          AppendInt(&key, ColumnInt(st, 4));
          AppendInt(&key, static_cast<uint16_t>(ColumnInt(st, 5)));
          AppendInt(&key, static_cast<uint8_t>(ColumnInt(st, 6)));
          AppendParts(&key, {text(7), text(8), text(9), text(10), text(11)});
          if (SoftwareRawInKey(text(7), text(8), text(10))) AppendParts(&key, {"", text(12)});
          break;
      }
      if (!ok) continue;  // not a key this program writes: the SELECT path will not find it
      Pending& p = pending[npending++];
      p.key = row_key_(key);
      cache_.Prefetch(p.key);
      CacheEntry& e = p.entry;
      e.id = ColumnInt(st, 0);
      e.first = ColumnInt(st, 1);
      e.stored = e.latest = ColumnInt(st, 2);
      e.extra = static_cast<int32_t>(ColumnInt(st, 3));
      e.dirty = false;
      e.preloaded = true;
      if (npending == kBatch) drain();
    }
    drain();  // a later row with the same key wins, as the SELECT path's ORDER BY id DESC
  }
  std::fill(std::begin(complete_), std::end(complete_), true);
  return {};
}

Result<> Inventory::Impl::LoadOwners() {
  owner_.clear();
  ForgetHosts();
  auto stmt = inventory_internal::Prepare(
      db_.get(),
      "SELECT a.ip, h.key FROM host_addresses a JOIN hosts h ON h.id = a.host_id "
      "WHERE h.key_kind = 'mac' ORDER BY a.last_seen, a.id");
  if (!stmt) return Fail(stmt.error(), path_ + ": ");
  while (true) {
    auto row = inventory_internal::Step(db_.get(), stmt->get(), "loading addresses");
    if (!row) return Fail(row.error(), path_ + ": ");
    if (!*row) break;
    auto ip = rules::IpAddress::Parse(ColumnText(stmt->get(), 0));
    auto mac = ParseMac(ColumnText(stmt->get(), 1));
    if (ip && mac) owner_[*ip] = *mac;
  }
  return {};
}

void Inventory::Impl::Error(rules::Error e) {
  ++stats_.store_errors;
  last_error_ = std::move(e);
  if (in_txn_) {
    sqlite3_step(rollback_.get());
    sqlite3_reset(rollback_.get());
    in_txn_ = false;
    // The rolled-back rows may be in the cache: forget everything not known to be stored.
    ResetCaches();
  }
}

void Inventory::Impl::ResetCaches() {
  DropCache();
  ++stats_.cache_resets;
  if (auto ok = LoadOwners(); !ok) {
    ++stats_.store_errors;
    last_error_ = ok.error();
  }
}

bool Inventory::Impl::Begin(int64_t ts) {
  if (in_txn_) return true;
  if (sqlite3_step(begin_.get()) != SQLITE_DONE) {
    sqlite3_reset(begin_.get());
    Error("BEGIN");
    return false;
  }
  sqlite3_reset(begin_.get());
  in_txn_ = true;
  txn_start_ = std::max(last_ts_, ts);
  txn_writes_ = 0;
  return true;
}

Result<> Inventory::Impl::Commit() {
  if (!in_txn_) return {};
  int rc = sqlite3_step(commit_.get());
  sqlite3_reset(commit_.get());
  if (rc != SQLITE_DONE) {
    auto e = inventory_internal::DbError(db_.get(), path_ + ": COMMIT");
    Error(e);
    return tl::make_unexpected(e);
  }
  in_txn_ = false;
  ++stats_.commits;
  return {};
}

void Inventory::Impl::AfterFact(int64_t ts) {
  // Packet time only moves forward here: a late fact (a flow's end reported with an earlier
  // time) neither commits early nor holds the batch open.
  last_ts_ = std::max(last_ts_, ts);
  if (in_txn_ && (txn_writes_ >= config_.batch_facts ||
                  last_ts_ - txn_start_ >= config_.batch_interval_us)) {
    (void)Commit();
  }
}

bool Inventory::Impl::WriteTouch(Table table, CacheEntry* e, int64_t ts) {
  if (!Begin(ts)) return false;
  sqlite3_stmt* s = st_[static_cast<int>(table)].touch.get();
  Bind(s, 1, e->id);
  Bind(s, 2, ts);
  auto done = inventory_internal::Step(db_.get(), s, TableName(table));
  if (!done) {
    Error(done.error());
    return false;
  }
  ++txn_writes_;
  ++stats_.rows_touched;
  e->first = std::min(e->first, ts);
  e->stored = std::max(e->stored, ts);
  e->latest = std::max(e->latest, e->stored);
  return true;
}

template <class BindKey, class BindRest>
CacheEntry* Inventory::Impl::Touch(Table table, const std::string& key, int64_t ts,
                                   const BindKey& bind_key, const BindRest& bind_rest,
                                   int* state) {
  *state = kHit;
  const inventory_internal::RowKey row_key = row_key_(key);
  CacheEntry* found = cache_.Find(row_key);
  if (found != nullptr && found->preloaded) {
    // The first fact of this run about a row read at Open: what the SELECT below would do.
    CacheEntry* e = found;
    e->preloaded = false;
    *state = kLoaded;
    if ((ts < e->first || ts > e->stored) && !WriteTouch(table, e, ts)) return nullptr;
    return e;
  }
  if (found != nullptr) {
    CacheEntry* e = found;
    if (!PureHit(*e, ts)) {
      if (!WriteTouch(table, e, ts)) return nullptr;
      return e;
    }
    Hit(table, e, ts);
    return e;
  }
  if (cache_.size() >= config_.max_cache_entries) {
    if (auto ok = WriteDirty(); !ok) return nullptr;
    DropCache();
    ++stats_.cache_resets;
  }
  Statements& st = st_[static_cast<int>(table)];
  sqlite3_stmt* sel = st.select.get();
  bool row = false;
  if (!complete_[static_cast<int>(table)]) {
    bind_key(sel);
    auto found = inventory_internal::Step(db_.get(), sel, TableName(table));
    if (!found) {
      Error(found.error());
      return nullptr;
    }
    row = *found;
  }
  CacheEntry entry;
  if (row) {
    entry.id = ColumnInt(sel, 0);
    entry.first = ColumnInt(sel, 1);
    entry.stored = ColumnInt(sel, 2);
    entry.latest = entry.stored;
    entry.extra = static_cast<int32_t>(ColumnInt(sel, 3));
    sqlite3_reset(sel);
    *state = kLoaded;
    CacheEntry* e = cache_.Insert(row_key, entry);
    if ((ts < e->first || ts > e->stored) && !WriteTouch(table, e, ts)) return nullptr;
    return e;
  }
  if (!Begin(ts)) return nullptr;
  sqlite3_stmt* ins = st.insert.get();
  int n = bind_key(ins);
  n = bind_rest(ins, n + 1);
  Bind(ins, n + 1, ts);
  Bind(ins, n + 2, ts);
  // Every insert binds all of its parameters, so no sqlite3_clear_bindings (~1-3 k
  // instructions a row).
  auto done = inventory_internal::Step(db_.get(), ins, TableName(table));
  if (!done) {
    Error(done.error());
    return nullptr;
  }
  ++txn_writes_;
  ++stats_.rows_inserted;
  entry.id = sqlite3_last_insert_rowid(db_.get());
  entry.first = entry.stored = entry.latest = ts;
  *state = kCreated;
  return cache_.Insert(row_key, entry);
}

Result<> Inventory::Impl::WriteDirty() {
  // A failed write rolls back and drops the cache (and dirty_): iterate over our own list and
  // stop at the first failure, before touching an entry that is gone.
  std::vector<std::pair<Table, CacheEntry*>> dirty;
  dirty.swap(dirty_);
  for (auto& [table, e] : dirty) {
    e->dirty = false;
    if (e->latest > e->stored && !WriteTouch(table, e, e->latest)) {
      return tl::make_unexpected(*last_error_);
    }
  }
  return {};
}

bool Inventory::Impl::FirstInRun(std::string_view key) {
  inventory_internal::RowKey k = row_key_(key);
  if (logged_.Find(k) != nullptr) return false;
  logged_.Insert(k, 0);
  return true;
}

ZeekLog* Inventory::Impl::Log(std::unique_ptr<ZeekLog>* log, const char* name,
                              std::vector<ZeekField> fields, int64_t ts) {
  if (config_.log_dir.empty()) return nullptr;
  if (!*log) {
    auto opened = ZeekLog::Open(config_.log_dir, name, std::move(fields), config_.log_format, ts);
    if (!opened) {
      ++stats_.store_errors;
      last_error_ = opened.error();
      config_.log_dir.clear();  // do not retry for every fact
      return nullptr;
    }
    *log = std::move(*opened);
  }
  return log->get();
}

void Inventory::Impl::EndRecord(ZeekLog* log) {
  if (auto ok = log->End(); !ok) {
    ++stats_.store_errors;
    last_error_ = ok.error();
  }
}

CacheEntry* Inventory::Impl::TouchHost(const rules::Mac* mac, const rules::IpAddress& ip,
                                       int64_t ts) {
  key_.assign(1, kHosts);
  if (mac != nullptr) {
    key_.push_back('m');
    key_.append(reinterpret_cast<const char*>(mac->data()), mac->size());
  } else {
    key_.push_back('i');
    key_.append(reinterpret_cast<const char*>(ip.bytes().data()), ip.bytes().size());
  }
  std::string text;  // filled only on a cache miss
  int state = kHit;
  CacheEntry* e = Touch(
      kHosts, key_, ts,
      [&](sqlite3_stmt* s) {
        text.clear();  // bind_key runs for the SELECT and again for the INSERT
        if (mac != nullptr) {
          text = rules::MacToString(*mac);
        } else {
          ip.AppendTo(&text);  // AppendTo: no snprintf (ToString costs ~2 k instructions)
        }
        Bind(s, 1, std::string_view(mac != nullptr ? "mac" : "ip"));
        Bind(s, 2, text);
        return 2;
      },
      [&](sqlite3_stmt* s, int i) {
        if (mac != nullptr) {
          bool random = MacVendors::IsLocallyAdministered(*mac);
          std::string_view vendor = random ? std::string_view() : Vendors().Lookup(*mac);
          Bind(s, i, text);
          if (vendor.empty()) {
            BindNull(s, i + 1);
          } else {
            Bind(s, i + 1, vendor);
          }
          Bind(s, i + 2, int64_t{random});
        } else {
          BindNull(s, i);
          BindNull(s, i + 1);
          Bind(s, i + 2, int64_t{0});
        }
        return i + 2;
      },
      &state);
  return e;
}

CacheEntry* Inventory::Impl::TouchAddress(int64_t host, const rules::IpAddress& ip, int64_t ts,
                                          std::string_view source) {
  key_.assign(1, kAddresses);
  AppendInt(&key_, host);
  key_.append(reinterpret_cast<const char*>(ip.bytes().data()), ip.bytes().size());
  int state = kHit;
  CacheEntry* e = Touch(
      kAddresses, key_, ts,
      [&](sqlite3_stmt* s) {
        Bind(s, 1, host);
        Bind(s, 2, IpText(ip));
        return 2;
      },
      [&](sqlite3_stmt* s, int i) {
        Bind(s, i, B(source, &s8_));
        return i;
      },
      &state);
  if (state == kHit) return e;  // a cache hit: already logged in this run
  key_.assign("kh");
  key_.append(reinterpret_cast<const char*>(ip.bytes().data()), ip.bytes().size());
  if (!FirstInRun(key_)) return e;
  if (ZeekLog* log = Log(&hosts_log_, "known_hosts",
                         {{"ts", ZeekType::kTime}, {"host", ZeekType::kAddr}}, ts)) {
    log->Begin();
    log->Time(ts);
    log->Addr(ip);
    EndRecord(log);
  }
  return e;
}

int64_t Inventory::Impl::ResolveHost(const rules::HostRef& ref, int64_t ts,
                                     std::string_view source) {
  const rules::Mac* mac = ref.mac && !MacVendors::IsGroup(*ref.mac) ? &*ref.mac : nullptr;
  if (IsUnspecified(ref.ip)) {
    CacheEntry* host_row = mac != nullptr ? TouchHost(mac, ref.ip, ts) : nullptr;
    return host_row != nullptr ? host_row->id : 0;
  }
  uint64_t mac_bits = 0;
  if (mac != nullptr) std::memcpy(&mac_bits, mac->data(), mac->size());
  HostMemo& memo = host_memo_[(rules::IpAddressHash{}(ref.ip) ^ mac_bits * 0x9e3779b97f4a7c15ull) &
                              (host_memo_.size() - 1)];
  if (memo.epoch == memo_epoch_ && memo.ip == ref.ip && memo.has_mac == (mac != nullptr) &&
      (mac == nullptr || memo.mac == *mac) && PureHit(*memo.host_row, ts) &&
      PureHit(*memo.address_row, ts)) {
    Hit(kHosts, memo.host_row, ts);  // what TouchHost and TouchAddress would do, in their order
    Hit(kAddresses, memo.address_row, ts);
    return memo.host;
  }
  const uint64_t epoch = memo_epoch_;
  CacheEntry* host_row;
  if (mac != nullptr) {
    host_row = TouchHost(mac, ref.ip, ts);
    if (host_row == nullptr) return 0;
    auto [it, inserted] = owner_.try_emplace(ref.ip, *mac);
    if (inserted || it->second != *mac) {
      it->second = *mac;
      ForgetHosts();  // facts without a MAC about this address now name another host
    }
  } else {
    // An address held by a MAC on this segment belongs to that MAC's host (DHCP re-lease safe:
    // the owner moves with the latest address fact).
    auto it = owner_.find(ref.ip);
    host_row = TouchHost(it != owner_.end() ? &it->second : nullptr, ref.ip, ts);
    if (host_row == nullptr) return 0;
  }
  const int64_t host = host_row->id;
  CacheEntry* address_row = TouchAddress(host, ref.ip, ts, source);
  // Remembered only when nothing was forgotten meanwhile (a cache drop would leave host_row
  // dangling; a new owner is remembered by the next fact).
  if (address_row != nullptr && memo_epoch_ == epoch) {
    memo = HostMemo{ref.ip, mac != nullptr ? *mac : rules::Mac{}, mac != nullptr, epoch, host,
                    host_row, address_row};
  }
  return host;
}

void Inventory::Impl::Address(const rules::AddressFact& f) {
  if (closed_) return;
  ++stats_.facts;
  rules::HostRef ref{f.ip, f.mac};
  ResolveHost(ref, f.origin.ts_us, f.origin.source);
  AfterFact(f.origin.ts_us);
}

void Inventory::Impl::Name(const rules::NameFact& f) {
  if (closed_) return;
  ++stats_.facts;
  int64_t ts = f.origin.ts_us;
  int64_t host = ResolveHost(f.host, ts, f.origin.source);
  if (host != 0 && !f.name.empty()) {
    const std::string& name = B(f.name, &s1_);
    const std::string& kind = B(f.kind, &s2_);
    const std::string& source = B(f.origin.source, &s3_);
    key_.assign(1, kNames);
    AppendInt(&key_, host);
    AppendParts(&key_, {name, kind, source});
    int state = kHit;
    Touch(
        kNames, key_, ts,
        [&](sqlite3_stmt* s) {
          Bind(s, 1, host);
          Bind(s, 2, name);
          Bind(s, 3, kind);
          Bind(s, 4, source);
          return 4;
        },
        [](sqlite3_stmt*, int i) { return i - 1; }, &state);
  }
  AfterFact(ts);
}

void Inventory::Impl::Os(const rules::OsFact& f) {
  if (closed_) return;
  ++stats_.facts;
  int64_t ts = f.origin.ts_us;
  int64_t host = ResolveHost(f.host, ts, f.origin.source);
  if (host != 0) {
    const std::string& source = B(f.origin.source, &s1_);
    const std::string& vendor = B(f.vendor, &s2_);
    const std::string& product = B(f.product, &s3_);
    const std::string& version = B(f.version, &s4_);
    const std::string& family = B(f.family, &s5_);
    int confidence = std::clamp(f.confidence, 0, 100);
    key_.assign(1, kOs);
    AppendInt(&key_, host);
    AppendParts(&key_, {source, vendor, product, version, family});
    int state = kHit;
    CacheEntry* e = Touch(
        kOs, key_, ts,
        [&](sqlite3_stmt* s) {
          Bind(s, 1, host);
          Bind(s, 2, source);
          Bind(s, 3, vendor);
          Bind(s, 4, product);
          Bind(s, 5, version);
          Bind(s, 6, family);
          return 6;
        },
        [&](sqlite3_stmt* s, int i) {
          Bind(s, i, int64_t{confidence});
          Bind(s, i + 1, B(f.origin.raw, &s6_));
          return i + 1;
        },
        &state);
    if (e != nullptr && state == kCreated) e->extra = confidence;
    if (e != nullptr && confidence > e->extra && Begin(ts)) {
      // A more confident report of the same guess raises the row's confidence.
      Bind(raise_confidence_.get(), 1, e->id);
      Bind(raise_confidence_.get(), 2, int64_t{confidence});
      if (auto ok = inventory_internal::Step(db_.get(), raise_confidence_.get(), "host_os"); !ok) {
        Error(ok.error());
      } else {
        e->extra = confidence;
        ++stats_.rows_touched;
        ++txn_writes_;
      }
    }
  }
  AfterFact(ts);
}

void Inventory::Impl::Service(const rules::ServiceFact& f) {
  if (closed_) return;
  ++stats_.facts;
  int64_t ts = f.origin.ts_us;
  int64_t host = ResolveHost(f.host, ts, f.origin.source);
  if (host != 0) {
    const std::string& protocol = B(f.protocol, &s1_);
    key_.assign(1, kServices);
    AppendInt(&key_, host);
    key_.append(reinterpret_cast<const char*>(f.host.ip.bytes().data()), 16);
    AppendInt(&key_, f.port);
    AppendInt(&key_, f.transport);
    key_ += protocol;
    int state = kHit;
    CacheEntry* e = Touch(
        kServices, key_, ts,
        [&](sqlite3_stmt* s) {
          Bind(s, 1, host);
          Bind(s, 2, IpText(f.host.ip));
          Bind(s, 3, int64_t{f.port});
          Bind(s, 4, int64_t{f.transport});
          Bind(s, 5, protocol);
          return 5;
        },
        [&](sqlite3_stmt* s, int i) {
          Bind(s, i, B(f.application, &s2_));
          Bind(s, i + 1, int64_t{f.exposed});
          if (f.exposed) {
            Bind(s, i + 2, ts);
          } else {
            BindNull(s, i + 2);
          }
          return i + 2;
        },
        &state);
    if (e != nullptr && state == kCreated) e->extra = f.exposed;
    if (e != nullptr && f.exposed && e->extra == 0 && Begin(ts)) {
      // Once exposed, always exposed.
      Bind(expose_.get(), 1, e->id);
      Bind(expose_.get(), 2, ts);
      if (auto ok = inventory_internal::Step(db_.get(), expose_.get(), "services"); !ok) {
        Error(ok.error());
      } else {
        e->extra = 1;
        ++stats_.rows_touched;
        ++txn_writes_;
      }
    }
    if (e != nullptr && state != kHit) {
      key_[0] = 'k';
      if (FirstInRun(key_)) {
        if (ZeekLog* log = Log(&services_log_, "known_services",
                               {{"ts", ZeekType::kTime},
                                {"host", ZeekType::kAddr},
                                {"port_num", ZeekType::kPort},
                                {"port_proto", ZeekType::kEnum},
                                {"service", ZeekType::kStringSet}},
                               ts)) {
          log->Begin();
          log->Time(ts);
          log->Addr(f.host.ip);
          log->Port(f.port);
          log->Enum(ZeekProtoName(f.transport));
          std::vector<std::string> services;
          if (!protocol.empty()) services.push_back(Upper(protocol));
          log->StringSet(services);
          EndRecord(log);
        }
      }
    }
  }
  AfterFact(ts);
}

void Inventory::Impl::Software(const rules::SoftwareFact& f) {
  if (closed_) return;
  ++stats_.facts;
  int64_t ts = f.origin.ts_us;
  int64_t host = ResolveHost(f.host, ts, f.origin.source);
  if (host != 0) {
    const std::string& role = B(f.role, &s1_);
    const std::string& kind = B(f.kind, &s2_);
    const std::string& vendor = B(f.vendor, &s3_);
    const std::string& product = B(f.product, &s4_);
    const std::string& version = B(f.version, &s5_);
    const std::string& raw = B(f.origin.raw, &s6_);
    key_.assign(1, kSoftware);
    AppendInt(&key_, host);
    AppendInt(&key_, f.port);
    AppendInt(&key_, f.transport);
    const bool raw_in_key = SoftwareRawInKey(role, kind, product);
    AppendParts(&key_, {role, kind, vendor, product, version});
    if (raw_in_key) AppendParts(&key_, {"", raw});
    int state = kHit;
    std::optional<rules::SoftwareDescription> parsed;
    auto describe = [&]() -> const rules::SoftwareDescription& {
      if (!parsed) {
        std::string_view text = raw;
        // "SSH-2.0-OpenSSH_9.2p1 ..." -> "OpenSSH_9.2p1 ..." as Zeek's SSH analyser passes it.
        if (text.rfind("SSH-", 0) == 0) {
          size_t dash = text.find('-', 4);
          if (dash != std::string_view::npos) text.remove_prefix(dash + 1);
        }
        if (text.empty()) {
          // No banner: Zeek's fields from the normalised product and version.
          parsed = rules::SoftwareDescription{
              product, {}, version.empty() ? product : product + "/" + version};
          if (!version.empty()) parsed->version = rules::ParseSoftware("x/" + version).version;
        } else {
          parsed = rules::ParseSoftware(text);
        }
      }
      return *parsed;
    };
    CacheEntry* e = Touch(
        kSoftware, key_, ts,
        [&](sqlite3_stmt* s) {
          Bind(s, 1, host);
          Bind(s, 2, int64_t{f.port});
          Bind(s, 3, int64_t{f.transport});
          Bind(s, 4, role);
          Bind(s, 5, kind);
          Bind(s, 6, vendor);
          Bind(s, 7, product);
          Bind(s, 8, version);
          if (raw_in_key || s != st_[kSoftware].select.get()) {
            Bind(s, 9, raw);
          } else {
            BindNull(s, 9);  // the lookup ignores raw; an insert stores it as evidence
          }
          return 9;
        },
        [&](sqlite3_stmt* s, int i) {
          Bind(s, i, IpText(f.host.ip));
          // The name that ties versions of one product together (the changes view).
          std::string name = product.empty() ? describe().name : product;
          std::string bounded;
          inventory_internal::BoundString(name, kInventoryMaxStringBytes, &bounded);
          Bind(s, i + 1, bounded);
          Bind(s, i + 2, B(f.cpe23, &s7_));
          Bind(s, i + 3, B(f.origin.source, &s8_));
          return i + 3;
        },
        &state);
    if (e != nullptr && state != kHit) {
      key_[0] = 'K';
      if (FirstInRun(key_)) {
        if (ZeekLog* log = Log(&software_log_, "software",
                               {{"ts", ZeekType::kTime},
                                {"host", ZeekType::kAddr},
                                {"host_p", ZeekType::kPort},
                                {"software_type", ZeekType::kEnum},
                                {"name", ZeekType::kString},
                                {"version.major", ZeekType::kCount},
                                {"version.minor", ZeekType::kCount},
                                {"version.minor2", ZeekType::kCount},
                                {"version.minor3", ZeekType::kCount},
                                {"version.addl", ZeekType::kString},
                                {"unparsed_version", ZeekType::kString},
                                {"cpe", ZeekType::kString}},
                               ts)) {
          const rules::SoftwareDescription& d = describe();
          log->Begin();
          log->Time(ts);
          log->Addr(f.host.ip);
          if (f.port != 0 && role != "client") {
            log->Port(f.port);
          } else {
            log->Unset();
          }
          log->Enum(SoftwareType(kind, role, f.origin.source));
          log->String(d.name);
          for (const auto* n : {&d.version.major, &d.version.minor, &d.version.minor2,
                                &d.version.minor3}) {
            if (*n) {
              log->Count(**n);
            } else {
              log->Unset();
            }
          }
          if (d.version.addl) {
            log->String(*d.version.addl);
          } else {
            log->Unset();
          }
          log->String(d.unparsed_version);
          if (f.cpe23.empty()) {
            log->Unset();
          } else {
            log->String(f.cpe23);
          }
          EndRecord(log);
        }
      }
    }
  }
  AfterFact(ts);
}

Result<> Inventory::Impl::Flush() {
  if (closed_) return {};
  if (!dirty_.empty()) {
    if (auto ok = WriteDirty(); !ok) return ok;
  }
  if (auto ok = Commit(); !ok) return ok;
  for (auto* log : {hosts_log_.get(), services_log_.get(), software_log_.get()}) {
    if (log == nullptr) continue;
    if (auto ok = log->Flush(); !ok) {
      ++stats_.store_errors;
      last_error_ = ok.error();
      return ok;
    }
  }
  return {};
}

Result<> Inventory::Impl::Close() {
  if (closed_) return {};
  Result<> result = Flush();
  for (auto* log : {&hosts_log_, &services_log_, &software_log_}) {
    if (!*log) continue;
    if (auto ok = (*log)->Close(last_ts_); !ok && result) result = ok;
    log->reset();
  }
  closed_ = true;
  DropCache();
  for (auto& s : st_) s = Statements{};
  for (auto* stmt : {&begin_, &commit_, &rollback_, &raise_confidence_, &expose_}) stmt->reset();
  // Checkpoint so that the file alone holds everything (the -wal file is then removed).
  db_.reset();
  return result;
}

Result<> Inventory::Impl::LogSenders(const std::vector<InventoryLogSender>& senders) {
  if (closed_) return {};
  if (auto ok = Flush(); !ok) return ok;  // no fact transaction is open after this
  auto stmt = inventory_internal::Prepare(
      db_.get(),
      "INSERT OR REPLACE INTO log_senders(sender, messages, bytes, sev0, sev1, sev2, sev3, sev4, "
      "sev5, sev6, sev7, no_severity, dropped, first_seen, last_seen, quiet) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  if (!stmt) return Fail(stmt.error(), path_ + ": ");
  if (auto ok = inventory_internal::Exec(db_.get(), "BEGIN"); !ok) {
    return Fail(ok.error(), path_ + ": ");
  }
  auto i64 = [](uint64_t v) { return static_cast<int64_t>(v); };
  for (const InventoryLogSender& l : senders) {
    sqlite3_stmt* st = stmt->get();
    sqlite3_reset(st);
    inventory_internal::Bind(st, 1, std::string_view(l.sender));
    inventory_internal::Bind(st, 2, i64(l.messages));
    inventory_internal::Bind(st, 3, i64(l.bytes));
    for (int k = 0; k < 8; ++k) inventory_internal::Bind(st, 4 + k, i64(l.severities[k]));
    inventory_internal::Bind(st, 12, i64(l.no_severity));
    inventory_internal::Bind(st, 13, i64(l.dropped));
    inventory_internal::Bind(st, 14, l.first_seen_us);
    inventory_internal::Bind(st, 15, l.last_seen_us);
    inventory_internal::Bind(st, 16, int64_t{l.quiet ? 1 : 0});
    if (auto row = inventory_internal::Step(db_.get(), st, "log_senders"); !row) {
      (void)inventory_internal::Exec(db_.get(), "ROLLBACK");
      ++stats_.store_errors;
      last_error_ = row.error();
      return Fail(row.error(), path_ + ": ");
    }
  }
  if (auto ok = inventory_internal::Exec(db_.get(), "COMMIT"); !ok) {
    (void)inventory_internal::Exec(db_.get(), "ROLLBACK");
    ++stats_.store_errors;
    return Fail(ok.error(), path_ + ": ");
  }
  return {};
}

Inventory::Inventory(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Inventory::~Inventory() {
  if (impl_) (void)impl_->Close();
}

Result<std::unique_ptr<Inventory>> Inventory::Open(const std::string& path,
                                                   const InventoryConfig& config) {
  auto impl = std::make_unique<Impl>(path, config);
  if (auto ok = impl->Init(); !ok) return tl::make_unexpected(ok.error());
  return std::unique_ptr<Inventory>(new Inventory(std::move(impl)));
}

void Inventory::OnAddress(const rules::AddressFact& fact) { impl_->Address(fact); }
void Inventory::OnName(const rules::NameFact& fact) { impl_->Name(fact); }
void Inventory::OnOs(const rules::OsFact& fact) { impl_->Os(fact); }
void Inventory::OnService(const rules::ServiceFact& fact) { impl_->Service(fact); }
void Inventory::OnSoftware(const rules::SoftwareFact& fact) { impl_->Software(fact); }
Result<> Inventory::SetLogSenders(const std::vector<InventoryLogSender>& senders) {
  return impl_->LogSenders(senders);
}
Result<> Inventory::Flush() { return impl_->Flush(); }
Result<> Inventory::Close() { return impl_->Close(); }
InventoryStats Inventory::stats() const { return impl_->stats_; }
std::optional<rules::Error> Inventory::last_error() const { return impl_->last_error_; }

}  // namespace sensor
