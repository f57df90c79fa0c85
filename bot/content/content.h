// The helpline's content as one immutable snapshot: answers, conversation messages, menus, facts
// and the compiled intent engine. Built from locales/ (shipped) or from a published version in
// the database; swapped atomically on publish, so in-flight messages finish on the old one.
#ifndef BOT_CONTENT_CONTENT_H_
#define BOT_CONTENT_CONTENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/core/status.h"
#include "intents/classifier.h"

namespace bot::content {

inline const std::vector<std::string> kLanguages = {"en", "prs", "ps"};

// Reads locales/ into one content document (see locales/README.md).
Result<nlohmann::json> LoadLocalesDirectory(const std::string& dir);

struct MenuItem {
  int number = 0;
  std::string intent;
  std::string title;
  std::string description;
};

struct Problem {
  std::string item;     // "answer prs/por_card", "rule prs.deportation", "fact unhcr_kp_helpline"
  std::string message;
  bool blocking = true;  // false: a warning the console shows but publish allows
};

class Snapshot {
 public:
  // Compiles a content document. Fails with the first problem that makes it unusable (invalid
  // rules, missing intents list); softer problems are reported by Validate().
  static Result<std::shared_ptr<const Snapshot>> Build(nlohmann::json document, int64_t version);

  int64_t version() const { return version_; }
  const nlohmann::json& document() const { return document_; }
  const intents::Classifier& classifier() const { return *classifier_; }

  // The answer for an intent in a language, placeholders resolved; "" when there is none.
  std::string Answer(const std::string& intent, const std::string& language) const;
  // A conversation message with {contact.X}/{fact.X} and `vars` ({partner}, {sla}, {menu}) filled.
  std::string Message(const std::string& key, const std::string& language,
                      const std::map<std::string, std::string>& vars = {}) const;
  std::vector<MenuItem> Menu(const std::string& language) const;
  // Whether normalised `text` is one of the words in list `list` ("menu_words", "yes_words", …)
  // of `language`, or of any language when `language` is empty.
  bool IsWord(const std::string& list, const std::string& language, const std::string& text) const;
  // Intent metadata.
  std::string QueueOf(const std::string& intent) const;
  // Facts whose value is still a placeholder (operators must fill them).
  std::vector<std::string> PlaceholderFacts() const;
  // Replaces {contact.X} and {fact.X}; unknown ones are left as written.
  std::string ResolveFacts(const std::string& text, const std::string& language) const;

 private:
  Snapshot() = default;
  nlohmann::json document_;
  int64_t version_ = 0;
  std::shared_ptr<const intents::Classifier> classifier_;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> words_;  // list → lang → keys
};

// Content documents nest a few levels (answers → language → intent → text); anything deeper than
// this is refused, since reviewing, dumping and comparing it walks it recursively.
inline constexpr size_t kMaxNesting = 32;
// How deep `doc` nests (a scalar is 1), without recursion; it stops at the first level beyond
// kMaxNesting and returns that (kMaxNesting + 1), so compare the result only with kMaxNesting.
size_t NestingDepth(const nlohmann::json& doc);

// Every problem with a document, for publish and for the console: missing answers or
// translations, WhatsApp limits, unknown placeholders, placeholder contacts, expired facts, Arabic
// ي/ك in Dari/Pashto, rules that do not compile. `today` is an ISO date (YYYY-MM-DD).
std::vector<Problem> Validate(const nlohmann::json& document, const std::string& today);

// Messages whose urgency no content may change, in each way people write: a threat or self-harm
// must stay urgent and reach a queue; a greeting or a plain card question must not raise an alarm;
// "stop" and "talk to a person" must stay the ways out.
// Fixed here, not in the content, so that no edit (a rule deleted, "urgent" taken off an intent, a
// threshold set to 1000 or -1) can publish an engine that misses them.
struct SafetyCanary {
  const char* text;
  bool urgent;
  // The intent it must have, where it is a person's way out (stop, a person): "" = any.
  const char* intent = "";
};
extern const std::vector<SafetyCanary> kSafetyCanaries;

// The canaries `content` decides wrongly, as blocking problems ("safety <text>").
std::vector<Problem> SafetyProblems(const Snapshot& content);

}  // namespace bot::content

#endif  // BOT_CONTENT_CONTENT_H_
