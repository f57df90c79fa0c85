// Issue #7, delivery guarantees: statuses in any order, Meta's errors, the per-number throttle,
// one contact at a time in order, and the urgent lane past a backlog.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <thread>

#include "tests/support/api_client.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;
constexpr const char* kPassword = "correct horse 42 battery";

std::string StatusWebhook(const std::string& wamid, const std::string& status, int error_code = 0) {
  json s = {{"id", wamid}, {"status", status}, {"timestamp", "1767225600"}, {"recipient_id", "923000000000"}};
  if (error_code) s["errors"] = json::array({{{"code", error_code}, {"title", "Re-engagement message"}}});
  json value = {{"messaging_product", "whatsapp"},
                {"metadata", {{"display_phone_number", "1"}, {"phone_number_id", kPhoneNumberId}}},
                {"statuses", json::array({s})}};
  json change = {{"field", "messages"}, {"value", value}};
  json entry = {{"id", "1"}, {"changes", json::array({change})}};
  json j = {{"object", "whatsapp_business_account"}, {"entry", json::array({entry})}};
  return j.dump();
}

// One webhook carrying many people's text messages, as Meta batches them under load.
std::string ManyTextsWebhook(const std::vector<std::pair<std::string, std::string>>& from_and_text,
                             const std::string& id_prefix) {
  json body = json::parse(WhatsAppText("923000000000", id_prefix, "x"));
  auto& value = body["entry"][0]["changes"][0]["value"];
  value["messages"] = json::array();
  value["contacts"] = json::array();
  for (size_t i = 0; i < from_and_text.size(); ++i) {
    const auto& [from, text] = from_and_text[i];
    value["contacts"].push_back({{"profile", {{"name", "P"}}}, {"wa_id", from}});
    value["messages"].push_back({{"from", from}, {"id", id_prefix + "-" + std::to_string(i)},
                                 {"timestamp", std::to_string(std::time(nullptr))}, {"type", "text"},
                                 {"text", {{"body", text}}}});
  }
  return body.dump();
}

// A series' value in a /metrics page; -1 when it is missing.
double MetricValue(const std::string& page, const std::string& series) {
  const size_t at = page.find("\n" + series + " ");
  return at == std::string::npos ? -1.0 : std::stod(page.substr(at + series.size() + 2));
}

