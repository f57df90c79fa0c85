// Issue #11: the shipped content is complete, sourced and fits WhatsApp; Dari and Pashto use
// Persian letters. Runs on locales/ exactly as the server loads it.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>

#include "bot/channels/text_limits.h"
#include "bot/content/content.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;

json Document() {
  auto doc = content::LoadLocalesDirectory(std::string(RAHNAMA_SOURCE_DIR) + "/locales");
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : json::object();
}

bool HasArabicYehOrKaf(const std::string& s) {
  return s.find("\xD9\x8A") != std::string::npos || s.find("\xD9\x83") != std::string::npos;
}

TEST(ShippedContentTest, EveryIntentHasAnAnswerInEveryLanguageWithNoUnresolvedPlaceholder) {
  auto snapshot = content::Snapshot::Build(Document(), 1);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  const std::regex leftover(R"(\{[A-Za-z_.]+\})");
  for (const auto& intent : (*snapshot)->document()["intents"]) {
    const std::string id = intent["id"];
    if (id == "unknown") continue;
    for (const auto& lang : content::kLanguages) {
      const std::string a = (*snapshot)->Answer(id, lang);
      EXPECT_FALSE(a.empty()) << lang << "/" << id << " has no answer";
      EXPECT_FALSE(std::regex_search(a, leftover)) << lang << "/" << id << " keeps a placeholder: " << a;
      EXPECT_EQ(a.find("[[TO FILL"), std::string::npos) << lang << "/" << id << " shows an operator's placeholder to people";
    }
  }
}

// The shipped Dari and Pashto wrap each number in a left-to-right isolate (U+2066 … U+2069) so it
// reads the right way round. A contact not yet confirmed shows words instead, and those words must
// not be laid out left to right (the brackets and the colon came out of order): the isolate goes
// with the number. A filled-in number keeps it.
TEST(ShippedContentTest, WordsStandingInForAnUnconfirmedNumberAreNotWrappedLeftToRight) {
  const std::string lri = "\xE2\x81\xA6", pdi = "\xE2\x81\xA9";
  auto snapshot = *content::Snapshot::Build(Document(), 0);
  for (const char* lang : {"prs", "ps"}) {
    const std::string text = snapshot->Answer("urgent_protection", lang);
    const std::string words = snapshot->Message("placeholder_contact", lang);
    ASSERT_NE(text.find(words), std::string::npos) << lang << ": the shipped content has an unconfirmed contact";
    EXPECT_EQ(text.find(lri + words), std::string::npos) << lang;
    EXPECT_EQ(text.find(words + pdi), std::string::npos) << lang;
    EXPECT_NE(text.find(lri + "0300 8585600" + pdi), std::string::npos) << lang << ": a number keeps its isolate";
  }
}

