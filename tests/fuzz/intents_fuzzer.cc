// libFuzzer target: message text from anyone on WhatsApp/Messenger through the intent engine, as
// the server handles it (ingest's urgent hint, then the conversation): Normalize, the classifier
// built once from the shipped locales/, DetectLanguage, ToJson of the explanation, and
// ExtractEntities. Seeds: the texts of the labelled sets (locales/examples, tests/data), written by LLVMFuzzerInitialize into
// $RAHNAMA_FUZZ_SEED_DIR (run.sh points it at the temporary corpus).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bot/content/content.h"
#include "intents/classifier.h"
#include "intents/entities.h"
#include "intents/normalizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

std::shared_ptr<const bot::content::Snapshot> g_snapshot;

void WriteTextSeeds() {
  if (bot::fuzz::SeedDir() == nullptr) return;
  int n = 0;
  for (const char* set : {"locales/examples/eval", "locales/examples/extra", "tests/data/heldout"}) {
    std::ifstream in(std::string(RAHNAMA_SOURCE_DIR) + "/" + set + ".jsonl");
    std::string line;
    int i = 0;
    while (std::getline(in, line)) {
      if (i++ % 4 != 0) continue;  // a quarter is plenty as seeds: ~300 texts, every intent
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("text") && j["text"].is_string())
        bot::fuzz::WriteSeed("text-" + std::to_string(n++), j["text"].get<std::string>());
    }
  }
}

void CheckNormalized(std::string_view text) {
  using bot::fuzz::ValidUtf8;
  auto n = bot::intents::Normalize(text);
  if (!n.ok()) {
    FUZZ_CHECK(!ValidUtf8(text), "Normalize refused valid UTF-8");
    return;
  }
  FUZZ_CHECK(ValidUtf8(text), "Normalize accepted ill-formed UTF-8");
  FUZZ_CHECK(ValidUtf8(n->clean) && ValidUtf8(n->key), "Normalize produced ill-formed UTF-8");
  FUZZ_CHECK(n->latin_letters >= 0 && n->arabic_letters >= 0, "negative letter counts");
  for (const auto& t : n->tokens) {
    FUZZ_CHECK(ValidUtf8(t.clean) && ValidUtf8(t.key), "token is ill-formed UTF-8");
    // Tokens are re-normalised as keywords (KeyOf) and looked up by edit distance.
    (void)bot::intents::EditDistance(bot::intents::ToU32(t.key), bot::intents::ToU32(n->key.substr(0, 64)), 2);
    if (t.latin) (void)bot::intents::LatinSkeleton(t.key);
  }
  (void)bot::intents::KeyOf(text.substr(0, 256));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto doc = bot::content::LoadLocalesDirectory(RAHNAMA_SOURCE_DIR "/locales");
  FUZZ_CHECK(doc.ok(), "cannot load " RAHNAMA_SOURCE_DIR "/locales");
  auto snapshot = bot::content::Snapshot::Build(std::move(*doc), 1);
  FUZZ_CHECK(snapshot.ok(), "the shipped locales/ do not build");
  g_snapshot = *snapshot;
  WriteTextSeeds();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using bot::fuzz::ValidUtf8;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckNormalized(text);

  const bot::intents::Classifier& c = g_snapshot->classifier();
  bot::intents::Explanation explain;
  const bot::intents::Decision d = c.Classify(text, &explain);
  const bot::intents::Decision again = c.Classify(text);
  FUZZ_CHECK(d.intent == again.intent && d.urgent == again.urgent && d.language == again.language &&
                 d.queue == again.queue,
             "Classify is not deterministic (or explain changes the decision)");
  static const std::set<std::string> kLanguages = {"", "en", "prs", "ps"};
  FUZZ_CHECK(kLanguages.count(d.language) == 1, "unknown language in a decision");
  FUZZ_CHECK(std::isfinite(d.score), "non-finite score");
  FUZZ_CHECK(!d.intent.empty(), "empty intent");
  const std::string lang = c.DetectLanguage(text);
  FUZZ_CHECK(kLanguages.count(lang) == 1, "unknown language from DetectLanguage");
  if (ValidUtf8(text)) {
    // The CLI's classify --explain and the console dump these; dump() throws on bad UTF-8.
    (void)bot::intents::ToJson(d).dump();
    (void)bot::intents::ToJson(explain).dump();
    // What the conversation does next: the answer for the intent, the menu word lists.
    (void)g_snapshot->Answer(d.intent, d.language.empty() ? "en" : d.language);
    (void)g_snapshot->QueueOf(d.intent);
    (void)g_snapshot->IsWord("menu_words", d.language, std::string(text));
  }

  const bot::intents::Entities e = bot::intents::ExtractEntities(text);
  if (ValidUtf8(text)) {
    for (const auto* list : {&e.cities, &e.phones, &e.case_numbers, &e.dates})
      for (const auto& s : *list) FUZZ_CHECK(ValidUtf8(s) && !s.empty(), "entity is empty or ill-formed UTF-8");
    nlohmann::json j = {{"cities", e.cities}, {"phones", e.phones}, {"case_numbers", e.case_numbers},
                        {"dates", e.dates}};
    (void)j.dump();  // stored as the case's entities JSON
  }
  return 0;
}