class DeliveryTest : public ::testing::Test {
 protected:
  void Start(double send_rate = 80, const std::function<void(server::Config&)>& adjust = nullptr) {
    AddUser(db(), "admin", "admin", {}, kPassword);
    server::Config c = TestConfig(db(), graph_.url());
    c.send_rate_per_number = send_rate;
    if (adjust) adjust(c);
    auto s = server::Server::Start(c);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
    api_ = std::make_unique<ApiClient>(server_->admin_port());
  }
  std::string db() const { return dir_.File("d.db"); }
  // Waits until one reply has failed once and is backing off; returns how many are.
  int64_t WaitForOneBackingOff() {
    const std::string sql = "SELECT COUNT(*) FROM outbox WHERE attempts=1 AND state='pending'";
    for (int i = 0; i < 300 && QueryInt(db(), sql) < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return QueryInt(db(), sql);
  }
  void Post(const std::string& from, const std::string& text) {
    auto r = hooks_->PostSigned(WhatsAppText(from, "wamid.del-" + std::to_string(++seq_), text));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  TempDir dir_;
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
  std::unique_ptr<ApiClient> api_;
  std::atomic<int> seq_{0};
};

TEST_F(DeliveryTest, StatusesBeforeTheSendOrOutOfOrderAreKeptAndNeverRegressALaterState) {
  graph_.Plan({{200, R"({"messaging_product":"whatsapp","messages":[{"id":"wamid.OUT-SAFETY"}]})"},
               {200, R"({"messaging_product":"whatsapp","messages":[{"id":"wamid.OUT-INTAKE"}]})"}});
  Start();
  // "read" arrives before the reply even exists.
  ASSERT_EQ(hooks_->PostSigned(StatusWebhook("wamid.OUT-SAFETY", "read"))->status, 200);
  Post("923220000001", "police arrested my brother right now, please help");
  ASSERT_TRUE(graph_.WaitFor(2, "923220000001"));
  // "delivered" arrives after "read"; a failure with Meta's error for the second reply.
  ASSERT_EQ(hooks_->PostSigned(StatusWebhook("wamid.OUT-SAFETY", "delivered"))->status, 200);
  ASSERT_EQ(hooks_->PostSigned(StatusWebhook("wamid.OUT-SAFETY", "delivered"))->status, 200);  // duplicate
  ASSERT_EQ(hooks_->PostSigned(StatusWebhook("wamid.OUT-INTAKE", "failed", 131047))->status, 200);
  const std::string admin = api_->Token("admin", kPassword);
  for (int i = 0; i < 100 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='sent'") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto cases = api_->Get("/api/v1/cases", admin);
  ASSERT_EQ(cases.json.size(), 1u);
  auto view = api_->Get("/api/v1/cases/" + cases.json[0]["id"].dump(), admin);
  std::vector<std::string> statuses;
  for (const auto& m : view.json["messages"])
    if (m["direction"] == "out") statuses.push_back(m["status"]);
  ASSERT_GE(statuses.size(), 2u);
  EXPECT_EQ(statuses[0], "read");
  EXPECT_EQ(statuses[1], "failed 131047 Re-engagement message");
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM delivery_statuses"), 3);
}

TEST_F(DeliveryTest, OutsideTheWindowFailsForGoodAndThrottlingIsRetried) {
  graph_.Plan({{400, R"({"error":{"message":"Re-engagement message","type":"OAuthException","code":131047}})"},
               {400, R"({"error":{"message":"Rate limit hit","code":130429}})"},
               {429, R"({"error":{"message":"Too many","code":4}})"}});
  Start();
  Post("923220000002", "what is the PoR card?");
  Post("923220000003", "what is the PoR card?");
  // Which reply meets which planned error depends on which sender thread goes first: wait for
  // both outcomes rather than for one person.
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state IN ('sent','failed')") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='failed'"), 1);
  EXPECT_EQ(Query(db(), "SELECT last_error FROM outbox WHERE state='failed'")[0], "131047: Re-engagement message");
  EXPECT_EQ(Query(db(), "SELECT error FROM messages WHERE status='failed'")[0], "131047: Re-engagement message");
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='sent'"), 1);
  EXPECT_EQ(graph_.Attempts(), 4);
}

// An expired token refuses every send. The replies, the safety reply among them, wait and leave
// once the token works again, instead of failing for good.
TEST_F(DeliveryTest, RepliesRefusedForAnExpiredTokenWaitAndLeaveOnceItIsFixed) {
  const std::string expired = R"({"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463}})";
  graph_.Plan({{401, expired}, {401, expired}, {401, expired}, {401, expired}});
  Start();
  Post("923220000004", "police arrested my brother right now, please help");
  ASSERT_TRUE(graph_.WaitFor(2, "923220000004", 10000)) << "the safety reply and the intake question arrive";
  // Recorded as sent just after the fake Graph API answered.
  for (int i = 0; i < 300 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='sent'") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='failed'"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='sent'"), 2);
  EXPECT_GE(graph_.Attempts(), 6);
  httplib::Client admin("127.0.0.1", server_->admin_port());
  auto metrics = admin.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("rahnama_send_account_errors_total{code=\"190\"} 4"), std::string::npos) << metrics->body;
}

// Once the account works again (an operator put in a new token), the replies that were refused
// go at once: they do not sit out a backoff of up to ten minutes, safety replies among them.
TEST_F(DeliveryTest, RepliesHeldByAnAccountProblemGoAsSoonAsASendSucceedsAgain) {
  const std::string expired = R"({"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463}})";
  graph_.Plan({{401, expired}});
  Start(80, [](server::Config& c) { c.retry_base_ms = 60000; });
  const std::string first = "923220000036";
  Post(first, "police arrested my brother right now, please help");
  ASSERT_EQ(WaitForOneBackingOff(), 1) << "the safety reply refused";
  Post("923220000037", "salam");  // fixed: this one goes through
  ASSERT_TRUE(graph_.WaitFor(1, first, 5000)) << "the refused safety reply waited out its backoff";
  EXPECT_NE(graph_.RequestsTo(first)[0].body.find("Your safety comes first"), std::string::npos);
}

// Meta took the reply but recording that failed for a while (a locked database, a full disk): the
// sender keeps trying to record it. Left in flight, the row held back every later reply to the
// person until a restart, which then sent it again.
TEST_F(DeliveryTest, ASendWhoseRecordingFailsIsRecordedLaterAndHoldsNothingBack) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(db(), "CREATE TRIGGER sent_fails BEFORE UPDATE ON outbox WHEN NEW.state = 'sent' "
                                        "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"));
  const std::string me = "923220000008";
  Post(me, "what is the PoR card?");
  ASSERT_TRUE(graph_.WaitFor(1, me, 5000));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state = 'in_flight'"), 1) << "still trying to record it";
  ASSERT_TRUE(ExecBehindTheServer(db(), "DROP TRIGGER sent_fails"));
  Post(me, "what is the ACC card?");
  ASSERT_TRUE(graph_.WaitFor(2, me, 10000)) << "the next reply was held back";
  for (int i = 0; i < 300 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state = 'sent'") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state = 'sent'"), 2);
  EXPECT_EQ(graph_.RequestsTo(me).size(), 2u) << "each reply sent once";
}

