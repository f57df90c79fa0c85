// Issue #11: a whole conversation per language through the real server and a fake Graph API:
// welcome → language choice → menu → an answer → a number from the menu → two misses → a person.
#include <gtest/gtest.h>

#include <thread>

#include "bot/channels/text_limits.h"
#include "bot/content/content.h"
#include "bot/conversation/conversation.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;

std::shared_ptr<const content::Snapshot> Shipped() {
  static auto s = [] {
    auto doc = content::LoadLocalesDirectory(std::string(RAHNAMA_SOURCE_DIR) + "/locales");
    return *content::Snapshot::Build(std::move(*doc), 1);
  }();
  return s;
}

struct Flow {
  std::string language;
  std::string choice;    // what the person types at the language prompt
  std::string question;  // a question in that language
  std::string number;    // the digits the person types for a menu item, as their keyboard writes them
};

class ConversationFlowTest : public ::testing::TestWithParam<Flow> {
 protected:
  void SetUp() override {
    auto s = server::Server::Start(TestConfig(dir_.File("c.db"), graph_.url()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
  }
  // Sends `text` and returns the bodies of the bot's replies to it.
  std::vector<json> Turn(const std::string& text) {
    const size_t before = graph_.RequestsTo(kMe).size();
    const std::string id = "wamid.flow-" + std::to_string(++seq_);
    auto r = hooks_->PostSigned(WhatsAppText(kMe, id, text));
    EXPECT_TRUE(r && r->status == 200);
    WaitProcessed(dir_.File("c.db"), id);
    const long queued = QueryInt(dir_.File("c.db"), "SELECT COUNT(*) FROM outbox WHERE recipient='" + std::string(kMe) + "'");
    graph_.WaitFor(static_cast<size_t>(queued), kMe, 5000);
    std::vector<json> out;
    auto all = graph_.RequestsTo(kMe);
    for (size_t i = before; i < all.size(); ++i) out.push_back(all[i].json);
    return out;
  }
  static constexpr const char* kMe = "923331234567";
  TempDir dir_;
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
  int seq_ = 0;
};

TEST_P(ConversationFlowTest, WelcomeLanguageMenuAnswerNumberFallbackTwiceThenAPerson) {
  const Flow& f = GetParam();
  auto c = Shipped();
  const std::string& lang = f.language;

  // First contact: the welcome in all three languages, then the language choice.
  auto welcome = Turn("salam");
  ASSERT_EQ(welcome.size(), 2u);
  for (const auto& l : content::kLanguages) EXPECT_NE(TextOf(welcome[0]).find(c->Message("welcome", l)), std::string::npos) << l;
  EXPECT_NE(TextOf(welcome[1]).find(c->Message("language_prompt", "prs")), std::string::npos);

  // The choice is confirmed in that language and the menu comes as an interactive list.
  auto chosen = Turn(f.choice);
  ASSERT_EQ(chosen.size(), 2u);
  EXPECT_EQ(TextOf(chosen[0]), c->Message("language_set", lang));
  ASSERT_EQ(chosen[1]["type"], "interactive");
  const json& list = chosen[1]["interactive"];
  EXPECT_EQ(list["type"], "list");
  const json& rows = list["action"]["sections"][0]["rows"];
  EXPECT_EQ(rows.size(), c->Menu(lang).size());
  EXPECT_LE(rows.size(), 10u);
  for (const auto& row : rows) EXPECT_LE(channels::CharCount(row["title"].get<std::string>()), 24u);
  // Each row shows the number the footer says the person may type.
  EXPECT_EQ(rows[0]["title"], std::to_string(c->Menu(lang)[0].number) + ". " + c->Menu(lang)[0].title);
  EXPECT_EQ(QueryInt(dir_.File("c.db"), "SELECT COUNT(*) FROM contacts WHERE language='" + lang + "'"), 1);

  // A question gets its answer in the chosen language.
  auto answered = Turn(f.question);
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(TextOf(answered[0]), c->Answer("por_card", lang));

  // A number from the menu picks that topic.
  auto picked = Turn(f.number);
  ASSERT_EQ(picked.size(), 1u);
  EXPECT_EQ(TextOf(picked[0]), c->Answer(c->Menu(lang)[2].intent, lang));

  // A tapped list row works too.
  const size_t before_tap = graph_.RequestsTo(kMe).size();
  (void)before_tap;

  // Two misses in a row: first an honest "I did not understand" with the menu, then a person.
  auto miss1 = Turn("asdf qwer");
  ASSERT_EQ(miss1.size(), 1u);
  EXPECT_EQ(TextOf(miss1[0]), c->Message("fallback", lang, {{"menu", conversation::MenuText(*c, lang)}}));
  auto miss2 = Turn("zzzz");
  ASSERT_EQ(miss2.size(), 1u);
  EXPECT_EQ(TextOf(miss2[0]), c->Message("fallback_offer_human", lang));
  EXPECT_EQ(miss2[0]["type"], "interactive");
  auto person = Turn("1");
  ASSERT_EQ(person.size(), 1u);
  EXPECT_NE(TextOf(person[0]).find(c->Message("partner_info_desk", lang)), std::string::npos) << TextOf(person[0]);
  EXPECT_EQ(QueryInt(dir_.File("c.db"), "SELECT COUNT(*) FROM cases WHERE queue='info_desk' AND language='" + lang + "'"), 1);
}

INSTANTIATE_TEST_SUITE_P(
    EachLanguage, ConversationFlowTest,
    ::testing::Values(Flow{"en", "1", "what is the PoR card?", "3"},
                      Flow{"prs", "۲", "کارت پی او آر چیست؟", "۳"},   // Persian digits
                      Flow{"ps", "٣", "د پی او آر کارت څه شی دی؟", "٣"}),  // Arabic digits
    [](const ::testing::TestParamInfo<Flow>& info) { return info.param.language; });

TEST(ConversationRulesTest, AnUnderstoodFirstQuestionIsAnsweredAtOnceWithWhoWeAre) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.message.text = "what is the PoR card?";
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Answer("por_card", "en") + "\n\n" + c->Message("about_line", "en"));
  EXPECT_TRUE(out.state.welcomed);
}

