// The production AlertSink: notice.log and the `alerts` table (sensor/alerts/alert_store.h).
//
// Writes to SQLite never wait: the inventory, on the same thread, keeps a write transaction open
// between its commits, so a blocking write here would wait for a commit that cannot come. Rows to
// write are therefore kept in memory (one entry per condition) and written in one transaction at
// flush points; when the file is locked (SQLITE_BUSY) they stay and are tried again at the next
// one. Reads (has this condition been noticed already?) go through WAL and never block.
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>

#include "inventory/sqlite_db.h"
#include "sensor/alerts/alert_store.h"

namespace sensor {
namespace {

using inventory_internal::Bind;
using inventory_internal::DbError;
using rules::Result;
using rules::engine::Alert;

constexpr size_t kMaxPending = 65536;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY,
  rule_id TEXT NOT NULL,
  key TEXT NOT NULL,
  rule_version INTEGER NOT NULL,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  title TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  count INTEGER NOT NULL,
  notice_ts INTEGER,
  suppress_us INTEGER NOT NULL,
  src TEXT NOT NULL,
  dst TEXT NOT NULL,
  port INTEGER NOT NULL,
  proto TEXT NOT NULL,
  uid TEXT NOT NULL,
  last_uid TEXT NOT NULL,
  evidence TEXT NOT NULL,
  cves TEXT NOT NULL,
  known_exploited INTEGER NOT NULL,
  refs TEXT NOT NULL,
  advice_nb TEXT NOT NULL,
  advice_en TEXT NOT NULL,
  sensor_id TEXT NOT NULL,
  UNIQUE (rule_id, key)
);
CREATE INDEX IF NOT EXISTS alerts_last_seen ON alerts (last_seen);
)sql";

constexpr const char* kUpsert = R"sql(
INSERT INTO alerts (rule_id, key, rule_version, kind, severity, title, first_seen, last_seen,
                    count, notice_ts, suppress_us, src, dst, port, proto, uid, last_uid,
                    evidence, cves, known_exploited, refs, advice_nb, advice_en, sensor_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
        ?20, ?21, ?22, ?23, ?24)
ON CONFLICT (rule_id, key) DO UPDATE SET
  rule_version = excluded.rule_version, kind = excluded.kind, severity = excluded.severity,
  title = excluded.title, suppress_us = excluded.suppress_us, cves = excluded.cves,
  known_exploited = excluded.known_exploited, refs = excluded.refs,
  advice_nb = excluded.advice_nb, advice_en = excluded.advice_en,
  first_seen = min(first_seen, excluded.first_seen),
  last_seen = max(last_seen, excluded.last_seen),
  last_uid = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_uid ELSE last_uid END,
  count = count + excluded.count,
  notice_ts = coalesce(excluded.notice_ts, notice_ts)
)sql";

std::string Join(const std::vector<std::string>& items, char sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out.push_back(sep);
    out += s;
  }
  return out;
}

bool IsSet(const rules::IpAddress& a) { return a != rules::IpAddress(); }

// One condition's row to write.
struct Pending {
  Alert alert;            // the first alert of the condition in this batch (row fields)
  AlertConn conn;
  int64_t first_us = 0;
  int64_t last_us = 0;
  uint64_t count = 0;
  std::string last_uid;
  std::optional<int64_t> notice_ts;  // a notice.log line was written at this time
  bool existed = false;              // the row was there before
};

class AlertStore final : public AlertSink {
 public:
  AlertStore(std::string db_path, std::string sensor_id, int64_t flush_interval_us)
      : db_path_(std::move(db_path)),
        sensor_id_(std::move(sensor_id)),
        flush_interval_us_(flush_interval_us) {}
  ~AlertStore() override { (void)Close(last_ts_); }

