// Outbound formatting and send-response handling, against Meta's request/response shapes in
// shared/fixtures/meta/*/outbound/ and the documented limits (counted in code points).
#include "bot/channels/outbound.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/channels/messenger/messenger.h"
#include "bot/channels/whatsapp/whatsapp.h"
#include "tests/channels/channel_testing.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kOutbound = std::string(RAHNAMA_SHARED_DIR) + "/fixtures/meta";

// A fixture from shared/fixtures/meta/<relative>; the test is skipped when the folder is absent.
#define LOAD_FIXTURE_OR_SKIP(var, relative)                                              \
  json var;                                                                               \
  do {                                                                                    \
    const std::string text_ = ReadFile(kOutbound + "/" + (relative));                     \
    if (text_.empty()) GTEST_SKIP() << "no " << kOutbound << "/" << (relative);           \
    var = json::parse(text_, nullptr, false);                                             \
    ASSERT_FALSE(var.is_discarded()) << (relative);                                       \
  } while (0)

// Every key path of `j` with its JSON type; array elements share the path "<array>/[]".
void CollectShape(const json& j, const std::string& path, std::set<std::string>& out) {
  out.insert(path + ":" + j.type_name());
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) CollectShape(it.value(), path + "/" + it.key(), out);
  if (j.is_array())
    for (const json& e : j) CollectShape(e, path + "/[]", out);
}
std::set<std::string> Shape(const json& j) {
  std::set<std::string> s;
  CollectShape(j, "", s);
  return s;
}

std::vector<json> Parsed(const std::vector<std::string>& bodies) {
  std::vector<json> out;
  for (const auto& b : bodies) {
    out.push_back(json::parse(b, nullptr, false));
    EXPECT_TRUE(out.back().is_object()) << b;
  }
  return out;
}

// Code points in valid UTF-8, or -1 when `s` is not valid UTF-8 (a character was cut).
long CodePoints(const std::string& s) {
  long n = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return -1;
    i += len;
    ++n;
  }
  return n;
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

OutboundMessage Text(std::string text) {
  OutboundMessage m;
  m.text = std::move(text);
  return m;
}

OutboundMessage Buttons(std::string text, std::vector<ReplyButton> buttons) {
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kButtons;
  m.text = std::move(text);
  m.buttons = std::move(buttons);
  return m;
}

