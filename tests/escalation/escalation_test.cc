// Issue #4 through the real server: urgent intake, queues scoped to officers, the officer's
// workflow, partner notifications, and every way in that must be refused.
#include <gtest/gtest.h>

#include <array>
#include <thread>

#include "bot/channels/signature.h"
#include "bot/content/content.h"
#include "db/sqlite_store.h"
#include "tests/support/api_client.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kPassword = "correct horse 42 battery";

std::shared_ptr<const content::Snapshot> ShippedContent() {
  static auto snapshot = [] {
    auto doc = content::LoadLocalesDirectory(std::string(RAHNAMA_SOURCE_DIR) + "/locales");
    return *content::Snapshot::Build(std::move(*doc), 1);
  }();
  return snapshot;
}

class EscalationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddUser(db(), "unhcr_officer", "officer", {"unhcr_protection"}, kPassword);
    AddUser(db(), "iom_officer", "officer", {"iom"}, kPassword);
    AddUser(db(), "admin", "admin", {}, kPassword);
    AddUser(db(), "operator", "operator", {}, kPassword);
    auto s = server::Server::Start(TestConfig(db(), graph_.url()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
    api_ = std::make_unique<ApiClient>(server_->admin_port());
    unhcr_ = api_->Token("unhcr_officer", kPassword);
    iom_ = api_->Token("iom_officer", kPassword);
    admin_ = api_->Token("admin", kPassword);
    ASSERT_FALSE(unhcr_.empty());
    ASSERT_FALSE(iom_.empty());
    ASSERT_FALSE(admin_.empty());
  }
  std::string db() const { return dir_.File("rahnama.db"); }
  // Changes the test's database behind the server's back (ageing a case or a contact): true when
  // `sql` ran.
  bool Exec(const std::string& sql) const { return ExecBehindTheServer(db(), sql); }

  // Sends a text from `from` and waits until the bot has answered it (its turn committed).
  void Say(const std::string& from, const std::string& text) {
    const std::string id = "wamid.esc-" + std::to_string(++seq_);
    auto r = hooks_->PostSigned(WhatsAppText(from, id, text));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    ASSERT_TRUE(WaitProcessed(db(), id)) << "message not processed: " << text;
  }
  // A WhatsApp webhook body carrying one message of `type` ("image", "location") with `object`.
  static std::string WhatsAppOfKind(const std::string& from, const std::string& id, const std::string& type,
                                    const json& object) {
    json body = json::parse(WhatsAppText(from, id, "x"));
    json& m = body["entry"][0]["changes"][0]["value"]["messages"][0];
    m.erase("text");
    m["type"] = type;
    m[type] = object;
    return body.dump();
  }
  // Texts the fake Graph API received for `to`, in order.
  std::vector<std::string> Received(const std::string& to, size_t at_least = 0) {
    graph_.WaitFor(at_least, to, 5000);
    std::vector<std::string> out;
    for (const auto& r : graph_.RequestsTo(to)) out.push_back(TextOf(r.json));
    return out;
  }
  // Waits until `text` has been delivered to `to`.
  bool WaitForText(const std::string& to, const std::string& text) {
    for (int i = 0; i < 500; ++i) {
      for (const auto& r : graph_.RequestsTo(to))
        if (TextOf(r.json) == text) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  json CasesFor(const std::string& token, const std::string& query = "") {
    auto r = api_->Get("/api/v1/cases" + query, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json;
  }
  int64_t OnlyCaseOf(const std::string& number) {
    auto ids = Query(db(), "SELECT c.id FROM cases c JOIN contacts k ON k.id=c.contact_id WHERE k.external_id='" + number + "'");
    EXPECT_EQ(ids.size(), 1u);
    return ids.empty() ? 0 : std::stoll(ids[0]);
  }

  TempDir dir_;
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
  std::unique_ptr<ApiClient> api_;
  std::string unhcr_, iom_, admin_;
  int seq_ = 0;
};

TEST_F(EscalationTest, UrgentMessageInEachLanguageGetsTheSafetyReplyInThatLanguageAndAnUrgentUnhcrCase) {
  struct Case { std::string language, number, text; };
  const std::vector<Case> cases = {
      {"en", "923000000001", "police arrested my brother right now, please help"},
      {"prs", "923000000002", "پولیس همین حالا برادرم را گرفت، کمک کنید"},
      {"ps", "923000000003", "پولیسو اوس زما ورور ونیو، مرسته وکړئ"},
  };
  auto content = ShippedContent();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.language);
    Say(c.number, c.text);
    auto texts = Received(c.number, 1);
    ASSERT_FALSE(texts.empty());
    const std::string answer = content->Answer("urgent_protection", c.language);
    const std::string prefix = content->Message("safety_reply_prefix", c.language, {{"partner", "UNHCR"}});
    EXPECT_EQ(texts[0], prefix + "\n\n" + answer) << "the first reply is the safety reply, in " << c.language;
    // The urgent reply leaves first even though it is queued with the intake question.
    const int64_t id = OnlyCaseOf(c.number);
    auto view = api_->Get("/api/v1/cases/" + std::to_string(id), unhcr_);
    ASSERT_EQ(view.status, 200) << view.body;
    EXPECT_EQ(view.json["queue"], "unhcr_protection");
    EXPECT_EQ(view.json["priority"], "urgent");
    EXPECT_EQ(view.json["language"], c.language);
    EXPECT_EQ(view.json["contact"], c.number);  // the full number, for the case's own queue
    EXPECT_EQ(api_->Get("/api/v1/cases/" + std::to_string(id), iom_).status, 404);
  }
  json unhcr_list = CasesFor(unhcr_);
  EXPECT_EQ(unhcr_list.size(), 3u);
  for (const auto& row : unhcr_list) EXPECT_EQ(row["contact"].get<std::string>().find("92300000000"), std::string::npos);
  EXPECT_TRUE(CasesFor(iom_).empty());
  EXPECT_EQ(CasesFor(unhcr_, "?language=ps").size(), 1u);
}

TEST_F(EscalationTest, IntakeAnswersLandOnTheCaseAndASecondMessageJoinsTheSameCase) {
  const std::string me = "923000000010";
  Say(me, "police arrested my brother right now, please help");
  Say(me, "Peshawar");
  Say(me, "2");
  Say(me, "1");
  Say(me, "they took him to the police station in Peshawar, call me on 0300 1234567");
  const int64_t id = OnlyCaseOf(me);
  auto view = api_->Get("/api/v1/cases/" + std::to_string(id), unhcr_);
  ASSERT_EQ(view.status, 200);
  EXPECT_EQ(view.json["intake"]["city"], "Peshawar");
  EXPECT_EQ(view.json["intake"]["at_risk"], "family");
  EXPECT_EQ(view.json["intake"]["detained_now"], "yes");
  EXPECT_EQ(view.json["entities"]["cities"], json::array({"Peshawar"}));
  EXPECT_EQ(view.json["entities"]["phones"], json::array({"03001234567"}));
  int inbound = 0;
  for (const auto& m : view.json["messages"]) inbound += m["direction"] == "in";
  EXPECT_EQ(inbound, 5);
  auto texts = Received(me, 5);
  auto content = ShippedContent();
  EXPECT_NE(std::find(texts.begin(), texts.end(), content->Message("intake_done", "en")), texts.end());
}

// Someone updating IOM (moved to a new country) reports an arrest half-way through IOM's
// questions: the safety reply and the urgent questions come first, and then IOM's question is
// asked again, its answers filed on the IOM case (they were never asked again, and the person's
// new location never reached IOM).
TEST_F(EscalationTest, IomQuestionsInterruptedByAnArrestAreAskedAgainAfterTheUrgentQuestions) {
  const std::string me = "923000000029";
  auto content = ShippedContent();
  // Every reply queued so far, once the fake Graph API has them all (Say waits for the turn only).
  auto all_replies = [&] {
    const long queued = QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE recipient = '" + me + "'");
    return Received(me, static_cast<size_t>(queued));
  };
  Say(me, "I moved to Canada, I have a US refugee case, how do I update IOM with my new address?");
  Say(me, "US-1234567");
  ASSERT_EQ(all_replies().back(), content->Message("iom_location", "en"));
  Say(me, "police arrested my brother right now, please help");
  for (const char* answer : {"Peshawar", "2", "yes"}) Say(me, answer);
  auto texts = all_replies();
  ASSERT_GE(texts.size(), 2u);
  EXPECT_EQ(texts[texts.size() - 2], content->Message("intake_done", "en"));
  EXPECT_EQ(texts.back(), content->Message("iom_location", "en")) << "IOM's question was not asked again";
  Say(me, "Toronto, Canada");
  EXPECT_EQ(all_replies().back(), content->Message("iom_contact", "en"));

  auto iom_cases = CasesFor(iom_);
  ASSERT_EQ(iom_cases.size(), 1u);
  auto iom = api_->Get("/api/v1/cases/" + iom_cases[0]["id"].dump(), iom_);
  ASSERT_EQ(iom.status, 200);
  EXPECT_EQ(iom.json["intake"]["case_number"], "US-1234567") << iom.body;
  EXPECT_EQ(iom.json["intake"]["current_location"], "Toronto, Canada") << iom.body;
  auto unhcr_cases = CasesFor(unhcr_);
  ASSERT_EQ(unhcr_cases.size(), 1u);
  auto urgent = api_->Get("/api/v1/cases/" + unhcr_cases[0]["id"].dump(), unhcr_);
  EXPECT_EQ(urgent.json["intake"]["city"], "Peshawar") << urgent.body;
  EXPECT_EQ(urgent.json["intake"]["detained_now"], "yes") << urgent.body;
  EXPECT_FALSE(urgent.json["intake"].contains("current_location")) << urgent.body;
}

// The nine-line safety reply goes out once per urgent case. Later messages that name the police (the
// person answering "which station?") join the case with one line that the officers have it, also
// while an officer is talking to them. A case made urgent without it (a routing rule sending
// requests for a person to protection as urgent) gets the full reply on its first threat.
TEST_F(EscalationTest, TheSafetyReplyIsSentOncePerCaseAndNotWhileAnOfficerTalks) {
  const std::string me = "923000000015";
  auto content = ShippedContent();
  const std::string prefix = content->Message("safety_reply_prefix", "en", {{"partner", "UNHCR"}});
  Say(me, "police arrested my brother right now, please help");
  Say(me, "Peshawar");
  Say(me, "2");
  Say(me, "1");
  auto texts = Received(me, 5);
  ASSERT_EQ(texts.size(), 5u);
  Say(me, "the police are still with him at the station, please help");
  texts = Received(me, 6);
  ASSERT_EQ(texts.size(), 6u);
  EXPECT_EQ(texts[5], content->Message("intake_urgent_noted", "en"));
  int safety = 0;
  for (const auto& t : texts) safety += t.rfind(prefix, 0) == 0;
  EXPECT_EQ(safety, 1);
  const int64_t id = OnlyCaseOf(me);
  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(id) + "/claim", unhcr_).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(id) + "/replies", unhcr_, {{"text", "Which police station?"}}).status, 200);
  ASSERT_TRUE(WaitForText(me, "Which police station?"));
  const size_t before = graph_.RequestsTo(me).size();
  Say(me, "the police station is in saddar, they arrested him there");
  texts = Received(me, before + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  texts = Received(me);
  ASSERT_EQ(texts.size(), before + 1);
  EXPECT_EQ(texts.back(), content->Message("intake_urgent_noted", "en"));
  EXPECT_EQ(OnlyCaseOf(me), id);

  // A routing rule makes requests for a person urgent protection cases: no safety reply then, so
  // the first threat on that case gets it in full.
  const std::string other = "923000000019";
  auto rules = api_->Get("/api/v1/routing-rules", admin_);
  ASSERT_EQ(rules.status, 200) << rules.body;
  json list = json::array({{{"position", 0}, {"intent", "human_agent"}, {"queue", "unhcr_protection"}, {"priority", "urgent"}}});
  for (const auto& r : rules.json) list.push_back(r);
  auto put = api_->Call("PUT", "/api/v1/routing-rules", admin_, list);
  ASSERT_EQ(put.status, 200) << put.body;
  Say(other, "I want to talk to a person");
  ASSERT_EQ(Query(db(), "SELECT c.priority || ' ' || COALESCE(c.safety_reply_at, 0) FROM cases c JOIN contacts k ON "
                        "k.id = c.contact_id WHERE k.external_id = '" + other + "'"),
            std::vector<std::string>{"urgent 0"});
  const size_t had = Received(other, 1).size();
  Say(other, "police arrested my brother right now, please help");
  auto got = Received(other, had + 1);
  ASSERT_GT(got.size(), had);
  EXPECT_EQ(got[had].rfind(prefix, 0), 0u) << got[had];
}