// A reply that cannot leave within the give-up time fails, with the reason kept.
TEST_F(DeliveryTest, AReplyStillUnsentAfterTheGiveUpTimeFails) {
  std::vector<FakeGraph::Answer> errors(200, {503, "<html>Service Unavailable</html>"});
  graph_.Plan(errors);
  Start(80, [](server::Config& c) { c.give_up_after_ms = 400; });
  Post("923220000005", "what is the PoR card?");
  for (int i = 0; i < 300 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='failed'") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='failed'"), 1);
  EXPECT_EQ(Query(db(), "SELECT last_error FROM outbox WHERE state='failed'")[0].rfind("gave up after ", 0), 0u);
}

// Replies to one person leave in order, so a safety reply would wait behind an earlier reply that
// is backing off after an error. Queueing the safety reply makes that one due again at once.
TEST_F(DeliveryTest, ASafetyReplyDoesNotWaitBehindAnEarlierReplyBackingOff) {
  graph_.Plan({{503, "<html>Service Unavailable</html>"}});
  Start(80, [](server::Config& c) { c.retry_base_ms = 60000; });
  const std::string me = "923220000006";
  Post(me, "what is the PoR card?");
  ASSERT_EQ(WaitForOneBackingOff(), 1) << "first reply backing off";
  const auto sent_at = std::chrono::steady_clock::now();
  Post(me, "police arrested my brother right now, please help");
  ASSERT_TRUE(graph_.WaitFor(3, me, 10000)) << "the earlier reply and the safety reply";
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - sent_at).count(), 5.0);
  int safety = 0;
  for (const auto& r : graph_.RequestsTo(me)) safety += r.body.find("Your safety comes first") != std::string::npos;
  EXPECT_EQ(safety, 1);
}

// An earlier reply that keeps failing (one payload Meta answers 500 every time) is retried for a
// day; the safety reply queued after it must not wait that day.
TEST_F(DeliveryTest, ASafetyReplyOvertakesAnEarlierReplyThatKeepsFailing) {
  graph_.AlwaysAnswer("Proof of Registration", {500, R"({"error":{"message":"An unknown error occurred","code":131000}})"});
  Start(80, [](server::Config& c) { c.retry_base_ms = 60000; });
  const std::string me = "923220000016";
  Post(me, "what is the PoR card?");
  ASSERT_EQ(WaitForOneBackingOff(), 1) << "first reply backing off";
  Post(me, "police arrested my brother right now, please help");
  ASSERT_TRUE(graph_.WaitFor(1, me, 5000)) << "the safety reply waited behind a reply that keeps failing";
  EXPECT_NE(graph_.RequestsTo(me)[0].body.find("Your safety comes first"), std::string::npos);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight') AND payload LIKE '%Proof of Registration%'"), 1)
      << "the failing reply is still retried";
}

// A message no turn can process (here the database refuses to mark it processed, every time)
// must not be retried forever: it would hold back the person's later messages, and nobody would
// read it. Once other messages have gone through meanwhile, it is set aside: marked failed, put
// in a case for officers with a note saying why, and the person is told who will answer.
TEST_F(DeliveryTest, AMessageNoTurnCanProcessIsSetAsideForOfficersAndHoldsNothingBack) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(db(), "CREATE TRIGGER poison BEFORE UPDATE OF status ON messages "
                                        "WHEN NEW.status = 'processed' AND OLD.body LIKE '%ref 7781%' "
                                        "BEGIN SELECT RAISE(ABORT, 'this message cannot be processed'); END"));
  const std::string me = "923220000031", other = "923220000032";
  Post(me, "what is the PoR card? ref 7781");
  Post(me, "thank you");
  Post(other, "what is the ACC card?");
  ASSERT_TRUE(graph_.WaitFor(1, other, 5000)) << "another person is answered meanwhile";
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE status = 'failed'") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(Query(db(), "SELECT error FROM messages WHERE direction = 'in' AND status = 'failed'"),
            std::vector<std::string>{"CONFLICT: this message cannot be processed"});
  EXPECT_TRUE(WaitProcessed(db(), "wamid.del-2")) << "the person's next message waited behind it";

  const std::string admin = api_->Token("admin", kPassword);
  auto cases = api_->Get("/api/v1/cases?status=all", admin);
  ASSERT_EQ(cases.status, 200) << cases.json.dump();
  ASSERT_EQ(cases.json.size(), 1u) << cases.json.dump();
  EXPECT_EQ(cases.json[0]["queue"], "info_desk");
  EXPECT_EQ(cases.json[0]["priority"], "high");
  auto view = api_->Get("/api/v1/cases/" + std::to_string(cases.json[0]["id"].get<int64_t>()), admin);
  ASSERT_EQ(view.status, 200);
  ASSERT_EQ(view.json["notes"].size(), 1u) << view.json.dump();
  EXPECT_NE(view.json["notes"][0]["text"].get<std::string>().find("set it aside"), std::string::npos);
  bool shown = false;
  for (const auto& m : view.json["messages"])
    shown = shown || (m["text"] == "what is the PoR card? ref 7781" && m["status"] == "failed");
  EXPECT_TRUE(shown) << view.json.dump();

  ASSERT_TRUE(graph_.WaitFor(2, me, 5000)) << "the hand-off and the answer to the next message";
  int told = 0;
  for (const auto& r : graph_.RequestsTo(me)) told += TextOf(r.json).find("Your message has been passed to") != std::string::npos;
  EXPECT_EQ(told, 1);
  auto metrics = httplib::Client("127.0.0.1", server_->admin_port()).Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("rahnama_messages_set_aside_total{urgent=\"false\"} 1"), std::string::npos);
}