TEST(ConversationRulesTest, AnUrgentFirstMessageGetsTheSafetyReplyBeforeAnyWelcome) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.message.text = "پولیس همین حالا برادرم را گرفت، کمک کنید";
  auto out = conversation::Converse(*c, in);
  ASSERT_GE(out.replies.size(), 1u);
  EXPECT_TRUE(out.replies[0].urgent);
  EXPECT_NE(out.replies[0].text.find(c->Answer("urgent_protection", "prs")), std::string::npos);
  ASSERT_TRUE(out.open_case.has_value());
  EXPECT_EQ(out.open_case->priority, "urgent");
  EXPECT_EQ(out.language, "prs");
}

TEST(ConversationRulesTest, NonTextMessagesGetAKindReplyAndAreKeptForAnOpenCase) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.state.language = "ps";
  in.state.language_known = true;
  in.state.welcomed = true;
  in.message.kind = InboundKind::kAudio;
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("non_text", "ps"));
  in.active_case = conversation::ActiveCase{7, "info_desk", "x", "unknown", false, false};
  out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("non_text_case_open", "ps"));
  // Someone whose language was only guessed (a third voice note after two): in every language.
  in.state.language = "en";
  in.state.language_known = false;
  out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  for (const char* lang : {"en", "prs", "ps"})
    EXPECT_NE(out.replies[0].text.find(c->Message("non_text_case_open", lang)), std::string::npos) << lang;
}

// Text that came with a voice note, a sticker or a link is read: an urgent one is not answered
// "I can only read text".
TEST(ConversationRulesTest, TextThatCameWithAnyAttachmentIsReadForThreats) {
  auto c = Shipped();
  for (InboundKind kind : {InboundKind::kAudio, InboundKind::kSticker, InboundKind::kUnsupported}) {
    conversation::TurnInput in;
    in.state.language = "en";
    in.state.welcomed = true;
    in.message.kind = kind;
    in.message.text = "police arrested my brother right now, please help";
    auto out = conversation::Converse(*c, in);
    EXPECT_TRUE(out.decision.urgent) << static_cast<int>(kind);
    ASSERT_TRUE(out.open_case.has_value()) << static_cast<int>(kind);
    EXPECT_EQ(out.open_case->priority, "urgent");
  }
  // A location's text is the place's name, not the person's words: a pin on a police station or
  // a jail is not a report of an arrest.
  conversation::TurnInput pin;
  pin.state.language = "en";
  pin.state.welcomed = true;
  pin.message.kind = InboundKind::kLocation;
  for (const char* place : {"Central Jail Peshawar", "Hayatabad Police Station", "UNHCR Sub Office Peshawar"}) {
    pin.message.text = place;
    auto out = conversation::Converse(*c, pin);
    EXPECT_FALSE(out.decision.urgent) << place;
    EXPECT_FALSE(out.open_case.has_value()) << place;
    ASSERT_EQ(out.replies.size(), 1u) << place;
    EXPECT_EQ(out.replies[0].text, c->Message("non_text", "en")) << place;
  }
}

// A voice note or photo as the very first message says nothing about the language: the reply is
// in all three, and the welcome with the language choice waits for their first text.
TEST(ConversationRulesTest, AFirstMessageWithoutTextIsAnsweredInAllThreeLanguagesAndTheWelcomeWaits) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.message.kind = InboundKind::kAudio;
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  for (const char* lang : {"en", "prs", "ps"})
    EXPECT_NE(out.replies[0].text.find(c->Message("non_text", lang)), std::string::npos) << lang;
  EXPECT_EQ(out.state.language, "");
  EXPECT_FALSE(out.state.welcomed);
  in.state = out.state;
  in.message = {};
  in.message.kind = InboundKind::kText;
  in.message.text = "سلام";
  out = conversation::Converse(*c, in);
  EXPECT_EQ(out.language, "prs");
  ASSERT_FALSE(out.replies.empty());
  EXPECT_NE(out.replies[0].text.find(c->Message("welcome", "prs")), std::string::npos) << "the welcome, then the language choice";
  // The same for a first photo whose caption says nothing about the language, or a first pin.
  for (auto [kind, text] : {std::pair{InboundKind::kImage, "📄"}, std::pair{InboundKind::kLocation, "Peshawar"}}) {
    conversation::TurnInput first;
    first.message.kind = kind;
    first.message.text = text;
    auto o = conversation::Converse(*c, first);
    ASSERT_EQ(o.replies.size(), 1u) << text;
    EXPECT_NE(o.replies[0].text.find(c->Message("non_text", "ps")), std::string::npos) << text;
    EXPECT_FALSE(o.state.welcomed) << text;
    EXPECT_EQ(o.state.language, "") << text;
  }
}

TEST(ConversationRulesTest, OptOutSilencesAllButUrgentAndTheMenuWordBringsThePersonBack) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.state.language = "en";
  in.state.welcomed = true;
  in.message.text = "stop";
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("opt_out_confirm", "en"));
  EXPECT_TRUE(out.state.opted_out);
  in.state = out.state;
  for (const char* quiet : {"hello", "thanks", "xq zzv blorp"}) {
    in.message.text = quiet;
    EXPECT_TRUE(conversation::Converse(*c, in).replies.empty()) << quiet;
  }
  in.message.text = "police arrested my brother right now, please help";
  EXPECT_FALSE(conversation::Converse(*c, in).replies.empty()) << "urgent safety replies still go out";
  // A tap on a row of an earlier menu comes back too, and is answered as that tap: "talk to a
  // person" hands them to the desk (it was silence).
  conversation::TurnInput tap = in;
  tap.message.kind = InboundKind::kChoice;
  tap.message.text = "Talk to a person";
  tap.message.payload_id = "menu:human_agent";
  auto tapped = conversation::Converse(*c, tap);
  EXPECT_FALSE(tapped.state.opted_out);
  ASSERT_TRUE(tapped.open_case.has_value());
  EXPECT_EQ(tapped.open_case->queue, "info_desk");
  tap.message.payload_id = "menu:por_card";
  tapped = conversation::Converse(*c, tap);
  ASSERT_FALSE(tapped.replies.empty());
  EXPECT_NE(tapped.replies[0].text.find(c->Answer("por_card", "en").substr(0, 40)), std::string::npos);
  in.message.text = "0";
  out = conversation::Converse(*c, in);
  EXPECT_FALSE(out.state.opted_out);
  EXPECT_FALSE(out.replies.empty());
}

