// Queries against a test's SQLite file, to check what was (not) stored; one helper that writes.
#ifndef TESTS_SUPPORT_DB_PROBE_H_
#define TESTS_SUPPORT_DB_PROBE_H_

#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace bot::testing {

// The first column of every row of `sql`, as text.
// Column `column` of every row of `sql` (EXPLAIN QUERY PLAN's text is column 3).
inline std::vector<std::string> Query(const std::string& db_path, const std::string& sql, int column = 0) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 5000);
#ifdef RAHNAMA_SQLCIPHER  // the SQLCipher build's tests run with RAHNAMA_DB_KEY (tests/CMakeLists.txt)
  if (const char* key = std::getenv("RAHNAMA_DB_KEY")) sqlite3_key(db, key, static_cast<int>(std::strlen(key)));
#endif
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, column);
      out.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// A read-write connection to a test's database, keyed on the SQLCipher build; null when the open
// failed (the handle is closed then). Close it with sqlite3_close.
inline sqlite3* OpenBehindTheServer(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return nullptr;
  }
#ifdef RAHNAMA_SQLCIPHER
  if (const char* key = std::getenv("RAHNAMA_DB_KEY")) sqlite3_key(db, key, static_cast<int>(std::strlen(key)));
#endif
  sqlite3_busy_timeout(db, 5000);
  return db;
}

// Changes a test's database behind the server's back (ageing a row, adding a trigger that makes a
// write fail): true when `sql` ran.
inline bool ExecBehindTheServer(const std::string& db_path, const std::string& sql) {
  sqlite3* db = OpenBehindTheServer(db_path);
  const bool ok = db != nullptr && sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// Another process's write transaction on a test's database (a backup tool, an operator's sqlite3
// shell), held from construction to destruction: the server's writers wait on it.
class WriteLockBehindTheServer {
 public:
  explicit WriteLockBehindTheServer(const std::string& db_path) : db_(OpenBehindTheServer(db_path)) {
    held_ = db_ != nullptr && sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~WriteLockBehindTheServer() {
    if (held_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  WriteLockBehindTheServer(const WriteLockBehindTheServer&) = delete;
  WriteLockBehindTheServer& operator=(const WriteLockBehindTheServer&) = delete;
  bool held() const { return held_; }

 private:
  sqlite3* db_ = nullptr;
  bool held_ = false;
};

inline long QueryInt(const std::string& db_path, const std::string& sql) {
  auto rows = Query(db_path, sql);
  return rows.empty() ? -1 : std::stol(rows[0]);
}

// Waits until the inbound message `provider_id` is processed (its turn committed); false when
// `timeout_ms` passes first.
inline bool WaitProcessed(const std::string& db_path, const std::string& provider_id, int timeout_ms = 5000) {
  const std::string sql = "SELECT COUNT(*) FROM messages WHERE provider_id='" + provider_id + "' AND status='processed'";
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (QueryInt(db_path, sql) == 1) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace bot::testing

#endif  // TESTS_SUPPORT_DB_PROBE_H_
