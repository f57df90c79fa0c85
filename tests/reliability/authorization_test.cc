// Issue #7: every API route called as anonymous, as each role, and as an officer of another
// queue, checking the status. A new route is a new row.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/api_client.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;
constexpr const char* kPassword = "correct horse 42 battery";

struct Route {
  std::string method, path;
  json body;
  // Expected status for: anonymous, operator, officer of another queue, officer of the case's
  // queue, admin — called in that order.
  std::array<int, 5> expect;
};

TEST(AuthorizationTableTest, EveryRouteAnswersEachCallerAsItShould) {
  TempDir dir;
  FakeGraph graph;
  const std::string db = dir.File("a.db");
  AddUser(db, "admin", "admin", {}, kPassword);
  AddUser(db, "operator", "operator", {}, kPassword);
  AddUser(db, "own", "officer", {"unhcr_protection"}, kPassword);
  AddUser(db, "other", "officer", {"iom"}, kPassword);
  auto server = server::Server::Start(TestConfig(db, graph.url()));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Webhooks hooks((*server)->port());
  ASSERT_EQ(hooks.PostSigned(WhatsAppText("923440000001", "wamid.auth-1", "police arrested my brother right now, please help"))->status, 200);
  for (int i = 0; i < 300 && QueryInt(db, "SELECT COUNT(*) FROM cases") == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string c = "/api/v1/cases/" + Query(db, "SELECT id FROM cases")[0];
  ApiClient api((*server)->admin_port());
  const std::array<std::string, 5> tokens = {"", api.Token("operator", kPassword), api.Token("other", kPassword),
                                             api.Token("own", kPassword), api.Token("admin", kPassword)};
  const std::array<std::string, 5> who = {"anonymous", "operator", "officer of another queue", "officer of the queue", "admin"};
  int user_seq = 0;

  const std::vector<Route> routes = {
      {"GET", "/api/v1/me", nullptr, {401, 200, 200, 200, 200}},
      {"GET", "/api/v1/queues", nullptr, {401, 200, 200, 200, 200}},
      {"PUT", "/api/v1/queues/info_desk", {{"partner", "the information desk"}, {"sla_minutes", 1440}}, {401, 403, 403, 403, 200}},
      {"GET", "/api/v1/routing-rules", nullptr, {401, 403, 403, 403, 200}},
      {"PUT", "/api/v1/routing-rules", json::array({{{"position", 10}, {"urgent", true}, {"queue", "unhcr_protection"}, {"priority", "urgent"}},
                                                   {{"position", 30}, {"intent", "human_agent"}, {"queue", "info_desk"}, {"priority", "normal"}}}),
       {401, 403, 403, 403, 200}},
      {"GET", "/api/v1/cases", nullptr, {401, 403, 200, 200, 200}},
      {"GET", "/api/v1/cases?queue=unhcr_protection", nullptr, {401, 403, 403, 200, 200}},
      {"GET", c, nullptr, {401, 403, 404, 200, 200}},
      {"POST", c + "/notes", {{"text", "a note"}}, {401, 403, 404, 200, 200}},
      {"POST", c + "/claim", json::object(), {401, 403, 404, 200, 200}},  // the admin takes it over
      {"POST", c + "/replies", {{"text", "we are on it"}}, {401, 403, 404, 200, 200}},
      {"POST", c + "/assign", {{"username", "own"}}, {401, 403, 404, 403, 200}},  // the admin's case now
      {"POST", c + "/release", json::object(), {401, 403, 404, 200, 200}},
      {"GET", "/api/v1/audit", nullptr, {401, 403, 403, 403, 200}},
      {"GET", "/api/v1/users", nullptr, {401, 403, 403, 403, 200}},
      {"POST", "/api/v1/users", nullptr, {401, 403, 403, 403, 201}},
      {"PATCH", "/api/v1/users/other", {{"languages", "prs,ps"}}, {401, 403, 403, 403, 200}},
      {"GET", "/api/v1/queues/unhcr_protection/officers", nullptr, {401, 403, 404, 200, 200}},
      {"POST", "/api/v1/me/password", {{"current_password", "wrong password 12"}, {"new_password", "another password 34"}},
       {401, 403, 403, 403, 403}},
      {"POST", "/api/v1/retention/run", json::object(), {401, 403, 403, 403, 200}},
      {"GET", "/api/v1/content/draft", nullptr, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/content/items?prefix=answer/en/", nullptr, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/content/items/answer/en/por_card", nullptr, {401, 200, 403, 403, 200}},
      {"PUT", "/api/v1/content/items/message/en/consent_no", {{"value", "OK, we will not share it."}}, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/content/problems", nullptr, {401, 200, 403, 403, 200}},
      {"POST", "/api/v1/content/preview", {{"text", "salam"}}, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/content/versions", nullptr, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/content/versions/1", nullptr, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/content/export?format=csv", nullptr, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/content/regressions", nullptr, {401, 200, 403, 403, 200}},
      {"POST", "/api/v1/content/regressions", {{"text", "salam"}, {"intent", "greeting"}}, {401, 201, 403, 403, 201}},
      {"GET", "/api/v1/content/conflicts", nullptr, {401, 200, 403, 403, 200}},
      {"POST", "/api/v1/content/publish", {{"message", "table test"}}, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/content/publish-requests", nullptr, {401, 200, 403, 403, 200}},
      {"POST", "/api/v1/content/publish-requests/999/reject", {{"reason", "no"}}, {401, 404, 403, 403, 404}},
      {"POST", "/api/v1/content/publish-requests/999/approve", json::object(), {401, 404, 403, 403, 404}},
      {"POST", "/api/v1/content/versions/1/restore", {{"message", "table test"}}, {401, 200, 403, 403, 200}},
      {"PUT", "/api/v1/content/settings", {{"four_eyes", false}}, {401, 403, 403, 403, 200}},
      {"GET", "/api/v1/content/settings", nullptr, {401, 200, 403, 403, 200}},
      {"GET", "/api/v1/reports", nullptr, {401, 200, 200, 200, 200}},
      {"GET", "/api/v1/reports.csv", nullptr, {401, 200, 200, 200, 200}},
      {"POST", c + "/refer", {{"queue", "info_desk"}}, {401, 403, 404, 200, 400}},
      {"POST", c + "/erase", json::object(), {401, 403, 403, 403, 200}},
      {"DELETE", "/api/v1/session", nullptr, {401, 200, 200, 200, 200}},
  };
  for (const auto& r : routes) {
    for (size_t i = 0; i < 5; ++i) {
      json body = r.body;
      if (r.method == "POST" && r.path == "/api/v1/users")
        body = {{"username", "new" + std::to_string(++user_seq)}, {"role", "officer"}, {"password", kPassword}, {"queues", {"iom"}}};
      auto reply = api.Call(r.method, r.path, tokens[i], body);
      EXPECT_EQ(reply.status, r.expect[i]) << r.method << " " << r.path << " as " << who[i] << ": " << reply.body;
      if (reply.status >= 400) {
        EXPECT_TRUE(reply.json.is_object() && reply.json.contains("error")) << r.path << ": " << reply.body;
      }
    }
  }
}

}  // namespace
}  // namespace bot::testing
