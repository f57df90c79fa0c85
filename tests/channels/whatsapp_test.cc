// WhatsApp webhook parser: the project's own payloads (tests/testdata/whatsapp/) as a table, then
// the shapes Meta and other libraries send that a careless walk trips over.
#include "bot/channels/whatsapp/whatsapp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/channels/channel_testing.h"

namespace bot::testing {
namespace {

using channels::whatsapp::ParseWebhook;

// A webhook carrying `messages_json` (a JSON array) in one change, with `extra` value members.
std::string Webhook(const std::string& messages_json, const std::string& extra = "") {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{)"
         R"("metadata":{"phone_number_id":"106540352242922"},)" +
         extra + R"("messages":)" + messages_json + "}}]}]}";
}

WebhookBatch ParseOk(const std::string& body) {
  auto r = ParseWebhook(body);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << body;
  return r.ok() ? *r : WebhookBatch{};
}

InboundMessage OnlyMessage(const std::string& body) {
  WebhookBatch b = ParseOk(body);
  EXPECT_EQ(b.messages.size(), 1u) << body;
  return b.messages.empty() ? InboundMessage{} : b.messages[0];
}

// ---------------------------------------------------------------------------------------------
// One row per file in tests/testdata/whatsapp/ that carries one message.

struct Row {
  const char* file;
  InboundKind kind;
  const char* provider_id;
  const char* sender;
  const char* text;
  const char* payload_id;
  const char* reply_to;
  const char* media_id;
  bool voice;
  double latitude, longitude;
};

void PrintTo(const Row& r, std::ostream* os) { *os << r.file; }

class WhatsAppPayloadTest : public ::testing::TestWithParam<Row> {};

TEST_P(WhatsAppPayloadTest, ParsesIntoTheExpectedMessage) {
  const Row& row = GetParam();
  const std::string body = TestData(std::string("whatsapp/") + row.file);
  ASSERT_FALSE(body.empty()) << "missing tests/testdata/whatsapp/" << row.file;
  auto batch = ParseWebhook(body);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->messages.size(), 1u);
  EXPECT_TRUE(batch->statuses.empty());
  const InboundMessage& m = batch->messages[0];
  EXPECT_EQ(m.channel, Channel::kWhatsApp);
  EXPECT_EQ(InboundKindName(m.kind), InboundKindName(row.kind));
  EXPECT_EQ(m.provider_id, row.provider_id);
  EXPECT_EQ(m.sender, row.sender);
  EXPECT_EQ(m.sender_name, "Test Person");
  EXPECT_EQ(m.business_id, "106540352242922");
  EXPECT_EQ(m.timestamp, 1749416383);
  EXPECT_EQ(m.text, row.text);
  EXPECT_EQ(m.payload_id, row.payload_id);
  EXPECT_EQ(m.reply_to, row.reply_to);
  EXPECT_EQ(m.media.has_value(), row.media_id[0] != '\0');
  if (m.media) {
    EXPECT_EQ(m.media->id, row.media_id);
    EXPECT_EQ(m.media->voice, row.voice);
  }
  EXPECT_DOUBLE_EQ(m.latitude, row.latitude);
  EXPECT_DOUBLE_EQ(m.longitude, row.longitude);
  EXPECT_FALSE(m.raw_json.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Testdata, WhatsAppPayloadTest,
    ::testing::Values(
        Row{"text.json", InboundKind::kText, "wamid.td-text", "93700000001", "سلام، کارت پی او آر من گم شده", "", "", "",
            false, 0, 0},
        Row{"button_reply.json", InboundKind::kChoice, "wamid.td-button", "93700000001", "دری", "lang:prs",
            "wamid.td-our-buttons", "", false, 0, 0},
        Row{"list_reply.json", InboundKind::kChoice, "wamid.td-list", "93700000001", "PoR card", "menu:por_card",
            "wamid.td-our-list", "", false, 0, 0},
        Row{"image_caption.json", InboundKind::kImage, "wamid.td-image", "93700000001", "my card", "", "",
            "1003383421387256", false, 0, 0},
        Row{"voice.json", InboundKind::kAudio, "wamid.td-voice", "93700000001", "", "", "", "1234567890123456", true, 0,
            0},
        Row{"location_strings.json", InboundKind::kLocation, "wamid.td-location", "93700000001", "Kabul", "", "", "",
            false, 34.5553, 69.2075}),
    [](const ::testing::TestParamInfo<Row>& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find('.'));
      return name;
    });

// ---------------------------------------------------------------------------------------------

TEST(WhatsAppWebhookTest, StatusUpdateIsIgnoredNotAnError) {
  WebhookBatch b = ParseOk(TestData("whatsapp/status_failed.json"));
  EXPECT_TRUE(b.messages.empty());
  ASSERT_EQ(b.statuses.size(), 1u);
  EXPECT_EQ(b.statuses[0].provider_message_id, "wamid.td-out-1");
  EXPECT_EQ(b.statuses[0].status, "failed");
  EXPECT_EQ(b.statuses[0].timestamp, 1749416400);
  EXPECT_EQ(b.statuses[0].recipient, "93700000001");
  EXPECT_EQ(b.statuses[0].error_code, 131047);
  EXPECT_EQ(b.statuses[0].error_title, "Re-engagement message");
}

TEST(WhatsAppWebhookTest, BatchOfTwoEntriesKeepsEachMessagesOwnBusinessNumberAndSender) {
  WebhookBatch b = ParseOk(TestData("whatsapp/batch_two_entries.json"));
  ASSERT_EQ(b.messages.size(), 2u);
  EXPECT_EQ(b.messages[0].provider_id, "wamid.td-batch-1");
  EXPECT_EQ(b.messages[0].business_id, "106540352242922");
  EXPECT_EQ(b.messages[0].sender_name, "Test Person");
  EXPECT_EQ(b.messages[1].provider_id, "wamid.td-batch-2");
  EXPECT_EQ(b.messages[1].sender, "93700000002");
  EXPECT_EQ(b.messages[1].sender_name, "Second Person");
  EXPECT_EQ(b.messages[1].business_id, "106540352242923");
  EXPECT_EQ(b.messages[1].timestamp, 1749416384) << "an integer timestamp reads like a string one";
}

TEST(WhatsAppWebhookTest, NotJsonOrNotAWhatsAppWebhookIsInvalidArgument) {
  for (const std::string body : {"", "{", "[1]", "\"x\"", "null", R"({"object":"page","entry":[]})",
                                 R"({"object":5})", R"({"object":"whatsapp_business_account"} trailing)"}) {
    auto r = ParseWebhook(body);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << body;
    }
  }
}