// Set aside, a message that may be urgent goes to the protection queue as urgent.
TEST_F(DeliveryTest, AnUrgentMessageNoTurnCanProcessGoesToProtectionOfficersAsUrgent) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(db(), "CREATE TRIGGER poison BEFORE UPDATE OF status ON messages "
                                        "WHEN NEW.status = 'processed' AND OLD.body LIKE '%arrested%' "
                                        "BEGIN SELECT RAISE(ABORT, 'this message cannot be processed'); END"));
  const std::string me = "923220000033";
  Post(me, "police arrested my brother right now, please help");
  Post("923220000034", "salam");
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE status = 'failed'") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE status = 'failed' AND urgent = 1"), 1);
  EXPECT_EQ(Query(db(), "SELECT queue || ' ' || priority FROM cases"), std::vector<std::string>{"unhcr_protection urgent"});
  // The person hears the safety line, as for any urgent message (not "write urgent if in danger").
  ASSERT_TRUE(graph_.WaitFor(1, me, 5000));
  EXPECT_NE(TextOf(graph_.RequestsTo(me)[0].json).find("Your safety comes first"), std::string::npos)
      << TextOf(graph_.RequestsTo(me)[0].json);
}

// When every turn fails (the fault is not one message's), nothing is set aside: the messages wait,
// and are answered as usual once the fault is gone.
TEST_F(DeliveryTest, WhenEveryTurnFailsNothingIsSetAsideAndAllAreAnsweredAfterwards) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(db(), "CREATE TRIGGER broken BEFORE UPDATE OF status ON messages "
                                        "WHEN NEW.status = 'processed' BEGIN SELECT RAISE(ABORT, 'every turn fails'); END"));
  Post("923220000041", "what is the PoR card?");
  Post("923220000042", "what is the ACC card?");
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // well past 5 failures each
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE status = 'failed'"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases"), 0);
  // What RahnamaMessagesWaiting watches: how long the oldest message has waited.
  httplib::Client admin("127.0.0.1", server_->admin_port());
  auto metrics = admin.Get("/metrics");
  ASSERT_TRUE(metrics);
  const std::string gauge = "\nrahnama_inbound_oldest_pending_age_seconds ";
  const size_t at = metrics->body.find(gauge);
  ASSERT_NE(at, std::string::npos) << metrics->body;
  EXPECT_GE(std::stod(metrics->body.substr(at + gauge.size())), 2.5);
  ASSERT_TRUE(ExecBehindTheServer(db(), "DROP TRIGGER broken"));
  EXPECT_TRUE(graph_.WaitFor(1, "923220000041", 5000));
  EXPECT_TRUE(graph_.WaitFor(1, "923220000042", 5000));
  metrics = admin.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(gauge + "0\n"), std::string::npos) << metrics->body;
}

// An urgent message that no turn can answer yet (every turn failing) shows in its own gauge, which
// RahnamaUrgentMessagesWaiting pages on; an ordinary one waiting does not move it.
TEST_F(DeliveryTest, AnUnansweredUrgentMessageShowsHowLongItHasWaited) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(db(), "CREATE TRIGGER broken BEFORE UPDATE OF status ON messages "
                                        "WHEN NEW.status = 'processed' BEGIN SELECT RAISE(ABORT, 'every turn fails'); END"));
  httplib::Client admin("127.0.0.1", server_->admin_port());
  auto waited = [&] {
    auto metrics = admin.Get("/metrics");
    return metrics ? MetricValue(metrics->body, "rahnama_inbound_oldest_pending_urgent_age_seconds") : -2.0;
  };
  Post("923220000046", "what is the PoR card?");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(waited(), 0) << "an ordinary message is not urgent";
  Post("923220000047", "police arrested my brother right now, please help");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_GE(waited(), 1.0);
  ASSERT_TRUE(ExecBehindTheServer(db(), "DROP TRIGGER broken"));
  ASSERT_TRUE(graph_.WaitFor(1, "923220000047", 5000));
  for (int i = 0; i < 100 && waited() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(waited(), 0);
}

