// libFuzzer target: operators' content files and edits (semi-trusted, must never crash the
// server), through the library calls bot/server/content_api.cc makes. The first byte picks the
// path, the rest is the file or request body:
//   'c' POST /content/import?format=csv  ImportCsv(shipped, csv), then Validate, Snapshot::Build,
//                                        and re-importing our own ExportCsv must give it back
//   'i' PUT /content/items/<key>         "<key>\n<JSON value>": SetItem on the shipped document,
//                                        GetItem, Validate, Snapshot::Build
//   'd' POST /content/import (JSON)      a whole document: Validate, Flatten, ExportCsv,
//                                        Snapshot::Build and the snapshot's lookups
// Any other first byte picks one of the three by its value. Seeds are generated from the shipped
// locales/ into $RAHNAMA_FUZZ_SEED_DIR by LLVMFuzzerInitialize (run.sh sets it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bot/content/content.h"
#include "bot/content/editor.h"
#include "bot/core/status.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using json = nlohmann::json;
namespace content = bot::content;
using bot::Result;
using bot::Status;

json* g_shipped = nullptr;  // Trimmed(locales/): the base every edit applies to
const char* const kToday = "2025-06-01";

// A library call of one server step. An exception escaping it is a finding (STYLE.md §C.17:
// exceptions do not cross module boundaries) and aborts, unless RAHNAMA_FUZZ_CATCH=1 is set:
// then each distinct exception is printed once and fuzzing goes on to look for other bugs.
template <typename F>
bool Step(const char* where, F&& f) {
  static const bool catch_all = std::getenv("RAHNAMA_FUZZ_CATCH") != nullptr;
  if (!catch_all) {
    f();
    return true;
  }
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    static std::set<std::string> seen;
    const std::string what = std::string(where) + ": " + e.what();
    if (seen.insert(what).second) std::fprintf(stderr, "RAHNAMA_FUZZ_THROW %s\n", what.c_str());
    return false;
  }
}

// The snapshot's lookups the conversation makes at run time.
void UseSnapshot(const content::Snapshot& s) {
  const json& doc = s.document();
  for (const auto& lang : content::kLanguages) {
    (void)s.Menu(lang);
    (void)s.Message("welcome", lang, {{"partner", "UNHCR"}, {"sla", "2"}, {"menu", "1. x"}});
    (void)s.IsWord("menu_words", lang, "menu");
    (void)s.ResolveFacts("{fact.unhcr_kp_helpline} {contact.x} {", lang);
    if (doc.is_object() && doc.contains("intents") && doc["intents"].is_array()) {
      for (const auto& i : doc["intents"]) {
        if (!i.is_object() || !i.contains("id") || !i["id"].is_string()) continue;
        const std::string id = i["id"].get<std::string>();
        (void)s.Answer(id, lang);
        (void)s.QueueOf(id);
      }
    }
  }
  (void)s.PlaceholderFacts();
  (void)s.classifier().Classify("salam, my POR card expired in Peshawar");
}

void CheckDocument(const json& doc, bool build) {
  Step("Validate", [&] {
    for (const auto& p : content::Validate(doc, kToday)) FUZZ_CHECK(!p.message.empty(), "a problem without a message");
  });
  Step("Flatten", [&] { (void)content::Flatten(doc); });
  Step("ExportCsv", [&] { (void)content::ExportCsv(doc); });
  if (!build) return;
  Step("Snapshot::Build", [&] {
    auto snapshot = content::Snapshot::Build(doc, 2);
    if (snapshot.ok()) UseSnapshot(**snapshot);
  });
}

// ContentService::SaveDraft: what the server stores (and refuses) as the draft.
bool SaveDraft(const json& doc) {
  if (!doc.is_object() || !doc.contains("intents")) return false;
  return Step("SaveDraft dump", [&] { (void)doc.dump(); });
}

void FuzzCsv(const std::string& csv) {
  Result<json> imported = Status::InvalidArgument("");
  if (!Step("ImportCsv", [&] { imported = content::ImportCsv(*g_shipped, csv); }) || !imported.ok()) return;
  if (!SaveDraft(*imported)) return;
  CheckDocument(*imported, /*build=*/true);
  // Export then import is byte-for-byte (the console's download/upload round trip).
  Step("CSV round trip", [&] {
    const std::string exported = content::ExportCsv(*imported);
    auto again = content::ImportCsv(*imported, exported);
    FUZZ_CHECK(again.ok(), "importing our own CSV export failed");
    FUZZ_CHECK(content::ExportCsv(*again) == exported, "CSV export/import is not a round trip");
  });
}

void FuzzItem(std::string_view in) {
  const size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return;
  const std::string key(in.substr(0, nl));
  // The route is /api/v1/content/items/(.+) and the body {"value": …}, never null (DELETE is).
  json value = json::parse(in.substr(nl + 1), nullptr, false);
  if (value.is_discarded() || value.is_null()) return;
  json updated = *g_shipped;
  Status st;
  if (!Step("SetItem", [&] { st = content::SetItem(updated, key, value); }) || !st.ok()) return;
  Step("GetItem", [&] { (void)content::GetItem(updated, key); });
  if (!SaveDraft(updated)) return;
  CheckDocument(updated, /*build=*/true);
  // DELETE of the same item from the edited draft.
  json removed = updated;
  Step("SetItem delete", [&] { st = content::SetItem(removed, key, nullptr); });
  if (st.ok() && SaveDraft(removed)) CheckDocument(removed, /*build=*/false);
}