TEST(WhatsAppWebhookTest, WrongTypesAnywhereAreSkippedNeverThrown) {
  const std::vector<std::string> bodies = {
      R"({"object":"whatsapp_business_account"})",
      R"({"object":"whatsapp_business_account","entry":5})",
      R"({"object":"whatsapp_business_account","entry":[5,"x",null,[]]})",
      R"({"object":"whatsapp_business_account","entry":[{"changes":{"a":1}}]})",
      R"({"object":"whatsapp_business_account","entry":[{"changes":[1,null,{"value":[]},{"field":5,"value":5}]}]})",
      Webhook("5"),
      Webhook(R"([null, 5, "x", [], {"id": 5}, {"id": {"a": 1}, "from": "1"}])"),
      Webhook(R"([{"id":"w1","from":"1","type":"text","text":"not an object"}])"),
      Webhook(R"([{"id":"w1","from":"1","type":5,"timestamp":{"x":1}}])"),
      Webhook(R"([{"id":"w1","from":"1","type":"interactive","interactive":[1]}])"),
      Webhook(R"([{"id":"w1","from":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":"x"}}])"),
      Webhook(R"([{"id":"w1","from":"1","type":"location","location":{"latitude":{"a":1},"longitude":[2]}}])"),
      Webhook(R"([{"id":"w1","from":"1","type":"location","location":{"latitude":"nan","longitude":"1e999"}}])"),
      Webhook(R"([{"id":"w1","from":"1","type":"image","image":{"id":[1],"voice":"maybe"}}])"),
      Webhook(R"([{"id":"w1","from":"1","type":"edit","edit":{"message":{"type":"edit","edit":{"message":5}}}}])"),
      Webhook(R"([{"id":"w1","from":"1","context":"x","type":"reaction","reaction":null}])"),
      Webhook("[]", R"("contacts":"x",)"),
      Webhook("[]", R"("contacts":[5,{"profile":"x"}],)"),
      Webhook("[]", R"("statuses":[5,{"id":"s","status":5},{"id":"s","status":"failed","errors":[5,{"code":"x"}]}],)"),
      Webhook("[]", R"("errors":[5,{"code":{"a":1}}],)"),
      Webhook("[]", R"("metadata":[1],)"),
  };
  for (const auto& body : bodies) {
    EXPECT_NO_THROW({
      auto r = ParseWebhook(body);
      EXPECT_TRUE(r.ok()) << body << "\n" << r.status().ToString();
    }) << body;
  }
}