// Another process holds the database's write lock (an operator's sqlite3 shell left open, a stuck
// backup): every turn waits on it. /metrics must still answer, at once, with how long messages have
// waited, so RahnamaMessagesWaiting says what is wrong rather than RahnamaDown (a scrape that
// waited behind the writers took 88 s).
TEST_F(DeliveryTest, MetricsAnswerAtOnceWhileAnotherProcessHoldsTheDatabaseLocked) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(db(), "CREATE TRIGGER broken BEFORE UPDATE OF status ON messages "
                                        "WHEN NEW.status = 'processed' BEGIN SELECT RAISE(ABORT, 'every turn fails'); END"));
  Post("923220000045", "what is the PoR card?");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  {
    WriteLockBehindTheServer lock(db());
    ASSERT_TRUE(lock.held());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the lane's next turn now waits on the lock
    httplib::Client admin("127.0.0.1", server_->admin_port());
    admin.set_read_timeout(3, 0);
    auto metrics = admin.Get("/metrics");
    ASSERT_TRUE(metrics) << "the scrape waited behind the writers";
    const std::string gauge = "\nrahnama_inbound_oldest_pending_age_seconds ";
    const size_t at = metrics->body.find(gauge);
    ASSERT_NE(at, std::string::npos) << metrics->body;
    EXPECT_GE(std::stod(metrics->body.substr(at + gauge.size())), 1.5);
  }
  ASSERT_TRUE(ExecBehindTheServer(db(), "DROP TRIGGER broken"));
  EXPECT_TRUE(graph_.WaitFor(1, "923220000045", 15000)) << "answered once the lock is gone";
}

// Two people's poison messages handled in one batch of the ordinary lane: each is set aside once,
// in its own case, and counted once.
TEST_F(DeliveryTest, TwoMessagesNoTurnCanProcessAreEachSetAsideOnce) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(db(), "CREATE TRIGGER poison BEFORE UPDATE OF status ON messages "
                                        "WHEN NEW.status = 'processed' AND OLD.body LIKE '%ref 7781%' "
                                        "BEGIN SELECT RAISE(ABORT, 'this message cannot be processed'); END"));
  Post("923220000043", "what is the PoR card? ref 7781");
  Post("923220000044", "what is the visa? ref 7781");
  for (int i = 0; i < 5; ++i) Post("92322000005" + std::to_string(i), "salam");
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE status = 'failed'") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE status = 'failed'"), 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Query(db(), "SELECT COUNT(*) || ' ' || COUNT(DISTINCT contact_id) FROM cases"), std::vector<std::string>{"2 2"});
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM case_notes WHERE body LIKE '%set it aside%'"), 2);
  auto metrics = httplib::Client("127.0.0.1", server_->admin_port()).Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("rahnama_messages_set_aside_total{urgent=\"false\"} 2"), std::string::npos);
}

// The same in one batch of the urgent lane: the message no turn can process is set aside as
// urgent, and the people reported with it in the same webhook are answered as usual.
TEST_F(DeliveryTest, AnUrgentMessageNoTurnCanProcessHoldsBackNoneOfTheUrgentOnesBatchedWithIt) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(db(), "CREATE TRIGGER poison BEFORE UPDATE OF status ON messages "
                                        "WHEN NEW.status = 'processed' AND OLD.body LIKE '%ref 7781%' "
                                        "BEGIN SELECT RAISE(ABORT, 'this message cannot be processed'); END"));
  std::vector<std::pair<std::string, std::string>> reports;
  for (int i = 0; i < 6; ++i)
    reports.emplace_back("92322000006" + std::to_string(i),
                         std::string("police arrested my brother right now, please help") + (i == 2 ? " ref 7781" : ""));
  auto r = hooks_->PostSigned(ManyTextsWebhook(reports, "wamid.poison-batch"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  for (const auto& [who, text] : reports) ASSERT_TRUE(graph_.WaitFor(1, who, 10000)) << who;
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE status = 'failed'") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Query(db(), "SELECT body FROM messages WHERE direction = 'in' AND status = 'failed' AND urgent = 1"),
            std::vector<std::string>{reports[2].second});
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND status = 'processed'"), 5);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases WHERE queue = 'unhcr_protection' AND priority = 'urgent'"), 6);
  auto metrics = httplib::Client("127.0.0.1", server_->admin_port()).Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("rahnama_messages_set_aside_total{urgent=\"true\"} 1"), std::string::npos);
}

