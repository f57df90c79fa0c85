// Messenger webhook parser: the project's own payloads (tests/testdata/messenger/) and the
// shapes of Meta's events that must not become a reply (echoes, receipts, standby).
#include "bot/channels/messenger/messenger.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/channels/channel_testing.h"

namespace bot::testing {
namespace {

using channels::messenger::ParseWebhook;

// A page webhook whose one entry (page "PAGE") carries `events_json` as messaging[].
std::string Page(const std::string& events_json) {
  return R"({"object":"page","entry":[{"id":"PAGE","time":1749416383123,"messaging":)" + events_json + "}]}";
}

WebhookBatch ParseOk(const std::string& body) {
  auto r = ParseWebhook(body);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << body;
  return r.ok() ? *r : WebhookBatch{};
}

TEST(MessengerWebhookTest, TextBecomesATextMessageFromThePsidToThePage) {
  WebhookBatch b = ParseOk(TestData("messenger/text.json"));
  ASSERT_EQ(b.messages.size(), 1u);
  const InboundMessage& m = b.messages[0];
  EXPECT_EQ(m.channel, Channel::kMessenger);
  EXPECT_EQ(m.kind, InboundKind::kText);
  EXPECT_EQ(m.provider_id, "m_td-text");
  EXPECT_EQ(m.sender, "6543210000000001");
  EXPECT_EQ(m.business_id, "104550000000001");
  EXPECT_EQ(m.text, "سلام");
  EXPECT_EQ(m.timestamp, 1749416383) << "milliseconds are read as seconds";
}

TEST(MessengerWebhookTest, QuickReplyIsAChoiceCarryingOurPayload) {
  WebhookBatch b = ParseOk(TestData("messenger/quick_reply.json"));
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0].kind, InboundKind::kChoice);
  EXPECT_EQ(b.messages[0].payload_id, "lang:prs");
  EXPECT_EQ(b.messages[0].text, "دری");
}

TEST(MessengerWebhookTest, PostbackIsAChoiceKeyedByItsMid) {
  WebhookBatch b = ParseOk(TestData("messenger/postback.json"));
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0].kind, InboundKind::kChoice);
  EXPECT_EQ(b.messages[0].provider_id, "m_td-postback");
  EXPECT_EQ(b.messages[0].payload_id, "get_started");
  EXPECT_EQ(b.messages[0].text, "Get Started");
}

// Meta's message_edits example (developers.facebook.com, message-edits webhook reference).
TEST(MessengerWebhookTest, AnEditedMessageIsReadAsWhatItNowSaysEachEditItsOwnMessage) {
  const std::string first = Page(R"([{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":1458668856463,)"
                                 R"("message_edit":{"mid":"m_orig","text":"police took my brother now","num_edit":1}}])");
  WebhookBatch b = ParseOk(first);
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0].kind, InboundKind::kText);
  EXPECT_EQ(b.messages[0].text, "police took my brother now");
  EXPECT_EQ(b.messages[0].reply_to, "m_orig");
  EXPECT_EQ(b.messages[0].provider_id, "m_orig#edit1");
  const std::string second = Page(R"([{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":1458668857463,)"
                                  R"("message_edit":{"mid":"m_orig","text":"x","num_edit":"2"}}])");
  EXPECT_EQ(ParseOk(second).messages.at(0).provider_id, "m_orig#edit2");
  EXPECT_TRUE(ParseOk(Page(R"([{"sender":{"id":"U"},"message_edit":{"text":"no mid"}}])")).messages.empty());
}

TEST(MessengerWebhookTest, PostbackWithoutMidGetsAnIdStableAcrossRetries) {
  const std::string body = Page(R"([{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":1472028006107,)"
                                R"("postback":{"payload":"DEVELOPED_DEFINED_PAYLOAD"}}])");
  WebhookBatch a = ParseOk(body), b = ParseOk(body);
  ASSERT_EQ(a.messages.size(), 1u);
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(a.messages[0].provider_id, channels::messenger::PostbackId("U", "1472028006107"));
  EXPECT_EQ(a.messages[0].provider_id, b.messages[0].provider_id);
}

TEST(MessengerWebhookTest, EchoOfOurOwnMessageIsIgnored) {
  WebhookBatch b = ParseOk(TestData("messenger/echo.json"));
  EXPECT_TRUE(b.messages.empty());
  EXPECT_EQ(b.ignored, 1);
}

TEST(MessengerWebhookTest, MessageSentByThePageItselfIsIgnoredEvenWithoutEchoFlag) {
  WebhookBatch b = ParseOk(Page(R"([{"sender":{"id":"PAGE"},"recipient":{"id":"U"},"message":{"mid":"m1","text":"x"}}])"));
  EXPECT_TRUE(b.messages.empty());
}