// WhatsApp allows 4,096 characters; a Dari letter is two bytes, and a 3,500-letter reply was refused
// as too long when bytes were counted. It reaches the person (in parts where the channel needs).
TEST_F(EscalationTest, AnOfficersLongDariReplyIsCountedInCharactersNotBytes) {
  const std::string me = "923000000016";
  Say(me, "police arrested my brother right now, please help");
  const std::string base = "/api/v1/cases/" + std::to_string(OnlyCaseOf(me));
  std::string dari;
  while (dari.size() < 7000) dari += "وکیل ";  // 5 characters, 9 bytes
  auto ok = api_->Post(base + "/replies", unhcr_, {{"text", dari}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  std::string too_long(4097, 'a');
  auto refused = api_->Post(base + "/replies", unhcr_, {{"text", too_long}});
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.json.value("error", "").find("4096 characters"), std::string::npos) << refused.body;
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE author='officer:unhcr_officer'"), 1);
}

// A reply of only a zero-width space (or spaces and a no-break space) reached the person as an
// empty message and set the case's first response, so an urgent case never went overdue.
TEST_F(EscalationTest, AnOfficersReplyOfOnlyInvisibleCharactersIsRefused) {
  const std::string me = "923000000018";
  Say(me, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(me);
  const std::string base = "/api/v1/cases/" + std::to_string(id);
  for (const char* blank : {"\u200b", "  \n\u200b ", "\u00a0\u2060", "\ufeff\u200c\u200d", "\u3164", "\u2800"}) {
    auto r = api_->Post(base + "/replies", unhcr_, {{"text", blank}});
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.json.value("error", "").find("must not be empty"), std::string::npos) << r.body;
  }
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE author LIKE 'officer:%'"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases WHERE id = " + std::to_string(id) + " AND first_response_at IS NULL"), 1);
  // Text with invisible characters around it is text ("\u200c" joins Dari letters).
  EXPECT_EQ(api_->Post(base + "/replies", unhcr_, {{"text", "\u200bمی\u200cخواهیم کمک کنیم"}}).status, 200);
}

// The officer reads what the person wrote before the case opened: the question they asked an hour
// before the arrest they report is theirs to answer too. A day further back is not shown.
TEST_F(EscalationTest, TheCaseShowsWhatThePersonWroteTheDayBeforeItOpened) {
  const std::string me = "923000000017";
  Say(me, "an old question about visas");
  Say(me, "I am very scared, is my PoR card still valid?");
  ASSERT_TRUE(Exec("UPDATE messages SET created_at = created_at - 2 * 86400000 WHERE body = 'an old question about visas'"));
  ASSERT_TRUE(Exec("UPDATE messages SET created_at = created_at - 3600000 WHERE body LIKE 'I am very scared%'"));
  Say(me, "police arrested my brother right now, please help");
  auto view = api_->Get("/api/v1/cases/" + std::to_string(OnlyCaseOf(me)), unhcr_);
  ASSERT_EQ(view.status, 200) << view.body;
  std::vector<std::string> inbound;
  for (const auto& m : view.json["messages"])
    if (m["direction"] == "in") inbound.push_back(m["text"]);
  EXPECT_EQ(inbound, (std::vector<std::string>{"I am very scared, is my PoR card still valid?",
                                               "police arrested my brother right now, please help"}));
}

// A topic picked from the menu ("2") is counted as that topic in the reports, not as a message the
// bot did not understand (112 of 196 messages were "unknown" in a tester's report, most of them
// menu picks), so the unknown rate operators watch means what it says.
TEST_F(EscalationTest, AMenuPickIsCountedAsItsTopic) {
  const std::string me = "923000000018";
  auto content = ShippedContent();
  int por = 0;
  for (const auto& item : content->Menu("en"))
    if (item.intent == "por_card") por = item.number;
  ASSERT_GT(por, 0);
  Say(me, "salam");
  Say(me, "English please");
  Say(me, std::to_string(por));
  EXPECT_EQ(Query(db(), "SELECT intent FROM messages WHERE direction = 'in' AND body = '" + std::to_string(por) + "'"),
            std::vector<std::string>{"por_card"});
  auto report = api_->Get("/api/v1/reports", admin_);
  ASSERT_EQ(report.status, 200) << report.body;
  bool counted = false;
  for (const auto& i : report.json["top_intents"]) counted = counted || (i["intent"] == "por_card" && i["messages"] == 1);
  EXPECT_TRUE(counted) << report.body;
}

