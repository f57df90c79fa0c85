// Issue #7, privacy: retention with a fake clock, erasure on request, masked logs, and who sees
// a full phone number.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/api_client.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;
constexpr const char* kPassword = "correct horse 42 battery";

class PrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddUser(db(), "admin", "admin", {}, kPassword);
    AddUser(db(), "officer", "officer", {"unhcr_protection"}, kPassword);
    server::Config c = TestConfig(db(), graph_.url());
    c.clock = &clock_;
    auto s = server::Server::Start(c);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
    api_ = std::make_unique<ApiClient>(server_->admin_port());
    admin_ = api_->Token("admin", kPassword);
    ASSERT_FALSE(admin_.empty());
  }
  std::string db() const { return dir_.File("p.db"); }
  void Say(const std::string& from, const std::string& text) {
    const std::string id = "wamid.priv-" + std::to_string(++seq_);
    ASSERT_EQ(hooks_->PostSigned(WhatsAppText(from, id, text))->status, 200);
    ASSERT_TRUE(WaitProcessed(db(), id)) << "not processed: " << text;
  }
  // Every text value in the database, to look for what must be gone.
  std::string EverythingStored() {
    std::string all;
    for (const char* t : {"contacts", "messages", "cases", "case_notes", "outbox", "conversations", "contact_aliases"}) {
      for (const auto& row : Query(db(), std::string("SELECT quote(") + (std::string(t) == "contacts" ? "external_id || display_name" :
                                                                         std::string(t) == "contact_aliases" ? "alias" :
                                                                         std::string(t) == "messages" ? "body || payload" :
                                                                         std::string(t) == "cases" ? "intake || entities || COALESCE(outcome,'')" :
                                                                         std::string(t) == "case_notes" ? "body" :
                                                                         std::string(t) == "outbox" ? "recipient || payload" : "state") +
                                                 ") FROM " + t))
        all += row + "\n";
    }
    return all;
  }

  TempDir dir_;
  FakeClock clock_{1767225600000};  // 2026-01-01
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
  std::unique_ptr<ApiClient> api_;
  std::string admin_;
  int seq_ = 0;
};

TEST_F(PrivacyTest, RetentionRedactsOldBodiesOfPeopleWithoutAnOpenCaseAndKeepsTheCounts) {
  Say("923110000001", "what is the PoR card?");                          // no case
  Say("923110000002", "police arrested my brother right now, please help");  // open urgent case
  ASSERT_TRUE(graph_.WaitFor(3, "", 5000));
  const std::string today = "2026-01-01";
  auto before = api_->Get("/api/v1/reports?from=" + today + "&to=" + today, admin_);
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.json["messages"], 2);

  clock_.Advance(30LL * 86400000);  // a month later: nothing is old enough
  EXPECT_EQ(api_->Post("/api/v1/retention/run", admin_).status, 401) << "sessions expire";
  admin_ = api_->Token("admin", kPassword);
  auto early = api_->Post("/api/v1/retention/run", admin_);
  ASSERT_EQ(early.status, 200) << early.body;
  EXPECT_EQ(early.json["messages_redacted"], 0);

  clock_.Advance(61LL * 86400000);  // past 90 days
  admin_ = api_->Token("admin", kPassword);
  auto run = api_->Post("/api/v1/retention/run", admin_);
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_GT(run.json["messages_redacted"].get<int>(), 0);
  const std::string stored = EverythingStored();
  EXPECT_EQ(stored.find("what is the PoR card?"), std::string::npos) << "old body kept";
  EXPECT_NE(stored.find("police arrested my brother"), std::string::npos) << "an open case keeps its conversation";
  auto after = api_->Get("/api/v1/reports?from=" + today + "&to=" + today, admin_);
  EXPECT_EQ(after.json["messages"], 2) << "statistics survive retention";
  EXPECT_EQ(after.json["top_intents"], before.json["top_intents"]);

  // Resolved cases are redacted after their own period.
  auto cases = api_->Get("/api/v1/cases", admin_);
  ASSERT_EQ(cases.json.size(), 1u);
  const std::string id = cases.json[0]["id"].dump();
  ASSERT_EQ(api_->Post("/api/v1/cases/" + id + "/notes", admin_, {{"text", "brother held in Peshawar"}}).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/cases/" + id + "/resolve", admin_, {{"outcome", "released"}}).status, 200);
  clock_.Advance(181LL * 86400000);
  admin_ = api_->Token("admin", kPassword);
  ASSERT_EQ(api_->Post("/api/v1/retention/run", admin_).status, 200);
  const std::string later = EverythingStored();
  EXPECT_EQ(later.find("police arrested my brother"), std::string::npos);
  EXPECT_EQ(later.find("brother held in Peshawar"), std::string::npos);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases WHERE redacted_at IS NOT NULL"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM audit_log WHERE action='retention_run'"), 3);
}

