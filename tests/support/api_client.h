// A client for the admin API as a script or the console would use it: login, bearer requests.
#ifndef TESTS_SUPPORT_API_CLIENT_H_
#define TESTS_SUPPORT_API_CLIENT_H_

#include <httplib.h>

#include <string>

#include <nlohmann/json.hpp>

#include "bot/core/clock.h"
#include "bot/escalation/auth.h"
#include "db/sqlite_store.h"

namespace bot::testing {

struct ApiReply {
  int status = 0;
  nlohmann::json json;
  std::string body;
  std::string set_cookie;
  std::string content_type;
};

class ApiClient {
 public:
  explicit ApiClient(int admin_port) : client_("127.0.0.1", admin_port) {
    client_.set_tcp_nodelay(true);
    client_.set_read_timeout(30, 0);
  }
  ApiReply Call(const std::string& method, const std::string& path, const std::string& token = "",
                const nlohmann::json& body = nullptr, httplib::Headers headers = {}) {
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    const std::string b = body.is_null() ? "" : body.dump();
    auto r = method == "GET"    ? client_.Get(path.c_str(), headers)
             : method == "POST" ? client_.Post(path.c_str(), headers, b, "application/json")
             : method == "PUT"  ? client_.Put(path.c_str(), headers, b, "application/json")
             : method == "PATCH" ? client_.Patch(path.c_str(), headers, b, "application/json")
                                : client_.Delete(path.c_str(), headers, b, "application/json");
    ApiReply out;
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    out.content_type = r->get_header_value("Content-Type");
    out.json = nlohmann::json::parse(r->body, nullptr, false);
    out.set_cookie = r->get_header_value("Set-Cookie");
    return out;
  }
  ApiReply Get(const std::string& path, const std::string& token) { return Call("GET", path, token); }
  ApiReply Post(const std::string& path, const std::string& token, const nlohmann::json& body = nlohmann::json::object()) {
    return Call("POST", path, token, body);
  }
  ApiReply Login(const std::string& user, const std::string& password) {
    return Call("POST", "/api/v1/session", "", {{"username", user}, {"password", password}});
  }
  // The bearer token of a fresh session, or "" when the login failed.
  std::string Token(const std::string& user, const std::string& password) {
    auto r = Login(user, password);
    return r.status == 200 ? r.json.value("token", "") : "";
  }

 private:
  httplib::Client client_;
};

// Adds an account straight to the database file (before the server starts).
inline void AddUser(const std::string& db_path, const std::string& name, const std::string& role,
                    const std::vector<std::string>& queues, const std::string& password) {
  db::SqliteStore::Options o;
  o.path = db_path;
  auto store = db::SqliteStore::Open(o);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  User u;
  u.username = name;
  u.role = role;
  u.queues = queues;
  escalation::HashCost cheap;
  cheap.memory_kib = 8 * 1024;  // tests: a cheaper hash, same code path
  u.password_hash = *escalation::HashPassword(password, cheap);
  auto id = (*store)->AddUser(u, SystemClock().NowMillis());
  if (!id.ok()) throw std::runtime_error(id.status().ToString());
}

}  // namespace bot::testing

#endif  // TESTS_SUPPORT_API_CLIENT_H_
