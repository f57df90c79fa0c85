// The intent engine: rules as data (locales/*/rules.json, lexicon.json, engine.json) compiled into
// indexes once, then one call per message deciding language, intent, urgency and queue.
#ifndef INTENTS_CLASSIFIER_H_
#define INTENTS_CLASSIFIER_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/core/status.h"
#include "intents/normalizer.h"

namespace bot::intents {

struct Decision {
  std::string intent = "unknown";
  std::string language;  // "en", "prs", "ps", or "" when the text carries no confident signal
  // The language rests on the person's own words (function words of one language, well ahead of
  // the others), not on a greeting or a topic word alone ("salam kumak", "help"): a first reply
  // that must be understood goes in every language unless this is true.
  bool language_certain = false;
  bool urgent = false;
  std::string queue;     // "unhcr_protection", "iom", "info_desk", or "" for none
  double score = 0;
  // Urgent only because the example model said so (the rules did not): officers are told.
  bool urgent_from_model = false;
  // The answer to give instead of the intent's, named by the rule that decided (self-harm gets
  // its own words within urgent_protection); "" for the intent's answer.
  std::string answer;
  // Another intent won, but the message also asks for a person ("can I talk to someone about my
  // US embassy letter?"): the conversation answers and hands the person over as well.
  bool asks_for_person = false;
  // Another intent won, but words asking to stop fired too ("I said stop, no more deportation
  // news"): someone who opted out is not brought back by it.
  bool asks_to_stop = false;
};

struct RuleHit {
  std::string rule_id;
  std::string intent;
  std::string language;
  std::string matched;  // the keyword or pattern that fired
  double score = 0;
};

struct Explanation {
  NormalizedText normalized;
  std::map<std::string, double> language_scores;
  std::map<std::string, double> intent_scores;
  std::vector<RuleHit> hits;
  std::vector<std::string> notes;  // why urgency was or was not raised, and similar
  // The example model's opinion, when it was asked (the rules did not find the message urgent):
  // probability of urgency, and where no rule named an intent its best guess.
  double model_urgency = -1;
  bool rules_judged_not_urgent = false;  // urgent words, but a hypothetical or long past
  std::string model_intent;
  double model_intent_probability = 0;
  bool model_intent_usable = false;  // most words known and an intent it may pick
};

nlohmann::json ToJson(const Decision& d);
nlohmann::json ToJson(const Explanation& e);

class Classifier {
 public:
  // Compiles the rules of a content document (see locales/README.md: "intents", "rules",
  // "lexicon", "engine"). Returns kInvalidArgument naming the rule and the problem when a rule
  // is malformed, names an unknown intent, has a pattern RE2 will not compile, or can never match.
  static Result<std::shared_ptr<const Classifier>> Build(const nlohmann::json& content);

  // Decides one message. Never fails: text that is not valid UTF-8 is "unknown" with no language.
  // Thread-safe (const).
  Decision Classify(std::string_view text, Explanation* explain = nullptr) const;

  // Threads that classify in bulk (the server's ingest writer, the processor's lanes,
  // `classify --jsonl`) keep up to kBulkWordCacheLimit words' typo resolutions instead of the
  // default 2,048: a burst's vocabulary then stays cached (past the limit the cache starts over).
  // A cached word costs ~250 bytes (its variants, example-model features and language evidence),
  // plus up to four cached pairs of adjacent words at 32-64 bytes each, so other threads (the
  // operators' classification preview) keep the default.
  static constexpr size_t kDefaultWordCacheLimit = 2048;
  static constexpr size_t kBulkWordCacheLimit = 8192;
  static void SetWordCacheLimitForThisThread(size_t words);

  // Only the language signal of `text` (same rules as Classify); "" when not confident.
  std::string DetectLanguage(std::string_view text) const;

  ~Classifier();

 private:
  struct Impl;
  explicit Classifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bot::intents

#endif  // INTENTS_CLASSIFIER_H_
