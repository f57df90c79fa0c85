// The schema migrations compiled into the binary (from db/migrations/NNNN_name.sql).
#ifndef DB_MIGRATIONS_H_
#define DB_MIGRATIONS_H_

#include <string>
#include <vector>

namespace bot::db {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// In ascending version order.
const std::vector<Migration>& Migrations();

}  // namespace bot::db

#endif  // DB_MIGRATIONS_H_
