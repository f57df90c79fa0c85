// SQLite connection, statements, transactions and migrations. The same code runs on SQLite 3.40
// (Debian's libsqlite3) and on SQLCipher 3.4.1 (SQLite 3.15.2 with encryption, -DRAHNAMA_SQLCIPHER=ON).
#include "db/database.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "db/migrations.h"

namespace bot::db {

thread_local bool PriorityRecursiveMutex::first_in_line_ = false;
namespace {

// Applies the key to a connection nothing has read through yet (SQLCipher's PRAGMA key).
Status ApplyKey(sqlite3* handle, const std::string& key) {
#if defined(RAHNAMA_SQLCIPHER)
  if (sqlite3_key_v2(handle, "main", key.data(), static_cast<int>(key.size())) != SQLITE_OK)
    return Status::Internal("cannot apply the database key: " + std::string(sqlite3_errmsg(handle)));
  return Status::Ok();
#else
  (void)handle;
  (void)key;
  return Status::InvalidArgument(
      "a database key was given, but this rahnama was built without SQLCipher (cmake -DRAHNAMA_SQLCIPHER=ON)");
#endif
}

// The first read of the file: where an encrypted file opened with a wrong key (or without one)
// shows, as SQLITE_NOTADB.
Status CheckReadable(sqlite3* handle, const std::string& path, bool keyed) {
  const int rc = sqlite3_exec(handle, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return Status::Ok();
  if (rc == SQLITE_NOTADB) {
    if (keyed) return Status::InvalidArgument(path + ": database key is wrong or the file is not a rahnama database");
    return Status::InvalidArgument(path + ": not a readable SQLite database (an encrypted rahnama database needs a "
                                   "SQLCipher build and its key in RAHNAMA_DB_KEY or RAHNAMA_DB_KEY_FILE)");
  }
  const std::string msg = sqlite3_errmsg(handle);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Status::Unavailable("database busy: " + msg);
  return Status::Unavailable("cannot read database " + path + ": " + msg);
}

// An SQLite failure as a Status. Faults of the database itself (busy, full disk, I/O, damage, a
// read-only file) are kUnavailable: they pass or need an operator, and say nothing about the row
// being written (the pipeline must not set a message aside for them). A constraint is kConflict.
Status FromSqlite(int rc, const std::string& msg) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::Unavailable("database busy: " + msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL: return Status::Unavailable("database unavailable: " + msg);
    case SQLITE_CONSTRAINT: return Status::Conflict(msg);
    default: return Status::Internal("sqlite: " + msg);
  }
}

std::string EnvOrEmpty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

bool EncryptionAvailable() {
#if defined(RAHNAMA_SQLCIPHER)
  return true;
#else
  return false;
#endif
}

Result<std::string> DatabaseKeyFromEnvironment() {
  const std::string value = EnvOrEmpty("RAHNAMA_DB_KEY");
  const std::string file = EnvOrEmpty("RAHNAMA_DB_KEY_FILE");
  if (!EncryptionAvailable()) {
    if (value.empty() && file.empty()) return std::string();
    return Status::InvalidArgument(
        std::string(value.empty() ? "RAHNAMA_DB_KEY_FILE" : "RAHNAMA_DB_KEY") +
        " is set, but this rahnama was built without SQLCipher and would store the database unencrypted: "
        "refusing to start. Build with cmake -DRAHNAMA_SQLCIPHER=ON (deploy/README.md section 9) or unset it");
  }
  if (!value.empty() && !file.empty())
    return Status::InvalidArgument("both RAHNAMA_DB_KEY and RAHNAMA_DB_KEY_FILE are set: set only one");
  if (value.empty() && file.empty())
    return Status::InvalidArgument(
        "this rahnama is built with SQLCipher and needs the database key: set RAHNAMA_DB_KEY or "
        "RAHNAMA_DB_KEY_FILE (see deploy/rahnama.env.example)");
  if (!value.empty()) return value;
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read RAHNAMA_DB_KEY_FILE " + file + ": " + std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  std::string key = contents.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (key.empty()) return Status::InvalidArgument("RAHNAMA_DB_KEY_FILE " + file + " is empty");
  return key;
}

Statement::~Statement() {
  if (stmt_ != nullptr) db_->Release(stmt_);
}

Statement& Statement::Bind(int index, int64_t v) {
  sqlite3_bind_int64(stmt_, index, v);
  return *this;
}
Statement& Statement::Bind(int index, double v) {
  sqlite3_bind_double(stmt_, index, v);
  return *this;
}
Statement& Statement::Bind(int index, std::string_view v) {
  sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return FromSqlite(rc, sqlite3_errmsg(sqlite3_db_handle(stmt_)));
}

Status Statement::Run() {
  while (true) {
    auto r = Step();
    if (!r.ok()) return r.status();
    if (!*r) return Status::Ok();
  }
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::Double(int col) const { return sqlite3_column_double(stmt_, col); }
std::string Statement::Text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}
bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Database>> Database::Open(const Options& options) {
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &handle,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = handle ? sqlite3_errmsg(handle) : "out of memory";
    sqlite3_close(handle);
    return Status::Unavailable("cannot open database " + options.path + ": " + msg);
  }
  std::unique_ptr<Database> db(new Database(handle, options.key));
  // The key goes first: every later statement, even PRAGMA journal_mode, reads the file.
  if (!options.key.empty()) BOT_RETURN_IF_ERROR(ApplyKey(handle, options.key));
  sqlite3_busy_timeout(handle, options.busy_timeout_ms);
  BOT_RETURN_IF_ERROR(CheckReadable(handle, options.path, !options.key.empty()));
  BOT_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  BOT_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=" + options.synchronous));
  BOT_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  BOT_RETURN_IF_ERROR(db->Exec("PRAGMA temp_store=MEMORY"));
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(handle_);
}

Status Database::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(handle_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return FromSqlite(rc, msg);
  }
  return Status::Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end() && !in_use_[it->second]) {
    in_use_[it->second] = true;
    return Statement(this, it->second);
  }
  sqlite3_stmt* stmt = nullptr;
