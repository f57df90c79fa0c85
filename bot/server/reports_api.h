// Supervisors' reports: aggregates for a date range as JSON and as CSV for partners. Counts only:
// no phone numbers, names or message text ever appear here.
#ifndef BOT_SERVER_REPORTS_API_H_
#define BOT_SERVER_REPORTS_API_H_

#include <string>

#include <nlohmann/json.hpp>

#include "bot/core/clock.h"
#include "bot/server/admin_api.h"
#include "db/sqlite_store.h"

namespace bot::server {

// The report for [from, to] (inclusive days, YYYY-MM-DD, UTC).
Result<nlohmann::json> BuildReport(db::SqliteStore& store, const std::string& from, const std::string& to, int64_t now_ms);
// The same numbers as CSV rows: section,day,dimension,value.
std::string ReportCsv(const nlohmann::json& report);

class ReportsApi {
 public:
  ReportsApi(AdminApi& auth, db::SqliteStore& store, const Clock& clock) : auth_(auth), store_(store), clock_(clock) {}
  void Register(httplib::Server& svr);

 private:
  AdminApi& auth_;
  db::SqliteStore& store_;
  const Clock& clock_;
};

}  // namespace bot::server

#endif  // BOT_SERVER_REPORTS_API_H_