TEST_F(PrivacyTest, ErasureOnRequestRemovesMessagesCaseDetailsAndIdentifiersButTheAuditKeepsThatItHappened) {
  const std::string me = "923110000010";
  Say(me, "police arrested my brother right now, please help");
  Say(me, "Peshawar");
  Say(me, "stop");
  Say(me, "delete");
  // The confirmation still reaches the person…
  ASSERT_TRUE(graph_.WaitFor(1, me));
  bool confirmed = false;
  for (int i = 0; i < 300 && !confirmed; ++i) {
    for (const auto& r : graph_.RequestsTo(me)) confirmed = confirmed || TextOf(r.json).find("deleted") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(confirmed);
  for (int i = 0; i < 300 && QueryInt(db(), "SELECT COUNT(*) FROM outbox") > 0 &&
                  QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state='pending'") > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // …and then nothing of them is left.
  const std::string stored = EverythingStored();
  EXPECT_EQ(stored.find(me), std::string::npos) << stored;
  EXPECT_EQ(stored.find("police arrested"), std::string::npos);
  EXPECT_EQ(stored.find("Peshawar"), std::string::npos);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM audit_log WHERE action='contact_erased'"), 1);
  EXPECT_EQ(Query(db(), "SELECT details FROM audit_log WHERE action='contact_erased'")[0], "{}");
  // The officer who opens the closed case reads why it is empty, not fifteen blank messages.
  const auto notes = Query(db(), "SELECT body FROM case_notes");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].find("The person asked us to delete their data"), 0u) << notes[0];
  // Writing again starts fresh.
  Say(me, "salam");
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contacts WHERE external_id='" + me + "'"), 1);
}