// Someone who said "stop" and later asks, in their own words, for a person, for their data to be
// deleted, or a question we can answer, is heard (it was silence: only exact words like "0" or
// "delete" got through).
TEST(ConversationRulesTest, SomeoneWhoOptedOutAndAsksInTheirOwnWordsIsAnswered) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.state.language = "en";
  in.state.welcomed = true;
  in.state.opted_out = true;
  in.message.text = "I want to talk to a person";
  auto out = conversation::Converse(*c, in);
  ASSERT_TRUE(out.open_case.has_value());
  EXPECT_EQ(out.open_case->queue, "info_desk");
  EXPECT_FALSE(out.state.opted_out);
  for (const char* text : {"please delete my data", "معلومات مرا پاک کنید"}) {
    in.message.text = text;
    out = conversation::Converse(*c, in);
    ASSERT_EQ(out.replies.size(), 1u) << text;
    EXPECT_NE(out.replies[0].text.find(c->Message("opt_out_confirm", out.language).substr(0, 20)), std::string::npos) << text;
    EXPECT_TRUE(out.state.opted_out) << text;
    EXPECT_FALSE(out.erase) << "deleting needs the exact word";
  }
  // Words asking to stop beside a topic do not bring them back.
  in.message.text = "I said stop, I don't want deportation news";
  EXPECT_TRUE(conversation::Converse(*c, in).replies.empty());
  EXPECT_TRUE(conversation::Converse(*c, in).state.opted_out);
  in.state.language = "prs";
  in.message.text = "کارت پی او آر چیست؟";
  out = conversation::Converse(*c, in);
  ASSERT_FALSE(out.replies.empty());
  EXPECT_EQ(out.replies[0].text, c->Answer("por_card", "prs"));
  EXPECT_FALSE(out.state.opted_out);
}

// "stop" is answered "Reply DELETE to delete your data"; someone who asked a question first and
// then replied "delete" got that text again, and only a second "delete" erased (an exploratory
// tester). The word we told them to reply erases whenever it comes; nothing else does.
TEST(ConversationRulesTest, DeleteAsToldErasesEvenAfterAnotherMessageInBetween) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.state.language = "en";
  in.state.language_chosen = true;
  in.state.welcomed = true;
  auto say = [&](const std::string& text) {
    in.message.text = text;
    auto out = conversation::Converse(*c, in);
    in.state = out.state;
    return out;
  };
  EXPECT_FALSE(say("delete").erase) << "never told to: the opt-out text first";
  in.state = {};
  in.state.language = "en";
  in.state.welcomed = true;
  auto out = say("stop");
  ASSERT_FALSE(out.replies.empty());
  EXPECT_EQ(out.replies[0].text, c->Message("opt_out_confirm", "en"));
  out = say("how do i get a por card");
  EXPECT_FALSE(out.state.opted_out) << "a question brings them back";
  EXPECT_FALSE(say("please delete everything you know about me and also tell me about visas").erase);
  out = say("delete");
  EXPECT_TRUE(out.erase);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("erasure_done", "en"));

  // Disarmed by coming back through the menu, by reporting a threat, and never while an officer
  // talks to them ("پاک" is also "clean", "pak" also Pakistan).
  for (const char* back : {"0", "police arrested my brother right now"}) {
    in.state = {};
    in.state.language = "en";
    in.state.welcomed = true;
    say("stop");
    say(back);
    EXPECT_FALSE(say("delete").erase) << back;
  }
  in.state = {};
  in.state.language = "en";
  in.state.welcomed = true;
  say("stop");
  say("how do i get a por card");
  in.active_case = conversation::ActiveCase{7, "unhcr_protection", "UNHCR", "unknown", false, true};
  EXPECT_FALSE(say("pak").erase) << "an officer is talking to them";
}

// The menu's "moved to a new country" promises IOM's questions: typed as a number, tapped as a row
// or asked in words, the person gets them and an IOM case (a number or a tap got the answer only).
TEST(ConversationRulesTest, MovedToANewCountryAsksIomsQuestionsHoweverItIsChosen) {
  auto c = Shipped();
  int number = 0;
  for (const auto& item : c->Menu("en"))
    if (item.intent == "relocated_case_transfer") number = item.number;
  ASSERT_GT(number, 0);
  conversation::TurnInput typed;
  typed.state.language = "en";
  typed.state.language_chosen = true;
  typed.state.welcomed = true;
  typed.message.text = std::to_string(number);
  conversation::TurnInput tapped = typed;
  tapped.message.kind = InboundKind::kChoice;
  tapped.message.text = "Moved to new country";
  tapped.message.payload_id = "menu:relocated_case_transfer";
  conversation::TurnInput asked = typed;
  asked.message.text = "we moved to canada, how do I update IOM with my new address?";
  for (const auto* in : {&typed, &tapped, &asked}) {
    SCOPED_TRACE(in->message.text);
    auto out = conversation::Converse(*c, *in);
    ASSERT_EQ(out.replies.size(), 2u);
    EXPECT_EQ(out.replies[0].text, c->Answer("relocated_case_transfer", "en"));
    EXPECT_EQ(out.replies[1].text, c->Message("iom_case_number", "en"));
    EXPECT_EQ(out.state.stage, "iom_case_number");
    ASSERT_TRUE(out.open_case.has_value());
    EXPECT_EQ(out.open_case->queue, "iom");
  }
}

// Found in session 5's review: what the conversation did with people who were already in a case,
// opted out, mid-intake, or had chosen a language.
conversation::TurnInput Welcomed(const std::string& language, const std::string& text) {
  conversation::TurnInput in;
  in.state.language = language;
  in.state.language_chosen = true;
  in.state.welcomed = true;
  in.message.text = text;
  return in;
}
conversation::ActiveCase UrgentCase() { return conversation::ActiveCase{7, "unhcr_protection", "UNHCR", "unknown", false, false}; }