// An operator's "[[TO FILL …]]" never reaches a person: not when the language's
// placeholder_contact was deleted (it fell through to the raw note), not when the note is one
// language's value of a fact not marked as a placeholder.
TEST(ShippedContentTest, AnUnfilledContactNeverShowsTheOperatorsNote) {
  json doc = Document();
  doc["messages"]["prs"]["messages"].erase("placeholder_contact");
  for (auto& f : doc["facts"])
    if (f["id"] == "legal_aid_contact") {
      f["placeholder"] = false;
      f["value"] = {{"en", "[[TO FILL: legal aid]]"}, {"prs", "[[TO FILL: legal aid]]"}, {"ps", "[[TO FILL: legal aid]]"}};
    }
  auto snapshot = content::Snapshot::Build(doc, 0);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  for (const char* lang : {"en", "prs", "ps"}) {
    const std::string text = (*snapshot)->Answer("urgent_self_harm", lang);
    ASSERT_FALSE(text.empty()) << lang;
    EXPECT_EQ(text.find("[["), std::string::npos) << lang << ": " << text;
  }
  EXPECT_NE((*snapshot)->Answer("urgent_self_harm", "prs").find((*snapshot)->Message("placeholder_contact", "en")),
            std::string::npos) << "the English words, when Dari has none";
  const auto placeholders = (*snapshot)->PlaceholderFacts();
  EXPECT_NE(std::find(placeholders.begin(), placeholders.end(), "legal_aid_contact"), placeholders.end())
      << "the console lists it as a contact to fill in";
  // Filled in one language and not yet in another: each reader sees what is true for them. A note
  // anywhere in the value (after the number, inside direction marks) is a note.
  json partial = Document();
  for (auto& f : partial["facts"])
    if (f["id"] == "unhcr_protection_helpline") {
      f["placeholder"] = false;
      f["value"] = {{"en", "0300 0000000"}, {"prs", "0300 0000000 [[TO FILL: confirm]]"}, {"ps", "\u2066[[TO FILL]]\u2069"}};
    }
  auto filled = content::Snapshot::Build(partial, 0);
  ASSERT_TRUE(filled.ok());
  EXPECT_NE((*filled)->Answer("urgent_self_harm", "en").find("0300 0000000"), std::string::npos);
  for (const char* lang : {"prs", "ps"}) {
    const std::string text = (*filled)->Answer("urgent_self_harm", lang);
    EXPECT_EQ(text.find("[["), std::string::npos) << lang << ": " << text;
    EXPECT_NE(text.find((*filled)->Message("placeholder_contact", lang)), std::string::npos) << lang;
  }
  // No value for the reader's language and no English one, or an empty one: not a blank or the
  // literal {contact.…}.
  for (auto& f : partial["facts"])
    if (f["id"] == "unhcr_protection_helpline") f["value"] = {{"prs", "0300 0000000"}, {"ps", ""}};
  auto gaps = content::Snapshot::Build(partial, 0);
  ASSERT_TRUE(gaps.ok());
  for (const char* lang : {"en", "ps"}) {
    const std::string text = (*gaps)->Answer("urgent_self_harm", lang);
    EXPECT_EQ(text.find("{contact."), std::string::npos) << lang << ": " << text;
    EXPECT_NE(text.find((*gaps)->Message("placeholder_contact", lang)), std::string::npos) << lang;
  }
  // A plain (all-language) fact value with an Arabic ي is refused like a Dari one.
  json arabic = Document();
  arabic["facts"][0]["value"] = "دفتر يو ان";
  bool refused = false;
  for (const auto& p : content::Validate(arabic, "2026-11-24")) refused = refused || (p.blocking && p.message.find("Arabic") != std::string::npos);
  EXPECT_TRUE(refused);
}

// Texts WhatsApp would cut without a word: menu header and footer (60), list and reply buttons (20).
TEST(ShippedContentTest, AButtonOrMenuHeaderLongerThanWhatsAppShowsIsRefused) {
  for (const auto& [key, limit] : std::vector<std::pair<std::string, size_t>>{
           {"menu_title", 60}, {"menu_footer", 60}, {"menu_button", 20}, {"human_button_yes", 20}, {"human_button_menu", 20}}) {
    json doc = Document();
    auto blocking_for = [&](const json& d) {
      for (const auto& p : content::Validate(d, "2026-11-24"))
        if (p.blocking && p.item == "message ps/" + key) return true;
      return false;
    };
    EXPECT_FALSE(blocking_for(doc)) << key << ": the shipped text fits";
    std::string longer;
    for (size_t i = 0; i <= limit; ++i) longer += "ښ";
    doc["messages"]["ps"]["messages"][key] = longer;
    EXPECT_TRUE(blocking_for(doc)) << key;
  }
}