// WhatsApp usernames hide the phone number: a person known by number and business-scoped user id
// (BSUID) together may later write with the BSUID alone. It is the same person and conversation
// (their answer to the intake question lands on their case), and erasing them forgets both.
TEST_F(PrivacyTest, APersonWhoLaterHidesTheirNumberIsStillOneContactAndErasureForgetsBoth) {
  const std::string phone = "923110000077", bsuid = "PK.8812345678901";
  auto post = [&](const std::string& text, bool with_phone) {
    const std::string id = "wamid.priv-" + std::to_string(++seq_);
    json j = json::parse(WhatsAppText(phone, id, text));
    json& value = j["entry"][0]["changes"][0]["value"];
    json& m = value["messages"][0];
    value["contacts"][0]["user_id"] = bsuid;
    m["from_user_id"] = bsuid;
    if (!with_phone) {
      m.erase("from");
      value["contacts"][0].erase("wa_id");
    }
    ASSERT_EQ(hooks_->PostSigned(j.dump())->status, 200);
    ASSERT_TRUE(WaitProcessed(db(), id)) << "not processed: " << text;
  };
  post("police arrested my brother right now, please help", true);
  post("Peshawar", false);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contacts"), 1);
  const auto intake = Query(db(), "SELECT intake FROM cases");  // no json_extract: SQLCipher's SQLite 3.15
  ASSERT_EQ(intake.size(), 1u);
  EXPECT_EQ(json::parse(intake[0]).value("city", ""), "Peshawar") << "the BSUID-only answer reached the same conversation and case";
  EXPECT_EQ(Query(db(), "SELECT alias FROM contact_aliases"), std::vector<std::string>{bsuid});

  post("stop", false);
  post("delete", false);
  // The confirmation is sent (to the number), then forgotten with the rest.
  ASSERT_TRUE(graph_.WaitFor(1, phone));
  const std::string unsent = "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight') OR recipient = '" + phone + "'";
  for (int i = 0; i < 500 && QueryInt(db(), unsent) > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string stored = EverythingStored();
  EXPECT_EQ(stored.find(phone), std::string::npos) << stored;
  EXPECT_EQ(stored.find(bsuid), std::string::npos) << stored;
}

// After a number change, the old number may be given to a stranger: it must not stay an alias that
// pulls the stranger into this person's conversation. Their BSUID stays theirs.
TEST_F(PrivacyTest, AfterANumberChangeTheOldNumberNoLongerLeadsToThePerson) {
  const std::string bsuid = "PK.5550001112223", old_phone = "923110000081", new_phone = "923110000082";
  auto post = [&](const json& message, const json& contact) {
    json j = json::parse(WhatsAppText(old_phone, "unused", "x"));
    json& value = j["entry"][0]["changes"][0]["value"];
    value["messages"][0] = message;
    value["contacts"][0] = contact;
    ASSERT_EQ(hooks_->PostSigned(j.dump())->status, 200);
    ASSERT_TRUE(WaitProcessed(db(), message["id"].get<std::string>()));
  };
  auto text = [&](const std::string& id, const std::string& body) {
    return json{{"id", id}, {"timestamp", "1767225600"}, {"type", "text"}, {"text", {{"body", body}}}};
  };
  // Known first by the BSUID alone (a username), then by both.
  json first = text("wamid.nc-1", "salam");
  first["from_user_id"] = bsuid;
  post(first, {{"profile", {{"name", "A"}}}, {"user_id", bsuid}});
  json both = text("wamid.nc-2", "what is the PoR card?");
  both["from"] = old_phone;
  both["from_user_id"] = bsuid;
  post(both, {{"profile", {{"name", "A"}}}, {"wa_id", old_phone}, {"user_id", bsuid}});
  ASSERT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contacts"), 1);
  // The person changes number.
  json change = {{"from", old_phone}, {"id", "wamid.nc-3"}, {"timestamp", "1767225600"}, {"type", "system"},
                 {"system", {{"body", "changed"}, {"wa_id", new_phone}, {"type", "user_changed_number"}}}};
  post(change, {{"profile", {{"name", "A"}}}, {"wa_id", old_phone}});
  EXPECT_EQ(Query(db(), "SELECT external_id FROM contacts"), std::vector<std::string>{new_phone});
  // A message the person sent from the old number, delivered late (Meta retries out of order),
  // does not make the old number theirs again.
  json late = text("wamid.nc-late", "are you there?");
  late["from"] = old_phone;
  late["from_user_id"] = bsuid;
  post(late, {{"profile", {{"name", "A"}}}, {"wa_id", old_phone}, {"user_id", bsuid}});
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contact_aliases WHERE alias = '" + old_phone + "'"), 0);
  // A stranger now has the old number: never the person's contact.
  json stranger = text("wamid.nc-4", "hello");
  stranger["from"] = old_phone;
  post(stranger, {{"profile", {{"name", "B"}}}, {"wa_id", old_phone}});
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contacts"), 2);
  EXPECT_EQ(Query(db(), "SELECT c.external_id FROM messages m JOIN contacts c ON c.id = m.contact_id "
                        "WHERE m.provider_id = 'wamid.nc-4'"),
            std::vector<std::string>{old_phone});
  // The person, by their BSUID alone, is still the first contact.
  json again = text("wamid.nc-5", "thank you");
  again["from_user_id"] = bsuid;
  post(again, {{"profile", {{"name", "A"}}}, {"user_id", bsuid}});
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contacts"), 2);
  EXPECT_EQ(Query(db(), "SELECT c.external_id FROM messages m JOIN contacts c ON c.id = m.contact_id "
                        "WHERE m.provider_id = 'wamid.nc-5'"),
            std::vector<std::string>{new_phone});
}

// A contact keeps one phone number: the same BSUID beside another number (no number change was
// announced) is not merged, so replies never go to a number the person may have given up, and a
// reissued number cannot pull a stranger in.
TEST_F(PrivacyTest, TheSameBsuidBesideAnotherNumberIsNotMergedIntoTheContact) {
  const std::string bsuid = "PK.5550001112299", phone = "923110000091", other = "923110000092";
  auto post = [&](const std::string& id, const std::string& from) {
    json j = json::parse(WhatsAppText(from, id, "salam"));
    json& value = j["entry"][0]["changes"][0]["value"];
    value["messages"][0]["from_user_id"] = bsuid;
    value["contacts"][0]["user_id"] = bsuid;
    ASSERT_EQ(hooks_->PostSigned(j.dump())->status, 200);
    ASSERT_TRUE(WaitProcessed(db(), id));
  };
  post("wamid.same-1", phone);
  post("wamid.same-2", other);
  EXPECT_EQ(Query(db(), "SELECT alias FROM contact_aliases"), std::vector<std::string>{bsuid});
  EXPECT_EQ(Query(db(), "SELECT c.external_id FROM messages m JOIN contacts c ON c.id = m.contact_id "
                        "WHERE m.provider_id = 'wamid.same-2'"),
            std::vector<std::string>{other});
}

// The confirmation of an erasure that Meta refuses for good (the window closed meanwhile) must not
// keep the person's number and words in the outbox until retention, months later.
TEST_F(PrivacyTest, AnErasureConfirmationThatFailsLeavesNothingOfThePerson) {
  const std::string me = "923110000011";
  Say(me, "my name is Gul, what is a PoR card?");
  Say(me, "stop");
  graph_.AlwaysAnswer("deleted", {400, R"({"error":{"code":131047,"message":"Re-engagement message"}})"});
  Say(me, "delete");
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight')") > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string stored = EverythingStored();
  EXPECT_EQ(stored.find(me), std::string::npos) << stored;
}

// "delete", then at once a report of an arrest (both in one webhook, so the second waits while the
// first erases): the report is not erased with the rest. It is answered as a new conversation, at
// the real number, and its case can be worked. Meta delivering the first webhook again afterwards
// brings nothing of the erased person back.
TEST_F(PrivacyTest, AMessageSentRightAfterDeleteIsAnsweredAndNotErased) {
  const std::string me = "923110000030";
  const std::string hello = WhatsAppText(me, "wamid.priv-hello", "hello");
  ASSERT_EQ(hooks_->PostSigned(hello)->status, 200);
  ASSERT_TRUE(WaitProcessed(db(), "wamid.priv-hello"));
  Say(me, "stop");
  json both = json::parse(WhatsAppText(me, "wamid.priv-delete", "delete"));
  json urgent = json::parse(WhatsAppText(me, "wamid.priv-urgent", "the police are at my door right now, help"));
  auto& list = both["entry"][0]["changes"][0]["value"]["messages"];
  list.push_back(urgent["entry"][0]["changes"][0]["value"]["messages"][0]);
  ASSERT_EQ(hooks_->PostSigned(both.dump())->status, 200);
  ASSERT_TRUE(WaitProcessed(db(), "wamid.priv-delete"));
  ASSERT_TRUE(WaitProcessed(db(), "wamid.priv-urgent"));

  EXPECT_EQ(Query(db(), "SELECT body FROM messages WHERE provider_id='wamid.priv-urgent'")[0],
            "the police are at my door right now, help") << "the report was not part of what was erased";
  EXPECT_EQ(Query(db(), "SELECT body FROM messages WHERE provider_id='wamid.priv-hello'")[0], "");
  EXPECT_EQ(Query(db(), "SELECT c.external_id FROM cases k JOIN contacts c ON c.id = k.contact_id")[0], me)
      << "the urgent case belongs to a contact officers can reach";
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE recipient LIKE 'erased:%'"), 0);
  bool safety = false;
  for (int i = 0; i < 300 && !safety; ++i) {
    for (const auto& r : graph_.RequestsTo(me)) safety = safety || TextOf(r.json).find("Your safety comes first") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(safety) << "the safety reply reached the real number";

  ASSERT_EQ(hooks_->PostSigned(hello)->status, 200);  // Meta redelivers the first message
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contacts WHERE display_name = 'Test Person'"), 0)
      << "a redelivery brought back the erased person's name";
}

TEST_F(PrivacyTest, AnAdminCanEraseThePersonBehindACase) {
  Say("923110000020", "police arrested my brother right now, please help");
  auto cases = api_->Get("/api/v1/cases", admin_);
  ASSERT_EQ(cases.json.size(), 1u);
  const std::string officer = api_->Token("officer", kPassword);
  EXPECT_EQ(api_->Post("/api/v1/cases/" + cases.json[0]["id"].dump() + "/erase", officer).status, 403);
  EXPECT_EQ(api_->Post("/api/v1/cases/" + cases.json[0]["id"].dump() + "/erase", admin_).status, 200);
  EXPECT_EQ(EverythingStored().find("923110000020"), std::string::npos);
  // Nobody is left to write to: the case leaves the queue, closed as erased, and takes no replies.
  EXPECT_TRUE(api_->Get("/api/v1/cases", admin_).json.empty()) << "an erased person's case stays in the queue";
  auto view = api_->Get("/api/v1/cases/" + cases.json[0]["id"].dump(), admin_);
  EXPECT_EQ(view.json["status"], "resolved");
  EXPECT_EQ(view.json["outcome"], "[erased]");
  ASSERT_EQ(view.json["notes"].size(), 1u) << view.body;
  EXPECT_EQ(view.json["notes"][0]["text"].get<std::string>().find("An admin (admin) erased"), 0u) << view.body;
  EXPECT_EQ(api_->Post("/api/v1/cases/" + cases.json[0]["id"].dump() + "/replies", admin_, {{"text", "hello?"}}).status, 409);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE recipient LIKE 'erased:%'"), 0);
}

TEST(LogPrivacyTest, LogsNeverHoldAFullPhoneNumberOrAMessageBodyAtInfoLevel) {
  TempDir dir;
  FakeGraph graph;
  const std::string log_file = dir.File("server.log");
  const std::string secret = "log-test-secret";
  const std::string cmd = "RAHNAMA_APP_SECRET=" + secret + " RAHNAMA_VERIFY_TOKEN=v RAHNAMA_WA_TOKEN=t RAHNAMA_GRAPH_URL=" +
                          graph.url() + " " + RAHNAMA_BINARY + " serve --port 0 --admin-port 0 --db " + dir.File("l.db") +
                          " --locales " + RAHNAMA_SOURCE_DIR + "/locales --console '' 2> " + log_file + " & echo $!";
  FILE* p = popen(cmd.c_str(), "r");
  char pid_buf[32] = {0};
  ASSERT_TRUE(fgets(pid_buf, sizeof pid_buf, p));
  pclose(p);
  const int pid = std::atoi(pid_buf);
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::ifstream in(log_file);
    std::string line;
    while (std::getline(in, line)) {
      auto at = line.find("\"webhook\":\"127.0.0.1:");
      if (at != std::string::npos) port = std::atoi(line.c_str() + at + 21);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(port, 0);
  Webhooks hooks(port);
  const std::string number = "923457654321";
  const std::string secret_words = "my sister Zarmina is hiding in Hayatabad";
  ASSERT_EQ(hooks.PostSigned(WhatsAppText(number, "wamid.log-1", secret_words), "/webhooks/whatsapp", secret)->status, 200);
  ASSERT_EQ(hooks.PostSigned(WhatsAppText(number, "wamid.log-2", "police arrested my brother right now, please help"),
                             "/webhooks/whatsapp", secret)->status, 200);
  ASSERT_TRUE(graph.WaitFor(2, number));
  kill(pid, SIGTERM);
  for (int i = 0; i < 200 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ifstream in(log_file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string logs = ss.str();
  EXPECT_NE(logs.find("\"event\":\"turn\""), std::string::npos) << "the turns were logged";
  EXPECT_EQ(logs.find(number), std::string::npos) << "a full phone number is in the logs";
  EXPECT_EQ(logs.find("Zarmina"), std::string::npos) << "a message body is in the logs";
  EXPECT_EQ(logs.find("police arrested"), std::string::npos);
  EXPECT_NE(logs.find("4321"), std::string::npos) << "masked numbers keep their last digits";
}

}  // namespace
}  // namespace bot::testing