#if SQLITE_VERSION_NUMBER >= 3020000
  int rc = sqlite3_prepare_v3(handle_, key.c_str(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt, nullptr);
#else  // SQLCipher 3.4.1 (SQLite 3.15): no v3; PERSISTENT is only an allocation hint
  int rc = sqlite3_prepare_v2(handle_, key.c_str(), static_cast<int>(key.size()), &stmt, nullptr);
#endif
  if (rc != SQLITE_OK) {
    const std::string msg = std::string(sqlite3_errmsg(handle_)) + " in: " + key;
    Status s = FromSqlite(rc, msg);  // a fault of the database stays one (busy, I/O, damaged)
    return s.code() == StatusCode::kInternal ? Status::Internal("sqlite prepare: " + msg) : s;
  }
  if (it == cache_.end()) cache_[key] = stmt;
  in_use_[stmt] = true;
  return Statement(this, stmt);
}

void Database::Release(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  // A statement prepared while the cached one was busy is not cached: finalise it.
  const char* sql = sqlite3_sql(stmt);
  auto it = cache_.find(sql ? sql : "");
  if (it != cache_.end() && it->second == stmt) {
    in_use_[stmt] = false;
  } else {
    in_use_.erase(stmt);
    sqlite3_finalize(stmt);
  }
}

int64_t Database::LastInsertId() const { return sqlite3_last_insert_rowid(handle_); }
int Database::Changes() const { return sqlite3_changes(handle_); }
std::string Database::LastError() const { return sqlite3_errmsg(handle_); }

Result<int> Database::SchemaVersion() {
  BOT_RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at INTEGER NOT NULL)"));
  auto st = Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return static_cast<int>(st->Int(0));
}