// A stored message with a field of an unexpected type (a row written by an older version, or
// edited by hand) is read as far as it can be; it must not stop the lane that loads it.
TEST_F(DeliveryTest, AStoredMessageWithAnUnreadableFieldIsStillAnswered) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(
      db(), "CREATE TRIGGER odd AFTER INSERT ON messages WHEN NEW.body LIKE '%ACC card%' BEGIN "
            "UPDATE messages SET payload = '{\"media\":{\"id\":5,\"voice\":\"yes\"},\"location\":{\"latitude\":\"x\"}}' "
            "WHERE id = NEW.id; END"));
  const std::string me = "923220000035";
  Post(me, "what is the ACC card?");
  EXPECT_TRUE(graph_.WaitFor(1, me, 5000));
  EXPECT_TRUE(WaitProcessed(db(), "wamid.del-1"));
}

// A stored text that is not valid UTF-8 (Meta's JSON cannot carry one; a row edited by hand can)
// makes the turn throw where it writes the text into JSON. The exception must not stop the
// server (and after a restart, stop it again): the message is set aside like any that fails.
TEST_F(DeliveryTest, AMessageWhoseTurnThrowsIsSetAsideAndTheServerKeepsAnswering) {
  Start();
  ASSERT_TRUE(ExecBehindTheServer(
      db(), "CREATE TRIGGER garble AFTER INSERT ON messages WHEN NEW.body LIKE '%Kabul%' BEGIN "
            "UPDATE messages SET body = 'I am in Kabul ' || CAST(X'FF' AS TEXT) WHERE id = NEW.id; END"));
  const std::string me = "923220000036";
  Post(me, "police arrested my brother right now, please help");
  ASSERT_TRUE(graph_.WaitFor(1, me, 5000));
  Post(me, "Kabul");
  Post("923220000037", "salam");
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE status = 'failed'") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Query(db(), "SELECT substr(error, 1, 24) FROM messages WHERE status = 'failed'"),
            std::vector<std::string>{"INTERNAL: the turn threw"});
  Post("923220000037", "thank you");
  EXPECT_TRUE(WaitProcessed(db(), "wamid.del-4")) << "the server stopped answering";
  // It joins the person's urgent case, where the officers can read it (the text shown with U+FFFD).
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases"), 1);
  const std::string admin = api_->Token("admin", kPassword);
  auto view = api_->Get("/api/v1/cases/1", admin);
  ASSERT_EQ(view.status, 200) << view.json.dump();
  bool shown = false;
  for (const auto& m : view.json["messages"]) shown = shown || m["text"] == "I am in Kabul \xEF\xBF\xBD";
  EXPECT_TRUE(shown) << view.json.dump();
  EXPECT_NE(view.json["notes"].dump().find("set it aside"), std::string::npos) << view.json.dump();
}

// A second server started on the same database (by mistake, or a restart loop while the old one
// drains) must not touch it: starting, it would put the first one's sends in flight back to
// pending and they would go out twice.
TEST_F(DeliveryTest, ASecondServerOnTheSameDatabaseIsRefusedAndNothingIsSentTwice) {
  graph_.SetDelayMs(1500);
  Start();
  const std::string me = "923220000026";
  Post(me, "what is the PoR card?");
  for (int i = 0; i < 300 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='in_flight'") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='in_flight'"), 1) << "a send in flight";
  const auto rows = Query(db(), "SELECT id FROM outbox WHERE state='in_flight'");
  ASSERT_FALSE(rows.empty());
  const std::string in_flight = rows[0];
  auto second = server::Server::Start(TestConfig(db(), graph_.url()));
  ASSERT_FALSE(second.ok()) << "two servers on one database";
  EXPECT_NE(second.status().message().find("already using"), std::string::npos) << second.status().ToString();
  EXPECT_EQ(QueryInt(db(), "SELECT requeued_after_crash FROM outbox WHERE id = " + in_flight), 0)
      << "the second server put the first one's send back in the queue";
  graph_.SetDelayMs(0);
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state!='sent'") > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(static_cast<int>(graph_.RequestsTo(me).size()), QueryInt(db(), "SELECT COUNT(*) FROM outbox"))
      << "each reply sent once";
  // The lock goes with the server: the next start on this database works.
  server_.reset();
  auto next = server::Server::Start(TestConfig(db(), graph_.url()));
  EXPECT_TRUE(next.ok()) << next.status().ToString();
}

TEST_F(DeliveryTest, SendsPerNumberAreThrottledToTheConfiguredRate) {
  Start(/*send_rate=*/5);
  for (int i = 0; i < 6; ++i) Post("92322000010" + std::to_string(i), "salam");  // two replies each
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(graph_.WaitFor(12, "", 15000));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A full bucket of 5, then 5 per second: the 12th send cannot leave before ~1.4 s.
  EXPECT_GE(seconds, 1.2);
}