TEST(WhatsAppWebhookTest, LocationCoordinatesThatAreNotNumbersReadAsZero) {
  InboundMessage m = OnlyMessage(
      Webhook(R"([{"id":"w1","from":"1","type":"location","location":{"latitude":"LATITUDE","longitude":"nan"}}])"));
  EXPECT_EQ(m.kind, InboundKind::kLocation);
  EXPECT_EQ(m.latitude, 0);
  EXPECT_EQ(m.longitude, 0);
}

TEST(WhatsAppWebhookTest, TimestampThatIsNotANumberReadsAsZero) {
  EXPECT_EQ(OnlyMessage(Webhook(R"([{"id":"w1","from":"1","timestamp":"asdf","type":"text","text":{"body":"x"}}])"))
                .timestamp,
            0);
}

TEST(WhatsAppWebhookTest, UsernameUserWithoutPhoneNumberIsKnownByTheirBsuid) {
  const std::string contacts = R"("contacts":[{"profile":{"name":"K"},"user_id":"US.1234"}],)";
  InboundMessage m = OnlyMessage(Webhook(R"([{"id":"w1","type":"text","text":{"body":"hi"}}])", contacts));
  EXPECT_EQ(m.sender, "US.1234");
  EXPECT_EQ(m.sender_name, "K");
  InboundMessage n = OnlyMessage(Webhook(R"([{"id":"w2","from_user_id":"US.99","type":"text","text":{"body":"hi"}}])"));
  EXPECT_EQ(n.sender, "US.99");
}

// A webhook that gives both the phone number and the BSUID carries the other one as the sender's
// alias (stored, so the person's BSUID-only messages later reach the same contact). Two phone
// numbers are never aliases of each other.
TEST(WhatsAppWebhookTest, APhoneNumberAndABsuidTogetherMakeTheSendersAlias) {
  InboundMessage both = OnlyMessage(Webhook(R"([{"id":"w1","from":"5678","from_user_id":"US.1234","type":"text","text":{"body":"hi"}}])"));
  EXPECT_EQ(both.sender, "5678");
  EXPECT_EQ(both.sender_alias, "US.1234");
  const std::string contacts = R"("contacts":[{"profile":{"name":"K"},"wa_id":"5678","user_id":"US.1234"}],)";
  InboundMessage in_contacts = OnlyMessage(Webhook(R"([{"id":"w2","from":"5678","type":"text","text":{"body":"hi"}}])", contacts));
  EXPECT_EQ(in_contacts.sender_alias, "US.1234");
  InboundMessage bsuid_first = OnlyMessage(Webhook(R"([{"id":"w3","from_user_id":"US.1234","type":"text","text":{"body":"hi"}}])", contacts));
  EXPECT_EQ(bsuid_first.sender, "US.1234");
  EXPECT_EQ(bsuid_first.sender_alias, "5678");
  const std::string other = R"("contacts":[{"profile":{"name":"K"},"wa_id":"9999","user_id":"US.77"}],)";  // someone else
  EXPECT_EQ(OnlyMessage(Webhook(R"([{"id":"w4","from":"5678","type":"text","text":{"body":"hi"}}])", other)).sender_alias, "");
  EXPECT_EQ(OnlyMessage(Webhook(R"([{"id":"w5","from":"5678","type":"text","text":{"body":"hi"}}])")).sender_alias, "");
}