  Result<> Open(const std::string& log_dir, ZeekLogFormat format) {
    log_dir_ = log_dir;
    format_ = format;
    if (db_path_.empty()) return {};
    // One thread (the packet thread) uses the connection: no per-call mutex.
    auto db = inventory_internal::OpenDb(
        db_path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
    if (!db) return tl::make_unexpected(db.error());
    db_ = std::move(*db);
    sqlite3_busy_timeout(db_.get(), 2000);  // only while opening; writes never wait
    std::string sql = std::string("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;") +
                      kSchema;
    char* msg = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string text = msg != nullptr ? msg : "error";
      sqlite3_free(msg);
      return rules::Fail(rules::ErrorCode::kStore, db_path_ + ": creating the alerts table: " + text);
    }
    sqlite3_busy_timeout(db_.get(), 0);
    auto select = inventory_internal::Prepare(
        db_.get(), "SELECT notice_ts, suppress_us FROM alerts WHERE rule_id = ?1 AND key = ?2");
    auto upsert = inventory_internal::Prepare(db_.get(), kUpsert);
    auto begin = inventory_internal::Prepare(db_.get(), "BEGIN IMMEDIATE");
    auto commit = inventory_internal::Prepare(db_.get(), "COMMIT");
    auto rollback = inventory_internal::Prepare(db_.get(), "ROLLBACK");
    if (!select || !upsert || !begin || !commit || !rollback) {
      return tl::make_unexpected(DbError(db_.get(), db_path_));
    }
    select_ = std::move(*select);
    upsert_ = std::move(*upsert);
    begin_ = std::move(*begin);
    commit_ = std::move(*commit);
    rollback_ = std::move(*rollback);
    return {};
  }

  void OnAlert(const Alert& alert, const AlertConn& conn) override {
    if (closed_) return;
    ++stats_.alerts;
    Touch(alert.ts_last_us);
    std::string k = Key(alert);
    auto it = pending_.find(k);
    bool noticed = false;
    bool existed = false;
    if (it != pending_.end() && it->second.notice_ts) {
      noticed = InWindow(alert.ts_first_us, *it->second.notice_ts, alert.suppress_us);
    } else if (select_) {
      sqlite3_bind_text(select_.get(), 1, alert.rule_id.data(),
                        static_cast<int>(alert.rule_id.size()), SQLITE_STATIC);
      sqlite3_bind_text(select_.get(), 2, alert.key.data(), static_cast<int>(alert.key.size()),
                        SQLITE_STATIC);
      int rc = sqlite3_step(select_.get());
      if (rc == SQLITE_ROW) {
        existed = true;
        if (sqlite3_column_type(select_.get(), 0) != SQLITE_NULL) {
          noticed = InWindow(alert.ts_first_us, sqlite3_column_int64(select_.get(), 0),
                             sqlite3_column_int64(select_.get(), 1));
        }
      } else if (rc != SQLITE_DONE) {
        Failed(DbError(db_.get(), db_path_ + ": reading alerts"));
      }
      sqlite3_reset(select_.get());
      sqlite3_clear_bindings(select_.get());
    }
    Pending& p = Add(alert, conn, std::move(k));
    p.existed = p.existed || existed;
    if (noticed) {
      ++stats_.renoticed_skipped;
    } else {
      p.notice_ts = alert.ts_first_us;
      WriteNotice(alert, conn);
    }
    MaybeFlush();
  }

  void OnRepeat(const Alert& alert) override {
    if (closed_) return;
    ++stats_.repeats;
    Touch(alert.ts_last_us);
    Pending& p = Add(alert, AlertConn{}, Key(alert));
    p.existed = true;
    MaybeFlush();
  }

  Result<> Flush() override {
    Result<> written = WritePending();
    if (notice_) {
      if (auto ok = notice_->Flush(); !ok) {
        Failed(ok.error());
        return ok;
      }
    }
    return written;
  }

  Result<> Close(int64_t ts_us) override {
    if (closed_) return {};
    Result<> flushed = Flush();
    closed_ = true;
    if (notice_) {
      if (auto ok = notice_->Close(std::max(ts_us, last_ts_)); !ok && flushed) flushed = ok;
    }
    select_.reset();
    upsert_.reset();
    begin_.reset();
    commit_.reset();
    rollback_.reset();
    db_.reset();
    return flushed;
  }

  AlertStoreStats stats() const override { return stats_; }
  std::optional<rules::Error> last_error() const override { return last_error_; }

 private:
  static std::string Key(const Alert& a) { return a.rule_id + '\x1f' + a.key; }

  // ts lies in the window [notice_ts, notice_ts + window).
  static bool InWindow(int64_t ts, int64_t notice_ts, int64_t window) {
    return ts >= notice_ts && ts - notice_ts < std::max<int64_t>(window, 0);
  }

  void Touch(int64_t ts) {
    last_ts_ = std::max(last_ts_, ts);
    if (next_flush_us_ == 0) next_flush_us_ = ts + flush_interval_us_;
  }

  Pending& Add(const Alert& alert, const AlertConn& conn, std::string key) {
    auto [it, inserted] = pending_.try_emplace(std::move(key));
    Pending& p = it->second;
    if (inserted) {
      p.alert = alert;
      p.conn = conn;
      p.first_us = alert.ts_first_us;
      p.last_us = alert.ts_last_us;
      p.last_uid = alert.uid;
    } else {
      p.first_us = std::min(p.first_us, alert.ts_first_us);
      if (alert.ts_last_us >= p.last_us) {
        p.last_us = alert.ts_last_us;
        p.last_uid = alert.uid;
      }
    }
    p.count += alert.count;
    return p;
  }

