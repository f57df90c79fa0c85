// The admin listener's JSON API (/api/v1): officer sessions, cases and the officer's actions,
// queues, routing rules, users and the audit log. Every route authenticates, checks the role and
// the queue, calls the store, and maps the Status to an HTTP status with {"error": ...}.
#ifndef BOT_SERVER_ADMIN_API_H_
#define BOT_SERVER_ADMIN_API_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "bot/core/clock.h"
#include "bot/core/escalation.h"
#include "bot/core/metrics.h"
#include "bot/escalation/auth.h"
#include "bot/server/pipeline.h"
#include "db/sqlite_store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace bot::server {

struct AdminApiOptions {
  escalation::HashCost hash_cost;
};

class AdminApi {
 public:
  AdminApi(db::SqliteStore& store, const Clock& clock, ContentHolder& content, Metrics& metrics,
           std::function<void()> wake_sender, AdminApiOptions options = {});
  void Register(httplib::Server& svr);

  // The authenticated session behind a request: bearer token or session cookie; cookie-based
  // state changes must carry X-CSRF-Token. kUnauthenticated / kPermissionDenied otherwise.
  Result<Session> Authenticate(const httplib::Request& req) const;
  // What POST /api/v1/retention/run does (the server's retention job).
  void SetRetention(std::function<Result<nlohmann::json>()> run) { run_retention_ = std::move(run); }
  // Downloads a media item from the provider on an officer's request: (mime type, bytes).
  using MediaFetcher = std::function<Result<std::pair<std::string, std::string>>(Channel, const std::string& media_id)>;
  void SetMediaFetcher(MediaFetcher f) { fetch_media_ = std::move(f); }

 private:
  void Login(const httplib::Request& req, httplib::Response& res);
  void Logout(const httplib::Request& req, httplib::Response& res);
  void CaseAction(const httplib::Request& req, httplib::Response& res, const std::string& action);

  db::SqliteStore& store_;
  const Clock& clock_;
  ContentHolder& content_;
  Metrics& metrics_;
  std::function<void()> wake_sender_;
  AdminApiOptions options_;
  std::function<Result<nlohmann::json>()> run_retention_;
  MediaFetcher fetch_media_;
  std::mutex view_mutex_;
  std::map<std::string, int64_t> last_view_;
};

// The one place a Status becomes an HTTP status.
int HttpStatusOf(const Status& s);
void SendError(httplib::Response& res, const Status& s);

// Every request body of the admin and content APIs: parsed (nlohmann parses iteratively) and
// "discarded" when it is not JSON or nests deeper than content ever does, before anything copies or
// walks it recursively (a 300,000-deep value crashed the server when it was copied).
nlohmann::json ParseRequestJson(const std::string& text);

}  // namespace bot::server

#endif  // BOT_SERVER_ADMIN_API_H_