// The safety canaries hold for what we ship; otherwise no release could be published or merged.
TEST(ShippedContentTest, KeepsTheUrgencyOfEverySafetyCanary) {
  auto snapshot = content::Snapshot::Build(Document(), 0);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  for (const auto& p : content::SafetyProblems(**snapshot)) ADD_FAILURE() << p.item << ": " << p.message;
  // And the check finds something when it should: the same content without the urgent intent.
  json doc = Document();
  for (auto& it : doc["intents"])
    if (it["id"] == "urgent_protection") it["urgent"] = false;
  auto broken = content::Snapshot::Build(doc, 0);
  ASSERT_TRUE(broken.ok());
  size_t urgent_canaries = 0;
  for (const auto& c : content::kSafetyCanaries) urgent_canaries += c.urgent ? 1 : 0;
  EXPECT_EQ(content::SafetyProblems(**broken).size(), urgent_canaries);
  // Without the rules for stopping and for asking for a person, each of those canaries says so.
  json no_way_out = Document();
  json kept = json::array();
  for (const auto& r : no_way_out["rules"])
    if (r["intent"] != "opt_out" && r["intent"] != "human_agent") kept.push_back(r);
  no_way_out["rules"] = kept;
  auto trapped = content::Snapshot::Build(no_way_out, 0);
  ASSERT_TRUE(trapped.ok());
  size_t lost = 0, found = 0;
  for (const auto& c : content::kSafetyCanaries)
    lost += *c.intent != '\0' && (*trapped)->classifier().Classify(c.text).intent != c.intent;
  for (const auto& p : content::SafetyProblems(**trapped))
    for (const auto& c : content::kSafetyCanaries)
      found += *c.intent != '\0' && p.item == std::string("safety \"") + c.text + "\"";
  EXPECT_GE(lost, 3u) << "the example model alone still finds most ways out: the check needs more to find";
  EXPECT_EQ(found, lost);
}

TEST(ShippedContentTest, EveryAnswerFitsWhatsAppAndTheShortTarget) {
  json doc = Document();
  for (const auto& lang : content::kLanguages)
    for (const auto& [id, a] : doc["answers"][lang].items()) {
      const std::string text = a.is_string() ? a.get<std::string>() : a.value("text", "");
      EXPECT_LE(channels::CharCount(text), 4096u) << lang << "/" << id;
      EXPECT_LE(channels::CharCount(text), 700u) << lang << "/" << id << " is longer than a small screen";
    }
  for (const auto& lang : content::kLanguages) {
    for (const auto& [intent, m] : doc["messages"][lang]["menu"].items()) {
      EXPECT_LE(channels::CharCount(m.value("title", "")), 24u) << lang << " menu " << intent;
      EXPECT_LE(channels::CharCount(m.value("description", "")), 72u) << lang << " menu " << intent;
    }
    EXPECT_LE(channels::CharCount(doc["messages"][lang]["messages"].value("menu_button", "")), 20u);
    EXPECT_LE(channels::CharCount(doc["messages"][lang]["messages"].value("human_button_yes", "")), 20u);
  }
}

TEST(ShippedContentTest, DariAndPashtoUsePersianLettersNeverArabicYehOrKaf) {
  json doc = Document();
  for (const auto& lang : {"prs", "ps"}) {
    for (const auto& [id, a] : doc["answers"][lang].items())
      EXPECT_FALSE(HasArabicYehOrKaf(a.dump())) << lang << "/" << id;
    EXPECT_FALSE(HasArabicYehOrKaf(doc["messages"][lang].dump())) << lang << " messages";
  }
}

TEST(ShippedContentTest, PashtoIsWrittenWithPashtoLetters) {
  // Pashto and Dari differ; a Pashto text without any of ټ ډ ړ ږ ښ ګ ڼ ې ۍ is probably Dari.
  json doc = Document();
  const std::vector<std::string> pashto_letters = {"ټ", "ډ", "ړ", "ږ", "ښ", "ګ", "ڼ", "ې", "ۍ"};
  int with_pashto_letters = 0, total = 0;
  for (const auto& [id, a] : doc["answers"]["ps"].items()) {
    ++total;
    const std::string t = a.value("text", "");
    for (const auto& l : pashto_letters)
      if (t.find(l) != std::string::npos) {
        ++with_pashto_letters;
        break;
      }
  }
  EXPECT_EQ(with_pashto_letters, total);
}