// "Can I talk to a person about my US embassy letter?" got the letter's answer and no person.
TEST(ConversationRulesTest, AQuestionThatAlsoAsksForAPersonIsAnsweredAndHandedOver) {
  auto c = Shipped();
  auto out = conversation::Converse(*c, Welcomed("en", "Hi, can I talk to a person about my US embassy letter?"));
  ASSERT_FALSE(out.replies.empty());
  EXPECT_EQ(out.replies[0].text, c->Answer("us_embassy_letter", "en"));
  ASSERT_TRUE(out.open_case.has_value());
  EXPECT_EQ(out.open_case->queue, "info_desk");
  EXPECT_EQ(out.open_case->intent, "human_agent");
  out = conversation::Converse(*c, Welcomed("en", "what is the US embassy letter?"));
  EXPECT_FALSE(out.open_case.has_value());
  // With a case open, its officer is the person: the answer and where the case stands, no second
  // case; during the intake questions it is not taken as an answer.
  auto in = Welcomed("en", "Hi, can I talk to a person about my US embassy letter?");
  in.active_case = UrgentCase();
  out = conversation::Converse(*c, in);
  EXPECT_FALSE(out.open_case.has_value());
  ASSERT_EQ(out.replies.size(), 2u);
  EXPECT_EQ(out.replies[0].text, c->Answer("us_embassy_letter", "en"));
  EXPECT_EQ(out.replies[1].text, c->Message("case_open_waiting", "en"));
  in.state.stage = "intake_city";
  out = conversation::Converse(*c, in);
  EXPECT_TRUE(out.case_fields.empty());
  EXPECT_EQ(out.state.stage, "idle");
}

TEST(ConversationRulesTest, SomeoneWhoMayHarmThemselvesGetsWordsForThemNotPoliceAdvice) {
  auto c = Shipped();
  auto out = conversation::Converse(*c, Welcomed("prs", "می‌خواهم خودم را بکشم"));
  ASSERT_FALSE(out.replies.empty());
  EXPECT_TRUE(out.replies[0].urgent);
  EXPECT_NE(out.replies[0].text.find(c->Answer("urgent_self_harm", "prs")), std::string::npos);
  EXPECT_EQ(out.replies[0].text.find(c->Answer("urgent_protection", "prs")), std::string::npos);
  ASSERT_TRUE(out.open_case.has_value());
  EXPECT_EQ(out.open_case->queue, "unhcr_protection");
  EXPECT_EQ(out.open_case->priority, "urgent");
  // Written while answering the intake questions: the same safety words, not taken as an answer.
  for (const char* text : {"I want to kill myself", "I will kill myself", "police took my husband, I want to kill myself"}) {
    auto in = Welcomed("en", text);
    in.state.stage = "intake_city";
    in.active_case = UrgentCase();
    out = conversation::Converse(*c, in);
    EXPECT_TRUE(out.case_fields.empty()) << text;
    ASSERT_FALSE(out.replies.empty()) << text;
    EXPECT_NE(out.replies[0].text.find(c->Answer("urgent_self_harm", "en")), std::string::npos) << text;
  }
}

// "نه" (no) scored 0.76 for urgency in the example model: an answer to a question opened an urgent
// case. A bare yes or no is never urgent unless the rules say so.
TEST(ConversationRulesTest, ABareYesOrNoIsAnAnswerNotAnAlarm) {
  auto c = Shipped();
  for (const char* text : {"نه", "نخیر", "no", "هو", "بلی"}) {
    auto in = Welcomed("prs", text);
    in.state.stage = "offered_human";
    auto out = conversation::Converse(*c, in);
    EXPECT_FALSE(out.decision.urgent) << text;
    EXPECT_FALSE(out.open_case.has_value() && out.open_case->priority == "urgent") << text;
    for (const auto& r : out.replies) EXPECT_FALSE(r.urgent) << text;
  }
}

TEST(ConversationRulesTest, EveryMenuNumberPicksItsTopicAndNeverRaisesAnAlarm) {
  auto c = Shipped();
  for (const auto& item : c->Menu("en")) {
    for (const std::string typed : {std::to_string(item.number), item.number == 10 ? std::string("۱۰") : std::to_string(item.number)}) {
      auto out = conversation::Converse(*c, Welcomed("en", typed));
      if (item.intent == "human_agent") {  // the hand-off message comes with the new case
        ASSERT_TRUE(out.open_case.has_value()) << typed;
        EXPECT_EQ(out.open_case->priority, "normal");
      } else {
        ASSERT_FALSE(out.replies.empty()) << typed;
        EXPECT_FALSE(out.replies[0].urgent) << typed;
        EXPECT_FALSE(out.open_case.has_value() && out.open_case->priority == "urgent") << typed;
        EXPECT_EQ(out.replies[0].text, c->Answer(item.intent, "en")) << typed;
      }
    }
  }
}

TEST(ConversationRulesTest, AThreatFromSomeoneWhoOptedOutEndsTheOptOutSoTheirAnswersAreHeard) {
  auto c = Shipped();
  auto in = Welcomed("en", "police arrested my brother right now, please help");
  in.state.opted_out = true;
  auto out = conversation::Converse(*c, in);
  ASSERT_TRUE(out.open_case.has_value());
  EXPECT_FALSE(out.state.opted_out);
  EXPECT_EQ(out.state.stage, "intake_city");
  in.state = out.state;
  in.active_case = UrgentCase();
  in.message.text = "Peshawar";
  out = conversation::Converse(*c, in);
  ASSERT_EQ(out.case_fields.size(), 1u);
  EXPECT_EQ(out.case_fields[0], (std::pair<std::string, std::string>{"city", "Peshawar"}));
  EXPECT_EQ(out.replies.back().text, c->Message("intake_who", "en"));
}

// A city named in the threat is usually where someone is taken ("they will deport us to Kabul",
// "they took him to Peshawar jail"), not where the person is: "where are you now?" is still asked.
TEST(ConversationRulesTest, TheIntakeAsksWhereThePersonIsEvenWhenTheThreatNamesACity) {
  auto c = Shipped();
  for (const std::string text : {"police will deport us to Kabul tonight, please help",
                                 "police took my brother to Peshawar jail right now, please help",
                                 "police arrested my brother right now, please help"}) {
    SCOPED_TRACE(text);
    auto out = conversation::Converse(*c, Welcomed("en", text));
    ASSERT_TRUE(out.open_case.has_value());
    EXPECT_EQ(out.state.stage, "intake_city");
    EXPECT_TRUE(out.case_fields.empty());
  }
}