TEST(WhatsAppWebhookTest, MessageWithoutAnySenderIsIgnored) {
  WebhookBatch b = ParseOk(Webhook(R"([{"id":"w1","type":"text","text":{"body":"hi"}}])",
                                   R"("contacts":[{"profile":{"name":"Nobody"}}],)"));
  EXPECT_TRUE(b.messages.empty());
  EXPECT_EQ(b.ignored, 1);
}

TEST(WhatsAppWebhookTest, OurOwnPhoneNumberIdIsNeverTheSender) {
  // Some captures carry our phone_number_id in "from"; the contacts[] entry names the person.
  InboundMessage m = OnlyMessage(Webhook(R"([{"id":"w1","from":"106540352242922","type":"text","text":{"body":"x"}}])",
                                         R"("contacts":[{"profile":{"name":"P"},"wa_id":"93700000009"}],)"));
  EXPECT_EQ(m.sender, "93700000009");
  EXPECT_EQ(m.sender_name, "P");
  // With nobody else named, there is no one to answer.
  WebhookBatch b = ParseOk(Webhook(R"([{"id":"w2","from":"106540352242922","type":"text","text":{"body":"x"}}])",
                                   R"("contacts":[{"wa_id":"106540352242922"}],)"));
  EXPECT_TRUE(b.messages.empty());
}

TEST(WhatsAppWebhookTest, SameIdTwiceInOnePayloadIsOneMessage) {
  WebhookBatch b = ParseOk(Webhook(R"([{"id":"w1","from":"1","type":"text","text":{"body":"a"}},)"
                                   R"({"id":"w1","from":"1","type":"text","text":{"body":"a"}}])"));
  EXPECT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.ignored, 1);
}

TEST(WhatsAppWebhookTest, RevokedMessageIsASystemNoticePointingAtTheDeletedOne) {
  InboundMessage m =
      OnlyMessage(Webhook(R"([{"id":"w1","from":"1","type":"revoke","revoke":{"original_message_id":"wamid.old"}}])"));
  EXPECT_EQ(m.kind, InboundKind::kSystem);
  EXPECT_EQ(m.reply_to, "wamid.old");
}

TEST(WhatsAppWebhookTest, ANumberChangeCarriesTheNewNumber) {
  InboundMessage m = OnlyMessage(Webhook(
      R"([{"id":"w1","from":"972987654321","type":"system","system":{"body":"User A changed from 972987654321 to )"
      R"(972912345678","wa_id":"972912345678","type":"user_changed_number"}}])"));
  EXPECT_EQ(m.kind, InboundKind::kSystem);
  EXPECT_EQ(m.sender, "972987654321");
  EXPECT_EQ(m.new_address, "972912345678");
  InboundMessage other = OnlyMessage(Webhook(
      R"([{"id":"w2","from":"1","type":"system","system":{"body":"x","wa_id":"2","type":"customer_identity_changed"}}])"));
  EXPECT_EQ(other.new_address, "") << "only a number change moves the contact";
}

