// Issue #5 through the real server: operators change answers, rules and facts live, see what the
// bot would do, publish safely, and undo.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <thread>

#include <httplib.h>

#include "bot/content/content.h"
#include "tests/support/api_client.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;
constexpr const char* kPassword = "correct horse 42 battery";

class ContentApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddUser(db(), "operator", "operator", {}, kPassword);
    AddUser(db(), "operator2", "operator", {}, kPassword);
    AddUser(db(), "officer", "officer", {"info_desk"}, kPassword);
    AddUser(db(), "admin", "admin", {}, kPassword);
    Start();
  }
  // Stops the server and points the next Start() at a copy of locales/ in `dir`, which a test
  // can change like a new release would.
  void StopAndCopyLocalesInto(const TempDir& dir) {
    server_->Stop();
    server_.reset();
    locales_ = (dir.path() / "locales").string();
    std::filesystem::copy(std::string(RAHNAMA_SOURCE_DIR) + "/locales", locales_, std::filesystem::copy_options::recursive);
  }
  // A fresh database started from a copy of locales/ in `dir` that a test changes like a release.
  void StartFreshOnACopyOfLocales(const TempDir& dir) {
    StopAndCopyLocalesInto(dir);
    std::filesystem::remove(db());
    AddUser(db(), "operator", "operator", {}, kPassword);
    Start();
  }
  void StopServer() {
    server_->Stop();
    server_.reset();
  }
  // Rewrites `file` (relative to the copied locales/) through `change`: the next release.
  void ChangeShipped(const std::string& file, const std::function<void(json&)>& change) {
    const std::string path = locales_ + "/" + file;
    std::ifstream in(path);
    json doc = json::parse(in);
    in.close();
    change(doc);
    std::ofstream(path) << doc.dump(1);
  }
  // `doc` as a SQL string literal.
  static std::string SqlText(const json& doc) {
    std::string out = "'";
    for (char c : doc.dump()) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  }
  void Start() {
    server::Config c = TestConfig(db(), graph_.url());
    if (!locales_.empty()) c.locales_dir = locales_;
    auto s = server::Server::Start(c);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
    api_ = std::make_unique<ApiClient>(server_->admin_port());
    op_ = api_->Token("operator", kPassword);
    ASSERT_FALSE(op_.empty());
  }
  std::string db() const { return dir_.File("rahnama.db"); }
  ApiReply Put(const std::string& key, const json& value, const std::string& token = "") {
    return api_->Call("PUT", "/api/v1/content/items/" + key, token.empty() ? op_ : token, {{"value", value}});
  }
  // The bot's first reply to `text` from `from`, once every reply of that turn was delivered
  // (a turn can send several: waiting for "one more" raced with the previous turn's last reply).
  std::string AskAs(const std::string& from, const std::string& text) {
    const std::string id = "wamid.op-" + std::to_string(++seq_);
    const size_t before = graph_.RequestsTo(from).size();
    EXPECT_EQ(hooks_->PostSigned(WhatsAppText(from, id, text))->status, 200);
    WaitProcessed(db(), id);
    const long queued = QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE recipient='" + from + "'");
    graph_.WaitFor(static_cast<size_t>(queued), from, 5000);
    auto all = graph_.RequestsTo(from);
    return all.size() > before ? TextOf(all[before].json) : "";
  }

  TempDir dir_;
  std::string locales_;
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
  std::unique_ptr<ApiClient> api_;
  std::string op_;
  int seq_ = 0;
};

TEST_F(ContentApiTest, AnOperatorEditsADariAnswerPreviewsPublishesAndTheNextMessageGetsItWithoutARestart) {
  const std::string me = "923450000001";
  AskAs(me, "سلام");
  AskAs(me, "2");  // Dari
  const std::string old_answer = AskAs(me, "کارت پی او آر چیست؟");
  ASSERT_FALSE(old_answer.empty());

  auto item = api_->Get("/api/v1/content/items/answer/prs/por_card", op_);
  ASSERT_EQ(item.status, 200) << item.body;
  json value = item.json["value"];
  const std::string new_text = "کارت پی او آر: معلومات تازه. برای منو ۰ بفرستید.";
  value["text"] = new_text;
  ASSERT_EQ(Put("answer/prs/por_card", value).status, 200);

  auto preview = api_->Post("/api/v1/content/preview", op_, {{"text", "کارت پی او آر چیست؟"}, {"language", "prs"}});
  ASSERT_EQ(preview.status, 200) << preview.body;
  EXPECT_EQ(preview.json["draft"]["intent"], "por_card");
  EXPECT_EQ(preview.json["draft"]["replies"][0], new_text);
  EXPECT_EQ(preview.json["published"]["replies"][0], old_answer);
  EXPECT_TRUE(preview.json["draft"]["explanation"].contains("rules_fired"));
  // Not yet published: people still get the old answer.
  EXPECT_EQ(AskAs(me, "کارت پی او آر چیست؟"), old_answer);

  auto pub = api_->Post("/api/v1/content/publish", op_, {{"message", "PoR answer updated"}});
  ASSERT_EQ(pub.status, 200) << pub.body;
  EXPECT_EQ(AskAs(me, "کارت پی او آر چیست؟"), new_text);

  // Rollback: restoring the previous version brings the old answer back, as a new version.
  auto versions = api_->Get("/api/v1/content/versions", op_);
  ASSERT_EQ(versions.status, 200);
  ASSERT_GE(versions.json.size(), 2u);
  const int64_t previous = versions.json[1]["version"];
  auto restore = api_->Post("/api/v1/content/versions/" + std::to_string(previous) + "/restore", op_, {{"message", "undo"}});
  ASSERT_EQ(restore.status, 200) << restore.body;
  EXPECT_GT(restore.json["version"].get<int64_t>(), pub.json["version"].get<int64_t>());
  EXPECT_EQ(AskAs(me, "کارت پی او آر چیست؟"), old_answer);
}