TEST_F(EscalationTest, AnOfficersReplyReachesThePersonAndMutesTheBotUntilResolved) {
  const std::string me = "923000000020";
  Say(me, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(me);
  const std::string base = "/api/v1/cases/" + std::to_string(id);
  auto claim = api_->Post(base + "/claim", unhcr_);
  ASSERT_EQ(claim.status, 200) << claim.body;
  EXPECT_EQ(claim.json["assignee"], "unhcr_officer");
  auto reply = api_->Post(base + "/replies", unhcr_, {{"text", "We are calling a lawyer now. Stay where you are."}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.json["first_response_at"], nullptr);
  auto content = ShippedContent();
  EXPECT_TRUE(WaitForText(me, content->Message("officer_claimed", "en", {{"partner", "UNHCR"}})));
  EXPECT_TRUE(WaitForText(me, "We are calling a lawyer now. Stay where you are."));
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE author='officer:unhcr_officer'"), 1);

  // Human mode: the bot stays quiet while the officer has the conversation.
  const size_t before = graph_.RequestsTo(me).size();
  Say(me, "what is a PoR card?");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(graph_.RequestsTo(me).size(), before);

  auto note = api_->Post(base + "/notes", unhcr_, {{"text", "Brother held at Hayatabad station."}});
  EXPECT_EQ(note.status, 200);
  auto resolved = api_->Post(base + "/resolve", unhcr_, {{"outcome", "released after lawyer visit"}});
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_EQ(resolved.json["status"], "resolved");
  EXPECT_TRUE(WaitForText(me, content->Message("case_resolved", "en", {{"partner", "UNHCR"}})));
  // Resolved: the bot answers again.
  const size_t after_resolve = graph_.RequestsTo(me).size();
  Say(me, "what is a PoR card?");
  EXPECT_TRUE(graph_.WaitFor(after_resolve + 1, me));
  auto view = api_->Get(base, unhcr_);
  EXPECT_EQ(view.json["notes"].size(), 1u);
  EXPECT_EQ(api_->Post(base + "/replies", unhcr_, {{"text", "late"}}).status, 409);
}

// A person with two open cases: the officer who asked a question gets the answer, on their case,
// and the bot does not talk over them, whichever case the conversation was last working on.
TEST_F(EscalationTest, WithTwoOpenCasesThePersonsAnswerGoesToTheOfficerWhoAskedAndTheBotStaysQuiet) {
  const std::string me = "923000000025";
  Say(me, "police arrested my brother right now, please help");
  for (int i = 0; i < 4; ++i) Say(me, "skip");
  Say(me, "I moved to Canada, I have a US refugee case, how do I update IOM with my new address?");
  for (int i = 0; i < 3; ++i) Say(me, "skip");
  auto ids = Query(db(), "SELECT c.id || ' ' || c.queue FROM cases c JOIN contacts k ON k.id=c.contact_id WHERE "
                         "k.external_id='" + me + "' AND c.status != 'resolved' ORDER BY c.id");
  ASSERT_EQ(ids.size(), 2u) << "the test needs two open cases";
  ASSERT_NE(ids[0].find("unhcr_protection"), std::string::npos) << ids[0];
  const std::string urgent_case = ids[0].substr(0, ids[0].find(' '));
  const std::string base = "/api/v1/cases/" + urgent_case;
  auto reply = api_->Post(base + "/replies", unhcr_, {{"text", "Which city are you in?"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(WaitForText(me, "Which city are you in?"));
  const int64_t seen_at = QueryInt(db(), "SELECT last_message_at FROM cases WHERE id = " + urgent_case);

  const size_t before = graph_.RequestsTo(me).size();
  Say(me, "Peshawar");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(graph_.RequestsTo(me).size(), before) << "the bot talked over the officer: " << Received(me).back();
  EXPECT_EQ(QueryInt(db(), "SELECT case_id FROM messages WHERE body = 'Peshawar'"), std::stoll(urgent_case));
  EXPECT_GT(QueryInt(db(), "SELECT last_message_at FROM cases WHERE id = " + urgent_case), seen_at)
      << "the officer's console polls on last_message_at";
}

// An arrest reported while an officer talks to the person on another case opens its own urgent
// case with the safety reply, but the bot asks no intake questions there: both asking at once, the
// person's answers to the officer were filed as intake answers ("where are you now?" answered with
// the family's size). Their next message stays the officer's, and the bot stays quiet.
TEST_F(EscalationTest, WhileAnOfficerTalksOnAnotherCaseAnArrestGetsTheSafetyReplyButNoIntakeQuestions) {
  const std::string me = "923000000026";
  Say(me, "I moved to Canada, I have a US refugee case, how do I update IOM with my new address?");
  for (int i = 0; i < 3; ++i) Say(me, "skip");
  auto iom_cases = CasesFor(iom_);
  ASSERT_EQ(iom_cases.size(), 1u);
  ASSERT_EQ(api_->Post("/api/v1/cases/" + iom_cases[0]["id"].dump() + "/replies", iom_, {{"text", "IOM here, hello."}}).status, 200);
  ASSERT_TRUE(WaitForText(me, "IOM here, hello."));
  const size_t before = graph_.RequestsTo(me).size();
  Say(me, "police arrested my brother right now, please help");
  auto unhcr_cases = CasesFor(unhcr_);
  ASSERT_EQ(unhcr_cases.size(), 1u) << "the arrest report opens its own case";
  auto texts = Received(me, before + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  texts = Received(me);
  ASSERT_EQ(texts.size(), before + 1) << texts.back();
  EXPECT_EQ(texts.back().rfind(ShippedContent()->Message("safety_reply_prefix", "en", {{"partner", "UNHCR"}}), 0), 0u);
  Say(me, "Kabul");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(graph_.RequestsTo(me).size(), before + 1) << "the bot talked over the officer";
  EXPECT_EQ(QueryInt(db(), "SELECT case_id FROM messages WHERE body = 'Kabul'"), iom_cases[0]["id"].get<int64_t>());
  auto view = api_->Get("/api/v1/cases/" + unhcr_cases[0]["id"].dump(), unhcr_);
  EXPECT_TRUE(view.json["intake"].empty()) << view.body;
}

// The bot asked a question on a case that an officer has since resolved; the person has two other
// open cases, one an officer is talking on. Their answer is not for the stale question (it would
// fall to the newest open case, where the bot would talk over the officer): it is the officer's.
TEST_F(EscalationTest, AnAnswerToAQuestionOnAResolvedCaseGoesToTheOfficerNotTheNewestCase) {
  const std::string me = "923000000027";
  Say(me, "I want to talk to a person");
  Say(me, "I moved to Canada, I have a US refugee case, how do I update IOM with my new address?");
  for (int i = 0; i < 3; ++i) Say(me, "skip");
  Say(me, "police arrested my brother right now, please help");
  auto cases = Query(db(), "SELECT c.id || ' ' || c.queue FROM cases c JOIN contacts k ON k.id=c.contact_id WHERE "
                           "k.external_id='" + me + "' AND c.status != 'resolved' ORDER BY c.id");
  ASSERT_EQ(cases.size(), 3u) << "the test needs three open cases";
  ASSERT_NE(cases[0].find(" info_desk"), std::string::npos) << cases[0];
  ASSERT_NE(cases[1].find(" iom"), std::string::npos) << cases[1];
  ASSERT_NE(cases[2].find(" unhcr_protection"), std::string::npos) << cases[2];
  const std::string desk_case = cases[0].substr(0, cases[0].find(' '));
  const std::string urgent_case = cases[2].substr(0, cases[2].find(' '));
  // No json_extract: SQLCipher's SQLite 3.15 has no JSON functions.
  const auto state = Query(db(), "SELECT state FROM conversations JOIN contacts k ON k.id = contact_id "
                                 "WHERE k.external_id = '" + me + "'");
  ASSERT_EQ(state.size(), 1u);
  const json st = json::parse(state[0]);
  ASSERT_EQ(st.value("stage", "") + " " + std::to_string(st.value("case_id", int64_t{0})), "intake_city " + urgent_case)
      << "the bot has just asked for the city on the urgent case";

  // An officer talks to the person on the oldest case; the bot's question's case is resolved.
  ASSERT_EQ(api_->Post("/api/v1/cases/" + desk_case + "/replies", admin_, {{"text", "Desk here: where are you now?"}}).status, 200);
  ASSERT_TRUE(WaitForText(me, "Desk here: where are you now?"));
  ASSERT_EQ(api_->Post("/api/v1/cases/" + urgent_case + "/resolve", unhcr_, {{"outcome", "assisted"}}).status, 200);
  // The resolution's notice to the person goes first.
  const std::string unsent = "SELECT COUNT(*) FROM outbox WHERE recipient = '" + me + "' AND state != 'sent'";
  for (int i = 0; i < 500 && QueryInt(db(), unsent) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(QueryInt(db(), unsent), 0);

  const size_t before = graph_.RequestsTo(me).size();
  Say(me, "Toronto");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(graph_.RequestsTo(me).size(), before) << "the bot talked over the officer: " << Received(me).back();
  EXPECT_EQ(QueryInt(db(), "SELECT case_id FROM messages WHERE body = 'Toronto'"), std::stoll(desk_case));
}

// The case change and the message to the person are one write: when the message cannot be
// queued, the case does not claim a first response, a claim or a resolution the person never heard
// of, and the officer can simply try again.
TEST_F(EscalationTest, ACaseChangeWhoseMessageCannotBeQueuedLeavesTheCaseAsItWas) {
  const std::string me = "923000000031";
  Say(me, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(me);
  const std::string base = "/api/v1/cases/" + std::to_string(id);
  const std::string officer_rows = "SELECT COUNT(*) FROM messages WHERE author LIKE 'officer:%' AND contact_id = "
                                   "(SELECT contact_id FROM cases WHERE id = " + std::to_string(id) + ")";
  ASSERT_TRUE(Exec("CREATE TRIGGER outbox_full BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox full'); END"));

  auto claim = api_->Post(base + "/claim", unhcr_);
  EXPECT_NE(claim.status, 200) << claim.body;
  EXPECT_TRUE(claim.json.contains("error")) << claim.body;
  auto reply = api_->Post(base + "/replies", unhcr_, {{"text", "We are calling a lawyer now."}});
  EXPECT_NE(reply.status, 200) << reply.body;
  auto resolve = api_->Post(base + "/resolve", unhcr_, {{"outcome", "released"}});
  EXPECT_NE(resolve.status, 200) << resolve.body;
  auto view = api_->Get(base, unhcr_);
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(view.json["status"], "open");
  EXPECT_EQ(view.json["assignee"], nullptr);
  EXPECT_EQ(view.json["first_response_at"], nullptr) << "no first response counted for a reply never queued";
  EXPECT_EQ(QueryInt(db(), "SELECT human_mode FROM cases WHERE id=" + std::to_string(id)), 0);
  EXPECT_EQ(QueryInt(db(), officer_rows), 0) << "no reply row without its outbox row";

  ASSERT_TRUE(Exec("DROP TRIGGER outbox_full"));
  auto again = api_->Post(base + "/replies", unhcr_, {{"text", "We are calling a lawyer now."}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json["status"], "claimed");
  EXPECT_NE(again.json["first_response_at"], nullptr);
  EXPECT_TRUE(WaitForText(me, "We are calling a lawyer now."));
  EXPECT_EQ(QueryInt(db(), officer_rows), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT human_mode FROM cases WHERE id=" + std::to_string(id)), 1);
}

// A message no rule finds urgent but the example model does (written for this test, in no
// evaluation set): it reaches the protection queue like any urgent one, and the case says why.
TEST_F(EscalationTest, AnUrgentMessageOnlyTheExampleModelCaughtReachesTheQueueWithANoteSayingSo) {
  const std::string me = "923000000029";
  Say(me, "they are dragging my son into a van, please");
  const int64_t id = OnlyCaseOf(me);
  auto view = api_->Get("/api/v1/cases/" + std::to_string(id), unhcr_);
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(view.json["queue"], "unhcr_protection");
  EXPECT_EQ(view.json["priority"], "urgent");
  ASSERT_EQ(view.json["notes"].size(), 1u) << view.body;
  EXPECT_EQ(view.json["notes"][0]["author"], "rahnama");
  EXPECT_NE(view.json["notes"][0]["text"].get<std::string>().find("example model"), std::string::npos);
  // A message the rules find urgent carries no such note.
  const std::string other = "923000000030";
  Say(other, "police arrested my brother right now, please help");
  auto ruled = api_->Get("/api/v1/cases/" + std::to_string(OnlyCaseOf(other)), unhcr_);
  EXPECT_EQ(ruled.json["notes"].size(), 0u) << ruled.body;
}

// Someone handed to the desk gets the warning the human_agent answer carries (that answer is never
// sent: the hand-off message is), in their language: document numbers only when an officer asks.
TEST_F(EscalationTest, APersonHandedToTheDeskIsWarnedNotToSendDocumentNumbers) {
  const std::vector<std::array<std::string, 3>> people = {
      {"923000000041", "I want to talk to a person", "Do not send passport, PoR card or other document numbers"},
      {"923000000042", "میخواهم با یک کارمند صحبت کنم", "شماره پاسپورت، کارت پی او آر یا اسناد دیگر خود را نفرستید"},
      {"923000000043", "زه غواړم له یو انسان سره خبرې وکړم", "د پاسپورټ، PoR کارت یا نورو اسنادو شمېرې مه لېږئ"}};
  for (const auto& [me, text, warning] : people) {
    Say(me, text);
    ASSERT_EQ(QueryInt(db(), "SELECT count(*) FROM cases c JOIN contacts k ON k.id=c.contact_id WHERE k.external_id='" + me +
                                 "' AND c.queue='info_desk'"), 1) << text;
    bool warned = false;
    for (int i = 0; i < 500 && !warned; ++i) {
      for (const auto& t : Received(me)) warned = warned || t.find(warning) != std::string::npos;
      if (!warned) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(warned) << text;
  }
}

// WhatsApp's "user_changed_number": the case, the conversation and the officer's replies follow
// the person to the new number (they stayed on the old one, and the new number started over).
TEST_F(EscalationTest, APersonWhoChangesNumberKeepsTheirCaseAndHearsTheOfficerOnTheNewNumber) {
  const std::string old_number = "923000000051", new_number = "923000000052";
  Say(old_number, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(old_number);
  json change = json::parse(WhatsAppText(old_number, "wamid.esc-change", "x"));
  json& m = change["entry"][0]["changes"][0]["value"]["messages"][0];
  m.erase("text");
  m["type"] = "system";
  m["system"] = {{"body", "User A changed from " + old_number + " to " + new_number}, {"wa_id", new_number},
                 {"type", "user_changed_number"}};
  auto r = hooks_->PostSigned(change.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(WaitProcessed(db(), "wamid.esc-change"));
  EXPECT_EQ(OnlyCaseOf(new_number), id) << "the case is the new number's";
  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(id) + "/replies", unhcr_, {{"text", "I am with you."}}).status, 200);
  EXPECT_TRUE(WaitForText(new_number, "I am with you."));
  // Writing from the new number continues the same conversation and case.
  Say(new_number, "they took him to the thana in G-9");
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM contacts WHERE external_id IN ('" + old_number + "','" + new_number + "')"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT count(DISTINCT case_id) FROM messages m JOIN contacts c ON c.id=m.contact_id "
                           "WHERE c.external_id='" + new_number + "' AND m.case_id IS NOT NULL"), 1);
  // The officer sees why their replies go elsewhere now.
  auto view = api_->Get("/api/v1/cases/" + std::to_string(id), unhcr_);
  bool noted = false;
  for (const auto& n : view.json["notes"])
    noted = noted || (n["author"] == "rahnama" && n["text"].get<std::string>().find(new_number) != std::string::npos);
  EXPECT_TRUE(noted) << view.body;

  // A new number that wrote to us before WhatsApp's notice arrived has its own conversation: not
  // merged, and the officer is told so.
  const std::string third = "923000000053", fourth = "923000000054";
  Say(third, "police arrested my brother right now, please help");
  const int64_t third_case = OnlyCaseOf(third);
  Say(fourth, "salam");
  json early = json::parse(WhatsAppText(third, "wamid.esc-change-2", "x"));
  json& e = early["entry"][0]["changes"][0]["value"]["messages"][0];
  e.erase("text");
  e["type"] = "system";
  e["system"] = {{"body", "User changed number"}, {"wa_id", fourth}, {"type", "user_changed_number"}};
  ASSERT_EQ(hooks_->PostSigned(early.dump())->status, 200);
  ASSERT_TRUE(WaitProcessed(db(), "wamid.esc-change-2"));
  EXPECT_EQ(OnlyCaseOf(third), third_case) << "the case stays on the old number";
  auto third_view = api_->Get("/api/v1/cases/" + std::to_string(third_case), unhcr_);
  bool warned = false;
  for (const auto& n : third_view.json["notes"])
    warned = warned || n["text"].get<std::string>().find("not merged") != std::string::npos;
  EXPECT_TRUE(warned) << third_view.body;
}

// The number change and a message written before it arrive together: the answer to that message
// goes to the number the person has now, not to the old one (which may be someone else's soon).
TEST_F(EscalationTest, AMessageArrivingWithTheNumberChangeIsAnsweredOnTheNewNumber) {
  const std::string old_number = "923000000055", new_number = "923000000056";
  Say(old_number, "salam");
  json both = json::parse(WhatsAppText(old_number, "wamid.esc-change-3", "x"));
  json& m = both["entry"][0]["changes"][0]["value"]["messages"][0];
  m.erase("text");
  m["type"] = "system";
  m["system"] = {{"body", "User changed number"}, {"wa_id", new_number}, {"type", "user_changed_number"}};
  json text = json::parse(WhatsAppText(old_number, "wamid.esc-after-change", "what is a PoR card?"));
  both["entry"][0]["changes"][0]["value"]["messages"].push_back(text["entry"][0]["changes"][0]["value"]["messages"][0]);
  ASSERT_EQ(hooks_->PostSigned(both.dump())->status, 200);
  ASSERT_TRUE(WaitProcessed(db(), "wamid.esc-after-change"));
  bool answered = false;
  for (int i = 0; i < 500 && !answered; ++i) {
    for (const auto& r : graph_.RequestsTo(new_number)) answered |= r.body.find("Proof of Registration") != std::string::npos;
    if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(answered) << "the answer did not reach the new number";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const auto& r : graph_.RequestsTo(old_number))
    EXPECT_EQ(r.body.find("Proof of Registration"), std::string::npos) << "the answer went to the old number";
}

TEST_F(EscalationTest, TheMenuWordBringsTheBotBackDuringHumanMode) {
  const std::string me = "923000000021";
  Say(me, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(me);
  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(id) + "/replies", unhcr_, {{"text", "Hello, I am here."}}).status, 200);
  const size_t before = Received(me, 1).size();
  Say(me, "menu");
  ASSERT_TRUE(graph_.WaitFor(before + 1, me));
  EXPECT_EQ(QueryInt(db(), "SELECT human_mode FROM cases WHERE id=" + std::to_string(id)), 0);
}

TEST_F(EscalationTest, PartnerWebhookGetsASignedNotificationAfterConsentRetriedWhenItFails) {
  FakeGraph partner;
  partner.Plan({{500, R"({"error":"partner down"})"}});
  auto put = api_->Call("PUT", "/api/v1/queues/unhcr_protection", admin_,
                        {{"partner", "UNHCR"}, {"sla_minutes", 15}, {"webhook_url", partner.url() + "/hooks/rahnama"},
                         {"webhook_secret", "partner-shared-secret-123"}});
  ASSERT_EQ(put.status, 200) << put.body;
  const std::string me = "923000000030";
  Say(me, "police arrested my brother right now, please help");
  Say(me, "skip");
  Say(me, "skip");
  Say(me, "skip");  // the intake is done; consent is asked next
  auto content = ShippedContent();
  EXPECT_TRUE(WaitForText(me, content->Message("consent_question", "en", {{"partner", "UNHCR"}})));
  EXPECT_EQ(partner.Attempts(), 0) << "nothing goes to the partner before the person agrees";
  Say(me, "1");
  ASSERT_TRUE(partner.WaitFor(1, "", 10000));
  auto got = partner.Requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GE(partner.Attempts(), 2) << "the first delivery failed and was retried";
  EXPECT_EQ(got[0].path, "/hooks/rahnama");
  EXPECT_EQ(got[0].headers["X-Rahnama-Signature-256"], channels::SignatureHeader("partner-shared-secret-123", got[0].body));
  EXPECT_EQ(got[0].json["queue"], "unhcr_protection");
  EXPECT_EQ(got[0].json["priority"], "urgent");
  EXPECT_EQ(got[0].json["case_id"], OnlyCaseOf(me));
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases WHERE consent='yes'"), 1);

  // Someone who says no keeps the case internal.
  const std::string other = "923000000031";
  Say(other, "police arrested my brother right now, please help");
  Say(other, "skip");
  Say(other, "skip");
  Say(other, "skip");
  Say(other, "2");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(partner.Requests().size(), 1u);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases WHERE consent='no'"), 1);
}

// A partner URL the HTTP client cannot be built for (a port it cannot read) made the sender thread
// throw: the server stopped, and the notification, in flight again at start, stopped it after every
// restart. The API refuses such a URL; one already stored (an older version took it) fails its
// notification for good and the server goes on.
TEST_F(EscalationTest, APartnerUrlWithAnImpossiblePortIsRefusedAndNeverStopsTheServer) {
  for (const char* url : {"https://partner.example:99999999999/hook", "https://partner.example:0/hook", "https://:443/hook",
                          "ftp://partner.example/hook"}) {
    auto put = api_->Call("PUT", "/api/v1/queues/unhcr_protection", admin_,
                          {{"partner", "UNHCR"}, {"sla_minutes", 15}, {"webhook_url", url},
                           {"webhook_secret", "partner-shared-secret-123"}});
    EXPECT_EQ(put.status, 400) << url << ": " << put.body;
    EXPECT_TRUE(put.json.contains("error")) << put.body;
  }
  ASSERT_TRUE(Exec("UPDATE queues SET webhook_url = 'https://partner.example:99999999999/hook', "
                   "webhook_secret = 'partner-shared-secret-123' WHERE id = 'unhcr_protection'"));
  const std::string me = "923000000032";
  Say(me, "police arrested my brother right now, please help");
  for (int i = 0; i < 3; ++i) Say(me, "skip");
  Say(me, "1");  // consent: the notification is queued
  const std::string failed = "SELECT COUNT(*) FROM outbox WHERE channel = 'partner' AND state = 'failed'";
  for (int i = 0; i < 300 && QueryInt(db(), failed) < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(QueryInt(db(), failed), 1);
  Say("923000000033", "what is the PoR card?");  // still answering
  EXPECT_TRUE(graph_.WaitFor(1, "923000000033"));
}

TEST_F(EscalationTest, WrongPasswordMissingTokenWrongQueueAndTamperedCookieAreRefused) {
  Say("923000000040", "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf("923000000040");
  const std::string path = "/api/v1/cases/" + std::to_string(id);

  auto wrong = api_->Login("unhcr_officer", "not the password at all");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(wrong.json.contains("error"));
  EXPECT_EQ(api_->Login("nobody", kPassword).status, 401);
  EXPECT_EQ(api_->Get("/api/v1/cases", "").status, 401);
  EXPECT_EQ(api_->Get(path, "").status, 401);
  EXPECT_EQ(api_->Post(path + "/claim", "").status, 401);
  EXPECT_EQ(api_->Get(path, "forged-token").status, 401);
  EXPECT_EQ(api_->Get("/api/v1/cases?queue=unhcr_protection", iom_).status, 403);
  EXPECT_EQ(api_->Get(path, iom_).status, 404);
  EXPECT_EQ(api_->Post(path + "/claim", iom_).status, 404);
  EXPECT_EQ(api_->Post(path + "/replies", iom_, {{"text", "hi"}}).status, 404);
  const std::string op = api_->Token("operator", kPassword);
  EXPECT_EQ(api_->Get("/api/v1/cases", op).status, 403);
  EXPECT_EQ(api_->Get("/api/v1/audit", unhcr_).status, 403);

  // Cookie sessions: a tampered cookie is nobody; a good cookie without the CSRF token cannot act.
  auto login = api_->Login("unhcr_officer", kPassword);
  ASSERT_EQ(login.status, 200);
  EXPECT_NE(login.set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(login.set_cookie.find("SameSite=Strict"), std::string::npos);
  const std::string cookie = login.set_cookie.substr(0, login.set_cookie.find(';'));
  std::string tampered = cookie;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(api_->Call("GET", path, "", nullptr, {{"Cookie", tampered}}).status, 401);
  EXPECT_EQ(api_->Call("GET", path, "", nullptr, {{"Cookie", cookie}}).status, 200);
  EXPECT_EQ(api_->Call("POST", path + "/claim", "", json::object(), {{"Cookie", cookie}}).status, 403);
  EXPECT_EQ(api_->Call("POST", path + "/claim", "", json::object(),
                       {{"Cookie", cookie}, {"X-CSRF-Token", login.json["csrf_token"].get<std::string>()}}).status,
            200);

  // Repeated failures lock the account for a while.
  for (int i = 0; i < 5; ++i) api_->Login("iom_officer", "wrong password number " + std::to_string(i));
  EXPECT_EQ(api_->Login("iom_officer", kPassword).status, 429);

  // Everything above is in the audit log, readable by admins.
  auto audit = api_->Get("/api/v1/audit", admin_);
  ASSERT_EQ(audit.status, 200);
  std::set<std::string> actions;
  for (const auto& e : audit.json) actions.insert(e["action"].get<std::string>());
  EXPECT_TRUE(actions.count("login_failed"));
  EXPECT_TRUE(actions.count("case_claim"));
  EXPECT_TRUE(actions.count("case_view"));
  // …and the log cannot be rewritten.
  EXPECT_TRUE(Query(db(), "SELECT 1").size() == 1);
}

// An officer leaves (or loses a laptop): an admin disables the account. Their sessions stop at
// once, they cannot log in, and the urgent case they had claimed goes back to the queue with a
// note, instead of waiting for someone who will not come. Enabled again, with a reset password,
// they are back, and a locked-out account is unlocked by the reset.
TEST_F(EscalationTest, ADisabledOfficerIsLoggedOutAndTheirClaimedCaseGoesBackToTheQueue) {
  Say("923000000045", "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf("923000000045");
  const std::string path = "/api/v1/cases/" + std::to_string(id);
  ASSERT_EQ(api_->Post(path + "/claim", unhcr_).status, 200);
  ASSERT_EQ(api_->Post(path + "/replies", unhcr_, {{"text", "I am on it."}}).status, 200);  // the bot goes quiet
  const std::string second_session = api_->Token("unhcr_officer", kPassword);

  auto self = api_->Call("PATCH", "/api/v1/users/admin", admin_, {{"disabled", true}});
  EXPECT_EQ(self.status, 409) << "an admin cannot lock themselves out: " << self.body;
  EXPECT_EQ(api_->Call("PATCH", "/api/v1/users/unhcr_officer", unhcr_, {{"disabled", true}}).status, 403);
  EXPECT_EQ(api_->Call("PATCH", "/api/v1/users/unhcr_officer", admin_, {{"disabled", "yes"}}).status, 400);
  EXPECT_EQ(api_->Call("PATCH", "/api/v1/users/unhcr_officer", admin_, {{"colour", "red"}}).status, 400);
  EXPECT_EQ(api_->Call("PATCH", "/api/v1/users/nobody", admin_, {{"disabled", true}}).status, 404);
  auto spaced = api_->Post("/api/v1/users", admin_, {{"username", "amina khan"}, {"role", "officer"}, {"password", kPassword}, {"queues", {"iom"}}});
  EXPECT_EQ(spaced.status, 400) << "a name the API could not manage later is refused at the door: " << spaced.body;

  auto off = api_->Call("PATCH", "/api/v1/users/unhcr_officer", admin_, {{"disabled", true}});
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(off.json["disabled"], true);
  EXPECT_EQ(off.json["released_cases"], json::array({id}));
  EXPECT_EQ(api_->Get(path, unhcr_).status, 401);
  EXPECT_EQ(api_->Get(path, second_session).status, 401);
  EXPECT_EQ(api_->Login("unhcr_officer", kPassword).status, 401);
  auto c = api_->Get(path, admin_);
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.json["status"], "open");
  EXPECT_TRUE(c.json["assignee"].is_null());
  EXPECT_NE(c.json["notes"].dump().find("unhcr_officer's account was disabled"), std::string::npos) << c.json["notes"].dump();
  // Nobody has the conversation now: the bot answers the person again.
  ASSERT_TRUE(WaitForText("923000000045", "I am on it."));
  for (int i = 0; i < 300 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state != 'sent'") > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const size_t before = graph_.RequestsTo("923000000045").size();
  Say("923000000045", "hello? is anyone there");
  EXPECT_TRUE(graph_.WaitFor(before + 1, "923000000045", 3000)) << "the person was left unanswered";
  // Nobody can hand the case to the disabled officer, and the list of who can take it omits them.
  EXPECT_EQ(api_->Post(path + "/assign", admin_, {{"username", "unhcr_officer"}}).status, 400);
  auto who = api_->Get("/api/v1/queues/unhcr_protection/officers", admin_);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(who.body.find("unhcr_officer"), std::string::npos) << who.body;
  EXPECT_NE(who.body.find("\"admin\""), std::string::npos) << who.body;

  // Enabled again: the sessions from before stay ended (they were deleted, not just refused).
  ASSERT_EQ(api_->Call("PATCH", "/api/v1/users/unhcr_officer", admin_, {{"disabled", false}}).status, 200);
  EXPECT_EQ(api_->Get("/api/v1/me", unhcr_).status, 401);
  EXPECT_EQ(api_->Get("/api/v1/me", second_session).status, 401);
  EXPECT_EQ(api_->Login("unhcr_officer", kPassword).status, 200);

  // A new password the admin sets: the old one no longer works.
  const std::string fresh = "a new password 77 for you";
  EXPECT_EQ(api_->Call("PATCH", "/api/v1/users/unhcr_officer", admin_, {{"password", "short"}}).status, 400);
  auto on = api_->Call("PATCH", "/api/v1/users/unhcr_officer", admin_, {{"password", fresh}});
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_EQ(api_->Login("unhcr_officer", kPassword).status, 401);
  EXPECT_EQ(api_->Login("unhcr_officer", fresh).status, 200);
  auto own = api_->Call("PATCH", "/api/v1/users/admin", admin_, {{"password", fresh}});
  EXPECT_EQ(own.status, 409) << "an admin's own password goes through /me/password: " << own.body;
  EXPECT_EQ(api_->Call("PATCH", "/api/v1/users/unhcr_officer", admin_, {{"languages", "klingon"}}).status, 400);
  auto langs = api_->Call("PATCH", "/api/v1/users/unhcr_officer", admin_, {{"languages", "ps, prs,ps"}});
  EXPECT_EQ(langs.json["languages"], "ps,prs") << langs.body;
  EXPECT_EQ(api_->Post("/api/v1/users", admin_, {{"username", "newbie"}, {"role", "officer"}, {"password", kPassword},
                                                 {"queues", {"no_such_queue"}}}).status, 400);

  // A reset also unlocks an account locked by failed logins.
  for (int i = 0; i < 5; ++i) api_->Login("iom_officer", "wrong password number " + std::to_string(i));
  ASSERT_EQ(api_->Login("iom_officer", kPassword).status, 429);
  auto users = api_->Get("/api/v1/users", admin_);
  bool shown_locked = false;
  for (const auto& u : users.json) shown_locked = shown_locked || (u["username"] == "iom_officer" && u["locked"] == true);
  EXPECT_TRUE(shown_locked) << users.body;
  ASSERT_EQ(api_->Call("PATCH", "/api/v1/users/iom_officer", admin_, {{"password", fresh}}).status, 200);
  EXPECT_EQ(api_->Login("iom_officer", fresh).status, 200);

  auto audit = api_->Get("/api/v1/audit", admin_);
  EXPECT_NE(audit.body.find("user_change"), std::string::npos);
  EXPECT_EQ(audit.body.find(fresh), std::string::npos) << "the audit log never holds a password";
}

// Moving an officer off a queue hands back the cases they held there, not the others.
TEST_F(EscalationTest, AnOfficerMovedOffAQueueHandsBackOnlyThatQueuesCases) {
  AddUser(db(), "both_officer", "officer", {"unhcr_protection", "info_desk"}, kPassword);
  const std::string both = api_->Token("both_officer", kPassword);
  Say("923000000046", "police arrested my brother right now, please help");
  Say("923000000047", "I want to talk to a person");
  const int64_t urgent = OnlyCaseOf("923000000046"), desk = OnlyCaseOf("923000000047");
  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(urgent) + "/claim", both).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(desk) + "/claim", both).status, 200);
  EXPECT_EQ(api_->Call("PATCH", "/api/v1/users/both_officer", admin_, {{"queues", {"info_desk", "no_such_queue"}}}).status, 400);
  auto moved = api_->Call("PATCH", "/api/v1/users/both_officer", admin_, {{"queues", {"info_desk"}}});
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.json["released_cases"], json::array({urgent}));
  EXPECT_EQ(moved.json["queues"], json::array({"info_desk"}));
  EXPECT_EQ(api_->Get("/api/v1/cases/" + std::to_string(desk), admin_).json["assignee"], "both_officer");
  EXPECT_EQ(api_->Get("/api/v1/cases/" + std::to_string(urgent), admin_).json["status"], "open");
  EXPECT_EQ(api_->Get("/api/v1/cases/" + std::to_string(urgent), both).status, 404) << "the queue is no longer theirs";
}

// The last admin cannot be disabled or demoted: someone must be able to manage accounts.
TEST_F(EscalationTest, TheLastEnabledAdminCannotBeDisabledOrDemoted) {
  AddUser(db(), "admin2", "admin", {}, kPassword);
  const std::string admin2 = api_->Token("admin2", kPassword);
  ASSERT_EQ(api_->Call("PATCH", "/api/v1/users/admin", admin2, {{"disabled", true}}).status, 200);
  ASSERT_EQ(api_->Call("PATCH", "/api/v1/users/admin2", admin2, {{"role", "admin"}}).status, 200);
  EXPECT_EQ(api_->Get("/api/v1/me", admin2).status, 200) << "the same role again ends no session";
  auto demote = api_->Call("PATCH", "/api/v1/users/admin2", admin2, {{"role", "officer"}});
  EXPECT_EQ(demote.status, 409) << demote.body;
  EXPECT_NE(demote.json.value("error", "").find("last enabled admin"), std::string::npos) << demote.body;
  auto users = api_->Get("/api/v1/users", admin2);
  for (const auto& u : users.json)
    if (u["username"] == "admin2") {
      EXPECT_EQ(u["role"], "admin") << "the refused change left nothing behind";
    }
}

// Changing one's own password needs the current one and ends one's other sessions.
TEST_F(EscalationTest, AnOfficerChangesTheirPasswordAndTheirOtherSessionsEnd) {
  const std::string laptop = api_->Token("iom_officer", kPassword);
  const std::string phone = api_->Token("iom_officer", kPassword);
  const std::string next = "my own new password 2026";
  auto wrong = api_->Post("/api/v1/me/password", laptop, {{"current_password", "not it at all"}, {"new_password", next}});
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  auto same = api_->Post("/api/v1/me/password", laptop, {{"current_password", kPassword}, {"new_password", kPassword}});
  EXPECT_EQ(same.status, 400);
  EXPECT_NE(same.json.value("error", "").find("differ"), std::string::npos) << same.body;
  EXPECT_EQ(api_->Post("/api/v1/me/password", laptop, {{"current_password", kPassword}, {"new_password", "short"}}).status, 400);
  EXPECT_EQ(api_->Post("/api/v1/me/password", laptop, {{"current_password", kPassword}}).status, 400);
  auto ok = api_->Post("/api/v1/me/password", laptop, {{"current_password", kPassword}, {"new_password", next}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(api_->Get("/api/v1/me", laptop).status, 200) << "the session that changed it stays";
  EXPECT_EQ(api_->Get("/api/v1/me", phone).status, 401);
  EXPECT_EQ(api_->Login("iom_officer", kPassword).status, 401);
  EXPECT_EQ(api_->Login("iom_officer", next).status, 200);
}

// Someone with a stolen session cannot guess the password at leisure: wrong current passwords
// count toward the same lockout as failed logins.
TEST_F(EscalationTest, WrongCurrentPasswordsLockThePasswordChange) {
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(api_->Post("/api/v1/me/password", iom_, {{"current_password", "guess number " + std::to_string(i)},
                                                       {"new_password", "the thief's password 1"}}).status, 403);
  auto locked = api_->Post("/api/v1/me/password", iom_, {{"current_password", kPassword}, {"new_password", "the thief's password 1"}});
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(api_->Login("iom_officer", kPassword).status, 429) << "the account is locked for logins too";
}

// Two writers on one case: an officer's action that read the case before someone else changed it,
// or that hands it to an account disabled meanwhile, is refused rather than written over; and a
// login checked against a password that was reset meanwhile gets no session.
TEST_F(EscalationTest, StaleCaseWritesAndLoginsRacingAResetAreRefused) {
  Say("923000000048", "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf("923000000048");
  db::SqliteStore::Options so;
  so.path = db();
  auto store = db::SqliteStore::Open(so);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto seen = (*store)->CaseById(id);
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(id) + "/claim", unhcr_).status, 200);
  Case mine = *seen;
  mine.status = "claimed";
  mine.assignee = "admin";
  Status stale = (*store)->UpdateCaseIf(*seen, mine, 1);
  EXPECT_EQ(stale.code(), StatusCode::kConflict) << stale.ToString();
  EXPECT_EQ(api_->Get("/api/v1/cases/" + std::to_string(id), admin_).json["assignee"], "unhcr_officer");

  AddUser(db(), "leaving_officer", "officer", {"unhcr_protection"}, kPassword);
  ASSERT_EQ(api_->Call("PATCH", "/api/v1/users/leaving_officer", admin_, {{"disabled", true}}).status, 200);
  auto now = (*store)->CaseById(id);
  ASSERT_TRUE(now.ok());
  Case handed = *now;
  handed.assignee = "leaving_officer";
  EXPECT_EQ((*store)->UpdateCaseIf(*now, handed, 2).code(), StatusCode::kConflict);
  AddUser(db(), "iom_only", "officer", {"iom"}, kPassword);
  handed.assignee = "iom_only";
  EXPECT_EQ((*store)->UpdateCaseIf(*now, handed, 2).code(), StatusCode::kConflict) << "not an officer of this queue";
  // The bot recorded consent after the officer read the case: the officer's write keeps it.
  ASSERT_TRUE(Exec("UPDATE cases SET consent = 'yes' WHERE id = " + std::to_string(id)));
  Case released = *now;
  released.status = "open";
  released.assignee.clear();
  EXPECT_TRUE((*store)->UpdateCaseIf(*now, released, 3).ok()) << "an up-to-date write goes through";
  EXPECT_EQ(Query(db(), "SELECT consent FROM cases WHERE id = " + std::to_string(id))[0], "yes");

  auto user = (*store)->UserByName("iom_officer");
  ASSERT_TRUE(user.ok());
  const std::string checked_hash = user->password_hash;
  ASSERT_EQ(api_->Call("PATCH", "/api/v1/users/iom_officer", admin_, {{"password", "reset while logging in 5"}}).status, 200);
  Status late = (*store)->CreateSession("a-token-hash", user->id, checked_hash, "csrf", 4, 999999999999);
  EXPECT_EQ(late.code(), StatusCode::kUnauthenticated) << late.ToString();
}

// The person last wrote 25 hours ago: free text would be refused by WhatsApp (131047), so the
// officer is offered the follow-up template, in the person's language, which works once an
// operator has marked it approved; the conversation shows the text the person got.
TEST_F(EscalationTest, AfterTheWindowClosesTheOfficerSendsTheApprovedFollowUpTemplate) {
  const std::string me = "923000000049";
  Say(me, "salam");
  Say(me, "2");  // Dari
  Say(me, "با یک نفر صحبت کنم");  // a person, please
  const int64_t id = OnlyCaseOf(me);
  const std::string path = "/api/v1/cases/" + std::to_string(id);
  ASSERT_TRUE(Exec("UPDATE contacts SET last_inbound_at = last_inbound_at - 25 * 3600 * 1000"));
  const std::string info = api_->Token("admin", kPassword);

  auto view = api_->Get(path, info);
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(view.json["window_open"], false);
  ASSERT_EQ(view.json["templates"].size(), 1u) << view.body;
  auto text = api_->Post(path + "/replies", info, {{"text", "we have news for you"}});
  EXPECT_EQ(text.status, 409);
  ASSERT_EQ(text.json["templates"].size(), 1u) << text.body;
  EXPECT_EQ(text.json["templates"][0]["languages"][0]["sendable"], false);
  const json followup = {{"template", {{"name", "rahnama_case_followup"}}}};
  auto unapproved = api_->Post(path + "/replies", info, followup);
  EXPECT_EQ(unapproved.status, 409) << unapproved.body;
  EXPECT_NE(unapproved.json.value("error", "").find("not approved"), std::string::npos);
  EXPECT_EQ(api_->Post(path + "/replies", info, {{"template", {{"name", "made_up"}}}}).status, 400);

  // An operator marks it approved (after Meta did) and publishes.
  const std::string op = api_->Token("operator", kPassword);
  json templates = api_->Get("/api/v1/content/items/templates", op).json["value"];
  templates[0]["approved"] = true;
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/items/templates", op, {{"value", templates}}).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/content/publish", op, {{"message", "follow-up template approved by Meta"}}).status, 200);

  const size_t before = graph_.RequestsTo(me).size();
  auto sent = api_->Post(path + "/replies", info, followup);  // the case's language: Dari
  ASSERT_EQ(sent.status, 200) << sent.body;
  ASSERT_TRUE(graph_.WaitFor(before + 1, me, 5000));
  const json payload = graph_.RequestsTo(me).back().json;
  EXPECT_EQ(payload["type"], "template");
  EXPECT_EQ(payload["template"]["name"], "rahnama_case_followup");
  EXPECT_EQ(payload["template"]["language"]["code"], "prs_AF");
  EXPECT_FALSE(payload["template"].contains("components")) << "no parameters: nothing personal in a template";
  auto after = api_->Get(path, info);
  const std::string dari_body = templates[0]["languages"]["prs"]["body"];
  EXPECT_EQ(after.json["messages"].back()["text"], dari_body) << "the officer sees what the person got";
  auto pashto = api_->Post(path + "/replies", info, {{"template", {{"name", "rahnama_case_followup"}, {"language", "ps"}}}});
  EXPECT_EQ(pashto.status, 400) << "no WhatsApp code for Pashto yet: " << pashto.body;
}

// A request body nested 300,000 deep (a case note here) is refused before it is copied; the
// server goes on.
TEST_F(EscalationTest, ADeeplyNestedRequestBodyIsRefusedAndTheServerGoesOn) {
  Say("923000000044", "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf("923000000044");
  const std::string deep = "{\"text\": " + std::string(300000, '[') + std::string(300000, ']') + "}";
  httplib::Client raw("127.0.0.1", server_->admin_port());
  auto r = raw.Post(("/api/v1/cases/" + std::to_string(id) + "/notes").c_str(), {{"Authorization", "Bearer " + unhcr_}}, deep,
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(api_->Get("/api/v1/me", unhcr_).status, 200) << "the server is still up";
}

TEST_F(EscalationTest, OneOpenCasePerPersonPerQueueAndReferralMovesIt) {
  const std::string me = "923000000050";
  Say(me, "police arrested my brother right now, please help");
  Say(me, "skip");
  Say(me, "skip");
  Say(me, "skip");
  Say(me, "they are beating people at the station right now");
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases"), 1);
  const int64_t id = OnlyCaseOf(me);
  auto refer = api_->Post("/api/v1/cases/" + std::to_string(id) + "/refer", unhcr_, {{"queue", "iom"}});
  ASSERT_EQ(refer.status, 200) << refer.body;
  EXPECT_EQ(refer.json["queue"], "iom");
  EXPECT_EQ(api_->Get("/api/v1/cases/" + std::to_string(id), iom_).status, 200);
  EXPECT_EQ(api_->Get("/api/v1/cases/" + std::to_string(id), unhcr_).status, 404);
  EXPECT_EQ(api_->Post("/api/v1/cases/" + std::to_string(id) + "/refer", iom_, {{"queue", "nowhere"}}).status, 400);
}

// A referral hands the case to officers who have not seen it: their service-level clock starts
// now, the person hears who has their case, and until someone there takes it the bot answers
// (the referring officer's "human mode" would otherwise leave the person unanswered).
TEST_F(EscalationTest, AReferredCaseTellsThePersonStartsItsClockAgainAndTheBotAnswersMeanwhile) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/queues/iom", admin_, {{"partner", "IOM"}, {"sla_minutes", 60}}).status, 200);
  const std::string me = "923000000051";
  Say(me, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(me);
  const std::string base = "/api/v1/cases/" + std::to_string(id);
  ASSERT_EQ(api_->Post(base + "/replies", unhcr_, {{"text", "This is for IOM, I am passing it on."}}).status, 200);
  ASSERT_TRUE(Exec("UPDATE cases SET opened_at = opened_at - 7200000"));  // opened two hours ago
  auto refer = api_->Post(base + "/refer", unhcr_, {{"queue", "iom"}});
  ASSERT_EQ(refer.status, 200) << refer.body;
  EXPECT_EQ(refer.json["referred_from"], "unhcr_protection");
  EXPECT_FALSE(refer.json["overdue"].get<bool>()) << "just arrived in the IOM queue";
  auto content = ShippedContent();
  const std::string told = content->Message("handoff", "en", {{"partner", "IOM"}, {"sla", "60 minutes"}});
  ASSERT_FALSE(told.empty());
  EXPECT_TRUE(WaitForText(me, told)) << "the person is told IOM has their case";

  // Nobody at IOM has it yet: the bot answers the person.
  const size_t before = graph_.RequestsTo(me).size();
  Say(me, "what is a PoR card?");
  EXPECT_TRUE(graph_.WaitFor(before + 1, me, 3000)) << "the person was left unanswered after the referral";

  // No IOM officer answers within the hour: overdue in the IOM queue, though UNHCR answered.
  ASSERT_TRUE(Exec("UPDATE cases SET queue_since = queue_since - 3660000"));
  json list = CasesFor(iom_);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0]["overdue"].get<bool>());
  EXPECT_EQ(list[0]["overdue_reason"], "no_reply_since_referred");
  ASSERT_EQ(api_->Post(base + "/replies", iom_, {{"text", "IOM here: which city are you in?"}}).status, 200);
  EXPECT_FALSE(CasesFor(iom_)[0]["overdue"].get<bool>());
  // The reports measure it the same way: IOM answered 61 minutes after the referral, past its hour
  // (not two hours after the case opened, nor UNHCR's reply).
  auto report = api_->Get("/api/v1/reports", admin_);
  ASSERT_EQ(report.status, 200) << report.body;
  bool found = false;
  for (const auto& row : report.json["first_response"]) {
    if (row["queue"] != "iom") continue;
    found = true;
    EXPECT_EQ(row["responded"], 1) << row.dump();
    EXPECT_GE(row["median_minutes"].get<double>(), 60.9) << row.dump();
    EXPECT_LT(row["median_minutes"].get<double>(), 70.0) << row.dump();
    EXPECT_EQ(row["within_sla"], 0) << row.dump();
  }
  EXPECT_TRUE(found) << report.body;
}

TEST_F(EscalationTest, AReleasedCaseIsAnsweredByTheBotUntilAnOfficerTakesItAgain) {
  const std::string me = "923000000052";
  Say(me, "police arrested my brother right now, please help");
  const std::string base = "/api/v1/cases/" + std::to_string(OnlyCaseOf(me));
  ASSERT_EQ(api_->Post(base + "/replies", unhcr_, {{"text", "We are looking into it."}}).status, 200);
  ASSERT_EQ(api_->Post(base + "/release", unhcr_).status, 200);
  const size_t before = graph_.RequestsTo(me).size();
  Say(me, "hello? is anyone there");
  EXPECT_TRUE(graph_.WaitFor(before + 1, me, 3000)) << "the person was left unanswered after the release";
}

TEST_F(EscalationTest, ALongCaseShowsItsLatestMessagesOldestFirst) {
  const std::string me = "923000000053";
  Say(me, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(me);
  // Weeks of conversation on the case.
  ASSERT_TRUE(Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) "
                   "INSERT INTO messages(contact_id, direction, channel, kind, body, status, created_at, case_id) "
                   "SELECT c.contact_id, 'in', 'whatsapp', 'text', 'old message ' || n.i, 'processed', 0, c.id "
                   "FROM n, cases c WHERE c.id = " + std::to_string(id)));
  Say(me, "they moved him to another prison today");
  auto view = api_->Get("/api/v1/cases/" + std::to_string(id), unhcr_);
  ASSERT_EQ(view.status, 200) << view.body;
  const json& msgs = view.json["messages"];
  ASSERT_FALSE(msgs.empty());
  bool latest_shown = false;
  for (const auto& m : msgs) latest_shown |= m["text"] == "they moved him to another prison today";
  EXPECT_TRUE(latest_shown) << "the person's latest message is missing from a long case";
  EXPECT_LT(msgs.front()["id"].get<int64_t>(), msgs.back()["id"].get<int64_t>()) << "oldest first";
}

// A claimed case changes hands through its officer (release) or an admin (take over, assign):
// another officer of the queue may help with notes and replies, but cannot take it from them or
// close it.
TEST_F(EscalationTest, AnotherOfficersClaimedCaseChangesHandsOnlyThroughThemOrAnAdmin) {
  AddUser(db(), "unhcr_officer2", "officer", {"unhcr_protection"}, kPassword);
  const std::string second = api_->Token("unhcr_officer2", kPassword);
  ASSERT_FALSE(second.empty());
  Say("923000000054", "police arrested my brother right now, please help");
  const std::string base = "/api/v1/cases/" + std::to_string(OnlyCaseOf("923000000054"));
  ASSERT_EQ(api_->Post(base + "/claim", unhcr_).status, 200);
  auto grab = api_->Post(base + "/claim", second);
  EXPECT_EQ(grab.status, 409);
  EXPECT_NE(grab.body.find("ask them to release it"), std::string::npos) << grab.body;
  EXPECT_EQ(api_->Post(base + "/assign", second, {{"username", "unhcr_officer2"}}).status, 403);
  EXPECT_EQ(api_->Post(base + "/refer", second, {{"queue", "iom"}}).status, 403);
  // Closing it would tell the person their case is closed while its officer still works on it.
  auto close = api_->Post(base + "/resolve", second, {{"outcome", "duplicate"}});
  EXPECT_EQ(close.status, 403) << close.body;
  EXPECT_NE(close.body.find("or an admin can resolve"), std::string::npos) << close.body;
  EXPECT_EQ(api_->Get(base, admin_).json["status"], "claimed");
  // A colleague covering may still write to the person.
  EXPECT_EQ(api_->Post(base + "/replies", second, {{"text", "A colleague here: we are on it."}}).status, 200);
  EXPECT_EQ(api_->Get(base, admin_).json["assignee"], "unhcr_officer");
  // An admin (the desk's supervisor) can take it over, and give it back.
  auto taken = api_->Post(base + "/claim", admin_);
  ASSERT_EQ(taken.status, 200) << taken.body;
  EXPECT_EQ(taken.json["assignee"], "admin");
  EXPECT_EQ(api_->Post(base + "/assign", admin_, {{"username", "unhcr_officer2"}}).status, 200);
  EXPECT_EQ(api_->Get(base, admin_).json["assignee"], "unhcr_officer2");
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM audit_log WHERE action='case_claim' AND details LIKE '%took_over_from%'"), 1);
}

// A queue with a long history: the "resolved" list shows the latest, and a case view can follow
// its own case (the console polls it with ?id=, which writes no audit row) however many there are.
TEST_F(EscalationTest, ResolvedCasesAreListedLatestFirstAndOneCaseCanBeFollowedById) {
  const std::string me = "923000000057";
  Say(me, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(me);
  ASSERT_TRUE(Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) "
                   "INSERT INTO cases(contact_id, queue, priority, status, opened_at, resolved_at, last_message_at, updated_at, outcome) "
                   "SELECT contact_id, 'unhcr_protection', 'urgent', 'resolved', 1000 + n.i, 2000 + n.i, 2000 + n.i, 2000 + n.i, 'old' "
                   "FROM n, cases WHERE cases.id = " + std::to_string(id)));
  const int64_t audits = QueryInt(db(), "SELECT COUNT(*) FROM audit_log");
  json one = CasesFor(unhcr_, "?id=" + std::to_string(id) + "&status=all");
  ASSERT_EQ(one.size(), 1u) << "the case view's own case is missing from its poll";
  EXPECT_EQ(one[0]["id"], id);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM audit_log"), audits) << "polling is not a case view";
  EXPECT_EQ(api_->Get("/api/v1/cases?id=12x", unhcr_).status, 400);
  EXPECT_EQ(api_->Get("/api/v1/cases?id=0", unhcr_).status, 400) << "0 is no case, not 'every case'";
  // A typo is not an empty queue, and a malformed path answers JSON too.
  for (const char* query : {"?status=bogus", "?priority=zzz", "?language=fr"}) {
    auto typo = api_->Get(std::string("/api/v1/cases") + query, unhcr_);
    EXPECT_EQ(typo.status, 400) << query;
    EXPECT_TRUE(typo.json.contains("error")) << query << ": " << typo.body;
  }
  auto no_route = api_->Post("/api/v1/cases/abc/claim", unhcr_);
  EXPECT_EQ(no_route.status, 404);
  EXPECT_TRUE(no_route.json.contains("error")) << no_route.body;
  EXPECT_TRUE(CasesFor(iom_, "?id=" + std::to_string(id)).empty()) << "another queue's case";

  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(id) + "/resolve", unhcr_, {{"outcome", "referred to a lawyer"}}).status, 200);
  json resolved = CasesFor(unhcr_, "?status=resolved");
  ASSERT_FALSE(resolved.empty());
  EXPECT_EQ(resolved[0]["id"], id) << "the case resolved just now is not at the top of the resolved list";
  json all = CasesFor(unhcr_, "?status=all");
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0]["id"], id);
}

// A day after the person's last message Meta refuses anything the bot writes: claiming or
// resolving then sends nothing (a failed send the officer is told "the person was told" about
// helps nobody), and the answer says the person was not told.
TEST_F(EscalationTest, AfterTheWindowClosesClaimAndResolveSayThePersonWasNotTold) {
  const std::string me = "923000000058";
  Say(me, "police arrested my brother right now, please help");
  const std::string base = "/api/v1/cases/" + std::to_string(OnlyCaseOf(me));
  ASSERT_TRUE(graph_.WaitFor(1, me));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int64_t rows = QueryInt(db(), "SELECT COUNT(*) FROM outbox");
  ASSERT_TRUE(Exec("UPDATE contacts SET last_inbound_at = last_inbound_at - 25 * 3600 * 1000"));
  auto claim = api_->Post(base + "/claim", unhcr_);
  ASSERT_EQ(claim.status, 200) << claim.body;
  EXPECT_EQ(claim.json["person_told"], false);
  auto resolve = api_->Post(base + "/resolve", unhcr_, {{"outcome", "no answer"}});
  ASSERT_EQ(resolve.status, 200) << resolve.body;
  EXPECT_EQ(resolve.json["person_told"], false);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox"), rows) << "a notice Meta must refuse was queued";

  // Within the window the person is told, and the answer says so.
  const std::string other = "923000000059";
  Say(other, "police arrested my brother right now, please help");
  auto told = api_->Post("/api/v1/cases/" + std::to_string(OnlyCaseOf(other)) + "/claim", unhcr_);
  ASSERT_EQ(told.status, 200);
  EXPECT_EQ(told.json["person_told"], true);
}

TEST_F(EscalationTest, OverdueUrgentCasesAreFlaggedInTheApiAndMetrics) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/queues/unhcr_protection", admin_, {{"partner", "UNHCR"}, {"sla_minutes", 1}}).status, 200);
  Say("923000000060", "police arrested my brother right now, please help");
  // Age the case past its one-minute SLA.
  ASSERT_TRUE(Exec("UPDATE cases SET opened_at = opened_at - 120000"));
  json list = CasesFor(unhcr_);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0]["overdue"].get<bool>());
  EXPECT_EQ(list[0]["overdue_reason"], "no_first_response");
  httplib::Client metrics("127.0.0.1", server_->admin_port());
  auto m = metrics.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("rahnama_cases_overdue{queue=\"unhcr_protection\",priority=\"urgent\"} 1"), std::string::npos)
      << m->body;
}

