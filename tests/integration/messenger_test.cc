// Issue #6: a whole conversation on Facebook Messenger through the real server and the fake Graph
// API — the same conversation logic, menus and escalation as WhatsApp, with the officer's reply
// sent under the HUMAN_AGENT tag.
#include <gtest/gtest.h>

#include <ctime>
#include <thread>

#include "tests/support/api_client.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;
constexpr const char* kPassword = "correct horse 42 battery";
constexpr const char* kPageId = "1234567890";

std::string MessengerText(const std::string& psid, const std::string& mid, const std::string& text,
                          const std::string& quick_reply_payload = "") {
  const int64_t ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
  json message = {{"mid", mid}, {"text", text}};
  if (!quick_reply_payload.empty()) message["quick_reply"] = {{"payload", quick_reply_payload}};
  json event = {{"sender", {{"id", psid}}}, {"recipient", {{"id", kPageId}}}, {"timestamp", ms}, {"message", message}};
  json entry = {{"id", kPageId}, {"time", ms}, {"messaging", json::array({event})}};
  return json{{"object", "page"}, {"entry", json::array({entry})}}.dump();
}

// A server with a fake Graph API and one officer of the protection queue.
class MessengerConversationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddUser(db_, "officer", "officer", {"unhcr_protection"}, kPassword);
    auto s = server::Server::Start(TestConfig(db_, graph_.url()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
  }
  TempDir dir_;
  FakeGraph graph_;
  const std::string db_ = dir_.File("m.db");
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
};