TEST(WhatsAppWebhookTest, EditedMessageIsReadAsWhatItNowSays) {
  InboundMessage m = OnlyMessage(Webhook(
      R"([{"id":"w1","from":"1","type":"edit","edit":{"original_message_id":"wamid.old",)"
      R"("message":{"context":{"id":"M0"},"type":"text","text":{"body":"corrected"}}}}])"));
  EXPECT_EQ(m.kind, InboundKind::kText);
  EXPECT_EQ(m.text, "corrected");
  EXPECT_EQ(m.reply_to, "wamid.old");
  InboundMessage bare = OnlyMessage(Webhook(R"([{"id":"w2","from":"1","type":"edit"}])"));
  EXPECT_EQ(bare.kind, InboundKind::kUnsupported);
}

TEST(WhatsAppWebhookTest, FlowReplyWhoseResponseJsonIsNotAnObjectIsStillAChoice) {
  InboundMessage m = OnlyMessage(Webhook(
      R"([{"id":"w1","from":"1","type":"interactive","interactive":{"type":"nfm_reply",)"
      R"("nfm_reply":{"name":"flow","body":"Sent","response_json":"[1, 2]"}}}])"));
  EXPECT_EQ(m.kind, InboundKind::kChoice);
  EXPECT_EQ(m.payload_id, "flow");
  EXPECT_EQ(m.text, "Sent");
}

TEST(WhatsAppWebhookTest, InteractiveWithoutItsObjectIsUnsupported) {
  EXPECT_EQ(OnlyMessage(Webhook(R"([{"id":"w1","from":"1","type":"interactive"}])")).kind, InboundKind::kUnsupported);
}

TEST(WhatsAppWebhookTest, StickerIsNotAnImageAndLegacyVoiceIsAudio) {
  EXPECT_EQ(OnlyMessage(Webhook(R"([{"id":"w1","from":"1","type":"sticker","sticker":{"id":"s","mime_type":"image/webp"}}])"))
                .kind,
            InboundKind::kSticker);
  InboundMessage v = OnlyMessage(Webhook(R"([{"id":"w2","from":"1","type":"voice","voice":{"id":"v"}}])"));
  EXPECT_EQ(v.kind, InboundKind::kAudio);
  ASSERT_TRUE(v.media.has_value());
  EXPECT_TRUE(v.media->voice);
}

TEST(WhatsAppWebhookTest, UnknownTypesAreUnsupportedNotDropped) {
  for (const char* type : {"unsupported", "unknown", "order", "poll_creation"}) {
    InboundMessage m = OnlyMessage(Webhook(std::string(R"([{"id":"w1","from":"1","type":")") + type + R"("}])"));
    EXPECT_EQ(m.kind, InboundKind::kUnsupported) << type;
  }
}

TEST(WhatsAppWebhookTest, OtherWebhookFieldsAndValueErrorsAreIgnoredNotErrors) {
  WebhookBatch b = ParseOk(R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[)"
                           R"({"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}},)"
                           R"({"field":"messages","value":{"errors":[{"code":130429,"title":"Rate limit hit"}]}}]}]})");
  EXPECT_TRUE(b.messages.empty());
  EXPECT_TRUE(b.statuses.empty());
  EXPECT_EQ(b.ignored, 2);
}

TEST(WhatsAppWebhookTest, UnknownStatusValueIsKeptAsGiven) {
  WebhookBatch b = ParseOk(Webhook("[]", R"("statuses":[{"id":"wamid.x","status":"in_orbit","timestamp":1}],)"));
  ASSERT_EQ(b.statuses.size(), 1u);
  EXPECT_EQ(b.statuses[0].status, "in_orbit");
}

TEST(WhatsAppWebhookTest, ErrorCodeGivenAsStringIsRead) {
  WebhookBatch b = ParseOk(
      Webhook("[]", R"("statuses":[{"id":"wamid.x","status":"failed","errors":[{"code":"131026","message":"Undeliverable"}]}],)"));
  ASSERT_EQ(b.statuses.size(), 1u);
  EXPECT_EQ(b.statuses[0].error_code, 131026);
  EXPECT_EQ(b.statuses[0].error_title, "Undeliverable");
}

}  // namespace
}  // namespace bot::testing