// An officer answers and goes off shift; the person writes again. In human mode the bot stays
// quiet, so once that message has waited past the SLA the case is overdue again (an urgent one
// pages); "thanks" alone waits for nothing, and the officer's next reply clears it.
TEST_F(EscalationTest, ThePersonsUnansweredMessageAfterAnOfficersReplyMakesTheCaseOverdueAgain) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/queues/unhcr_protection", admin_, {{"partner", "UNHCR"}, {"sla_minutes", 1}}).status, 200);
  const std::string me = "923000000061";
  Say(me, "police arrested my brother right now, please help");
  const int64_t id = OnlyCaseOf(me);
  const std::string base = "/api/v1/cases/" + std::to_string(id);
  auto reply = api_->Post(base + "/replies", unhcr_, {{"text", "Which police station is he in?"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  // Everything so far is two minutes old: the first reply came, so the case is not overdue.
  const std::string age = "UPDATE messages SET created_at = created_at - 120000";
  ASSERT_TRUE(Exec(age + ", processed_at = processed_at - 120000"));
  ASSERT_TRUE(Exec("UPDATE cases SET opened_at = opened_at - 120000"));
  auto overdue = [&] {
    json list = CasesFor(unhcr_);
    return list.size() == 1 && list[0]["overdue"].get<bool>();
  };
  EXPECT_FALSE(overdue());
  EXPECT_EQ(CasesFor(unhcr_)[0]["awaiting_reply_since"], nullptr);

  Say(me, "thank you");
  ASSERT_EQ(hooks_->PostSigned(WhatsAppOfKind(me, "wamid.esc-like", "reaction", {{"message_id", "wamid.x"}, {"emoji", "👍"}}))->status,
            200);
  ASSERT_TRUE(WaitProcessed(db(), "wamid.esc-like"));
  ASSERT_EQ(hooks_->PostSigned(WhatsAppOfKind(me, "wamid.esc-sticker", "sticker", {{"id", "STICKER1"}, {"mime_type", "image/webp"}}))->status,
            200);
  ASSERT_TRUE(WaitProcessed(db(), "wamid.esc-sticker"));
  ASSERT_TRUE(Exec(age));
  EXPECT_FALSE(overdue()) << "a bare thanks, a reaction or a sticker waits for no reply";
  EXPECT_EQ(CasesFor(unhcr_)[0]["awaiting_reply_since"], nullptr);

  Say(me, "Gulberg station. They say they will send him to the border");
  EXPECT_FALSE(overdue()) << "written just now";
  EXPECT_NE(CasesFor(unhcr_)[0]["awaiting_reply_since"], nullptr);
  ASSERT_TRUE(Exec(age));
  EXPECT_TRUE(overdue()) << "the person has waited two minutes for a human, SLA one";
  EXPECT_EQ(CasesFor(unhcr_)[0]["overdue_reason"], "person_waiting");
  httplib::Client metrics("127.0.0.1", server_->admin_port());
  auto m = metrics.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("rahnama_cases_overdue{queue=\"unhcr_protection\",priority=\"urgent\"} 1"), std::string::npos)
      << m->body;

  ASSERT_EQ(api_->Post(base + "/replies", unhcr_, {{"text", "We are calling a lawyer now."}}).status, 200);
  EXPECT_FALSE(overdue());
  EXPECT_EQ(CasesFor(unhcr_)[0]["awaiting_reply_since"], nullptr);
}

// Found by an exploratory tester: after the officer's reply the person wrote "I want to kill
// myself" (the bot sent its safety reply) and then "0" for the menu, which hands them back to the
// bot; the case stopped waiting for anyone and was never overdue. An urgent message waits for an
// officer's reply whoever the person is talking to.
TEST_F(EscalationTest, AnUrgentMessageWaitsForAnOfficerEvenAfterThePersonGoesBackToTheMenu) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/queues/unhcr_protection", admin_, {{"partner", "UNHCR"}, {"sla_minutes", 1}}).status, 200);
  const std::string me = "923000000064";
  Say(me, "police arrested my husband right now, please help");
  const int64_t id = OnlyCaseOf(me);
  const std::string base = "/api/v1/cases/" + std::to_string(id);
  ASSERT_EQ(api_->Post(base + "/claim", unhcr_, json::object()).status, 200);
  ASSERT_EQ(api_->Post(base + "/replies", unhcr_, {{"text", "Which police station is he in?"}}).status, 200);
  Say(me, "I want to kill myself");
  Say(me, "0");
  ASSERT_EQ(QueryInt(db(), "SELECT human_mode FROM cases WHERE id = " + std::to_string(id)), 0) << "back with the bot";
  ASSERT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases WHERE status != 'resolved'"), 1);
  ASSERT_TRUE(Exec("UPDATE messages SET created_at = created_at - 120000"));
  ASSERT_TRUE(Exec("UPDATE cases SET opened_at = opened_at - 120000"));
  json list = CasesFor(unhcr_);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(list[0]["awaiting_reply_since"], nullptr) << list.dump();
  EXPECT_EQ(list[0]["overdue_reason"], "person_waiting");
  ASSERT_EQ(api_->Post(base + "/replies", unhcr_, {{"text", "I am here. Are you safe right now?"}}).status, 200);
  EXPECT_EQ(CasesFor(unhcr_)[0]["awaiting_reply_since"], nullptr);
}