  void MaybeFlush() {
    if (pending_.empty()) return;
    if (last_ts_ >= next_flush_us_ || pending_.size() >= kMaxPending) {
      next_flush_us_ = last_ts_ + flush_interval_us_;
      (void)WritePending();
      if (pending_.size() >= kMaxPending) {  // still locked: bounded memory wins
        stats_.rows_dropped += pending_.size();
        pending_.clear();
      }
    }
  }

  void Failed(rules::Error e) {
    ++stats_.store_errors;
    last_error_ = std::move(e);
  }

  Result<> WritePending() {
    if (!db_) {
      pending_.clear();
      return {};
    }
    if (pending_.empty()) return {};
    int rc = sqlite3_step(begin_.get());
    sqlite3_reset(begin_.get());
    if ((rc & 0xff) == SQLITE_BUSY) {
      ++stats_.busy_retries;
      return {};  // the inventory holds the lock: try again at the next flush point
    }
    if (rc != SQLITE_DONE) {
      auto e = DbError(db_.get(), db_path_ + ": BEGIN");
      Failed(e);
      return tl::make_unexpected(e);
    }
    uint64_t inserted = 0;
    uint64_t updated = 0;
    for (auto& [k, p] : pending_) {
      BindRow(p);
      rc = sqlite3_step(upsert_.get());
      sqlite3_reset(upsert_.get());
      sqlite3_clear_bindings(upsert_.get());
      if (rc != SQLITE_DONE) {
        auto e = DbError(db_.get(), db_path_ + ": writing alert " + p.alert.rule_id);
        sqlite3_step(rollback_.get());
        sqlite3_reset(rollback_.get());
        Failed(e);
        return tl::make_unexpected(e);
      }
      ++(p.existed ? updated : inserted);
    }
    rc = sqlite3_step(commit_.get());
    sqlite3_reset(commit_.get());
    if (rc != SQLITE_DONE) {
      auto e = DbError(db_.get(), db_path_ + ": COMMIT");
      sqlite3_step(rollback_.get());
      sqlite3_reset(rollback_.get());
      Failed(e);
      return tl::make_unexpected(e);
    }
    stats_.rows_inserted += inserted;
    stats_.rows_updated += updated;
    pending_.clear();
    return {};
  }

  void BindRow(const Pending& p) {
    sqlite3_stmt* s = upsert_.get();
    const Alert& a = p.alert;
    Bind(s, 1, a.rule_id);
    Bind(s, 2, a.key);
    sqlite3_bind_int64(s, 3, a.rule_version);
    Bind(s, 4, rules::engine::RuleKindName(a.kind));
    Bind(s, 5, rules::engine::SeverityName(a.severity));
    Bind(s, 6, a.title);
    sqlite3_bind_int64(s, 7, p.first_us);
    sqlite3_bind_int64(s, 8, p.last_us);
    sqlite3_bind_int64(s, 9, static_cast<int64_t>(p.count));
    if (p.notice_ts) {
      sqlite3_bind_int64(s, 10, *p.notice_ts);
    } else {
      sqlite3_bind_null(s, 10);
    }
    sqlite3_bind_int64(s, 11, a.suppress_us);
    Bind(s, 12, IsSet(a.src) ? a.src.ToString() : "");
    Bind(s, 13, IsSet(a.dst) ? a.dst.ToString() : "");
    sqlite3_bind_int64(s, 14, a.port);
    Bind(s, 15, p.conn.transport != 0 ? ZeekProtoName(p.conn.transport) : "");
    Bind(s, 16, a.uid);
    Bind(s, 17, p.last_uid);
    Bind(s, 18, a.evidence);
    Bind(s, 19, Join(a.cves, ','));
    sqlite3_bind_int(s, 20, a.known_exploited ? 1 : 0);
    Bind(s, 21, Join(a.references, ' '));
    Bind(s, 22, a.advice_nb);
    Bind(s, 23, a.advice_en);
    Bind(s, 24, sensor_id_);
  }