std::vector<ReplyButton> NumberedButtons(int n, const std::string& title) {
  std::vector<ReplyButton> out;
  for (int i = 0; i < n; ++i) out.push_back({"b" + std::to_string(i), title + " " + std::to_string(i)});
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shapes: same keys, nesting and JSON types as the request bodies Meta's users send.

TEST(WhatsAppOutboundShapeTest, TextMatchesTheSendApiShape) {
  LOAD_FIXTURE_OR_SKIP(want, "whatsapp/outbound/req_text_courier.json");
  auto got = Parsed(channels::whatsapp::FormatOutbound(Text("Simple Message"), "250788123123"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Shape(got[0]), Shape(want));
  EXPECT_EQ(got[0], want) << "same values too";
}

TEST(WhatsAppOutboundShapeTest, TextToAUsernameUserGoesToRecipientNotTo) {
  LOAD_FIXTURE_OR_SKIP(want, "whatsapp/outbound/req_text_to_bsuid_courier.json");
  auto got = Parsed(channels::whatsapp::FormatOutbound(Text("Simple Message"), "US.1234"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], want);
}

TEST(WhatsAppOutboundShapeTest, ReplyButtonsMatchTheInteractiveButtonShape) {
  LOAD_FIXTURE_OR_SKIP(want, "whatsapp/outbound/req_interactive_buttons_3_courier.json");
  auto got = Parsed(channels::whatsapp::FormatOutbound(
      Buttons("Interactive Button Msg", {{"0", "ROW1"}, {"1", "ROW2"}, {"2", "ROW3"}}), "250788123123"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Shape(got[0]), Shape(want));
  EXPECT_EQ(got[0], want);
}

TEST(WhatsAppOutboundShapeTest, ReplyButtonsWithHeaderAndFooterMatchTheShape) {
  LOAD_FIXTURE_OR_SKIP(want, "whatsapp/outbound/req_interactive_buttons_3_text_header_bindambc.json");
  OutboundMessage m = Buttons("Would you like to confirm?", {{"1", "YES"}, {"2", "NO"}, {"3", "CHANGE"}});
  m.header = "Appointment confirmation.";
  m.footer = "Choose an option:";
  auto got = Parsed(channels::whatsapp::FormatOutbound(m, "121212121212"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Shape(got[0]), Shape(want));
}

TEST(WhatsAppOutboundShapeTest, ListMatchesTheInteractiveListShape) {
  LOAD_FIXTURE_OR_SKIP(want, "whatsapp/outbound/req_interactive_list_4_rows_courier.json");
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kList;
  m.text = "Interactive List Msg";
  m.list_button = "Menu";
  m.rows = {{"0", "ROW1", ""}, {"1", "ROW2", ""}, {"2", "ROW3", "Third description"}, {"3", "ROW4", ""}};
  auto got = Parsed(channels::whatsapp::FormatOutbound(m, "250788123123"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Shape(got[0]), Shape(want));
  EXPECT_EQ(got[0], want);
}

TEST(WhatsAppOutboundShapeTest, TemplateMatchesTheTemplateShape) {
  LOAD_FIXTURE_OR_SKIP(want, "whatsapp/outbound/req_template_body_param_bindambc.json");
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kTemplate;
  m.template_name = "number_confirmation";
  m.template_language = "pt_BR";
  m.template_params = {"18754269072"};
  auto got = Parsed(channels::whatsapp::FormatOutbound(m, "121212121212"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], want);
  m.template_params.clear();
  auto bare = Parsed(channels::whatsapp::FormatOutbound(m, "121212121212"));
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_FALSE(bare[0]["template"].contains("components")) << "no empty components array";
}

TEST(WhatsAppOutboundShapeTest, MarkReadMatchesTheMarkAsReadShape) {
  LOAD_FIXTURE_OR_SKIP(want, "whatsapp/outbound/req_mark_as_read_bindambc.json");
  EXPECT_EQ(json::parse(channels::whatsapp::FormatMarkRead("123456")), want);
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kMarkRead;
  m.text = "123456";
  auto got = Parsed(channels::FormatOutbound(Channel::kWhatsApp, m, "250788123123"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], want);
}

TEST(MessengerOutboundShapeTest, TextWithQuickRepliesMatchesTheSendApiShape) {
  LOAD_FIXTURE_OR_SKIP(want, "messenger/outbound/req_text_quick_replies_courier.json");
  auto got = Parsed(channels::messenger::FormatOutbound(Buttons("Are you happy?", {{"Yes", "Yes"}, {"No", "No"}}), "12345"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Shape(got[0]), Shape(want));
  EXPECT_EQ(got[0]["message"]["quick_replies"], want["message"]["quick_replies"]);
  EXPECT_EQ(got[0]["messaging_type"], "RESPONSE");
}

TEST(MessengerOutboundShapeTest, BotReplyIsAResponse) {
  LOAD_FIXTURE_OR_SKIP(want, "messenger/outbound/req_text_response_courier.json");
  auto got = Parsed(channels::messenger::FormatOutbound(Text("Simple Message"), "12345"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], want);
}

TEST(MessengerOutboundShapeTest, OfficerReplyCarriesTheHumanAgentTag) {
  LOAD_FIXTURE_OR_SKIP(want, "messenger/outbound/req_text_message_tag_human_agent_courier.json");
  OutboundMessage m = Text("Simple Message");
  m.from_officer = true;
  auto got = Parsed(channels::FormatOutbound(Channel::kMessenger, m, "12345"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], want);
}

TEST(MessengerOutboundShapeTest, MarkReadIsASenderActionWithoutMessage) {
  LOAD_FIXTURE_OR_SKIP(want, "messenger/outbound/req_sender_action_typing_on_courier.json");
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kMarkRead;
  auto got = Parsed(channels::messenger::FormatOutbound(m, "5678"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Shape(got[0]), Shape(want));
  EXPECT_EQ(got[0]["sender_action"], "mark_seen");
}

// ---------------------------------------------------------------------------------------------
// Limits.

// `parts` are the bodies of consecutive text messages: each within `max` code points, valid
// UTF-8, and together (joined at the cut) the original text.
void ExpectSplit(const std::string& original, const std::vector<std::string>& parts, long max, bool at_sentences) {
  ASSERT_GT(parts.size(), 1u);
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) {
    const long n = CodePoints(parts[i]);
    EXPECT_GE(n, 0) << "part " << i << " is not valid UTF-8: a character was cut";
    EXPECT_LE(n, max) << "part " << i;
    if (i + 1 < parts.size()) {
      EXPECT_GT(n, max / 3) << "part " << i << " is needlessly short";
    }
    if (at_sentences && i + 1 < parts.size()) {
      const std::string& p = parts[i];
      const bool sentence_end = p.back() == '.' || p.back() == '?' || p.back() == '!' ||
                                p.ends_with("\xD8\x9F") /* ؟ */ || p.ends_with("\xDB\x94") /* ۔ */;
      EXPECT_TRUE(sentence_end) << "part " << i << " ends mid-sentence: …" << p.substr(p.size() - 40);
    }
    joined += (i == 0 ? "" : " ") + parts[i];
  }
  if (at_sentences) {
    EXPECT_EQ(joined, original);
  }
}

std::vector<std::string> TextBodies(const std::vector<std::string>& bodies, Channel channel) {
  std::vector<std::string> out;
  for (const json& j : Parsed(bodies))
    out.push_back(channel == Channel::kWhatsApp ? j["text"]["body"].get<std::string>()
                                                : j["message"]["text"].get<std::string>());
  return out;
}

TEST(WhatsAppOutboundLimitTest, LongEnglishTextIsSplitAtSentencesWithin4096Characters) {
  std::string text;
  for (int i = 0; CodePoints(text) < 10000; ++i) text += (i ? " " : "") + std::string("Sentence number ") + std::to_string(i) + " explains one thing.";
  auto parts = TextBodies(channels::whatsapp::FormatOutbound(Text(text), "93700000001"), Channel::kWhatsApp);
  ExpectSplit(text, parts, 4096, true);
}

TEST(WhatsAppOutboundLimitTest, LongDariTextIsSplitAtSentencesNeverInsideACharacter) {
  // 4 bytes per character would be cut by a byte-counting splitter long before 4096 characters.
  std::string text;
  for (int i = 0; CodePoints(text) < 9000; ++i)
    text += (i ? " " : "") + std::string(i % 3 == 2 ? "کارت پی او آر شما کجا تمدید می‌شود؟" : "برای تمدید کارت به دفتر یو ان اچ سی آر بروید.");
  auto parts = TextBodies(channels::whatsapp::FormatOutbound(Text(text), "93700000001"), Channel::kWhatsApp);
  ExpectSplit(text, parts, 4096, true);
}

TEST(WhatsAppOutboundLimitTest, PashtoTextEndingSentencesWithArabicFullStopSplitsThere) {
  std::string text;
  for (int i = 0; CodePoints(text) < 9000; ++i) text += (i ? " " : "") + std::string("دا یوه ازمویښتي جمله ده۔");
  auto parts = TextBodies(channels::whatsapp::FormatOutbound(Text(text), "93700000001"), Channel::kWhatsApp);
  ExpectSplit(text, parts, 4096, true);
}

TEST(WhatsAppOutboundLimitTest, TextWithoutSpacesIsCutAtTheLimitOnACharacterBoundary) {
  const std::string text = Repeat("ښ", 5000);  // two bytes each
  auto parts = TextBodies(channels::whatsapp::FormatOutbound(Text(text), "93700000001"), Channel::kWhatsApp);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(CodePoints(parts[0]), 4096);
  EXPECT_EQ(CodePoints(parts[1]), 5000 - 4096);
  EXPECT_EQ(parts[0] + parts[1], text);
}

TEST(WhatsAppOutboundLimitTest, TextAtExactlyTheLimitIsOneMessage) {
  auto parts = channels::whatsapp::FormatOutbound(Text(Repeat("د", 4096)), "93700000001");
  EXPECT_EQ(parts.size(), 1u);
}

TEST(MessengerOutboundLimitTest, LongTextIsSplitAtSentencesWithin2000Characters) {
  std::string text;
  for (int i = 0; CodePoints(text) < 5000; ++i) text += (i ? " " : "") + std::string("برای تمدید کارت به دفتر بروید.");
  auto parts = TextBodies(channels::messenger::FormatOutbound(Text(text), "12345"), Channel::kMessenger);
  ExpectSplit(text, parts, 2000, true);
}

TEST(WhatsAppOutboundLimitTest, ButtonTitlesAreCutTo20CharactersAtMostThreeButtons) {
  auto got = Parsed(channels::whatsapp::FormatOutbound(
      Buttons("انتخاب کنید", NumberedButtons(3, "معلومات در باره کارت اقامت")), "93700000001"));
  ASSERT_EQ(got.size(), 1u);
  const json& buttons = got[0]["interactive"]["action"]["buttons"];
  ASSERT_EQ(buttons.size(), 3u);
  for (const json& b : buttons) {
    const long n = CodePoints(b["reply"]["title"].get<std::string>());
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 20) << b.dump();
  }
}

TEST(WhatsAppOutboundLimitTest, MoreThanThreeButtonsBecomeAListSoNoChoiceIsLost) {
  auto got = Parsed(channels::whatsapp::FormatOutbound(Buttons("Choose", NumberedButtons(5, "Option")), "93700000001"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["interactive"]["type"], "list");
  EXPECT_EQ(got[0]["interactive"]["action"]["sections"][0]["rows"].size(), 5u);
}

TEST(WhatsAppOutboundLimitTest, ListRowsAndDescriptionsAreCutToTheirLimits) {
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kList;
  m.text = "منو";
  m.header = Repeat("سرخط ", 20);
  m.footer = Repeat("پاورقی ", 20);
  m.list_button = "گزینه‌های بیشتر برای انتخاب شما";
  for (int i = 0; i < 10; ++i)
    m.rows.push_back({"menu:" + std::to_string(i), "عنوان بسیار طولانی برای ردیف شماره " + std::to_string(i),
                      Repeat("توضیح ", 20)});
  auto got = Parsed(channels::whatsapp::FormatOutbound(m, "93700000001"));
  ASSERT_EQ(got.size(), 1u);
  const json& in = got[0]["interactive"];
  EXPECT_LE(CodePoints(in["header"]["text"].get<std::string>()), 60);
  EXPECT_LE(CodePoints(in["footer"]["text"].get<std::string>()), 60);
  EXPECT_LE(CodePoints(in["action"]["button"].get<std::string>()), 20);
  const json& rows = in["action"]["sections"][0]["rows"];
  ASSERT_EQ(rows.size(), 10u);
  for (const json& r : rows) {
    const long title = CodePoints(r["title"].get<std::string>()), desc = CodePoints(r["description"].get<std::string>());
    EXPECT_GE(title, 1);
    EXPECT_LE(title, 24);
    EXPECT_GE(desc, 1);
    EXPECT_LE(desc, 72);
  }
}

TEST(WhatsAppOutboundLimitTest, MoreThanTenRowsBecomeNumberedTextWithEveryRow) {
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kList;
  m.text = "Menu";
  for (int i = 0; i < 12; ++i) m.rows.push_back({"r" + std::to_string(i), "Row " + std::to_string(i), ""});
  auto got = Parsed(channels::whatsapp::FormatOutbound(m, "93700000001"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["type"], "text");
  const std::string body = got[0]["text"]["body"];
  for (int i = 0; i < 12; ++i) EXPECT_NE(body.find("Row " + std::to_string(i)), std::string::npos) << i;
}

TEST(WhatsAppOutboundLimitTest, ButtonBodyOver1024CharactersGoesAheadAsText) {
  std::string body;
  for (int i = 0; CodePoints(body) < 1500; ++i) body += (i ? " " : "") + std::string("یک جمله کوتاه.");
  auto got = Parsed(channels::whatsapp::FormatOutbound(Buttons(body, NumberedButtons(2, "Yes")), "93700000001"));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["type"], "text");
  EXPECT_EQ(got[1]["type"], "interactive");
  EXPECT_LE(CodePoints(got[1]["interactive"]["body"]["text"].get<std::string>()), 1024);
}

TEST(MessengerOutboundLimitTest, AtMost13QuickRepliesWithTitlesOf20ButEveryChoiceInTheText) {
  auto got = Parsed(channels::messenger::FormatOutbound(Buttons("انتخاب کنید", NumberedButtons(15, "گزینه بسیار طولانی شماره")), "12345"));
  ASSERT_EQ(got.size(), 1u);
  const json& quick = got[0]["message"]["quick_replies"];
  ASSERT_EQ(quick.size(), 13u);
  for (const json& q : quick) {
    EXPECT_EQ(q["content_type"], "text");
    const long n = CodePoints(q["title"].get<std::string>());
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 20);
  }
  const std::string text = got[0]["message"]["text"];
  EXPECT_NE(text.find("گزینه بسیار طولانی شماره 14"), std::string::npos) << "the 15th choice is still offered";
}

TEST(MessengerOutboundLimitTest, QuickRepliesRideOnTheLastPartOfALongText) {
  std::string body;
  for (int i = 0; CodePoints(body) < 3000; ++i) body += (i ? " " : "") + std::string("A short sentence.");
  auto got = Parsed(channels::messenger::FormatOutbound(Buttons(body, NumberedButtons(2, "Yes")), "12345"));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0]["message"].contains("quick_replies"));
  EXPECT_EQ(got[1]["message"]["quick_replies"].size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Send responses: every resp_*.json is a row; HTTP statuses are the ones SOURCES.md records.

struct ResponseRow {
  int http_status;
  channels::SendOutcome::Kind kind;
  const char* message_id;  // expected on kSent
  int error_code;
  bool wrap_in_error;  // pywa keeps only the inner error object
};

const std::map<std::string, ResponseRow>& ResponseTable() {
  using K = channels::SendOutcome::Kind;
  static const auto* table = new std::map<std::string, ResponseRow>{
      {"whatsapp/outbound/resp_send_success_wasdk.json",
       {200, K::kSent, "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA", 0, false}},
      {"whatsapp/outbound/resp_send_success_bindambc.json", {200, K::kSent, "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww", 0, false}},
      {"whatsapp/outbound/resp_send_minimal_courier.json", {201, K::kSent, "157b5e14568e8", 0, false}},
      {"whatsapp/outbound/resp_send_with_user_id_courier.json", {201, K::kSent, "157b5e14568e8", 0, false}},
      {"whatsapp/outbound/resp_success_true_bindambc.json", {200, K::kSent, "", 0, false}},
      {"whatsapp/outbound/resp_error_object_131047_pywa.json", {400, K::kFailed, "", 131047, true}},
      {"whatsapp/outbound/resp_error_130429_throughput_courier.json", {403, K::kRetry, "", 130429, false}},
      {"whatsapp/outbound/resp_error_131056_pair_rate_limit_courier.json", {403, K::kRetry, "", 131056, false}},
      {"whatsapp/outbound/resp_error_613_http429_courier.json", {429, K::kRetry, "", 613, false}},
      {"whatsapp/outbound/resp_error_131009_param_invalid_courier.json", {400, K::kFailed, "", 131009, false}},
      {"whatsapp/outbound/resp_error_131053_media_upload_courier.json", {400, K::kFailed, "", 131053, false}},
      {"whatsapp/outbound/resp_error_object_131053_pywa.json", {400, K::kFailed, "", 131053, true}},
      {"whatsapp/outbound/resp_error_368_policy_block_courier.json", {403, K::kRetry, "", 368, false}},
      {"whatsapp/outbound/resp_error_object_190_expired_token_pywa.json", {401, K::kRetry, "", 190, true}},
      {"whatsapp/outbound/resp_graph_error_100_subcode33_bindambc.json", {400, K::kFailed, "", 100, false}},
      // Media endpoints, not sends: no message id, so never taken for a delivered message.
      {"whatsapp/outbound/resp_media_upload_bindambc.json", {200, K::kFailed, "", 0, false}},
      {"whatsapp/outbound/resp_media_url_bindambc.json", {200, K::kFailed, "", 0, false}},
      {"messenger/outbound/resp_text_fbsamples.json",
       {200, K::kSent, "m_qr6GPBlzTU4jqP0PBqaIoIAcfn2p3T7uiO5jm0L_PMTKMJhEIUGFkEKQBhGkpCnPXVZNsYdkN7A2Sel0dOz_Iw", 0, false}},
      {"messenger/outbound/resp_attachment_image_url_fbsamples.json",
       {200, K::kSent, "m_8jw49phNrbbdRTp6PbYL7IAcfn2p3T7uiO5jm0L_PMSzOUezi9uBPNnhL701j3AtJtQmzRtoHwk15jAWQa_MvA", 0, false}},
      {"messenger/outbound/resp_button_template_fbsamples.json",
       {200, K::kSent, "m_O8fcodHxfaww7Koo_Ofbd4Acfn2p3T7uiO5jm0L_PMRfDBZhONYKRVUihzXU7jEFouzSL96emJr0nXDR0M2e_w", 0, false}},
      {"messenger/outbound/resp_generic_template_fbsamples.json",
       {200, K::kSent, "m_T-gmHvIw_zL1kYBxCB7Ff4Acfn2p3T7uiO5jm0L_PMQ0HPcuaIaEY3RnG2Ke9xTLFnTCd0r6614V-66PBmiN2Q", 0, false}},
      {"messenger/outbound/resp_media_template_fbsamples.json",
       {200, K::kSent, "m_uAma1RVB92m2QwtXfq03coAcfn2p3T7uiO5jm0L_PMS47LnbUp72BESMc4motRiWQTQafAsjMzGcv8G7ppj2_Q", 0, false}},
      {"messenger/outbound/resp_quick_replies_with_images_fbsamples.json",
       {200, K::kSent, "m_YdMe0I_Voymqb55W2OSMfYAcfn2p3T7uiO5jm0L_PMSS3zote3yPZoQ92_iKbsFn9qBy_YX6KJJRbCvQFbav6A", 0, false}},
      {"messenger/outbound/resp_send_message_id_courier.json", {200, K::kSent, "mid.133", 0, false}},
      {"messenger/outbound/resp_sender_action_recipient_id_courier.json", {200, K::kSent, "", 0, false}},
      {"messenger/outbound/resp_error_100_invalid_user_courier.json", {400, K::kFailed, "", 100, false}},
      {"messenger/outbound/resp_error_36000_image_too_large_http200_courier.json", {200, K::kFailed, "", 36000, false}},
      {"messenger/outbound/resp_attachment_upload_fbsamples.json", {200, K::kFailed, "", 0, false}},
  };
  return *table;
}

const char* KindName(channels::SendOutcome::Kind k) {
  switch (k) {
    case channels::SendOutcome::Kind::kSent: return "sent";
    case channels::SendOutcome::Kind::kRetry: return "retry";
    case channels::SendOutcome::Kind::kFailed: return "failed";
  }
  return "?";
}

TEST(SendResponseTest, EveryResponseFixtureIsClassifiedAsExpected) {
  if (!fs::is_directory(kOutbound)) GTEST_SKIP() << "no " << kOutbound;
  int checked = 0;
  for (const char* dir : {"whatsapp/outbound", "messenger/outbound"}) {
    for (const auto& e : fs::directory_iterator(kOutbound + "/" + dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("resp_", 0) != 0) continue;
      const std::string key = std::string(dir) + "/" + name;
      auto it = ResponseTable().find(key);
      if (it == ResponseTable().end()) {
        ADD_FAILURE() << key << " has no row in ResponseTable(): add one";
        continue;
      }
      const ResponseRow& row = it->second;
      std::string body = ReadFile(e.path().string());
      if (row.wrap_in_error) body = R"({"error":)" + body + "}";
      const channels::SendOutcome out = channels::ClassifySendResponse(false, row.http_status, body);
      EXPECT_STREQ(KindName(out.kind), KindName(row.kind)) << key << ": " << out.error;
      EXPECT_EQ(out.error_code, row.error_code) << key;
      if (row.kind == channels::SendOutcome::Kind::kSent) {
        EXPECT_EQ(out.message_id, row.message_id) << key;
      } else {
        EXPECT_FALSE(out.error.empty()) << key;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(ResponseTable().size())) << "a row names a file that is gone";
}

TEST(SendResponseTest, OutsideTheWindowFailsForGoodButThrottlingAndServerErrorsAreRetried) {
  using K = channels::SendOutcome::Kind;
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, R"({"error":{"code":131047,"message":"Re-engagement message"}})").kind,
            K::kFailed);
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, R"({"error":{"code":130429,"message":"Rate limit hit"}})").kind,
            K::kRetry);
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, R"({"error":{"code":131048,"message":"Spam rate limit hit"}})").kind,
            K::kRetry);
  EXPECT_EQ(channels::ClassifySendResponse(false, 429, "").kind, K::kRetry);
  EXPECT_EQ(channels::ClassifySendResponse(false, 500, R"({"error":{"message":"boom","code":1}})").kind, K::kRetry);
  EXPECT_EQ(channels::ClassifySendResponse(false, 503, "<html>Service Unavailable</html>").kind, K::kRetry);
  EXPECT_EQ(channels::ClassifySendResponse(true, 0, "").kind, K::kRetry);
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, "not json").kind, K::kFailed);
  // Our own account's trouble: every reply waits for the operator's fix instead of failing.
  for (const char* body : {R"({"error":{"code":190,"error_subcode":463,"message":"Session has expired"}})",
                           R"({"error":{"code":10,"message":"Application does not have permission"}})",
                           R"({"error":{"code":368,"message":"Temporarily blocked for policies violations"}})"}) {
    auto out = channels::ClassifySendResponse(false, 400, body);
    EXPECT_EQ(out.kind, K::kRetry) << body;
    EXPECT_TRUE(out.account_problem) << body;
  }
  EXPECT_TRUE(channels::ClassifySendResponse(false, 401, "").account_problem);
  EXPECT_TRUE(channels::ClassifySendResponse(false, 400, R"({"error":{"code":131031,"message":"Account has been locked"}})").account_problem);
  EXPECT_TRUE(channels::ClassifySendResponse(false, 400, R"({"error":{"code":0,"message":"AuthException"}})").account_problem);
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, R"({"error":{"message":"no code at all"}})").kind, K::kFailed);
  EXPECT_TRUE(channels::ClassifySendResponse(false, 401, R"({"error":{"message":"no code, but unauthorized"}})").account_problem);
  // An unknown subcode under a permission code is still the account's problem: retried, paged.
  EXPECT_TRUE(channels::ClassifySendResponse(false, 400, R"({"error":{"code":200,"error_subcode":2534041,"message":"App access removed"}})").account_problem);
  EXPECT_TRUE(channels::ClassifySendResponse(false, 401, R"({"error":{"code":190,"error_subcode":2018108,"message":"token"}})").account_problem)
      << "a one-person subcode does not make a bad token one person's problem";
  // A permission code with a subcode is about one person (Messenger): it fails, nobody is paged.
  auto one_person = channels::ClassifySendResponse(
      false, 400, R"({"error":{"code":200,"error_subcode":1545041,"message":"This person isn't available right now"}})");
  EXPECT_EQ(one_person.kind, K::kFailed);
  EXPECT_FALSE(one_person.account_problem);
  auto refused = channels::ClassifySendResponse(
      false, 403, R"({"error":{"code":10,"error_subcode":2018108,"message":"This person isn't receiving messages from you right now"}})");
  EXPECT_EQ(refused.kind, K::kFailed);
  EXPECT_FALSE(refused.account_problem);
  // Messenger's closed window is about the message, whatever the code says.
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, R"({"error":{"code":10,"error_subcode":2018278,"message":"outside of allowed window"}})").kind,
            K::kFailed);
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, R"({"error":{"code":551,"message":"This person isn't available right now"}})").kind,
            K::kFailed);
  EXPECT_EQ(channels::ClassifySendResponse(false, 200, R"({"error":"string"})").kind, K::kFailed);
  EXPECT_EQ(channels::ClassifySendResponse(false, 200, R"({"messages":[5]})").kind, K::kFailed);
  EXPECT_EQ(channels::ClassifySendResponse(false, 200, R"({"success":false})").kind, K::kFailed);
}