// An officer resolved the case while its intake questions were still running: "thank you" was
// asked "who is at risk?" for the closed case, and the next threat opened a case with no intake.
TEST_F(EscalationTest, AResolvedCaseEndsItsIntakeAndANewThreatStartsItsOwn) {
  const std::string me = "923000000062";
  auto content = ShippedContent();
  Say(me, "my husband beats me and threatens to kill me");
  const int64_t first = OnlyCaseOf(me);
  ASSERT_EQ(api_->Post("/api/v1/cases/" + std::to_string(first) + "/resolve", unhcr_, {{"outcome", "duplicate"}}).status, 200);
  const size_t before = Received(me).size();
  Say(me, "thank you");
  // Its answer is delivered before we look (the thanks is answered, one message).
  const std::vector<std::string> thanked = Received(me, before + 1);
  ASSERT_GT(thanked.size(), before);
  for (const auto& text : thanked)
    EXPECT_EQ(text.find(content->Message("intake_who", "en")), std::string::npos) << "an intake question for a closed case";
  Say(me, "he came back and is beating me again");
  ASSERT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM cases WHERE status != 'resolved' AND queue = 'unhcr_protection'"), 1);
  bool asked = false;
  for (int i = 0; i < 500 && !asked; ++i) {
    for (const auto& text : Received(me))
      asked = asked || text.find(content->Message("intake_city", "en")) != std::string::npos;
    if (!asked) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(asked) << "the new urgent case asks its own intake questions";
  Say(me, "Lahore");
  const int64_t second = QueryInt(db(), "SELECT id FROM cases WHERE status != 'resolved'");
  auto view = api_->Get("/api/v1/cases/" + std::to_string(second), unhcr_);
  EXPECT_EQ(view.json["intake"]["city"], "Lahore") << view.body;
}

// A location the person shares reaches the officer with its coordinates (the case showed an empty
// message).
TEST_F(EscalationTest, ASharedLocationIsShownToTheOfficerWithItsCoordinates) {
  const std::string me = "923000000063";
  Say(me, "police arrested my son right now, please help");
  ASSERT_EQ(hooks_->PostSigned(WhatsAppOfKind(me, "wamid.esc-location", "location",
                                              {{"latitude", 33.6844}, {"longitude", 73.0479}, {"name", "Central Jail"}}))
                ->status,
            200);
  ASSERT_TRUE(WaitProcessed(db(), "wamid.esc-location"));
  auto view = api_->Get("/api/v1/cases/" + std::to_string(OnlyCaseOf(me)), unhcr_);
  bool shown = false;
  for (const auto& msg : view.json["messages"])
    if (msg.contains("location"))
      shown = msg["location"]["latitude"].get<double>() == 33.6844 && msg["location"]["longitude"].get<double>() == 73.0479;
  EXPECT_TRUE(shown) << view.body;
  // It was the answer to "where are you now?".
  EXPECT_NE(view.json["intake"].value("city", "").find("33.68440, 73.04790"), std::string::npos) << view.body;
}

TEST_F(EscalationTest, RelocatedCaseTransferCollectsTheDetailsAndOpensAnIomCase) {
  const std::string me = "923000000070";
  Say(me, "I moved to Canada, I have a US refugee case, how do I update IOM with my new address?");
  // The hand-off notice comes before IOM's first question, not after it (it buried the question).
  auto content = ShippedContent();
  const std::vector<std::string> first = Received(me, 3);
  ASSERT_GE(first.size(), 3u);
  EXPECT_EQ(first.back(), content->Message("iom_case_number", "en"));
  Say(me, "AF-1234567");
  Say(me, "Toronto, Canada");
  Say(me, "+1 416 555 0199");
  auto list = CasesFor(iom_);
  ASSERT_EQ(list.size(), 1u) << list.dump();
  auto view = api_->Get("/api/v1/cases/" + list[0]["id"].dump(), iom_);
  EXPECT_EQ(view.json["intake"]["case_number"], "AF-1234567");
  EXPECT_EQ(view.json["intake"]["current_location"], "Toronto, Canada");
  EXPECT_EQ(view.json["entities"]["case_numbers"], json::array({"AF-1234567"}));
}

TEST_F(EscalationTest, OfficersFetchAPhotoOnDemandOnlyForTheirOwnCase) {
  const std::string me = "923000000080";
  Say(me, "police arrested my brother right now, please help");
  ASSERT_EQ(hooks_->PostSigned(WhatsAppOfKind(me, "wamid.esc-photo", "image",
                                              {{"id", "MEDIA123"}, {"mime_type", "image/jpeg"}, {"sha256", "abc="},
                                               {"caption", "his detention slip"}}))
                ->status,
            200);
  for (int i = 0; i < 300 && QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE provider_id='wamid.esc-photo' AND status='processed'") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  graph_.OnGet("/v21.0/MEDIA123", "application/json",
               json{{"url", graph_.url() + "/files/MEDIA123"}, {"mime_type", "image/jpeg"}}.dump());
  graph_.OnGet("/files/MEDIA123", "image/jpeg", "JPEG-BYTES");
  const int64_t id = OnlyCaseOf(me);
  const std::string base = "/api/v1/cases/" + std::to_string(id);
  auto view = api_->Get(base, unhcr_);
  bool listed = false;
  for (const auto& msg : view.json["messages"])
    if (msg.contains("media")) listed = msg["media"]["id"] == "MEDIA123" && msg["text"] == "his detention slip";
  EXPECT_TRUE(listed) << view.body;
  EXPECT_EQ(graph_.Gets().size(), 0u) << "nothing is downloaded until an officer asks";
  auto media = api_->Get(base + "/media/MEDIA123", unhcr_);
  EXPECT_EQ(media.status, 200);
  EXPECT_EQ(media.body, "JPEG-BYTES");
  ASSERT_EQ(graph_.Gets().size(), 2u);
  EXPECT_EQ(graph_.Gets()[0], std::string("/v21.0/MEDIA123 Bearer ") + kWaToken);
  EXPECT_EQ(api_->Get(base + "/media/OTHER", unhcr_).status, 404);
  EXPECT_EQ(api_->Get(base + "/media/MEDIA123", iom_).status, 404);
  // The console asks by message and position.
  const std::string message_id =
      std::to_string(QueryInt(db(), "SELECT id FROM messages WHERE provider_id = 'wamid.esc-photo'"));
  auto by_position = api_->Get(base + "/messages/" + message_id + "/media/0", unhcr_);
  EXPECT_EQ(by_position.status, 200);
  EXPECT_EQ(by_position.body, "JPEG-BYTES");
  EXPECT_EQ(api_->Get(base + "/messages/" + message_id + "/media/1", unhcr_).status, 404);
  EXPECT_EQ(api_->Get(base + "/messages/" + message_id + "/media/0", iom_).status, 404);
}

}  // namespace
}  // namespace bot::testing