  void WriteNotice(const Alert& a, const AlertConn& conn) {
    if (log_dir_.empty()) return;
    if (!notice_) {  // opened at the first notice, like Zeek: no alerts, no notice.log
      auto log = ZeekLog::Open(log_dir_, "notice", NoticeFields(), format_, a.ts_first_us);
      if (!log) {
        Failed(log.error());
        return;
      }
      notice_ = std::move(*log);
    }
    ZeekLog& n = *notice_;
    n.Begin();
    n.Time(a.ts_first_us);
    a.uid.empty() ? n.Unset() : n.String(a.uid);
    bool conn_known = IsSet(a.dst);
    if (conn_known) {
      n.Addr(a.src);
      conn.orig_port != 0 ? n.Port(conn.orig_port) : n.Unset();
      n.Addr(a.dst);
      n.Port(a.port);
    } else {
      for (int i = 0; i < 4; ++i) n.Unset();
    }
    n.Unset();  // fuid
    n.Unset();  // file_mime_type
    n.Unset();  // file_desc
    conn.transport != 0 ? n.Enum(ZeekProtoName(conn.transport)) : n.Unset();
    n.Enum(a.rule_id);
    n.String(a.evidence.empty() ? a.title : a.title + ": " + a.evidence);
    n.String(a.cves.empty() ? a.key : Join(a.cves, ','));
    IsSet(a.src) ? n.Addr(a.src) : n.Unset();
    conn_known ? n.Addr(a.dst) : n.Unset();
    a.port != 0 ? n.Port(a.port) : n.Unset();
    n.Count(a.count);
    sensor_id_.empty() ? n.Unset() : n.String(sensor_id_);
    static const std::string kActions[] = {"Notice::ACTION_LOG"};
    n.StringSet(kActions);
    n.Unset();  // email_dest
    n.Interval(a.suppress_us);
    for (int i = 0; i < 5; ++i) n.Unset();  // remote_location.*
    n.String(rules::engine::SeverityName(a.severity));
    n.Count(static_cast<uint64_t>(a.rule_version));
    if (auto ok = n.End(); !ok) {
      Failed(ok.error());
      return;
    }
    ++stats_.notices;
  }

  std::string db_path_;
  std::string sensor_id_;
  int64_t flush_interval_us_;
  std::string log_dir_;
  ZeekLogFormat format_ = ZeekLogFormat::kJson;
  std::unique_ptr<ZeekLog> notice_;
  inventory_internal::SqlitePtr db_;
  inventory_internal::StmtPtr select_;
  inventory_internal::StmtPtr upsert_;
  inventory_internal::StmtPtr begin_;
  inventory_internal::StmtPtr commit_;
  inventory_internal::StmtPtr rollback_;
  std::unordered_map<std::string, Pending> pending_;
  int64_t last_ts_ = 0;
  int64_t next_flush_us_ = 0;
  bool closed_ = false;
  AlertStoreStats stats_;
  std::optional<rules::Error> last_error_;
};

}  // namespace

std::vector<ZeekField> NoticeFields() {
  return {
      {"ts", ZeekType::kTime},
      {"uid", ZeekType::kString},
      {"id.orig_h", ZeekType::kAddr},
      {"id.orig_p", ZeekType::kPort},
      {"id.resp_h", ZeekType::kAddr},
      {"id.resp_p", ZeekType::kPort},
      {"fuid", ZeekType::kString},
      {"file_mime_type", ZeekType::kString},
      {"file_desc", ZeekType::kString},
      {"proto", ZeekType::kEnum},
      {"note", ZeekType::kEnum},
      {"msg", ZeekType::kString},
      {"sub", ZeekType::kString},
      {"src", ZeekType::kAddr},
      {"dst", ZeekType::kAddr},
      {"p", ZeekType::kPort},
      {"n", ZeekType::kCount},
      {"peer_descr", ZeekType::kString},
      {"actions", ZeekType::kStringSet},  // Zeek: set[enum]; ZeekType has no enum set
      {"email_dest", ZeekType::kStringSet},
      {"suppress_for", ZeekType::kInterval},
      {"remote_location.country_code", ZeekType::kString},
      {"remote_location.region", ZeekType::kString},
      {"remote_location.city", ZeekType::kString},
      {"remote_location.latitude", ZeekType::kDouble},
      {"remote_location.longitude", ZeekType::kDouble},
      {"severity", ZeekType::kString},
      {"rule_version", ZeekType::kCount},
  };
}

Result<AlertSinkPtr> OpenAlertStore(const std::string& db_path, const std::string& log_dir,
                                    ZeekLogFormat format, const std::string& sensor_id,
                                    int64_t flush_interval_us) {
  auto store = std::make_unique<AlertStore>(db_path, sensor_id, flush_interval_us);
  if (auto ok = store->Open(log_dir, format); !ok) return tl::make_unexpected(ok.error());
  return AlertSinkPtr(std::move(store));
}

}  // namespace sensor