TEST_F(MessengerConversationTest, WelcomeMenuEscalationAndAnOfficerReplyWithTheHumanAgentTag) {
  const std::string psid = "6254117574598842";
  int seq = 0;
  auto say = [&](const std::string& text, const std::string& payload = "") {
    const std::string mid = "m_test_" + std::to_string(++seq);
    auto r = hooks_->PostSigned(MessengerText(psid, mid, text, payload), "/webhooks/messenger");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    ASSERT_TRUE(WaitProcessed(db_, mid)) << "not processed: " << text;
  };
  auto sent = [&](size_t at_least) {
    graph_.WaitFor(at_least, psid, 5000);
    return graph_.RequestsTo(psid);
  };

  // Verification handshake on the Messenger endpoint.
  auto verify = hooks_->Get(std::string("/webhooks/messenger?hub.mode=subscribe&hub.verify_token=") + kVerifyToken + "&hub.challenge=42");
  ASSERT_TRUE(verify);
  EXPECT_EQ(verify->body, "42");

  say("salam");
  auto first = sent(2);
  ASSERT_GE(first.size(), 2u);
  EXPECT_EQ(first[0].path, "/v21.0/me/messages");
  EXPECT_EQ(first[0].authorization, "Bearer test-page-token");
  EXPECT_EQ(first[0].json["recipient"]["id"], psid);
  EXPECT_EQ(first[0].json["messaging_type"], "RESPONSE");

  say("1");  // English; the menu comes as numbered text with quick replies
  auto menu = sent(4);
  ASSERT_GE(menu.size(), 4u);
  const json& list = menu[3].json["message"];
  EXPECT_NE(list["text"].get<std::string>().find("1. "), std::string::npos);
  ASSERT_TRUE(list.contains("quick_replies"));
  EXPECT_LE(list["quick_replies"].size(), 13u);
  const std::string second_topic = list["quick_replies"][1]["payload"];

  say(list["quick_replies"][1]["title"], second_topic);  // tapping a quick reply picks that topic
  auto answered = sent(5);
  EXPECT_NE(answered.back().json["message"]["text"].get<std::string>().find("PoR"), std::string::npos)
      << answered.back().body;

  say("police arrested my brother right now, please help");
  ASSERT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM cases WHERE queue='unhcr_protection' AND priority='urgent'"), 1);
  ApiClient api(server_->admin_port());
  const std::string token = api.Token("officer", kPassword);
  const std::string id = Query(db_, "SELECT id FROM cases")[0];
  auto reply = api.Post("/api/v1/cases/" + id + "/replies", token, {{"text", "An officer here. Where are you now?"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  bool tagged = false;
  for (int i = 0; i < 300 && !tagged; ++i) {
    for (const auto& r : graph_.RequestsTo(psid))
      if (r.json["message"].value("text", "") == "An officer here. Where are you now?") {
        EXPECT_EQ(r.json["messaging_type"], "MESSAGE_TAG");
        EXPECT_EQ(r.json["tag"], "HUMAN_AGENT");
        tagged = true;
      }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(tagged);
  auto view = api.Get("/api/v1/cases/" + id, token);
  EXPECT_EQ(view.json["channel"], "messenger");

  // Eight days later Messenger allows no reply at all: the refusal offers no (WhatsApp) templates.
  ASSERT_TRUE(ExecBehindTheServer(db_, "UPDATE contacts SET last_inbound_at = last_inbound_at - 8 * 24 * 3600 * 1000"));
  auto late = api.Post("/api/v1/cases/" + id + "/replies", token, {{"text", "Are you still there?"}});
  EXPECT_EQ(late.status, 409) << late.body;
  EXPECT_FALSE(late.json.contains("templates")) << late.body;
}

// A link shared on Messenger arrives as the typed text plus a "fallback" attachment: the text is
// what the person wrote. It was answered "I can only read text" and its threat was missed.
TEST_F(MessengerConversationTest, ATextWithASharedLinkIsReadAsTextAndItsThreatReachesTheProtectionQueue) {
  const std::string psid = "6254117574598899";
  json body = json::parse(MessengerText(psid, "m_link_1", "police arrested my husband last night, please help https://example.invalid/news"));
  body["entry"][0]["messaging"][0]["message"]["attachments"] =
      json::array({{{"type", "fallback"}, {"payload", {{"url", "https://example.invalid/news"}, {"title", "News"}}}}});
  auto r = hooks_->PostSigned(body.dump(), "/webhooks/messenger");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(WaitProcessed(db_, "m_link_1"));
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM cases WHERE queue='unhcr_protection' AND priority='urgent'"), 1);
  EXPECT_EQ(QueryInt(db_, "SELECT kind='text' FROM messages WHERE provider_id='m_link_1'"), 1);
  ASSERT_TRUE(graph_.WaitFor(1, psid, 5000));
  bool urgent_reply = false;
  for (const auto& req : graph_.RequestsTo(psid)) urgent_reply = urgent_reply || req.body.find("protection") != std::string::npos;
  EXPECT_TRUE(urgent_reply) << "the safety reply";
}

// A person sends three photos of their documents as one Messenger message. Only the first was
// kept, and the console could open none: officers see every attachment, and open each one (the
// server fetches it from Meta's CDN). A URL that is not https is never fetched.
TEST_F(MessengerConversationTest, SeveralAttachmentsInOneMessageAreAllKeptAndAnOfficerOpensEachOne) {
  const std::string psid = "6254117574598877";
  ASSERT_EQ(hooks_->PostSigned(MessengerText(psid, "m_att_1", "police arrested my husband last night, please help"),
                             "/webhooks/messenger")->status, 200);
  ASSERT_TRUE(WaitProcessed(db_, "m_att_1"));
  graph_.OnGet("/cdn/por.jpg", "image/jpeg", "POR-CARD-BYTES");
  graph_.OnGet("/cdn/notice.jpg", "image/jpeg", "NOTICE-BYTES");
  graph_.OnGet("/cdn/letter.pdf", "application/pdf", "%PDF-LETTER");
  json body = json::parse(MessengerText(psid, "m_att_2", ""));
  json& message = body["entry"][0]["messaging"][0]["message"];
  message.erase("text");
  message["attachments"] = json::array({
      {{"type", "image"}, {"payload", {{"url", graph_.url() + "/cdn/por.jpg"}}}},
      {{"type", "image"}, {"payload", {{"url", graph_.url() + "/cdn/notice.jpg"}}}},
      {{"type", "file"}, {"payload", {{"url", graph_.url() + "/cdn/letter.pdf"}}}},
      {{"type", "image"}, {"payload", {{"url", "http://169.254.169.254/latest/meta-data"}}}},
      {{"type", "file"}, {"payload", {{"url", "https://attacker.example/track.pdf"}}}},
      {{"type", "file"}, {"payload", {{"url", graph_.url() + "/cdn/page.html"}}}},
      {{"type", "video"}, {"payload", {{"url", graph_.url() + "/cdn/huge.mp4"}}}}});
  graph_.OnGet("/cdn/page.html", "text/html", "<script>alert(1)</script>");
  graph_.OnGet("/cdn/huge.mp4", "video/mp4", std::string((32u << 20) + 1, 'v'));
  ASSERT_EQ(hooks_->PostSigned(body.dump(), "/webhooks/messenger")->status, 200);
  ASSERT_TRUE(WaitProcessed(db_, "m_att_2"));

  ApiClient api(server_->admin_port());
  const std::string token = api.Token("officer", kPassword);
  const std::string id = Query(db_, "SELECT id FROM cases")[0];
  auto view = api.Get("/api/v1/cases/" + id, token);
  ASSERT_EQ(view.status, 200) << view.body;
  json photos;
  for (const auto& m : view.json["messages"])
    if (m.contains("media")) photos = m;
  ASSERT_FALSE(photos.is_null()) << view.body;
  EXPECT_EQ(photos["media"]["id"], graph_.url() + "/cdn/por.jpg");
  ASSERT_EQ(photos["more_media"].size(), 6u) << photos.dump();
  EXPECT_EQ(photos["more_media"][1]["mime_type"], "file");
  EXPECT_EQ(graph_.Gets().size(), 0u) << "nothing is downloaded until an officer asks";

  const std::string base = "/api/v1/cases/" + id + "/messages/" + photos["id"].dump() + "/media/";
  auto first = api.Get(base + "0", token);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "POR-CARD-BYTES");
  EXPECT_EQ(api.Get(base + "1", token).body, "NOTICE-BYTES");
  auto letter = api.Get(base + "2", token);
  EXPECT_EQ(letter.status, 200);
  EXPECT_EQ(letter.body, "%PDF-LETTER");
  // Only Meta's CDN is fetched: never a host the sender chose (a shared post can carry any link).
  for (const char* refused : {"3", "4"}) {
    auto r = api.Get(base + refused, token);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.json.value("error", "").find("Meta's CDN"), std::string::npos) << r.body;
  }
  // What another server says is a web page is handed over as bytes, never as HTML.
  auto page = api.Get(base + "5", token);
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "application/octet-stream");
  // Bounded: a body past 32 MB is refused, not held in memory.
  auto huge = api.Get(base + "6", token);
  EXPECT_EQ(huge.status, 503) << huge.body.substr(0, 200);
  EXPECT_NE(huge.json.value("error", "").find("larger than"), std::string::npos) << huge.body.substr(0, 200);
  auto none = api.Get(base + "7", token);
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_TRUE(none.json.contains("error"));
  EXPECT_EQ(graph_.Gets().size(), 5u);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM audit_log WHERE action = 'media_fetch'"), 7) << "refused ones too";
}

}  // namespace
}  // namespace bot::testing