// A question asked in place of an intake answer is answered, and the intake question asked again
// (it was filed as the city and answered by nobody). A statement naming a topic is still an answer.
TEST(ConversationRulesTest, AQuestionAskedDuringTheIntakeIsAnsweredAndTheIntakeQuestionAskedAgain) {
  auto c = Shipped();
  const std::vector<std::tuple<std::string, std::string, std::string>> questions = {
      {"en", "intake_city", "what happens to my PoR card now?"},
      {"prs", "intake_who", "کارت پی او آر چیست؟"},
      {"en", "iom_location", "what is the US embassy letter for?"}};
  for (const auto& [language, stage, text] : questions) {
    SCOPED_TRACE(text);
    auto in = Welcomed(language, text);
    in.state.stage = stage;
    in.active_case = UrgentCase();
    auto out = conversation::Converse(*c, in);
    ASSERT_FALSE(out.decision.intent.empty());
    ASSERT_EQ(out.replies.size(), 2u);
    EXPECT_EQ(out.replies[0].text, c->Answer(out.decision.intent, language));
    EXPECT_EQ(out.replies[1].text, c->Message(stage, language));
    EXPECT_EQ(out.answered_intent, out.decision.intent);
    EXPECT_TRUE(out.case_fields.empty()) << "a question is not an answer";
    EXPECT_EQ(out.state.stage, stage);
  }
  // A topic with its own hand-off (moving abroad: IOM's questions) is not answered half-way here.
  auto moved = Welcomed("en", "I moved to Canada, how do I update IOM with my new address?");
  moved.state.stage = "intake_city";
  moved.active_case = UrgentCase();
  auto routed = conversation::Converse(*c, moved);
  ASSERT_EQ(routed.case_fields.size(), 1u);
  EXPECT_EQ(routed.state.stage, "intake_who");
  auto in = Welcomed("en", "my brother, he has a PoR card");
  in.state.stage = "intake_who";
  in.active_case = UrgentCase();
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.case_fields.size(), 1u);
  EXPECT_EQ(out.case_fields[0].second, "my brother, he has a PoR card");
  EXPECT_EQ(out.state.stage, "intake_detained");
}

// Someone who can only send voice notes heard "I can only read text" for ever: the second voice
// note (or photo) goes to a person. A sticker is not a message to hand over.
TEST(ConversationRulesTest, TheSecondVoiceNoteReachesAPersonInsteadOfAnotherICanOnlyReadText) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.message.kind = InboundKind::kAudio;
  auto out = conversation::Converse(*c, in);
  EXPECT_FALSE(out.open_case.has_value());
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_NE(out.replies[0].text.find(c->Message("non_text", "en")), std::string::npos);
  in.state = out.state;
  out = conversation::Converse(*c, in);
  ASSERT_TRUE(out.open_case.has_value()) << "the second voice note stayed with the bot";
  EXPECT_EQ(out.open_case->queue, "info_desk");
  EXPECT_EQ(out.answered_intent, "human_agent");
  ASSERT_EQ(out.replies.size(), 1u);
  for (const char* language : {"en", "prs", "ps"})
    EXPECT_NE(out.replies[0].text.find(c->Message("non_text_to_person", language)), std::string::npos) << language;

  // In a known language, a photo then a voice note; stickers never count.
  auto dari = Welcomed("prs", "");
  dari.message.kind = InboundKind::kSticker;
  for (int i = 0; i < 3; ++i) {
    out = conversation::Converse(*c, dari);
    EXPECT_FALSE(out.open_case.has_value());
    EXPECT_TRUE(out.replies.empty()) << "a like after we talked is a thanks, not 'I can only read text'";
    dari.state = out.state;
  }
  dari.message.kind = InboundKind::kImage;
  out = conversation::Converse(*c, dari);
  EXPECT_FALSE(out.open_case.has_value());
  dari.state = out.state;
  dari.message.kind = InboundKind::kAudio;
  out = conversation::Converse(*c, dari);
  ASSERT_TRUE(out.open_case.has_value());
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("non_text_to_person", "prs"));
}

// The "talk to a person" button of an older offer still hands over; where the offer is a numbered
// list (Messenger), "2" is its "Menu", not the menu's second topic.
TEST(ConversationRulesTest, ATalkToAPersonTapAlwaysHandsOverAndTwoAtTheMessengerOfferIsTheMenu) {
  auto c = Shipped();
  auto in = Welcomed("en", "Talk to a person");
  in.message.kind = InboundKind::kChoice;
  in.message.payload_id = "human:yes";
  auto out = conversation::Converse(*c, in);
  ASSERT_TRUE(out.open_case.has_value()) << "a stale button did nothing";
  EXPECT_EQ(out.open_case->queue, "info_desk");

  auto offer = Welcomed("en", "2");
  offer.message.channel = Channel::kMessenger;
  offer.state.stage = "offered_human";
  out = conversation::Converse(*c, offer);
  EXPECT_FALSE(out.open_case.has_value());
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, conversation::MenuMessage(*c, "en").text);
  EXPECT_NE(out.answered_intent, "por_card");
  // On WhatsApp the offer is two buttons; a typed "2" is the menu's second topic, listed before.
  offer.message.channel = Channel::kWhatsApp;
  out = conversation::Converse(*c, offer);
  std::string second;
  for (const auto& item : c->Menu("en"))
    if (item.number == 2) second = item.intent;
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(out.answered_intent, second);
}

// A location shared at "where are you now?" is the answer.
TEST(ConversationRulesTest, ALocationSharedAtTheCityQuestionIsTheAnswer) {
  auto c = Shipped();
  auto in = Welcomed("en", "");
  in.message.kind = InboundKind::kLocation;
  in.message.latitude = 33.6844;
  in.message.longitude = 73.0479;
  in.state.stage = "intake_city";
  in.active_case = UrgentCase();
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.case_fields.size(), 1u);
  EXPECT_EQ(out.case_fields[0], (std::pair<std::string, std::string>{"city", "shared location 33.68440, 73.04790"}));
  EXPECT_EQ(out.state.stage, "intake_who");
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("intake_who", "en"));
  // While an officer talks to the person, the bot does not ask over them.
  in.active_case->human_mode = true;
  out = conversation::Converse(*c, in);
  EXPECT_TRUE(out.replies.empty());
}