// Trouble with our own number's registration or with a Graph rate limit is not about the message:
// failing it for good would drop every reply (safety replies too) until it passes.
TEST(SendResponseTest, RegistrationTroubleAndGraphRateLimitsAreRetriedNotDropped) {
  using K = channels::SendOutcome::Kind;
  for (const char* body : {R"({"error":{"code":131037,"message":"WhatsApp provided number needs display name approval"}})",
                           R"({"error":{"code":131045,"message":"Incorrect certificate"}})",
                           R"({"error":{"code":133010,"message":"Phone number not registered"}})",
                           R"({"error":{"code":230,"message":"Permission denied"}})",
                           R"({"error":{"code":299,"message":"Permission denied"}})"}) {
    auto out = channels::ClassifySendResponse(false, 400, body);
    EXPECT_EQ(out.kind, K::kRetry) << body;
    EXPECT_TRUE(out.account_problem) << body;
  }
  for (const char* body : {R"({"error":{"code":17,"message":"User request limit reached"}})",
                           R"({"error":{"code":32,"message":"Page request limit reached"}})",
                           R"({"error":{"code":80006,"message":"There have been too many messages sent to this user"}})"}) {
    auto out = channels::ClassifySendResponse(false, 400, body);
    EXPECT_EQ(out.kind, K::kRetry) << body;
    EXPECT_FALSE(out.account_problem) << body;
  }
  // A permission code from the 200 range with Messenger's one-person subcode is still that person's.
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, R"({"error":{"code":230,"error_subcode":1545041,"message":"unavailable"}})").kind,
            K::kFailed);
  EXPECT_EQ(channels::ClassifySendResponse(false, 400, R"({"error":{"code":300,"message":"not a permission code"}})").kind,
            K::kFailed);
}

}  // namespace
}  // namespace bot::testing
