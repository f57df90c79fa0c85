// A SQLite connection with the project's settings (WAL, busy timeout, foreign keys), the migration
// runner, prepared statements and RAII transactions. Only db/ sees this header.
#ifndef DB_DATABASE_H_
#define DB_DATABASE_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "bot/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bot::db {

class Database;

// A prepared statement, reset for reuse when the Statement handle is destroyed.
class Statement {
 public:
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t v);
  Statement& Bind(int index, int v) { return Bind(index, static_cast<int64_t>(v)); }
  Statement& Bind(int index, double v);
  Statement& Bind(int index, std::string_view v);
  Statement& Bind(int index, const std::string& v) { return Bind(index, std::string_view(v)); }
  Statement& Bind(int index, const char* v) { return Bind(index, std::string_view(v)); }
  Statement& BindNull(int index);

  // kOk with true when a row is available, false when done; kUnavailable on SQLITE_BUSY.
  Result<bool> Step();
  // Step until done.
  Status Run();

  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_;
};

// Calls `on_row(statement)` for every row `st` yields; the first step error is returned.
template <typename F>
Status ForEachRow(Statement& st, F&& on_row) {
  while (true) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    on_row(static_cast<const Statement&>(st));
  }
}

// True when this binary was built with SQLCipher (cmake -DRAHNAMA_SQLCIPHER=ON).
bool EncryptionAvailable();

// The database key from the environment: RAHNAMA_DB_KEY, or the contents of the file named by
// RAHNAMA_DB_KEY_FILE (trailing newlines ignored). Setting both is refused, so a stale value
// can never silently create a database under a key nobody meant. On a SQLCipher build: the key,
// or kInvalidArgument naming both variables when neither is set. On a plain SQLite build: an
// empty string, or kInvalidArgument when either is set (refusing beats storing in plaintext).
// The key never appears in a returned message.
Result<std::string> DatabaseKeyFromEnvironment();

// A recursive mutex that one kind of thread can jump the queue for. std::recursive_mutex hands
// itself to whoever wins the race; under a webhook burst that was usually the ingest writer,
// committing group after group, while the urgent lane, holding reports of arrests, fell behind by
// thousands of messages (BENCHMARKS.md run 18). A thread that called FirstInLineForThisThread()
// (the urgent lane) takes the mutex as soon as its holder lets go; the others take it only while
// no such thread waits. They wait only while the urgent lane has urgent messages to answer, one
// batch at a time; letting the others in between its batches took longer to answer the reports.
class PriorityRecursiveMutex {
 public:
  static void FirstInLineForThisThread() { first_in_line_ = true; }

  void lock() {
    const std::thread::id me = std::this_thread::get_id();
    std::unique_lock l(m_);
    if (owner_ == me) {
      ++depth_;
      return;
    }
    ++waiting_;
    if (first_in_line_) {
      ++first_in_line_waiting_;
      free_.wait(l, [&] { return owner_ == std::thread::id(); });
      --first_in_line_waiting_;
    } else {
      free_.wait(l, [&] { return owner_ == std::thread::id() && first_in_line_waiting_ == 0; });
    }
    --waiting_;
    owner_ = me;
    depth_ = 1;
  }
  void unlock() {
    {
      std::lock_guard l(m_);
      if (--depth_ > 0) return;
      owner_ = std::thread::id();
    }
    free_.notify_all();
  }
  // Threads waiting for it now (for tests).
  int waiting() {
    std::lock_guard l(m_);
    return waiting_;
  }

 private:
  static thread_local bool first_in_line_;
  std::mutex m_;
  std::condition_variable free_;
  std::thread::id owner_;  // default-constructed: nobody
  int depth_ = 0;
  int waiting_ = 0;
  int first_in_line_waiting_ = 0;
};

class Database {
 public:
  struct Options {
    std::string path;
    std::string synchronous = "FULL";  // every acknowledged message survives power loss
    int busy_timeout_ms = 10000;
    // SQLCipher key (a passphrase), applied before anything reads the file. Empty: no
    // encryption; a non-empty key on a plain SQLite build is refused.
    std::string key;
  };

  // Opens (creating if needed) and configures the database. Does not migrate. kInvalidArgument
  // "database key is wrong or the file is not a rahnama database" when the file cannot be read
  // with the key given (or, without one, is encrypted or not SQLite at all).
  static Result<std::unique_ptr<Database>> Open(const Options& options);
  ~Database();

  // Applies pending migrations in order, each in its own transaction, recording them in
  // schema_migrations. Refuses (kConflict) a database whose schema is newer than this binary.
  Status Migrate();
  Result<int> SchemaVersion();
  // PRAGMA integrity_check; kInternal with SQLite's report when it is not "ok".
  Status IntegrityCheck();
  // Online, consistent copy to `path` (sqlite3 backup API); safe while others write. The copy is
  // encrypted with this connection's key when it has one.
  Status BackupTo(const std::string& path);

  Status Exec(std::string_view sql);
  // Prepared statements are cached per SQL text.
  Result<Statement> Prepare(std::string_view sql);
  int64_t LastInsertId() const;
  int Changes() const;
  std::string LastError() const;

  // Serialises users of this connection; hold it across a transaction.
  PriorityRecursiveMutex& mutex() { return mutex_; }

  // One outer transaction for many units of work (REQUIRES: mutex() held from Begin to End):
  // while it is open, each Transaction becomes a SAVEPOINT inside it, so a unit that fails rolls
  // back alone and the batch commits once (one WAL append for pages many units touched).
  Status BeginBatch();
  Status EndBatch(bool commit);
  bool in_batch() const { return in_batch_; }

 private:
  Database(sqlite3* handle, std::string key) : handle_(handle), key_(std::move(key)) {}
  friend class Statement;
  void Release(sqlite3_stmt* stmt);

  sqlite3* handle_;
  std::string key_;  // kept for BackupTo; never logged
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  std::unordered_map<sqlite3_stmt*, bool> in_use_;
  PriorityRecursiveMutex mutex_;
  bool in_batch_ = false;
};

// Makes the transactions inside its scope fsync at commit (synchronous=FULL), then returns the
// connection to NORMAL. REQUIRES: the connection's mutex is held for the whole scope.
class DurableScope {
 public:
  DurableScope(Database& db, bool on) : db_(db), on_(on) {
    if (on_) (void)db_.Exec("PRAGMA synchronous=FULL");
  }
  ~DurableScope() {
    if (on_) (void)db_.Exec("PRAGMA synchronous=NORMAL");
  }

 private:
  Database& db_;
  bool on_;
};

// Rolls back on destruction unless committed. BEGIN IMMEDIATE: take the write lock up front so
// two writers never deadlock on upgrade.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Status status() const { return status_; }
  Status Commit();

 private:
  Database& db_;
  Status status_;
  bool done_ = false;
  bool savepoint_ = false;  // inside a batch (Database::BeginBatch)
};

}  // namespace bot::db

#endif  // DB_DATABASE_H_