// A rate below one per second still sends (the bucket once never filled to one send).
TEST_F(DeliveryTest, ARateBelowOnePerSecondStillSends) {
  Start(/*send_rate=*/0.5);
  Post("923220000007", "salam");  // two replies: the welcome and the language question
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(graph_.WaitFor(2, "923220000007", 8000));
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.2)
      << "one send, then one every 2 s";
}

TEST_F(DeliveryTest, OneContactsMessagesAreProcessedOneAtATimeInOrder) {
  Start();
  for (int i = 0; i < 25; ++i) Post("923220000200", "message number " + std::to_string(i));
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE direction='in' AND status='processed'") < 25; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto rows = Query(db(), "SELECT processed_at FROM messages WHERE direction='in' ORDER BY id");
  ASSERT_EQ(rows.size(), 25u);
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_LE(std::stoll(rows[i - 1]), std::stoll(rows[i])) << i;
  // Two misses in a row offer a person: the conversation state advanced message by message.
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE direction='in' AND intent='unknown'"), 25);
}

// The server wires its classification into the ingest writer (off the request threads, with a
// word cache that holds a burst's vocabulary): the urgent hint is in the row the 200 vouches for,
// in every language. (The worker, once it has processed a message, writes its own decision there
// too, so this can pass by luck; IngestWriterTest proves the order without a worker.)
TEST_F(DeliveryTest, EveryMessageIsStoredWithItsUrgentHintBeforeItIsAcknowledged) {
  Start();
  const std::vector<std::pair<std::string, int>> texts = {
      {"police arrested my brother right now, please help", 1},
      {"پولیس برادرم را همین حالا گرفت، کمک کنید", 1},
      {"salam, PoR card kab khatam mesha?", 0},
      {"how do I renew my tazkira", 0},
  };
  std::vector<std::string> ids;
  for (size_t i = 0; i < texts.size(); ++i) {
    ids.push_back("wamid.hint-" + std::to_string(i));
    auto r = hooks_->PostSigned(WhatsAppText("92330000000" + std::to_string(i), ids.back(), texts[i].first));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    // Read at once: the row was committed before the 200, and with it the hint.
    EXPECT_EQ(QueryInt(db(), "SELECT urgent FROM messages WHERE provider_id='" + ids.back() + "'"), texts[i].second)
        << texts[i].first;
  }
}

TEST_F(DeliveryTest, AnUrgentMessageOvertakesABacklogOfOrdinaryOnes) {
  Start(/*send_rate=*/200);
  graph_.SetDelayMs(5);  // each send takes a little while, like the real Graph API
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t)
    load.emplace_back([&, t] {
      Webhooks hooks(server_->port());
      for (int i = 0; i < 250; ++i) {
        const std::string from = "9233" + std::to_string(1000000 + t * 1000 + i);
        hooks.PostSigned(WhatsAppText(from, "wamid.bl-" + std::to_string(t) + "-" + std::to_string(i), "salam"));
      }
    });
  for (auto& t : load) t.join();
  const auto sent_at = std::chrono::steady_clock::now();
  Post("923299999999", "police arrested my brother right now, please help");
  ASSERT_TRUE(graph_.WaitFor(1, "923299999999", 10000));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent_at).count();
  const long ordinary_sent = static_cast<long>(graph_.Requests().size());
  EXPECT_LT(seconds, 1.0) << "the safety reply waited behind the backlog";
  EXPECT_LT(ordinary_sent, 2000) << "the backlog had drained already; the test proves nothing";
}