TEST(ConversationRulesTest, ANewThreatWrittenDuringTheIntakeIsRecordedAndAcknowledged) {
  auto c = Shipped();
  auto in = Welcomed("en", "they are beating me now");
  in.state.stage = "intake_city";
  in.active_case = UrgentCase();
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.case_fields.size(), 1u);
  EXPECT_EQ(out.case_fields[0].second, "they are beating me now");
  ASSERT_EQ(out.replies.size(), 2u);
  EXPECT_EQ(out.replies[0].text, c->Message("intake_urgent_noted", "en"));
  EXPECT_TRUE(out.replies[0].urgent);
  EXPECT_EQ(out.replies[1].text, c->Message("intake_who", "en"));
  // An ordinary answer gets no acknowledgement.
  in.message.text = "Quetta";
  out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("intake_who", "en"));
}

// Threats only the example model finds (no rule matches them) are often the ones people write in
// their own words: "they are beating us", "men are after me". ("I am in danger" was one, until it
// got rules of its own.) They must interrupt everything: an
// answer to the bot's own question (intake, IOM, consent, even one left from a resolved case) and
// a conversation with an officer. (A guard that silenced the model there, to spare "I am in
// Islamabad" a false alarm, silenced these too; it was removed.)
TEST(ConversationRulesTest, AThreatOnlyTheExampleModelFindsInterruptsQuestionsAndOfficers) {
  auto c = Shipped();
  const std::vector<std::pair<std::string, std::string>> threats = {
      {"prs", "ما را میزنند"}, {"prs", "ما را تعقیب میکنند"}, {"ps", "سړي مې پسې دي"}, {"en", "men are following me"}};
  for (const auto& [language, text] : threats) {
    SCOPED_TRACE(text);
    ASSERT_TRUE(c->classifier().Classify(text).urgent_from_model) << "the test needs a threat only the model finds";
    for (const char* stage : {"iom_location", "iom_contact", "consent", "intake_city"}) {
      SCOPED_TRACE(stage);
      auto in = Welcomed(language, text);
      in.state.stage = stage;
      in.active_case = conversation::ActiveCase{9, "iom", "IOM", "asked", true, false};
      auto out = conversation::Converse(*c, in);
      EXPECT_TRUE(out.decision.urgent);
      ASSERT_TRUE(out.open_case.has_value());
      EXPECT_EQ(out.open_case->priority, "urgent");
      ASSERT_FALSE(out.replies.empty());
      EXPECT_TRUE(out.replies[0].urgent);
    }
    auto in = Welcomed(language, text);
    in.active_case = conversation::ActiveCase{9, "info_desk", "the desk", "unknown", false, true};
    auto out = conversation::Converse(*c, in);
    EXPECT_TRUE(out.decision.urgent);
    ASSERT_TRUE(out.open_case.has_value()) << "while an officer talks on an ordinary case";
    EXPECT_EQ(out.open_case->priority, "urgent");
  }
}

// The safety reply goes out once per urgent case. Every later message that names the police (an
// answer to the officer's "which station?") joined the case with the nine lines again: now one line
// that the officers have it, also while an officer is talking (they may be off shift). Self-harm
// still gets its own words; a threat while an officer talks on an ordinary case gets the safety
// reply, but no intake questions, which would have filed the answers to the officer as intake.
TEST(ConversationRulesTest, TheSafetyReplyIsSentOncePerUrgentCaseNotOnEveryMessage) {
  auto c = Shipped();
  const std::string threat = "police are still here, they took my brother";
  auto in = Welcomed("en", threat);
  in.active_case = UrgentCase();
  in.safety_reply_sent = true;
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("intake_urgent_noted", "en"));
  ASSERT_TRUE(out.open_case.has_value());
  EXPECT_EQ(out.open_case->priority, "urgent");
  in.active_case->human_mode = true;
  in.safety_reply_sent = true;
  in.message.text = "تهانه صدر کراچی، پولیس برادرم را گرفت";
  out = conversation::Converse(*c, in);
  EXPECT_TRUE(out.decision.urgent);
  ASSERT_EQ(out.replies.size(), 1u) << "one line, though the officer is talking to them";
  EXPECT_EQ(out.replies[0].text, c->Message("intake_urgent_noted", "prs")) << "in the language they wrote";
  EXPECT_FALSE(out.safety_reply);
  ASSERT_TRUE(out.open_case.has_value());
  in.message.text = "I want to kill myself";
  out = conversation::Converse(*c, in);
  ASSERT_FALSE(out.replies.empty());
  EXPECT_NE(out.replies[0].text.find(c->Answer("urgent_self_harm", "en")), std::string::npos);
  // An operator deleted the acknowledgement in every language: the full reply, never an empty one.
  {
    auto doc = content::LoadLocalesDirectory(std::string(RAHNAMA_SOURCE_DIR) + "/locales");
    ASSERT_TRUE(doc.ok());
    for (const auto& lang : content::kLanguages) (*doc)["messages"][lang]["messages"].erase("intake_urgent_noted");
    auto edited = content::Snapshot::Build(std::move(*doc), 2);
    ASSERT_TRUE(edited.ok()) << edited.status().ToString();
    auto again = Welcomed("en", threat);
    again.safety_reply_sent = true;
    auto full = conversation::Converse(**edited, again);
    ASSERT_FALSE(full.replies.empty());
    EXPECT_FALSE(full.replies[0].text.empty());
    EXPECT_TRUE(full.safety_reply);
  }
  // A case made urgent another way (a routing rule, a message set aside) has not had the safety
  // reply: it goes out, and is recorded.
  in = Welcomed("en", threat);
  in.safety_reply_sent = false;
  out = conversation::Converse(*c, in);
  EXPECT_TRUE(out.safety_reply);
  ASSERT_FALSE(out.replies.empty());
  EXPECT_NE(out.replies[0].text.find(c->Message("safety_reply_prefix", "en", {{"partner", "UNHCR"}}).substr(0, 30)),
            std::string::npos);
  // An officer talking on an ordinary case: the safety reply, and no intake questions.
  in = Welcomed("en", threat);
  in.active_case = conversation::ActiveCase{9, "info_desk", "the desk", "unknown", false, true};
  out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_TRUE(out.replies[0].urgent);
  EXPECT_NE(out.state.stage, "intake_city");
  ASSERT_TRUE(out.open_case.has_value());
  EXPECT_EQ(out.open_case->queue, "unhcr_protection");
}