TEST_F(ContentApiTest, AnInvalidRe2RuleAndAnArabicYehAreRefusedWithTheItemNamed) {
  auto bad_rule = Put("rule/prs.test.bad", {{"id", "prs.test.bad"}, {"intent", "por_card"}, {"language", "prs"},
                                             {"patterns", {"(unclosed"}}});
  EXPECT_EQ(bad_rule.status, 400);
  EXPECT_NE(bad_rule.json["error"].get<std::string>().find("prs.test.bad"), std::string::npos) << bad_rule.body;
  EXPECT_NE(bad_rule.json["error"].get<std::string>().find("does not compile"), std::string::npos) << bad_rule.body;

  auto arabic = Put("answer/prs/por_card", {{"text", "كارت پي او آر"}, {"sources", json::array()}, {"checked_on", "2026-11-23"}});
  EXPECT_EQ(arabic.status, 400);
  EXPECT_NE(arabic.json["error"].get<std::string>().find("answer prs/por_card"), std::string::npos) << arabic.body;
  EXPECT_NE(arabic.json["error"].get<std::string>().find("ي"), std::string::npos) << arabic.body;

  auto unknown = Put("answer/en/por_card", {{"text", "Call {contact.nobody_knows}"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("unknown placeholder"), std::string::npos);
  auto long_title = Put("menu/en/por_card", {{"title", "A menu title that is much too long"}, {"description", "x"}});
  EXPECT_EQ(long_title.status, 400);
  // Nothing refused reached the draft.
  auto draft = api_->Get("/api/v1/content/items/answer/prs/por_card", op_);
  EXPECT_EQ(draft.json["value"]["text"].get<std::string>().find("ك"), std::string::npos);
}

TEST_F(ContentApiTest, ARegressionExampleThatWouldFlipBlocksPublishUnlessOverriddenAndLogged) {
  auto add = api_->Post("/api/v1/content/regressions", op_, {{"text", "what is the PoR card?"}, {"intent", "por_card"}});
  ASSERT_EQ(add.status, 201) << add.body;
  // Delete the English PoR rules and the examples the example model learns from: the example
  // would no longer be understood.
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/content/items/examples", op_).status, 200);
  auto items = api_->Get("/api/v1/content/items?prefix=rule/", op_);
  int removed = 0;
  for (const auto& [key, rule] : items.json.items())
    if (rule.value("intent", "") == "por_card" && rule.value("language", "") == "en") {
      ASSERT_EQ(api_->Call("DELETE", "/api/v1/content/items/" + key, op_).status, 200);
      ++removed;
    }
  ASSERT_GT(removed, 0);
  auto refused = api_->Post("/api/v1/content/publish", op_, {{"message", "remove PoR rules"}});
  EXPECT_EQ(refused.status, 409) << refused.body;
  ASSERT_EQ(refused.json["regressions"].size(), 1u);
  EXPECT_EQ(refused.json["regressions"][0]["expected_intent"], "por_card");
  auto forced = api_->Post("/api/v1/content/publish", op_, {{"message", "remove PoR rules"}, {"override_regressions", true}});
  EXPECT_EQ(forced.status, 200) << forced.body;
  const std::string admin = api_->Token("admin", kPassword);
  auto audit = api_->Get("/api/v1/audit", admin);
  bool logged = false;
  for (const auto& e : audit.json) logged = logged || e["action"] == "content_publish_override";
  EXPECT_TRUE(logged);
}

// One accepted edit could switch urgent detection off ("urgent": false on urgent_protection, a
// threshold of 1000) or make every greeting an alarm (a threshold of -1), and publish. Fixed
// messages in every way people write (content::kSafetyCanaries) must keep their urgency in any
// content that is published, restored or merged from a release.
// Found by an exploratory tester: a blank safety line, intake question or fallback, and a rule
// pattern " " that answered "stop" and "talk to a person" with the PoR card, were all published.
TEST_F(ContentApiTest, BlankMessagesAndAPatternMatchingEveryMessageAreNotPublished) {
  const long versions_before = QueryInt(db(), "SELECT count(*) FROM content_versions");
  for (const auto& [key, blank] : std::vector<std::pair<std::string, std::string>>{
           {"message/en/safety_reply_prefix", ""}, {"message/ps/intake_city", " "}, {"message/prs/fallback", "  \n "},
           {"message/prs/handoff", "\u200b\u00a0"}}) {
    SCOPED_TRACE(key);
    json old = api_->Get("/api/v1/content/items/" + key, op_).json["value"];
    ASSERT_TRUE(old.is_string());
    auto put = api_->Call("PUT", "/api/v1/content/items/" + key, op_, {{"value", blank}});
    if (put.status == 200) {  // a draft may hold it; publishing it is refused
      auto r = api_->Post("/api/v1/content/publish", op_, {{"message", "blank " + key}});
      EXPECT_EQ(r.status, 400) << r.body;
      bool named = false;
      for (const auto& p : r.json["problems"]) named = named || p["item"] == "message " + key.substr(8);
      EXPECT_TRUE(named) << r.body;
      ASSERT_EQ(api_->Call("PUT", "/api/v1/content/items/" + key, op_, {{"value", old}}).status, 200);
    } else {
      EXPECT_EQ(put.status, 400) << put.body;
      EXPECT_NE(put.json["error"].get<std::string>().find("blank"), std::string::npos) << put.body;
    }
  }
  // An answer of only spaces and newlines was saved and published, and people asking about their
  // PoR card got an empty reply (an exploratory tester).
  {
    json old = api_->Get("/api/v1/content/items/answer/ps/por_card", op_).json["value"];
    ASSERT_TRUE(old.is_object()) << old.dump();
    json blank = old;
    blank["text"] = "  \n \n";
    auto put = api_->Call("PUT", "/api/v1/content/items/answer/ps/por_card", op_, {{"value", blank}});
    if (put.status == 200) {
      auto r = api_->Post("/api/v1/content/publish", op_, {{"message", "blank answer"}});
      EXPECT_EQ(r.status, 400) << r.body;
      bool named = false;
      for (const auto& p : r.json["problems"]) named = named || p["item"] == "answer ps/por_card";
      EXPECT_TRUE(named) << r.body;
      ASSERT_EQ(api_->Call("PUT", "/api/v1/content/items/answer/ps/por_card", op_, {{"value", old}}).status, 200);
    } else {
      EXPECT_EQ(put.status, 400) << put.body;
      EXPECT_NE(put.json["error"].get<std::string>().find("blank"), std::string::npos) << put.body;
    }
  }
  auto everything = Put("rule/en.t8", {{"id", "en.t8"}, {"intent", "por_card"}, {"language", "en"}, {"weight", 10},
                                       {"keywords", json::array()}, {"patterns", {" "}}});
  EXPECT_EQ(everything.status, 400) << everything.body;
  EXPECT_NE(everything.body.find("matches every message"), std::string::npos) << everything.body;
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM content_versions"), versions_before) << "nothing was published";
  EXPECT_NE(AskAs("923007000002", "police arrested my brother right now, please help").find("protection"), std::string::npos);
}

TEST_F(ContentApiTest, NoEditPublishesContentThatMissesAThreatOrAlarmsOnAGreeting) {
  const long versions_before = QueryInt(db(), "SELECT count(*) FROM content_versions");
  auto refused_for_safety = [&](const std::string& why) {
    auto r = api_->Post("/api/v1/content/publish", op_, {{"message", why}});
    EXPECT_EQ(r.status, 400) << why << ": " << r.body;
    bool named = false;
    for (const auto& p : r.json["problems"]) named = named || p["item"].get<std::string>().rfind("safety ", 0) == 0;
    EXPECT_TRUE(named) << why << ": " << r.body;
  };
  json intent = api_->Get("/api/v1/content/items/intent/urgent_protection", op_).json["value"];
  ASSERT_TRUE(intent.is_object()) << intent.dump();
  json not_urgent = intent;
  not_urgent["urgent"] = false;
  ASSERT_EQ(Put("intent/urgent_protection", not_urgent).status, 200);
  refused_for_safety("urgent off");
  ASSERT_EQ(Put("intent/urgent_protection", intent).status, 200);

  json engine = api_->Get("/api/v1/content/items/engine", op_).json["value"];
  ASSERT_TRUE(engine.is_object()) << engine.dump();
  json deaf = engine;
  deaf["urgent_min_score"] = 1000;
  deaf["example_model"]["urgent_threshold"] = 50;
  ASSERT_EQ(Put("engine", deaf).status, 200);
  refused_for_safety("thresholds too high");
  json jumpy = engine;
  jumpy["urgent_min_score"] = -1;
  ASSERT_EQ(Put("engine", jumpy).status, 200);
  refused_for_safety("threshold below zero");
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM content_versions"), versions_before) << "nothing was published";
  // People still get the safety reply.
  EXPECT_NE(AskAs("923007000001", "police arrested my brother right now, please help").find("protection"), std::string::npos);

  // A version that got into the history unchecked (an old release, a hand edit) is not restored.
  json unsafe = json::parse(Query(db(), "SELECT document FROM content_versions ORDER BY id DESC LIMIT 1")[0]);
  for (auto& it : unsafe["intents"])
    if (it["id"] == "urgent_protection") it["urgent"] = false;
  ASSERT_TRUE(ExecBehindTheServer(db(), "INSERT INTO content_versions(author, message, document, created_at) VALUES "
                                        "('test', 'unsafe', " + SqlText(unsafe) + ", 0)"));
  const std::string unsafe_id = Query(db(), "SELECT max(id) FROM content_versions")[0];
  auto restore = api_->Post("/api/v1/content/versions/" + unsafe_id + "/restore", op_, {{"message", "go back"}});
  EXPECT_EQ(restore.status, 400) << restore.body;
  EXPECT_NE(restore.body.find("safety"), std::string::npos) << restore.body;
}

TEST_F(ContentApiTest, ExportThenImportRoundTripsByteForByte) {
  auto json1 = api_->Get("/api/v1/content/export?format=json", op_);
  ASSERT_EQ(json1.status, 200);
  auto csv1 = api_->Get("/api/v1/content/export?format=csv", op_);
  ASSERT_EQ(csv1.status, 200);
  EXPECT_EQ(csv1.body.rfind("key,en,prs,ps\n", 0), 0u);
  httplib::Client c("127.0.0.1", server_->admin_port());
  c.set_read_timeout(30, 0);  // as ApiClient: an import checks the whole content, slow under the sanitizers
  httplib::Headers h = {{"Authorization", "Bearer " + op_}};
  auto imp = c.Post("/api/v1/content/import?format=json", h, json1.body, "application/json");
  ASSERT_TRUE(imp);
  EXPECT_EQ(imp->status, 200) << imp->body;
  EXPECT_EQ(api_->Get("/api/v1/content/export?format=json", op_).body, json1.body);
  auto imp_csv = c.Post("/api/v1/content/import?format=csv", h, csv1.body, "text/csv");
  ASSERT_TRUE(imp_csv);
  EXPECT_EQ(imp_csv->status, 200) << imp_csv->body;
  EXPECT_EQ(api_->Get("/api/v1/content/export?format=csv", op_).body, csv1.body);
  EXPECT_EQ(api_->Get("/api/v1/content/export?format=json", op_).body, json1.body);
  // A translator's edit in the CSV lands in the draft.
  std::string edited = csv1.body;
  auto pos = edited.find("\nmessage/consent_no,");
  ASSERT_NE(pos, std::string::npos);
  size_t at = pos + std::string("\nmessage/consent_no,").size();
  if (edited[at] == '"') ++at;  // a quoted field: edit inside the quotes
  edited.insert(at, "EDITED ");
  auto imp2 = c.Post("/api/v1/content/import?format=csv", h, edited, "text/csv");
  ASSERT_EQ(imp2->status, 200);
  EXPECT_EQ(api_->Get("/api/v1/content/items/message/en/consent_no", op_).json["value"].get<std::string>().rfind("EDITED ", 0), 0u);
  // Saved from Excel as "CSV UTF-8", which puts a byte-order mark first.
  std::string excel = "\xEF\xBB\xBF" + edited;
  excel.replace(excel.find("EDITED "), 7, "EXCEL ");
  auto imp3 = c.Post("/api/v1/content/import?format=csv", h, excel, "text/csv");
  ASSERT_EQ(imp3->status, 200) << imp3->body;
  EXPECT_EQ(api_->Get("/api/v1/content/items/message/en/consent_no", op_).json["value"].get<std::string>().rfind("EXCEL ", 0), 0u);
  auto broken = c.Post("/api/v1/content/import?format=csv", h, "key,en\n\"unclosed", "text/csv");
  EXPECT_EQ(broken->status, 400);
}

TEST_F(ContentApiTest, AnOfficerIsRefusedAndAnonymousIsRefused) {
  const std::string officer = api_->Token("officer", kPassword);
  EXPECT_EQ(api_->Get("/api/v1/content/draft", officer).status, 403);
  EXPECT_EQ(api_->Post("/api/v1/content/publish", officer, {{"message", "x"}}).status, 403);
  EXPECT_EQ(Put("answer/en/por_card", {{"text", "x"}}, officer).status, 403);
  EXPECT_EQ(api_->Get("/api/v1/content/draft", "").status, 401);
}

// Two operators saving at once each read the draft, changed one item and wrote it all back: every
// save answered "saved", and all but the last were lost.
TEST_F(ContentApiTest, OperatorsSavingAtTheSameTimeKeepEachOthersEdits) {
  const std::vector<std::string> keys = {"welcome", "fallback", "consent_no", "non_text", "opt_out_confirm", "language_set"};
  std::vector<std::thread> threads;
  std::atomic<int> saved{0};
  for (size_t i = 0; i < keys.size(); ++i)
    threads.emplace_back([&, i] {
      ApiClient client(server_->admin_port());
      auto r = client.Call("PUT", "/api/v1/content/items/message/en/" + keys[i], op_, {{"value", "EDITED " + keys[i]}});
      if (r.status == 200) ++saved;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(saved.load(), static_cast<int>(keys.size()));
  for (const auto& k : keys)
    EXPECT_EQ(api_->Get("/api/v1/content/items/message/en/" + k, op_).json["value"], "EDITED " + k) << k;
}

TEST_F(ContentApiTest, ConcurrentPublishesKeepTheVersionHistoryWhole) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      ApiClient client(server_->admin_port());
      auto r = client.Post("/api/v1/content/publish", op_, {{"message", "publish " + std::to_string(i)}});
      if (r.status == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  auto versions = api_->Get("/api/v1/content/versions", op_);
  ASSERT_EQ(versions.json.size(), 7u);  // shipped + six
  std::set<int64_t> ids;
  for (const auto& v : versions.json) ids.insert(v["version"].get<int64_t>());
  EXPECT_EQ(ids.size(), 7u);
  EXPECT_EQ(*ids.rbegin() - *ids.begin(), 6);  // consecutive, none lost
  for (const auto& id : ids) {
    auto doc = api_->Get("/api/v1/content/versions/" + std::to_string(id), op_);
    ASSERT_EQ(doc.status, 200);
    EXPECT_TRUE(content::Snapshot::Build(doc.json, id).ok()) << "version " << id << " is complete and compiles";
  }
  EXPECT_EQ(versions.json[0]["current"], true);
}

TEST_F(ContentApiTest, FourEyesPublishWaitsForASecondOperator) {
  const std::string admin = api_->Token("admin", kPassword);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/settings", admin, {{"four_eyes", true}}).status, 200);
  auto req = api_->Post("/api/v1/content/publish", op_, {{"message", "needs a second pair of eyes"}});
  ASSERT_EQ(req.status, 202) << req.body;
  const std::string path = "/api/v1/content/publish-requests/" + req.json["request_id"].dump() + "/approve";
  EXPECT_EQ(api_->Post(path, op_).status, 403);
  auto approved = api_->Post(path, api_->Token("operator2", kPassword));
  EXPECT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(api_->Post(path, api_->Token("operator2", kPassword)).status, 409);
}

// The second operator reviews what a request would change before deciding, and can say no.
TEST_F(ContentApiTest, AReviewerSeesEachItemARequestChangesAndCanRejectItWithAReason) {
  const std::string admin = api_->Token("admin", kPassword);
  const std::string reviewer = api_->Token("operator2", kPassword);
  EXPECT_EQ(api_->Get("/api/v1/content/settings", op_).json, json({{"four_eyes", false}}));
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/settings", admin, {{"four_eyes", true}}).status, 200);
  EXPECT_EQ(api_->Get("/api/v1/content/settings", op_).json, json({{"four_eyes", true}}));
  auto item = api_->Get("/api/v1/content/items/answer/en/por_card", op_);
  ASSERT_EQ(item.status, 200) << item.body;
  const json before = item.json["value"];
  json after = before;
  after["text"] = "PoR cards: new text for review. Send 0 for the menu.";
  ASSERT_EQ(Put("answer/en/por_card", after).status, 200);
  auto req = api_->Post("/api/v1/content/publish", op_, {{"message", "PoR answer reworded"}});
  ASSERT_EQ(req.status, 202) << req.body;
  const std::string id = req.json["request_id"].dump();

  auto pending = api_->Get("/api/v1/content/publish-requests", reviewer);
  ASSERT_EQ(pending.status, 200) << pending.body;
  ASSERT_EQ(pending.json.size(), 1u) << pending.body;
  const json& r = pending.json[0];
  EXPECT_EQ(r["author"], "operator");
  EXPECT_EQ(r["message"], "PoR answer reworded");
  EXPECT_EQ(r["stale"], false);
  ASSERT_EQ(r["changes"].size(), 1u) << r["changes"].dump();
  EXPECT_EQ(r["changes"][0]["item"], "answer/en/por_card");
  EXPECT_EQ(r["changes"][0]["change"], "changed");
  EXPECT_EQ(r["changes"][0]["before"], before);
  EXPECT_EQ(r["changes"][0]["after"], after);

  const std::string reject = "/api/v1/content/publish-requests/" + id + "/reject";
  auto no_reason = api_->Post(reject, reviewer, json::object());
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_NE(no_reason.json.value("error", "").find("reason"), std::string::npos) << no_reason.body;
  ASSERT_EQ(api_->Post(reject, reviewer, {{"reason", "the English does not match the Dari answer"}}).status, 200);

  EXPECT_EQ(api_->Get("/api/v1/content/publish-requests", reviewer).json.size(), 0u);
  auto rejected = api_->Get("/api/v1/content/publish-requests?status=rejected", op_);
  ASSERT_EQ(rejected.json.size(), 1u) << rejected.body;
  EXPECT_EQ(rejected.json[0]["decided_by"], "operator2");
  EXPECT_EQ(rejected.json[0]["reason"], "the English does not match the Dari answer");
  EXPECT_EQ(api_->Post("/api/v1/content/publish-requests/" + id + "/approve", admin).status, 409);
  EXPECT_EQ(api_->Get("/api/v1/content/versions", op_).json.size(), 1u) << "nothing was published";
  EXPECT_EQ(api_->Get("/api/v1/content/publish-requests?status=everything", op_).status, 400);
  auto audit = api_->Get("/api/v1/audit", admin);
  EXPECT_NE(audit.body.find("content_publish_rejected"), std::string::npos);
}

// Two requests made against the same version: once one is approved, approving the other would
// put back what the first changed. It is refused, and the list says it is stale.
TEST_F(ContentApiTest, ARequestMadeBeforeAnotherPublishCannotBeApprovedSoItCannotUndoThatPublish) {
  const std::string admin = api_->Token("admin", kPassword);
  const std::string reviewer = api_->Token("operator2", kPassword);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/settings", admin, {{"four_eyes", true}}).status, 200);
  auto first = api_->Post("/api/v1/content/publish", op_, {{"message", "first"}});
  ASSERT_EQ(first.status, 202) << first.body;
  json value = api_->Get("/api/v1/content/items/answer/en/por_card", op_).json["value"];
  value["text"] = "PoR cards: second request. Send 0 for the menu.";
  ASSERT_EQ(Put("answer/en/por_card", value).status, 200);
  auto second = api_->Post("/api/v1/content/publish", op_, {{"message", "second"}});
  ASSERT_EQ(second.status, 202) << second.body;

  ASSERT_EQ(api_->Post("/api/v1/content/publish-requests/" + second.json["request_id"].dump() + "/approve", reviewer).status, 200);
  auto pending = api_->Get("/api/v1/content/publish-requests", reviewer);
  ASSERT_EQ(pending.json.size(), 1u) << pending.body;
  EXPECT_EQ(pending.json[0]["stale"], true);
  ASSERT_EQ(pending.json[0]["changes"].size(), 1u) << "approving it would revert the second request's answer";
  EXPECT_EQ(pending.json[0]["changes"][0]["before"], value);
  auto stale = api_->Post("/api/v1/content/publish-requests/" + first.json["request_id"].dump() + "/approve", reviewer);
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_NE(stale.json.value("error", "").find("undo"), std::string::npos) << stale.body;
  auto live = api_->Get("/api/v1/content/versions", op_);
  EXPECT_EQ(live.json.size(), 2u);
  // Its author withdraws it.
  ASSERT_EQ(api_->Post("/api/v1/content/publish-requests/" + first.json["request_id"].dump() + "/reject", op_,
                       {{"reason", "superseded by the second request"}}).status, 200);
  EXPECT_NE(api_->Get("/api/v1/audit", admin).body.find("content_publish_withdrawn"), std::string::npos);
}

// Going back to an old version changes what people are told as much as a publish does. Until it
// is approved, the draft (others' unpublished edits) stays as it is; a rejected restore leaves it.
TEST_F(ContentApiTest, WithFourEyesARestoreWaitsForASecondOperatorAndTheDraftWaitsWithIt) {
  const std::string admin = api_->Token("admin", kPassword);
  const std::string reviewer = api_->Token("operator2", kPassword);
  json value = api_->Get("/api/v1/content/items/answer/en/por_card", op_).json["value"];
  value["text"] = "PoR cards: version two. Send 0 for the menu.";
  ASSERT_EQ(Put("answer/en/por_card", value).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/content/publish", op_, {{"message", "v2"}}).status, 200);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/settings", admin, {{"four_eyes", true}}).status, 200);
  json unpublished = value;
  unpublished["text"] = "PoR cards: an edit in progress. Send 0 for the menu.";
  ASSERT_EQ(Put("answer/en/por_card", unpublished).status, 200);
  auto versions = api_->Get("/api/v1/content/versions", op_);
  ASSERT_EQ(versions.json.size(), 2u);
  const std::string oldest = versions.json[1]["version"].dump();
  auto draft_text = [&] { return api_->Get("/api/v1/content/items/answer/en/por_card", op_).json["value"]["text"]; };

  auto first = api_->Post("/api/v1/content/versions/" + oldest + "/restore", op_, {{"message", "back to the shipped content"}});
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(draft_text(), unpublished["text"]) << "the draft waits for the approval";
  auto listed = api_->Get("/api/v1/content/publish-requests", reviewer);
  ASSERT_EQ(listed.json.size(), 1u);
  EXPECT_EQ(listed.json[0]["kind"], "restore");
  ASSERT_EQ(api_->Post("/api/v1/content/publish-requests/" + first.json["request_id"].dump() + "/reject", reviewer,
                       {{"reason", "not now"}}).status, 200);
  EXPECT_EQ(draft_text(), unpublished["text"]) << "a rejected restore leaves the draft alone";

  auto restore = api_->Post("/api/v1/content/versions/" + oldest + "/restore", op_, {{"message", "back to the shipped content"}});
  ASSERT_EQ(restore.status, 202) << restore.body;
  EXPECT_EQ(api_->Get("/api/v1/content/versions", op_).json.size(), 2u) << "nothing published yet";
  auto approved = api_->Post("/api/v1/content/publish-requests/" + restore.json["request_id"].dump() + "/approve", reviewer);
  ASSERT_EQ(approved.status, 200) << approved.body;
  auto now = api_->Get("/api/v1/content/versions", op_);
  ASSERT_EQ(now.json.size(), 3u);
  EXPECT_EQ(api_->Get("/api/v1/content/versions/" + approved.json["version"].dump(), op_).json,
            api_->Get("/api/v1/content/versions/" + oldest, op_).json) << "what went live is the old version";
  EXPECT_NE(draft_text(), unpublished["text"]) << "approved: edits go on from the restored content";
  EXPECT_EQ(api_->Post("/api/v1/content/versions/1/restore", op_, {{"message", 5}}).status, 400);
  EXPECT_EQ(api_->Post("/api/v1/content/publish-requests/99999999999999999999/approve", reviewer).status, 404);
}

// What the item list cannot show by itself: a second entry with the same id (the bot would use the
// first) is refused; a new order of the facts is shown as the structure it changes; a change to a
// large item (a language's lexicon, the examples) is shown entry by entry.
TEST_F(ContentApiTest, AReviewerSeesLargeItemsEntryByEntryAndNothingHidesBehindADuplicateId) {
  const std::string admin = api_->Token("admin", kPassword);
  const std::string reviewer = api_->Token("operator2", kPassword);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/settings", admin, {{"four_eyes", true}}).status, 200);
  json draft = api_->Get("/api/v1/content/draft", op_).json;
  ASSERT_TRUE(draft["facts"].is_array() && draft["facts"].size() >= 2);
  json evil = draft["facts"][0];
  evil["value"] = "0300 0000000";
  json duplicated = draft;
  duplicated["facts"].insert(duplicated["facts"].begin(), evil);
  ASSERT_EQ(api_->Post("/api/v1/content/import", op_, duplicated).status, 200);
  auto refused = api_->Post("/api/v1/content/publish", op_, {{"message", "sneaky"}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("appears twice"), std::string::npos) << refused.body;

  json reordered = draft;
  std::swap(reordered["facts"][0], reordered["facts"][1]);
  const std::string word = reordered["lexicon"]["prs"].begin().key();
  reordered["lexicon"]["prs"].erase(word);
  reordered["examples"].push_back({{"text", "a new example about the por card"}, {"intent", "por_card"}, {"language", "en"}});
  ASSERT_EQ(api_->Post("/api/v1/content/import", op_, reordered).status, 200);
  auto req = api_->Post("/api/v1/content/publish", op_, {{"message", "lexicon, examples, order"}});
  ASSERT_EQ(req.status, 202) << req.body;
  auto listed = api_->Get("/api/v1/content/publish-requests", reviewer);
  ASSERT_EQ(listed.json.size(), 1u) << listed.body;
  std::map<std::string, json> by_item;
  for (const auto& c : listed.json[0]["changes"]) by_item[c["item"].get<std::string>() + " " + c["change"].get<std::string>()] = c;
  EXPECT_EQ(by_item.size(), 3u) << listed.json[0]["changes"].dump();
  ASSERT_TRUE(by_item.count("lexicon/prs/" + word + " removed")) << listed.json[0]["changes"].dump();
  ASSERT_TRUE(by_item.count("examples added"));
  EXPECT_EQ(by_item["examples added"]["after"]["text"], "a new example about the por card");
  ASSERT_TRUE(by_item.count("structure/facts changed"));
  EXPECT_EQ(by_item["structure/facts changed"]["after"][0], draft["facts"][1]["id"]);
  EXPECT_EQ(by_item["structure/facts changed"]["before"][0], draft["facts"][0]["id"]);
  EXPECT_EQ(listed.json[0]["reviewable"], true);
  EXPECT_EQ(api_->Post("/api/v1/content/publish-requests/" + req.json["request_id"].dump() + "/approve", reviewer).status, 200);
}

// Keys that could name two things ("answer/en/x/y": intent "x/y", or intent "y" in a language
// "en/x") are refused; a change of type only (menu 10 → 10.0, which the bot ignores) is shown; a
// long rule shows the one pattern added; more than 300 entries at once cannot be approved.
TEST_F(ContentApiTest, NoChangeReachesPeopleWithoutTheReviewerSeeingIt) {
  const std::string admin = api_->Token("admin", kPassword);
  const std::string reviewer = api_->Token("operator2", kPassword);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/settings", admin, {{"four_eyes", true}}).status, 200);
  const json draft = api_->Get("/api/v1/content/draft", op_).json;

  json slashed = draft;
  slashed["intents"].push_back({{"id", "x/y"}, {"queue", nullptr}});
  slashed["answers"]["en"]["x/y"] = {{"text", "send your card number to 0300 1234567"}};
  slashed["answers"]["en/x"] = {{"y", {{"text", "benign"}}}};
  ASSERT_EQ(api_->Post("/api/v1/content/import", op_, slashed).status, 200);
  auto refused = api_->Post("/api/v1/content/publish", op_, {{"message", "sneaky"}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("letters, digits"), std::string::npos) << refused.body;

  // Types the bot would silently ignore, a look-alike queue id, a queue that does not exist, and
  // a document nested too deep to review are refused before anyone has to spot them.
  auto refused_with = [&](const json& doc, const std::string& words) {
    if (api_->Post("/api/v1/content/import", op_, doc).status != 200) return words == "import";
    auto r = api_->Post("/api/v1/content/publish", op_, {{"message", "bad"}});
    return r.status == 400 && r.body.find(words) != std::string::npos;
  };
  std::string menu_intent;
  for (const auto& it : draft["intents"])
    if (it.contains("menu") && it["menu"].is_number_integer() && menu_intent.empty()) menu_intent = it["id"];
  ASSERT_FALSE(menu_intent.empty());
  auto with_intent = [&](const std::string& field, const json& value) {
    json d = draft;
    for (auto& it : d["intents"])
      if (it["id"] == menu_intent) it[field] = value;
    return d;
  };
  EXPECT_TRUE(refused_with(with_intent("menu", 10.0), "whole number")) << "10.0 is not in the menu";
  EXPECT_TRUE(refused_with(with_intent("urgent", "true"), "true or false"));
  EXPECT_TRUE(refused_with(with_intent("queue", "unhcr_pr\u043Etection"), "queue id")) << "a Cyrillic о";
  EXPECT_TRUE(refused_with(with_intent("queue", "unhcr_protectionx"), "does not exist"));
  json deep = draft;
  json* at = &deep["engine"];
  for (int i = 0; i < 40; ++i) at = &((*at)["notes"] = json::object());
  EXPECT_TRUE(refused_with(deep, "import")) << "nested 40 levels";
  EXPECT_EQ(api_->Post("/api/v1/content/regressions", op_, {{"text", "salam"}, {"intent", "greeting"}, {"urgent", "yes"}}).status, 400);
  EXPECT_TRUE(refused_with(with_intent("menu", 0), "1 to 99"));
  std::string other_menu_intent;
  int taken = 0;
  for (const auto& it : draft["intents"])
    if (it.contains("menu") && it["menu"].is_number_integer() && it["id"] != menu_intent && other_menu_intent.empty()) {
      other_menu_intent = it["id"];
      taken = it["menu"];
    }
  EXPECT_TRUE(refused_with(with_intent("menu", taken), "another intent's place"));
  json text_threshold = draft;
  text_threshold["engine"]["min_score"] = "0.5";  // would fall back to the built-in default
  EXPECT_TRUE(refused_with(text_threshold, "must be a number"));
  json number_word = draft;
  number_word["messages"]["en"]["yes_words"].push_back(2);
  EXPECT_TRUE(refused_with(number_word, "list of words"));
  // A value nested 100,000 deep in one item: refused before anything copies it; the server lives.
  std::string deep_value(100000, '[');
  deep_value += std::string(100000, ']');
  httplib::Client raw("127.0.0.1", server_->admin_port());
  auto put = raw.Put("/api/v1/content/items/engine", {{"Authorization", "Bearer " + op_}}, "{\"value\": " + deep_value + "}",
                     "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 400);
  EXPECT_NE(put->body.find("the body must be"), std::string::npos) << "refused as a body, before any copy: " << put->body;
  EXPECT_EQ(api_->Get("/api/v1/me", op_).status, 200) << "the server is still up";

  json typed = draft;
  std::string long_rule;
  for (auto& r : typed["rules"])
    if (r.contains("patterns") && r["patterns"].is_array() && r.dump().size() > 2000 && long_rule.empty()) {
      long_rule = r["id"];
      r["patterns"].push_back("(?i)an added pattern");
    }
  ASSERT_FALSE(long_rule.empty()) << "the shipped rules have a long one";
  ASSERT_EQ(api_->Post("/api/v1/content/import", op_, typed).status, 200);
  auto req = api_->Post("/api/v1/content/publish", op_, {{"message", "menu type and one pattern"}});
  ASSERT_EQ(req.status, 202) << req.body;
  auto listed = api_->Get("/api/v1/content/publish-requests", reviewer);
  ASSERT_EQ(listed.json.size(), 1u);
  std::set<std::string> items;
  for (const auto& c : listed.json[0]["changes"]) items.insert(c["item"].get<std::string>() + " " + c["change"].get<std::string>());
  EXPECT_TRUE(items.count("rule/" + long_rule + "/patterns added")) << listed.json[0]["changes"].dump();
  for (const auto& c : listed.json[0]["changes"])
    if (c["change"] == "added") {
      EXPECT_TRUE(c["after_text"].is_string()) << "each value as the server writes it";
    }
  EXPECT_EQ(listed.json[0]["reviewable"], true);
  ASSERT_EQ(api_->Post("/api/v1/content/publish-requests/" + listed.json[0]["id"].dump() + "/reject", reviewer,
                       {{"reason", "menu must stay an integer"}}).status, 200);

  // 10 → 10.0 where the bot does not care: shown, as the server writes each (the browser's parser
  // would print both as 10).
  json int_engine = draft["engine"];
  int_engine["review_note"] = 10;
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/items/engine", op_, {{"value", int_engine}}).status, 200);
  auto int_req = api_->Post("/api/v1/content/publish", op_, {{"message", "a note"}});
  ASSERT_EQ(int_req.status, 202) << int_req.body;
  ASSERT_EQ(api_->Post("/api/v1/content/publish-requests/" + int_req.json["request_id"].dump() + "/approve", reviewer).status, 200);
  json float_engine = int_engine;
  float_engine["review_note"] = 10.0;
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/items/engine", op_, {{"value", float_engine}}).status, 200);
  auto typed_req = api_->Post("/api/v1/content/publish", op_, {{"message", "a type only"}});
  ASSERT_EQ(typed_req.status, 202) << typed_req.body;
  auto typed_list = api_->Get("/api/v1/content/publish-requests", reviewer);
  bool type_shown = false;
  for (const auto& c : typed_list.json[0]["changes"])
    type_shown = type_shown || (c["item"] == "engine" && c["before_text"].get<std::string>().find("\"review_note\": 10") != std::string::npos &&
                                c["before_text"].get<std::string>().find("\"review_note\": 10.0") == std::string::npos &&
                                c["after_text"].get<std::string>().find("\"review_note\": 10.0") != std::string::npos);
  EXPECT_TRUE(type_shown) << typed_list.json[0]["changes"].dump();
  ASSERT_EQ(api_->Post("/api/v1/content/publish-requests/" + typed_req.json["request_id"].dump() + "/reject", reviewer,
                       {{"reason", "not needed"}}).status, 200);

  json many = draft;
  for (int i = 0; i < 301; ++i)
    many["examples"].push_back({{"text", "example number " + std::to_string(i) + " about the por card"}, {"intent", "por_card"}, {"language", "en"}});
  ASSERT_EQ(api_->Post("/api/v1/content/import", op_, many).status, 200);
  auto big = api_->Post("/api/v1/content/publish", op_, {{"message", "301 examples"}});
  ASSERT_EQ(big.status, 202) << big.body;
  auto big_listed = api_->Get("/api/v1/content/publish-requests", reviewer);
  ASSERT_EQ(big_listed.json.size(), 1u);
  EXPECT_EQ(big_listed.json[0]["reviewable"], false);
  auto too_big = api_->Post("/api/v1/content/publish-requests/" + big.json["request_id"].dump() + "/approve", reviewer);
  EXPECT_EQ(too_big.status, 409) << too_big.body;
  EXPECT_NE(too_big.json.value("error", "").find("too large to show"), std::string::npos) << too_big.body;
  ASSERT_EQ(api_->Post("/api/v1/content/publish-requests/" + big.json["request_id"].dump() + "/reject", reviewer,
                       {{"reason", "split it"}}).status, 200);

  // More than 500 separate changes in one request (501 new words of a lexicon) likewise.
  json words = api_->Get("/api/v1/content/draft", op_).json;
  for (int i = 0; i < 501; ++i) words["lexicon"]["en"]["zzword" + std::to_string(i)] = 1;
  ASSERT_EQ(api_->Post("/api/v1/content/import", op_, words).status, 200);
  auto wide = api_->Post("/api/v1/content/publish", op_, {{"message", "501 words"}});
  ASSERT_EQ(wide.status, 202) << wide.body;
  auto wide_listed = api_->Get("/api/v1/content/publish-requests", reviewer);
  EXPECT_EQ(wide_listed.json[0]["reviewable"], false) << wide_listed.json[0]["changes"].dump().substr(0, 300);
  EXPECT_EQ(api_->Post("/api/v1/content/publish-requests/" + wide.json["request_id"].dump() + "/approve", reviewer).status, 409);
}

// Going back a long way (more than a reviewer could read entry by entry) is still possible under
// four-eyes: a restore returns to content people were already told, and is approved from its
// summary.
TEST_F(ContentApiTest, ARestoreFarBackCanBeApprovedFromItsSummary) {
  const std::string admin = api_->Token("admin", kPassword);
  json words = api_->Get("/api/v1/content/draft", op_).json;
  for (int i = 0; i < 501; ++i) words["lexicon"]["en"]["zzword" + std::to_string(i)] = 1;
  ASSERT_EQ(api_->Post("/api/v1/content/import", op_, words).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/content/publish", op_, {{"message", "many words"}}).status, 200);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/settings", admin, {{"four_eyes", true}}).status, 200);
  const std::string oldest = api_->Get("/api/v1/content/versions", op_).json.back()["version"].dump();
  auto restore = api_->Post("/api/v1/content/versions/" + oldest + "/restore", op_, {{"message", "back to before the words"}});
  ASSERT_EQ(restore.status, 202) << restore.body;
  auto listed = api_->Get("/api/v1/content/publish-requests", admin);
  EXPECT_EQ(listed.json[0]["kind"], "restore");
  EXPECT_EQ(listed.json[0]["reviewable"], true);
  auto approved = api_->Post("/api/v1/content/publish-requests/" + restore.json["request_id"].dump() + "/approve",
                             api_->Token("operator2", kPassword));
  EXPECT_EQ(approved.status, 200) << approved.body;
}

// An author who publishes over a saved example's objection needs the reviewer to agree, knowingly.
TEST_F(ContentApiTest, AnOverriddenRegressionExampleNeedsTheReviewersOwnConfirmation) {
  const std::string admin = api_->Token("admin", kPassword);
  const std::string reviewer = api_->Token("operator2", kPassword);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/content/settings", admin, {{"four_eyes", true}}).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/content/regressions", op_, {{"text", "what is the PoR card?"}, {"intent", "por_card"}}).status, 201);
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/content/items/examples", op_).status, 200);
  auto items = api_->Get("/api/v1/content/items?prefix=rule/", op_);
  for (const auto& [key, rule] : items.json.items()) {
    if (rule.value("intent", "") == "por_card" && rule.value("language", "") == "en") {
      ASSERT_EQ(api_->Call("DELETE", "/api/v1/content/items/" + key, op_).status, 200);
    }
  }
  auto req = api_->Post("/api/v1/content/publish", op_, {{"message", "remove PoR rules"}, {"override_regressions", true}});
  ASSERT_EQ(req.status, 202) << req.body;
  auto listed = api_->Get("/api/v1/content/publish-requests", reviewer);
  ASSERT_EQ(listed.json[0]["overrides"].size(), 1u) << listed.body;
  EXPECT_EQ(listed.json[0]["overrides"][0]["expected_intent"], "por_card");
  bool examples_shown = false;
  for (const auto& c : listed.json[0]["changes"])
    examples_shown = examples_shown || (c["item"] == "examples" && c["change"] == "removed" && c.value("entries", 0) > 1000);
  EXPECT_TRUE(examples_shown) << "removing all examples is one readable change";
  const std::string path = "/api/v1/content/publish-requests/" + req.json["request_id"].dump() + "/approve";
  auto unconfirmed = api_->Post(path, reviewer);
  EXPECT_EQ(unconfirmed.status, 409) << unconfirmed.body;
  ASSERT_EQ(unconfirmed.json["regressions"].size(), 1u);
  EXPECT_EQ(api_->Post(path, reviewer, {{"confirm_override", "yes"}}).status, 400);
  EXPECT_EQ(api_->Post(path, reviewer, {{"confirm_override", true}}).status, 200);
}

TEST_F(ContentApiTest, AShippedUpgradeUpdatesUntouchedItemsAndReportsEditedOnesAsConflicts) {
  // A fresh database started from a copy of locales/ we can change like a new release would.
  TempDir other;
  StartFreshOnACopyOfLocales(other);
  // The operator edits one English answer.
  json edited = api_->Get("/api/v1/content/items/answer/en/acc_card", op_).json["value"];
  edited["text"] = "Operator's own ACC answer. Type 0 for the menu.";
  ASSERT_EQ(Put("answer/en/acc_card", edited).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/content/publish", op_, {{"message", "local ACC wording"}}).status, 200);
  StopServer();
  // The next release changes that answer and another one nobody touched.
  ChangeShipped("en/answers.json", [](json& answers) {
    answers["answers"]["acc_card"]["text"] = "Release 2 ACC answer.";
    answers["answers"]["exit_permit"]["text"] = "Release 2 exit permit answer.";
  });
  Start();
  auto acc = api_->Get("/api/v1/content/items/answer/en/acc_card", op_);
  EXPECT_EQ(acc.json["value"]["text"], "Operator's own ACC answer. Type 0 for the menu.");
  auto exit = api_->Get("/api/v1/content/items/answer/en/exit_permit", op_);
  EXPECT_EQ(exit.json["value"]["text"], "Release 2 exit permit answer.");
  auto conflicts = api_->Get("/api/v1/content/conflicts", op_);
  ASSERT_EQ(conflicts.json.size(), 1u) << conflicts.body;
  EXPECT_EQ(conflicts.json[0]["key"], "answer/en/acc_card");
  EXPECT_EQ(conflicts.json[0]["shipped_now"]["text"], "Release 2 ACC answer.");
}

// A release merged with operators' edits is published only if it passes what any publish must:
// here the release itself takes "urgent" off the urgent intent, so the running content stays.
TEST_F(ContentApiTest, AReleaseThatWouldMissThreatsIsNotMergedAndSaysWhy) {
  TempDir other;
  StartFreshOnACopyOfLocales(other);
  const long versions_before = QueryInt(db(), "SELECT count(*) FROM content_versions");
  StopServer();
  ChangeShipped("intents.json", [](json& intents) {
    for (auto& it : intents["intents"])
      if (it["id"] == "urgent_protection") it["urgent"] = false;
  });
  Start();
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM content_versions"), versions_before) << "nothing published";
  auto conflicts = api_->Get("/api/v1/content/conflicts", op_);
  bool said = false;
  for (const auto& c : conflicts.json) said = said || (c.value("key", "") == "release" && c.value("error", "").find("safety") != std::string::npos);
  EXPECT_TRUE(said) << conflicts.body;
  EXPECT_NE(AskAs("923007000002", "police arrested my brother right now, please help").find("protection"), std::string::npos);
  // Refused, it is tried again at the next start (it was marked as taken and never came back).
  StopServer();
  Start();
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM audit_log WHERE action='content_upgrade_refused'"), 2);
}

// A problem the running content already has (here a Pashto menu header longer than a later check
// allows) does not hold back a release that does not cause it.
TEST_F(ContentApiTest, AnOldProblemInTheRunningContentDoesNotHoldBackARelease) {
  TempDir other;
  StartFreshOnACopyOfLocales(other);
  StopServer();
  json live = json::parse(Query(db(), "SELECT document FROM content_versions ORDER BY id DESC LIMIT 1")[0]);
  live["messages"]["ps"]["messages"]["menu_title"] = std::string(70, 'x');
  ASSERT_TRUE(ExecBehindTheServer(db(), "UPDATE content_versions SET document = " + SqlText(live) +
                                            " WHERE id = (SELECT max(id) FROM content_versions)"));
  ChangeShipped("en/answers.json", [](json& answers) { answers["answers"]["exit_permit"]["text"] = "Release 2 exit permit answer."; });
  Start();
  EXPECT_EQ(api_->Get("/api/v1/content/items/answer/en/exit_permit", op_).json["value"]["text"], "Release 2 exit permit answer.");
}

// A release that adds the example model's examples and settings reaches a database whose content
// started before them, without touching what operators edited.
TEST_F(ContentApiTest, AReleaseThatAddsTheExampleModelReachesContentStartedBeforeIt) {
  TempDir other;
  StopAndCopyLocalesInto(other);
  // Release 1: no examples, no example_model settings.
  const std::string examples_dir = locales_ + "/examples", parked = other.File("examples");
  std::filesystem::rename(examples_dir, parked);
  const std::string engine_path = locales_ + "/engine.json";
  std::ifstream engine_in(engine_path);
  const json engine = json::parse(engine_in);
  engine_in.close();
  json engine1 = engine;
  engine1.erase("example_model");
  std::ofstream(engine_path) << engine1.dump(1);
  std::filesystem::remove(db());
  AddUser(db(), "operator", "operator", {}, kPassword);
  Start();
  const std::string missed = "they are dragging my son into a van, please";
  auto before = api_->Post("/api/v1/content/preview", op_, {{"text", missed}});
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_FALSE(before.json["published"]["urgent"].get<bool>()) << before.body;
  json edited = api_->Get("/api/v1/content/items/answer/en/acc_card", op_).json["value"];
  edited["text"] = "Operator's own ACC answer. Type 0 for the menu.";
  ASSERT_EQ(Put("answer/en/acc_card", edited).status, 200);
  ASSERT_EQ(api_->Post("/api/v1/content/publish", op_, {{"message", "local ACC wording"}}).status, 200);
  server_->Stop();
  server_.reset();
  // Release 2 brings them.
  std::filesystem::rename(parked, examples_dir);
  std::ofstream(engine_path) << engine.dump(1);
  Start();
  auto after = api_->Post("/api/v1/content/preview", op_, {{"text", missed}});
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_TRUE(after.json["published"]["urgent"].get<bool>()) << after.body;
  EXPECT_EQ(after.json["published"]["queue"], "unhcr_protection");
  EXPECT_EQ(api_->Get("/api/v1/content/items/answer/en/acc_card", op_).json["value"]["text"],
            "Operator's own ACC answer. Type 0 for the menu.");
  EXPECT_GE(api_->Get("/api/v1/content/items/examples", op_).json["value"].size(), 1300u);
}

}  // namespace
}  // namespace bot::testing