// A raid: many people report arrests at once. The urgent lane commits several people's turns in
// one transaction (one fsync) instead of one each, so it keeps up; every one of them still hears
// the safety line. (One turn a transaction, 28 % urgent webhooks at 32 connections left urgent
// messages waiting 6 s and growing: BENCHMARKS.md, run 18.)
TEST_F(DeliveryTest, ManyUrgentMessagesAtOnceAreCommittedSeveralToATransactionAndAllAnswered) {
  Start(/*send_rate=*/200);
  constexpr int kPeople = 120;
  std::vector<std::pair<std::string, std::string>> reports;
  for (int i = 0; i < kPeople; ++i)
    reports.emplace_back("9235" + std::to_string(10000000 + i), "police arrested my brother right now, please help");
  auto r = hooks_->PostSigned(ManyTextsWebhook(reports, "wamid.raid"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  for (int i = 0; i < kPeople; ++i) {
    const std::string who = "9235" + std::to_string(10000000 + i);
    ASSERT_TRUE(graph_.WaitFor(1, who, 10000)) << who;
    EXPECT_NE(TextOf(graph_.RequestsTo(who)[0].json).find("Your safety comes first"), std::string::npos) << who;
  }
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases WHERE queue = 'unhcr_protection' AND priority = 'urgent'"), kPeople);
  auto metrics = httplib::Client("127.0.0.1", server_->admin_port()).Get("/metrics");
  ASSERT_TRUE(metrics);
  auto value = [&](const std::string& series) { return MetricValue(metrics->body, series); };
  const double commits = value("rahnama_turn_commits_total{lane=\"urgent\"}");
  const double turns = value("rahnama_turns_committed_total{lane=\"urgent\"}");
  // Most of them are the urgent lane's (the ordinary lane steps aside while urgent messages wait).
  EXPECT_GE(turns, kPeople / 2) << metrics->body;
  EXPECT_GE(commits, 1);
  EXPECT_LE(commits, turns / 4) << "the urgent lane committed one person's turn at a time";
  std::printf("urgent lane: %.0f of %d people's turns in %.0f commits\n", turns, kPeople, commits);
}

// One person writing many urgent messages in a row (a voice-note-length report split in pieces)
// does not fill the urgent lane's batch: their turns are committed apart from other people's, whose
// safety replies would otherwise wait for all of them.
TEST_F(DeliveryTest, OnePersonsManyUrgentMessagesAreNotBatchedWithOtherPeople) {
  Start(/*send_rate=*/200);
  std::vector<std::pair<std::string, std::string>> reports;
  for (int i = 0; i < 12; ++i) reports.emplace_back("923600000000", "police arrested my brother right now, please help");
  for (int i = 1; i <= 7; ++i) reports.emplace_back("92360000000" + std::to_string(i), "police arrested my brother right now, please help");
  auto r = hooks_->PostSigned(ManyTextsWebhook(reports, "wamid.pieces"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  for (int i = 1; i <= 7; ++i) ASSERT_TRUE(graph_.WaitFor(1, "92360000000" + std::to_string(i), 10000));
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND status = 'processed'") < 19; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto metrics = httplib::Client("127.0.0.1", server_->admin_port()).Get("/metrics");
  ASSERT_TRUE(metrics);
  auto value = [&](const std::string& series) { return MetricValue(metrics->body, series); };
  const double turns = value("rahnama_turns_committed_total{lane=\"urgent\"}");
  const double commits = value("rahnama_turn_commits_total{lane=\"urgent\"}");
  // At least the one person's 12 (the ordinary lane may take the others after stepping aside
  // for 200 ms on a slow machine).
  ASSERT_GE(turns, 12) << metrics->body;
  // 12 turns in one transaction with 7 other people's would be 1 commit.
  EXPECT_GE(commits, 2) << "one person's 12 messages were batched with 7 other people";
}

// The ordinary lane holds the database for a batch of up to 16 turns at a time. When an urgent
// message is stored it lets the urgent lane go first before its next batch, rather than race it
// for the lock (which the thread that just let go of it usually wins). Seen in the outbox, whose
// ids follow commit order: between the moment the urgent message is stored and its safety reply,
// at most the batch already in hand commits.
TEST_F(DeliveryTest, TheOrdinaryLaneStepsAsideWhileAnUrgentMessageWaits) {
  Start(/*send_rate=*/200);
  // 3,000 ordinary messages in 3 webhooks of 1,000: seconds of work for the ordinary lane. (In 15
  // webhooks of 200, posted one after another, the lane sometimes kept up with them on a loaded
  // CI machine and nothing was left pending when the urgent message came.)
  for (int w = 0; w < 3; ++w) {
    std::vector<std::pair<std::string, std::string>> greetings;
    for (int i = 0; i < 1000; ++i) greetings.emplace_back("9234" + std::to_string(10000000 + w * 1000 + i), "salam");
    auto r = hooks_->PostSigned(ManyTextsWebhook(greetings, "wamid.big-" + std::to_string(w)));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  const std::string urgent = "923299999998";
  Post(urgent, "police arrested my brother right now, please help");
  const long outbox_at_store = QueryInt(db(), "SELECT COALESCE(MAX(id), 0) FROM outbox");
  ASSERT_TRUE(graph_.WaitFor(1, urgent, 10000));
  const long safety_reply = QueryInt(db(), "SELECT MIN(id) FROM outbox WHERE recipient = '" + urgent + "'");
  const long in_between = QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE id > " + std::to_string(outbox_at_store) +
                                             " AND id < " + std::to_string(safety_reply));
  const long pending = QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND status = 'pending'");
  EXPECT_GT(pending, 100) << "the backlog had been worked through already; the test proves nothing";
  // Each greeting turn queues 2 replies; one batch is 16 turns.
  EXPECT_LE(in_between, 2 * 16) << "ordinary batches kept committing while the urgent message waited";
  std::printf("ordinary replies committed between the urgent store and its safety reply: %ld (pending %ld)\n", in_between, pending);
}

}  // namespace
}  // namespace bot::testing