TEST(MessengerWebhookTest, DeliveryBecomesOneDeliveredStatusPerMid) {
  WebhookBatch b = ParseOk(TestData("messenger/delivery.json"));
  EXPECT_TRUE(b.messages.empty());
  ASSERT_EQ(b.statuses.size(), 2u);
  EXPECT_EQ(b.statuses[0].provider_message_id, "m_td-out-1");
  EXPECT_EQ(b.statuses[1].provider_message_id, "m_td-out-2");
  for (const auto& s : b.statuses) {
    EXPECT_EQ(s.channel, Channel::kMessenger);
    EXPECT_EQ(s.status, "delivered");
    EXPECT_EQ(s.recipient, "6543210000000001");
  }
}

TEST(MessengerWebhookTest, ReadBecomesOneReadStatusAtTheWatermark) {
  WebhookBatch b = ParseOk(TestData("messenger/read.json"));
  EXPECT_TRUE(b.messages.empty());
  ASSERT_EQ(b.statuses.size(), 1u);
  EXPECT_EQ(b.statuses[0].status, "read");
  EXPECT_EQ(b.statuses[0].provider_message_id,
            channels::messenger::ReadStatusId("6543210000000001", "1749416383000"));
}

TEST(MessengerWebhookTest, TimestampInSecondsOrMillisecondsIsReadAsSeconds) {
  for (const char* ts : {"1701599111", "1701599111000", "\"1701599111000\""}) {
    WebhookBatch b = ParseOk(Page(std::string(R"([{"sender":{"id":"U"},"timestamp":)") + ts +
                                  R"(,"message":{"mid":"m1","text":"x"}}])"));
    ASSERT_EQ(b.messages.size(), 1u) << ts;
    EXPECT_EQ(b.messages[0].timestamp, 1701599111) << ts;
  }
}

TEST(MessengerWebhookTest, LikeStickerIsAStickerNotAnImage) {
  WebhookBatch b = ParseOk(Page(R"([{"sender":{"id":"U"},"message":{"mid":"m1","attachments":[{"type":"image",)"
                                R"("payload":{"sticker_id":369239263222822,"url":"https://example.invalid/like"}}]}}])"));
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0].kind, InboundKind::kSticker);
  WebhookBatch img = ParseOk(Page(R"([{"sender":{"id":"U"},"message":{"mid":"m2","attachments":[{"type":"image",)"
                                  R"("payload":{"url":"https://example.invalid/p.png"}}]}}])"));
  ASSERT_EQ(img.messages.size(), 1u);
  EXPECT_EQ(img.messages[0].kind, InboundKind::kImage);
}

TEST(MessengerWebhookTest, AttachmentsMapToKinds) {
  struct Case {
    const char* type;
    InboundKind kind;
  } cases[] = {{"audio", InboundKind::kAudio},         {"video", InboundKind::kVideo},
               {"file", InboundKind::kDocument},       {"location", InboundKind::kLocation},
               {"fallback", InboundKind::kUnsupported}, {"ig_reel", InboundKind::kUnsupported}};
  for (const auto& c : cases) {
    WebhookBatch b = ParseOk(Page(std::string(R"([{"sender":{"id":"U"},"message":{"mid":"m1","attachments":[{"type":")") +
                                  c.type + R"(","payload":{"url":"u","coordinates":{"lat":1.5,"long":"-2.5"}}}]}}])"));
    ASSERT_EQ(b.messages.size(), 1u) << c.type;
    EXPECT_EQ(b.messages[0].kind, c.kind) << c.type;
    if (c.kind == InboundKind::kLocation) {
      EXPECT_DOUBLE_EQ(b.messages[0].latitude, 1.5);
      EXPECT_DOUBLE_EQ(b.messages[0].longitude, -2.5);
    }
  }
}