void FuzzDocument(std::string_view in) {
  json doc = json::parse(in, nullptr, false);
  if (doc.is_discarded() || !SaveDraft(doc)) return;
  CheckDocument(doc, /*build=*/true);
  // Operators then edit the imported draft item by item, and upgrades merge into it.
  json edited = doc;
  Step("SetItem on draft", [&] {
    (void)content::SetItem(edited, "answer/prs/por_card", json{{"text", "x"}});
    (void)content::SetItem(edited, "menu/en/por_card", json{{"title", "x"}});
    (void)content::SetItem(edited, "intent/por_card", nullptr);
  });
  Step("MergeShippedUpgrade", [&] { (void)content::MergeShippedUpgrade(*g_shipped, *g_shipped, edited); });
  Step("MergeShippedUpgrade new", [&] { (void)content::MergeShippedUpgrade(*g_shipped, doc, *g_shipped); });
}

void WriteSeeds(const json& shipped) {
  if (bot::fuzz::SeedDir() == nullptr) return;
  // CSV: the header and a handful of rows of our own export, several seeds.
  const std::string csv = content::ExportCsv(shipped);
  const size_t header_end = csv.find('\n') + 1;
  size_t pos = header_end;
  for (int seed = 0; seed < 12 && pos < csv.size(); ++seed) {
    size_t end = pos;
    for (int rows = 0; rows < 4 && end < csv.size(); ++rows) {
      const size_t next = csv.find('\n', end);
      end = next == std::string::npos ? csv.size() : next + 1;
    }
    bot::fuzz::WriteSeed("csv-" + std::to_string(seed), "c" + csv.substr(0, header_end) + csv.substr(pos, end - pos));
    pos = end;
  }
  // Items: a few of every kind, as the console would PUT them.
  std::map<std::string, int> per_kind;
  for (const auto& [key, value] : content::Flatten(shipped)) {
    const std::string kind = key.substr(0, key.find('/'));
    if (per_kind[kind]++ >= 3) continue;
    bot::fuzz::WriteSeed("item-" + kind + "-" + std::to_string(per_kind[kind]), "i" + key + "\n" + value.dump());
  }
  // Documents: the shipped one cut down to a few intents, rules and texts.
  json small = json::object();
  small["engine"] = shipped.value("engine", json::object());
  small["intents"] = json::array();
  small["rules"] = json::array();
  small["answers"] = json::object();
  small["facts"] = json::array();
  const auto& intents = shipped["intents"];
  for (size_t i = 0; i < intents.size() && i < 3; ++i) small["intents"].push_back(intents[i]);
  for (const auto& r : shipped["rules"])
    if (small["rules"].size() < 4 && r.is_object() && r.value("intent", "") == small["intents"][0].value("id", ""))
      small["rules"].push_back(r);
  for (const auto& lang : content::kLanguages) {
    const json& a = shipped["answers"][lang];
    for (const auto& i : small["intents"])
      if (a.contains(i.value("id", ""))) small["answers"][lang][i.value("id", "")] = a[i.value("id", "")];
  }
  if (shipped["facts"].is_array() && !shipped["facts"].empty()) small["facts"].push_back(shipped["facts"][0]);
  bot::fuzz::WriteSeed("doc-small", "d" + small.dump());
  bot::fuzz::WriteSeed("doc-empty", "d{}");
  bot::fuzz::WriteSeed("doc-odd", "d{\"intents\":[1,{\"id\":2}],\"answers\":{\"en\":5},\"messages\":[]}");
}

// The shipped document with a few rules, lexicon entries and texts per language: Validate and Build
// compile the classifier, ~100 ms (release) on the full rule set and several times that under
// ASan, which would leave the fuzzer a few inputs a second. Everything else is kept whole.
json Trimmed(const json& shipped) {
  json doc = shipped;
  json rules = json::array();
  std::map<std::string, int> per_language;
  for (const auto& r : shipped["rules"])
    if (per_language[r.is_object() ? r.value("language", "") : ""]++ < 3) rules.push_back(r);
  doc["rules"] = rules;
  auto first = [](json& object, size_t n) {
    if (!object.is_object()) return;
    json kept = json::object();
    for (const auto& [k, v] : object.items())
      if (kept.size() < n) kept[k] = v;
    object = kept;
  };
  for (auto& [lang, words] : doc["lexicon"].items()) first(words, 20);
  // Fewer texts too: ImportCsv costs rows x document (each row re-flattens it).
  for (auto& [lang, answers] : doc["answers"].items()) first(answers, 6);
  for (auto& [lang, m] : doc["messages"].items()) {
    if (!m.is_object()) continue;
    if (m.contains("messages")) first(m["messages"], 8);
    if (m.contains("menu")) first(m["menu"], 4);
  }
  return doc;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto doc = content::LoadLocalesDirectory(RAHNAMA_SOURCE_DIR "/locales");
  FUZZ_CHECK(doc.ok(), "cannot load " RAHNAMA_SOURCE_DIR "/locales");
  g_shipped = new json(Trimmed(*doc));
  FUZZ_CHECK(content::Snapshot::Build(*g_shipped, 1).ok(), "the trimmed shipped document does not build");
  WriteSeeds(*g_shipped);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const char mode = data[0] == 'c' || data[0] == 'i' || data[0] == 'd' ? static_cast<char>(data[0])
                                                                        : "cid"[data[0] % 3];
  switch (mode) {
    case 'c': FuzzCsv(std::string(in)); break;
    case 'i': FuzzItem(in); break;
    default: FuzzDocument(in); break;
  }
  return 0;
}