// The follow-up template for closed WhatsApp windows: its Dari and Pashto are real Dari and Pashto
// in Persian letters, it says why it exists and when it was checked, and it ships unapproved (only
// an operator who saw Meta approve it may say so), which validation reports without blocking.
TEST(ShippedContentTest, TheFollowUpTemplateShipsUnapprovedInThreeLanguages) {
  json doc = Document();
  ASSERT_TRUE(doc["templates"].is_array());
  ASSERT_EQ(doc["templates"].size(), 1u);
  const json& t = doc["templates"][0];
  EXPECT_EQ(t["name"], "rahnama_case_followup");
  EXPECT_EQ(t["approved"], false);
  EXPECT_TRUE(t.contains("checked_on") && t.contains("note"));
  for (const auto& lang : content::kLanguages) ASSERT_TRUE(t["languages"].contains(lang)) << lang;
  for (const auto& lang : {"prs", "ps"}) EXPECT_FALSE(HasArabicYehOrKaf(t["languages"][lang]["body"].get<std::string>())) << lang;
  const std::string ps = t["languages"]["ps"]["body"];
  EXPECT_TRUE(ps.find("ې") != std::string::npos || ps.find("ړ") != std::string::npos) << "Pashto, not Dari";
  const std::string prs = t["languages"]["prs"]["body"];
  for (const auto& l : {"ټ", "ډ", "ړ", "ږ", "ښ", "ګ", "ڼ", "ې", "ۍ"}) EXPECT_EQ(prs.find(l), std::string::npos) << "Dari has no " << l;
  bool warned = false;
  for (const auto& p : content::Validate(doc, "2026-11-23")) {
    if (p.item.rfind("template", 0) != 0) continue;
    EXPECT_FALSE(p.blocking) << p.item << ": " << p.message;
    warned = warned || p.message.find("not marked approved") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  json bad = doc;
  bad["templates"][0]["name"] = "Follow Up";
  bad["templates"][0]["languages"]["en"]["body"] = "Hello {{1}}";
  bad["templates"][0]["approved"] = "true";
  bad["answers"]["en"]["por_card"]["text"] = "Call 0300\u202E1234567";  // reads backwards on a phone
  bad["answers"]["prs"]["por_card"]["text"] = "شماره \u200F0300-1234567";   // a right-to-left mark
  int direction_warnings = 0;
  for (const auto& p : content::Validate(bad, "2026-11-23"))
    direction_warnings += (p.item == "answer en/por_card" || p.item == "answer prs/por_card") && !p.blocking &&
                          p.message.find("direction") != std::string::npos;
  EXPECT_EQ(direction_warnings, 2);
  int shipped_direction_warnings = 0;
  for (const auto& p : content::Validate(doc, "2026-11-23")) shipped_direction_warnings += p.message.find("direction") != std::string::npos;
  EXPECT_EQ(shipped_direction_warnings, 0) << "the isolates around numbers in the shipped text are the safe way";
  bad["templates"].push_back(bad["templates"][0]);
  int blocking = 0;
  for (const auto& p : content::Validate(bad, "2026-11-23")) blocking += p.blocking && p.item.rfind("template", 0) == 0;
  EXPECT_EQ(blocking, 7) << "per copy: a name WhatsApp Manager would not take, a parameter we never fill, \"approved\" "
                            "not a boolean; and the second copy of the name";
}

TEST(ShippedContentTest, EveryFactAndAnswerNamesItsSourceAndWhenItWasChecked) {
  json doc = Document();
  std::set<std::string> sources;
  for (const auto& s : doc["sources"]) sources.insert(s["id"].get<std::string>());
  for (const auto& f : doc["facts"]) {
    const std::string id = f["id"];
    EXPECT_TRUE(f.contains("checked_on") && f["checked_on"].is_string()) << id;
    const bool placeholder = f.value("placeholder", false);
    if (!placeholder) {
      EXPECT_TRUE(f["source"].is_string() && sources.count(f["source"].get<std::string>())) << id;
    }
  }
  for (const auto& lang : content::kLanguages)
    for (const auto& [id, a] : doc["answers"][lang].items()) {
      EXPECT_TRUE(a.contains("checked_on")) << lang << "/" << id;
      for (const auto& s : a.value("sources", json::array())) EXPECT_TRUE(sources.count(s.get<std::string>())) << lang << "/" << id << " cites " << s;
    }
}

TEST(ShippedContentTest, NoPhoneNumberIsInventedPlaceholdersAreMarked) {
  // Any contact value that is not a marked placeholder must come from a named source.
  json doc = Document();
  for (const auto& f : doc["facts"]) {
    if (f.value("kind", "") != "contact") continue;
    const std::string v = f["value"].is_string() ? f["value"].get<std::string>() : f["value"].dump();
    if (f.value("placeholder", false)) {
      EXPECT_EQ(v.rfind("[[TO FILL", 0), 0u) << f["id"];
    } else {
      EXPECT_FALSE(f["source"].is_null()) << f["id"];
    }
  }
}

// Self-harm gets its own answer (not the urgent one, which opens with what to do if police
// question you); a rule naming an answer that some language lacks is refused.
TEST(ShippedContentTest, SelfHarmHasItsOwnAnswerInEveryLanguageAndARuleCannotNameAMissingOne) {
  json doc = Document();
  for (const auto& lang : content::kLanguages) {
    const std::string text = doc["answers"][lang]["urgent_self_harm"].value("text", "");
    EXPECT_FALSE(text.empty()) << lang;
    EXPECT_EQ(text.find("police"), std::string::npos) << lang;
  }
  auto snapshot = *content::Snapshot::Build(doc, 1);
  for (const char* t : {"I want to kill myself", "می‌خواهم خودم را بکشم", "غواړم ځان ووژنم"}) {
    auto d = snapshot->classifier().Classify(t);
    EXPECT_TRUE(d.urgent) << t;
    EXPECT_EQ(d.answer, "urgent_self_harm") << t;
  }
  // Whatever else the message says, self-harm words get the self-harm answer; it also carries the
  // protection helpline and legal aid, for a raid or an arrest told with it.
  for (const char* t : {"khudkushi mekonam", "emshab khoda mikoshom", "khodma mikosham", "I want to end my life", "I will kill myself", "خودم را میکشم",
                        "please help me, I want to kill myself", "SOS I want to die", "khudkushi mekonam, komak konid zood",
                        "police raided our house at night, my brother had to jump from the roof and broke his leg"})
    EXPECT_EQ(snapshot->classifier().Classify(t).answer, "urgent_self_harm") << t;
  for (const auto& lang : content::kLanguages) {
    const std::string text = doc["answers"][lang]["urgent_self_harm"].value("text", "");
    EXPECT_NE(text.find("{contact.unhcr_protection_helpline}"), std::string::npos) << lang;
    EXPECT_NE(text.find("{contact.legal_aid_contact}"), std::string::npos) << lang;
  }
  for (const char* t : {"police arrested my brother right now", "they will kill me tonight"}) {
    auto d = snapshot->classifier().Classify(t);
    EXPECT_TRUE(d.urgent) << t;
    EXPECT_EQ(d.answer, "") << t;
  }
  doc["answers"]["ps"].erase("urgent_self_harm");
  bool refused = false;
  for (const auto& p : content::Validate(doc, "2026-11-23"))
    refused = refused || (p.blocking && p.item == "answer ps/urgent_self_harm");
  EXPECT_TRUE(refused);
}

TEST(ShippedContentTest, ValidationFindsNoBlockingProblem) {
  json doc = Document();
  for (const auto& p : content::Validate(doc, "2026-11-23"))
    EXPECT_FALSE(p.blocking) << p.item << ": " << p.message;
}

TEST(ShippedContentTest, EveryMessageKeyExistsInEveryLanguage) {
  json doc = Document();
  for (const auto& [key, v] : doc["messages"]["en"]["messages"].items())
    for (const auto& lang : {"prs", "ps"})
      EXPECT_TRUE(doc["messages"][lang]["messages"].contains(key)) << lang << " lacks " << key;
}

}  // namespace
}  // namespace bot::testing