TEST(MessengerWebhookTest, ALinkSharedWithTextIsTheTextThePersonTyped) {
  for (const char* type : {"fallback", "share", "post"}) {
    WebhookBatch b = ParseOk(Page(std::string(R"([{"sender":{"id":"U"},"message":{"mid":"m1","text":"police took my husband )"
                                              R"(https://example.invalid/a","attachments":[{"type":")") +
                                  type + R"(","payload":{"url":"https://example.invalid/a","title":"A"}}]}}])"));
    ASSERT_EQ(b.messages.size(), 1u) << type;
    EXPECT_EQ(b.messages[0].kind, InboundKind::kText) << type;
    EXPECT_EQ(b.messages[0].text, "police took my husband https://example.invalid/a") << type;
  }
  // A link shared without a word typed is not text to answer.
  WebhookBatch bare = ParseOk(Page(R"([{"sender":{"id":"U"},"message":{"mid":"m3","text":"https://example.invalid/a",)"
                                   R"("attachments":[{"type":"fallback","payload":{"url":"https://example.invalid/a"}}]}}])"));
  ASSERT_EQ(bare.messages.size(), 1u);
  EXPECT_EQ(bare.messages[0].kind, InboundKind::kUnsupported);
  EXPECT_EQ(bare.messages[0].text, "") << "a news link's words are not the person's: nothing to classify";
  // A photo sent with text stays a photo; its text is its caption.
  WebhookBatch img = ParseOk(Page(R"([{"sender":{"id":"U"},"message":{"mid":"m2","text":"my card","attachments":[{"type":"image",)"
                                  R"("payload":{"url":"https://example.invalid/p.png"}}]}}])"));
  ASSERT_EQ(img.messages.size(), 1u);
  EXPECT_EQ(img.messages[0].kind, InboundKind::kImage);
  EXPECT_EQ(img.messages[0].text, "my card");
}

TEST(MessengerWebhookTest, SameMidInTwoEntriesIsOneMessage) {
  const std::string ev = R"({"sender":{"id":"U"},"recipient":{"id":"PAGE"},"message":{"mid":"m1","text":"x"}})";
  WebhookBatch b = ParseOk(R"({"object":"page","entry":[{"id":"PAGE","messaging":[)" + ev +
                           R"(]},{"id":"PAGE","messaging":[)" + ev + "]}]}");
  EXPECT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.ignored, 1);
}

TEST(MessengerWebhookTest, StandbyOptinReferralAndSenderlessEventsAreIgnored) {
  WebhookBatch standby = ParseOk(R"({"object":"page","entry":[{"id":"PAGE","standby":[{"sender":{"id":"U"},)"
                                 R"("postback":{"title":"Get Started"}}]}]})");
  EXPECT_TRUE(standby.messages.empty());
  EXPECT_EQ(standby.ignored, 1);
  WebhookBatch b = ParseOk(Page(R"([{"sender":{"id":"U"},"optin":{"ref":"r"}},{"sender":{"id":"U"},"referral":{}},)"
                                R"({"recipient":{"id":"PAGE"},"policy-enforcement":{"action":"block"}},{"sender":{"id":"U"}}])"));
  EXPECT_TRUE(b.messages.empty());
  EXPECT_TRUE(b.statuses.empty());
  EXPECT_EQ(b.ignored, 4);
}

TEST(MessengerWebhookTest, NotJsonOrNotAPageIsInvalidArgument) {
  for (const std::string body : {"", "[", "[]", R"({"object":"notpage","entry":[{}]})",
                                 R"({"object":"whatsapp_business_account","entry":[]})"}) {
    auto r = ParseWebhook(body);
    EXPECT_FALSE(r.ok()) << body;
  }
}

TEST(MessengerWebhookTest, WrongTypesAnywhereAreSkippedNeverThrown) {
  const std::vector<std::string> bodies = {
      R"({"object":"page"})",
      R"({"object":"page","entry":{"a":1}})",
      R"({"object":"page","entry":[5,null,"x",{"messaging":5},{"standby":"x"}]})",
      Page(R"([5,null,[],{"sender":5},{"sender":{"id":[1]}},{"sender":{"id":"U"},"message":5}])"),
      Page(R"([{"sender":{"id":"U"},"message":{"mid":5,"text":["x"],"quick_reply":"x","attachments":"x"}}])"),
      Page(R"([{"sender":{"id":"U"},"message":{"mid":"m","attachments":[5,{"type":"image"}]}}])"),
      Page(R"([{"sender":{"id":"U"},"message":{"mid":"m","attachments":[{"type":"location","payload":{"coordinates":5}}]}}])"),
      Page(R"([{"sender":{"id":"U"},"message":{"mid":"m","is_echo":"yes","reply_to":[1]}}])"),
      Page(R"([{"sender":{"id":"U"},"timestamp":{"x":1},"postback":{"payload":{"a":1}}}])"),
      Page(R"([{"sender":{"id":"U"},"delivery":{"mids":[5,null,"m1"]}},{"sender":{"id":"U"},"delivery":{"mids":"x"}}])"),
      Page(R"([{"sender":{"id":"U"},"read":{"watermark":{"a":1}}},{"sender":{"id":"U"},"read":5}])"),
      Page(R"([{"sender":{"id":"U"},"reaction":{"emoji":5,"mid":null}}])"),
  };
  for (const auto& body : bodies) {
    EXPECT_NO_THROW({
      auto r = ParseWebhook(body);
      EXPECT_TRUE(r.ok()) << body << "\n" << r.status().ToString();
    }) << body;
  }
}

}  // namespace
}  // namespace bot::testing