Status Database::Migrate() {
  std::lock_guard lock(mutex_);
  auto current = SchemaVersion();
  if (!current.ok()) return current.status();
  const auto& all = Migrations();
  const int latest = all.empty() ? 0 : all.back().version;
  if (*current > latest)
    return Status::Conflict("database schema version " + std::to_string(*current) +
                            " is newer than this binary knows (" + std::to_string(latest) +
                            "); refusing to start — run the newer release or restore a backup");
  for (const Migration& m : all) {
    if (m.version <= *current) continue;
    Transaction tx(*this);
    BOT_RETURN_IF_ERROR(tx.status());
    Status s = Exec(m.sql);
    if (!s.ok()) return Status::Internal("migration " + m.name + " failed: " + s.message());
    auto ins = Prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, strftime('%s','now'))");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, m.version).Bind(2, m.name);
    BOT_RETURN_IF_ERROR(ins->Run());
    BOT_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

Status Database::IntegrityCheck() {
  std::lock_guard lock(mutex_);
  auto st = Prepare("PRAGMA integrity_check");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  std::string result = *row ? st->Text(0) : "no result";
  if (result != "ok") return Status::Internal("integrity check failed: " + result);
  return Status::Ok();
}

Status Database::BackupTo(const std::string& path) {
  sqlite3* dest = nullptr;
  if (sqlite3_open(path.c_str(), &dest) != SQLITE_OK) {
    std::string msg = dest ? sqlite3_errmsg(dest) : "out of memory";
    sqlite3_close(dest);
    return Status::InvalidArgument("cannot open backup file " + path + ": " + msg);
  }
  // SQLCipher: the backup API copies decrypted pages into the destination's pager, which
  // encrypts them with the destination's key; without one the copy would be plaintext.
  if (!key_.empty()) {
    Status keyed = ApplyKey(dest, key_);
    if (!keyed.ok()) {
      sqlite3_close(dest);
      return keyed;
    }
  }
  sqlite3_backup* b = sqlite3_backup_init(dest, "main", handle_, "main");
  if (b == nullptr) {
    std::string msg = sqlite3_errmsg(dest);
    sqlite3_close(dest);
    return Status::Internal("backup init: " + msg);
  }
  // One step: copying in small steps restarts whenever another connection writes, and under
  // steady traffic may never finish. In WAL mode this read does not block the server's writes.
  int rc;
  do {
    {
      std::lock_guard lock(mutex_);
      rc = sqlite3_backup_step(b, -1);
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(5);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(b);
  Status result = rc == SQLITE_DONE ? Status::Ok() : Status::Internal(std::string("backup: ") + sqlite3_errstr(rc));
  if (result.ok()) {
    // The copy is a standalone file: leave it out of WAL mode so it is one file on disk.
    sqlite3_exec(dest, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr);
  }
  sqlite3_close(dest);
  return result;
}

Status Database::BeginBatch() {
  if (in_batch_) return Status::Internal("a batch is already open");
  BOT_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  in_batch_ = true;
  return Status::Ok();
}

Status Database::EndBatch(bool commit) {
  if (!in_batch_) return Status::Internal("no batch is open");
  in_batch_ = false;
  if (!commit) return Exec("ROLLBACK");
  Status s = Exec("COMMIT");
  if (!s.ok()) (void)Exec("ROLLBACK");
  return s;
}

Transaction::Transaction(Database& db) : db_(db), savepoint_(db.in_batch()) {
  status_ = db_.Exec(savepoint_ ? "SAVEPOINT unit" : "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (done_ || !status_.ok()) return;
  if (savepoint_) {
    (void)db_.Exec("ROLLBACK TO unit");
    (void)db_.Exec("RELEASE unit");
  } else {
    (void)db_.Exec("ROLLBACK");
  }
}

Status Transaction::Commit() {
  if (!status_.ok()) return status_;
  done_ = true;
  if (savepoint_) {
    Status s = db_.Exec("RELEASE unit");  // durable when the batch commits
    if (!s.ok()) {
      (void)db_.Exec("ROLLBACK TO unit");
      (void)db_.Exec("RELEASE unit");
    }
    return s;
  }
  Status s = db_.Exec("COMMIT");
  if (!s.ok()) (void)db_.Exec("ROLLBACK");
  return s;
}

}  // namespace bot::db
