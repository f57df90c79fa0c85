// One server per database file.
#ifndef DB_DATABASE_LOCK_H_
#define DB_DATABASE_LOCK_H_

#include <memory>
#include <string>

#include "bot/core/status.h"

namespace bot::db {

// A second `serve` on the same file would, while starting, put the first one's replies in flight
// back to pending, and they would be sent twice; a restore under a running server would throw away
// what it committed since. The lock is the kernel's (flock on `<db>.lock`): a killed server
// releases it, so a restart after a crash is never refused.
class DatabaseLock {
 public:
  // Conflict when another process holds it.
  static Result<std::unique_ptr<DatabaseLock>> Take(const std::string& db_path);
  ~DatabaseLock();
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;

 private:
  explicit DatabaseLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace bot::db

#endif  // DB_DATABASE_LOCK_H_