TEST(ConversationRulesTest, WithAnOpenCaseAGreetingARequestForAPersonOrAnUnclearMessageHearsWhereTheCaseStands) {
  auto c = Shipped();
  for (const char* text : {"hello", "human", "xq zzv blorp"}) {
    auto in = Welcomed("en", text);
    in.active_case = UrgentCase();
    auto out = conversation::Converse(*c, in);
    ASSERT_EQ(out.replies.size(), 1u) << text;
    EXPECT_EQ(out.replies[0].text, c->Message("case_open_waiting", "en")) << text;
    EXPECT_FALSE(out.open_case.has_value()) << text;
  }
  // Asking for a person in the middle of the intake questions is not taken as an answer.
  auto in = Welcomed("prs", "کارمند");
  in.state.stage = "intake_city";
  in.active_case = UrgentCase();
  auto out = conversation::Converse(*c, in);
  EXPECT_TRUE(out.case_fields.empty());
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("case_open_waiting", "prs"));
  EXPECT_EQ(out.state.stage, "idle");
  // Stopping messages says the case stays open.
  in = Welcomed("en", "stop");
  in.active_case = UrgentCase();
  out = conversation::Converse(*c, in);
  EXPECT_TRUE(out.state.opted_out);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Message("opt_out_case_open", "en"));
}

// "salam kumak" or "pulis aamad" as a first message: the language is a guess (it was English), and
// a Dari speaker got the safety reply and "where are you now?" in English only. Until the person
// has written clearly in one language or chosen one, both go in every language.
TEST(ConversationRulesTest, ASafetyReplyToSomeoneWhoseLanguageIsOnlyGuessedGoesInEveryLanguage) {
  auto c = Shipped();
  auto has = [](const std::string& text, const std::string& part) { return text.find(part.substr(0, 60)) != std::string::npos; };
  auto first = [&](const std::string& text) {
    conversation::TurnInput in;
    in.message.text = text;
    return conversation::Converse(*c, in);
  };
  auto out = first("salam kumak");
  ASSERT_TRUE(out.decision.urgent);
  ASSERT_GE(out.replies.size(), 2u);
  for (const char* lang : {"en", "prs", "ps"}) {
    EXPECT_TRUE(has(out.replies[0].text, c->Answer("urgent_protection", lang))) << lang;
    EXPECT_TRUE(has(out.replies[1].text, c->Message("intake_city", lang))) << lang;
  }
  {  // and the next intake question too
    conversation::TurnInput next;
    next.state = out.state;
    next.active_case = conversation::ActiveCase{7, "unhcr_protection", "UNHCR", "unknown", false, false};
    next.message.text = "Peshawar";
    auto asked = conversation::Converse(*c, next);
    ASSERT_FALSE(asked.replies.empty());
    for (const char* lang : {"en", "prs", "ps"}) EXPECT_TRUE(has(asked.replies.back().text, c->Message("intake_who", lang))) << lang;
  }
  // Still a guess on the second message ("salam" set English by its script alone).
  auto welcome = first("salam");
  conversation::TurnInput in;
  in.state = welcome.state;
  in.message.text = "pulis aamad";
  out = conversation::Converse(*c, in);
  ASSERT_TRUE(out.decision.urgent);
  for (const char* lang : {"en", "prs", "ps"}) EXPECT_TRUE(has(out.replies[0].text, c->Answer("urgent_protection", lang))) << lang;

  // Clear words of one language: that language only.
  out = first("khudkushi mikonam");
  ASSERT_FALSE(out.replies.empty());
  EXPECT_EQ(out.language, "prs");
  EXPECT_TRUE(has(out.replies[0].text, c->Answer("urgent_self_harm", "prs")));
  EXPECT_FALSE(has(out.replies[0].text, c->Answer("urgent_self_harm", "en")));
  EXPECT_TRUE(out.state.language_known);
  out = first("police arrested my brother right now");
  EXPECT_TRUE(has(out.replies[0].text, c->Answer("urgent_protection", "en")));
  EXPECT_FALSE(has(out.replies[0].text, c->Answer("urgent_protection", "prs")));
  // A language the person chose: theirs only, however little the message says.
  out = conversation::Converse(*c, Welcomed("prs", "pulis aamad"));
  EXPECT_TRUE(has(out.replies[0].text, c->Answer("urgent_protection", "prs")));
  EXPECT_FALSE(has(out.replies[0].text, c->Answer("urgent_protection", "en")));
}

// An operator renumbered the menu while a person had it on their screen: "7" (visa extension when
// they read it) answered voluntary return (an exploratory tester). A typed number means what the
// menu they were shown said; a number it did not have goes by the menu of now.
TEST(ConversationRulesTest, ANumberMeansWhatTheMenuThePersonSawSaidEvenAfterARenumbering) {
  auto before = Shipped();
  int visa = 0;
  for (const auto& item : before->Menu("prs"))
    if (item.intent == "visa_extension") visa = item.number;
  ASSERT_GT(visa, 0);
  conversation::TurnInput in = Welcomed("prs", "منو");
  auto shown = conversation::Converse(*before, in);
  ASSERT_FALSE(shown.state.menu_shown.empty());

  auto doc = content::LoadLocalesDirectory(std::string(RAHNAMA_SOURCE_DIR) + "/locales");
  ASSERT_TRUE(doc.ok());
  for (auto& intent : (*doc)["intents"]) {
    if (intent["id"] == "visa_extension") intent["menu"] = nullptr;
    if (intent["id"] == "return_assistance") intent["menu"] = visa;
  }
  auto after = content::Snapshot::Build(std::move(*doc), 2);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  in.state = shown.state;
  in.message.text = std::to_string(visa);
  auto out = conversation::Converse(**after, in);
  ASSERT_FALSE(out.replies.empty());
  EXPECT_EQ(out.replies[0].text, (*after)->Answer("visa_extension", "prs"));
  // Once the new menu is shown, the number means the new topic.
  in.state = conversation::Converse(**after, Welcomed("prs", "منو")).state;
  out = conversation::Converse(**after, in);
  ASSERT_FALSE(out.replies.empty());
  EXPECT_EQ(out.replies[0].text, (*after)->Answer("return_assistance", "prs"));
}

// A Dari speaker's IOM questions went on in English after they typed their case number
// "US-123456" (an exploratory tester): an answer to the bot's question never changes the language.
TEST(ConversationRulesTest, AnAnswerToTheBotsQuestionDoesNotChangeTheLanguage) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.message.text = "ما به کانادا رفتیم و پرونده امریکایی داریم";
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.state.stage, "iom_case_number");
  ASSERT_EQ(out.language, "prs");
  for (const char* answer : {"US-123456", "Toronto, Canada"}) {
    in.state = out.state;
    in.message.text = answer;
    out = conversation::Converse(*c, in);
    EXPECT_EQ(out.language, "prs") << answer;
    ASSERT_FALSE(out.replies.empty()) << answer;
  }
  EXPECT_EQ(out.replies.back().text, c->Message("iom_contact", "prs"));
}

// The IOM question an urgent report interrupted comes back after the last urgent question, on the
// IOM case; a flow left some other way in between (the menu, "stop") drops it, so it never comes
// back weeks later at the end of another report's questions.
TEST(ConversationRulesTest, AnInterruptedIomQuestionComesBackOnlyAtTheEndOfTheUrgentQuestions) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.state.language = "en";
  in.state.welcomed = true;
  in.state.stage = "iom_location";
  in.state.case_id = 7;  // the IOM case
  in.message.text = "police arrested my brother right now, please help";
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.state.stage, "intake_city");
  EXPECT_EQ(out.state.pending, "iom_location 7");

  in.state = out.state;
  in.state.case_id = 9;  // the urgent case, as the store sets it
  conversation::ActiveCase urgent;
  urgent.id = 9;
  urgent.queue = "unhcr_protection";
  in.active_case = urgent;
  for (const char* answer : {"Peshawar", "2", "yes"}) {
    in.message.text = answer;
    out = conversation::Converse(*c, in);
    in.state = out.state;
  }
  ASSERT_GE(out.replies.size(), 2u);
  EXPECT_EQ(out.replies.back().text, c->Message("iom_location", "en"));
  EXPECT_EQ(out.state.stage, "iom_location");
  EXPECT_EQ(out.state.case_id, 7);
  EXPECT_TRUE(out.state.pending.empty());

  // Left by the menu half-way: the saved question is gone by the next message.
  in.state.stage = "intake_who";
  in.state.pending = "iom_location 7";
  in.message.text = "menu";
  out = conversation::Converse(*c, in);
  ASSERT_EQ(out.state.stage, "idle");
  in.state = out.state;
  in.message.text = "thanks";
  out = conversation::Converse(*c, in);
  EXPECT_TRUE(out.state.pending.empty());
}

TEST(ConversationRulesTest, AChosenLanguageStaysUntilThePersonChoosesAnother) {
  auto c = Shipped();
  for (const char* text : {"ok thanks", "PoR کارت", "what is a PoR card"}) {
    auto out = conversation::Converse(*c, Welcomed("prs", text));
    EXPECT_EQ(out.language, "prs") << text;
    EXPECT_EQ(out.state.language, "prs") << text;
  }
  EXPECT_EQ(conversation::Converse(*c, Welcomed("prs", "English please")).language, "en");
  // Someone who chose English and writes Dari gets Dari.
  EXPECT_EQ(conversation::Converse(*c, Welcomed("en", "کارت پی او آر چیست؟")).language, "prs");
  // A wrong choice is undone by writing: Pashto written after Dari was chosen gets Pashto.
  EXPECT_EQ(conversation::Converse(*c, Welcomed("prs", "د پی او آر کارت څه شی دی؟")).language, "ps");
  // Not chosen, only detected: the language follows what the person writes.
  auto in = Welcomed("prs", "what is a PoR card");
  in.state.language_chosen = false;
  EXPECT_EQ(conversation::Converse(*c, in).language, "en");
  // A Dari speaker who writes or forwards Urdu is answered in Dari (it was taken for Pashto).
  auto urdu = Welcomed("prs", "پولیس نے میرے بھائی کو گرفتار کر لیا ہے");
  urdu.state.language_chosen = false;
  auto urdu_out = conversation::Converse(*c, urdu);
  EXPECT_EQ(urdu_out.language, "prs");
  EXPECT_TRUE(urdu_out.decision.urgent);
}

TEST(ConversationRulesTest, AQuestionAnsweredAtTheLanguagePromptMakesTheNextNumberAMenuPick) {
  auto c = Shipped();
  conversation::TurnInput in;
  in.message.text = "salam";
  auto out = conversation::Converse(*c, in);
  ASSERT_EQ(out.state.stage, "awaiting_language");
  in.state = out.state;
  in.message.text = "what is a PoR card";
  out = conversation::Converse(*c, in);
  EXPECT_EQ(out.state.stage, "idle");
  in.state = out.state;
  in.message.text = "2";
  out = conversation::Converse(*c, in);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].text, c->Answer("por_card", out.language));
}

TEST(ConversationRulesTest, DigitsInEveryScriptAreNumbers) {
  EXPECT_EQ(conversation::ParseNumber("3"), 3);
  EXPECT_EQ(conversation::ParseNumber("۳"), 3);
  EXPECT_EQ(conversation::ParseNumber("٣"), 3);
  EXPECT_EQ(conversation::ParseNumber(" ۱۰ "), 10);
  EXPECT_EQ(conversation::ParseNumber("3 cards"), -1);
  EXPECT_EQ(conversation::ParseNumber("0300 1234567"), -1);
}

}  // namespace
}  // namespace bot::testing
