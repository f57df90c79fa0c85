// Content snapshot: loading locales/, resolving placeholders, menus and validation.
#include "bot/content/content.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "bot/core/text.h"
#include "intents/normalizer.h"

namespace bot::content {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

Result<json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument(path.string() + " is not valid JSON");
  return j;
}

const json& Get(const json& j, const std::string& key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string StrOr(const json& j, const std::string& key, const std::string& fallback = "") {
  const json& v = Get(j, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

// A fact operators still have to fill in: marked so, or an operator's "[[TO FILL …]]" as its value
// or as any language's value.
bool MarkedPlaceholder(const json& fact) {
  const json& p = Get(fact, "placeholder");
  return p.is_boolean() && p.get<bool>();
}

bool HoldsNote(const json& value) {
  return value.is_string() && value.get_ref<const std::string&>().find("[[") != std::string::npos;
}

// A value still to be filled in: an operator's note ("[[ask the UNHCR office]]"), in any language.
bool HoldsPlaceholderValue(const json& v) {
  if (HoldsNote(v)) return true;
  if (v.is_object())
    for (const auto& [lang, text] : v.items())
      if (HoldsNote(text)) return true;
  return false;
}

bool IsPlaceholderFact(const json& fact) { return MarkedPlaceholder(fact) || HoldsPlaceholderValue(Get(fact, "value")); }

// Placeholders are {name} or {contact.id} / {fact.id}: letters, digits, _ and one dot. A plain
// scanner, not std::regex: libstdc++'s regex recurses per character and a long operator text
// overflowed the stack (found by the content fuzzer).
struct Placeholder {
  size_t pos = 0, len = 0;
  std::string name;
};

std::vector<Placeholder> FindPlaceholders(const std::string& text) {
  std::vector<Placeholder> out;
  auto is_start = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto is_word = [&](char c) { return is_start(c) || (c >= '0' && c <= '9'); };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{' || i + 1 >= text.size() || !is_start(text[i + 1])) continue;
    size_t j = i + 1;
    while (j < text.size() && is_word(text[j])) ++j;
    if (j < text.size() && text[j] == '.' && j + 1 < text.size() && is_word(text[j + 1])) {
      ++j;
      while (j < text.size() && is_word(text[j])) ++j;
    }
    if (j < text.size() && text[j] == '}') {
      out.push_back({i, j + 1 - i, text.substr(i + 1, j - i - 1)});
      i = j;
    }
  }
  return out;
}

const std::set<std::string> kRuntimeVars = {"partner", "sla", "menu", "date", "number", "queue", "n"};

}  // namespace

Result<json> LoadLocalesDirectory(const std::string& dir) {
  const fs::path root(dir);
  json doc = json::object();
  for (const char* name : {"intents", "sources", "facts", "lexicon", "engine", "templates"}) {
    auto j = ReadJsonFile(root / (std::string(name) + ".json"));
    if (!j.ok()) {
      if (std::string(name) == "intents") return j.status();
      doc[name] = std::string(name) == "lexicon" || std::string(name) == "engine" ? json::object() : json::array();
      continue;
    }
    const json& v = Get(*j, name);
    doc[name] = v.is_null() ? *j : v;
  }
  doc["answers"] = json::object();
  doc["messages"] = json::object();
  doc["rules"] = json::array();
  for (const auto& lang : kLanguages) {
    const fs::path ldir = root / lang;
    if (auto a = ReadJsonFile(ldir / "answers.json"); a.ok()) {
      doc["answers"][lang] = Get(*a, "answers");
    } else if (a.status().code() != StatusCode::kNotFound) {
      return a.status();
    }
    if (auto m = ReadJsonFile(ldir / "messages.json"); m.ok()) {
      json entry = *m;
      entry.erase("language");
      doc["messages"][lang] = entry;
    } else if (m.status().code() != StatusCode::kNotFound) {
      return m.status();
    }
    if (auto r = ReadJsonFile(ldir / "rules.json"); r.ok()) {
      const json& rules = Get(*r, "rules");
      if (!rules.is_array()) return Status::InvalidArgument((ldir / "rules.json").string() + ": \"rules\" must be a list");
      for (json rule : rules) {
        if (rule.is_object() && !rule.contains("language")) rule["language"] = lang;
        doc["rules"].push_back(rule);
      }
    } else if (r.status().code() != StatusCode::kNotFound) {
      return r.status();
    }
  }
  // Labelled examples (examples/*.jsonl, one {"text", "intent", "urgent"?} per line) that the
  // classifier's example model learns from.
  doc["examples"] = json::array();
  if (fs::is_directory(root / "examples")) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(root / "examples"))
      if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::ifstream in(file);
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        json e = json::parse(line, nullptr, false);
        if (!e.is_object())
          return Status::InvalidArgument(file.string() + ":" + std::to_string(number) + ": not a JSON object");
        json kept = json::object();
        for (const char* k : {"text", "intent", "urgent"})
          if (e.contains(k)) kept[k] = e[k];
        doc["examples"].push_back(std::move(kept));
      }
    }
  }
  // Shared rules (modifiers and the like) that belong to no one language.
  if (auto r = ReadJsonFile(root / "rules.json"); r.ok()) {
    for (const json& rule : Get(*r, "rules")) doc["rules"].push_back(rule);
  }
  return doc;
}

Result<std::shared_ptr<const Snapshot>> Snapshot::Build(json document, int64_t version) {
  auto classifier = intents::Classifier::Build(document);
  if (!classifier.ok()) return classifier.status();
  std::shared_ptr<Snapshot> s(new Snapshot());
  s->document_ = std::move(document);
  s->version_ = version;
  s->classifier_ = *classifier;
  const json& messages = Get(s->document_, "messages");
  if (messages.is_object()) {
    for (const auto& [lang, entry] : messages.items()) {
      for (const auto& [key, list] : entry.items()) {
        if (!list.is_array()) continue;
        for (const json& w : list) {
          if (!w.is_string()) continue;
          std::string k = intents::KeyOf(w.get<std::string>());
          if (!k.empty()) s->words_[key][lang].push_back(k);
        }
      }
    }
  }
  return std::shared_ptr<const Snapshot>(s);
}

std::string Snapshot::ResolveFacts(const std::string& text, const std::string& language) const {
  std::string out;
  const json& facts = Get(document_, "facts");
  size_t last = 0;
  for (const Placeholder& m : FindPlaceholders(text)) {
    out.append(text, last, m.pos - last);
    last = m.pos + m.len;
    const std::string& name = m.name;
    std::string replacement = text.substr(m.pos, m.len);
    auto dot = name.find('.');
    if (dot != std::string::npos && (name.substr(0, dot) == "contact" || name.substr(0, dot) == "fact")) {
      const std::string id = name.substr(dot + 1);
      if (facts.is_array()) {
        for (const json& f : facts) {
          if (StrOr(f, "id") != id) continue;
          const json& v = Get(f, "value");
          // What this reader would see: their language's value, else the English one.
          const json& shown = v.is_object() ? (Get(v, language).is_string() ? Get(v, language) : Get(v, "en")) : v;
          // Unfilled too: no value for this reader at all, or an empty one (a blank where the number
          // should be, or the literal placeholder, was shown).
          const bool missing = shown.is_null() || (shown.is_string() && shown.get_ref<const std::string&>().empty());
          if (MarkedPlaceholder(f) || missing || HoldsNote(shown)) {
            // Never show people an operator's "[[TO FILL …]]": say honestly it is not confirmed, in
            // their language, else in English, else in words no edit can remove.
            std::string unavailable = StrOr(Get(Get(Get(document_, "messages"), language), "messages"), "placeholder_contact");
            if (unavailable.empty())
              unavailable = StrOr(Get(Get(Get(document_, "messages"), "en"), "messages"), "placeholder_contact");
            replacement = unavailable.empty() ? "(not confirmed yet)" : unavailable;
            // The left-to-right isolate the text wraps a number in would lay these words out left
            // to right, brackets and colon out of order in Dari and Pashto: it goes with the number.
            static const std::string kLri = "\xE2\x81\xA6", kPdi = "\xE2\x81\xA9";
            if (out.size() >= kLri.size() && out.compare(out.size() - kLri.size(), kLri.size(), kLri) == 0 &&
                text.compare(last, kPdi.size(), kPdi) == 0) {
              out.resize(out.size() - kLri.size());
              last += kPdi.size();
            }
            break;
          }
          if (shown.is_string()) replacement = shown.get<std::string>();
          else if (shown.is_number()) replacement = shown.dump();
          break;
        }
      }
    }
    out += replacement;
  }
  out.append(text, last, std::string::npos);
  return out;
}

std::string Snapshot::Answer(const std::string& intent, const std::string& language) const {
  const json& a = Get(Get(Get(document_, "answers"), language), intent);
  std::string text = a.is_string() ? a.get<std::string>() : StrOr(a, "text");
  return text.empty() ? text : ResolveFacts(text, language);
}

std::string Snapshot::Message(const std::string& key, const std::string& language,
                              const std::map<std::string, std::string>& vars) const {
  std::string text = StrOr(Get(Get(Get(document_, "messages"), language), "messages"), key);
  if (text.empty() && language != "en") text = StrOr(Get(Get(Get(document_, "messages"), "en"), "messages"), key);
  for (const auto& [name, value] : vars) {
    const std::string pattern = "{" + name + "}";
    for (size_t pos = text.find(pattern); pos != std::string::npos; pos = text.find(pattern, pos + value.size()))
      text.replace(pos, pattern.size(), value);
  }
  return ResolveFacts(text, language);
}

std::vector<MenuItem> Snapshot::Menu(const std::string& language) const {
  std::vector<MenuItem> items;
  const json& titles = Get(Get(Get(document_, "messages"), language), "menu");
  for (const json& it : Get(document_, "intents")) {
    const json& n = Get(it, "menu");
    if (!n.is_number_integer()) continue;
    MenuItem m;
    m.number = n.get<int>();
    m.intent = StrOr(it, "id");
    const json& t = Get(titles, m.intent);
    m.title = StrOr(t, "title", m.intent);
    m.description = StrOr(t, "description");
    items.push_back(m);
  }
  std::sort(items.begin(), items.end(), [](const MenuItem& a, const MenuItem& b) { return a.number < b.number; });
  return items;
}

bool Snapshot::IsWord(const std::string& list, const std::string& language, const std::string& text) const {
  auto it = words_.find(list);
  if (it == words_.end()) return false;
  const std::string key = intents::KeyOf(text);
  if (key.empty()) return false;
  for (const auto& [lang, keys] : it->second) {
    if (!language.empty() && lang != language) continue;
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) return true;
  }
  return false;
}

std::string Snapshot::QueueOf(const std::string& intent) const {
  for (const json& it : Get(document_, "intents"))
    if (StrOr(it, "id") == intent) return StrOr(it, "queue");
  return "";
}

std::vector<std::string> Snapshot::PlaceholderFacts() const {
  std::vector<std::string> out;
  for (const json& f : Get(document_, "facts")) {
    if (IsPlaceholderFact(f)) out.push_back(StrOr(f, "id"));
  }
  return out;
}

namespace {

bool HasArabicYehOrKaf(const std::string& s) {
  // U+064A ي = D9 8A, U+0643 ك = D9 83
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) == 0xD9 &&
        (static_cast<unsigned char>(s[i + 1]) == 0x8A || static_cast<unsigned char>(s[i + 1]) == 0x83))
      return true;
  return false;
}

size_t Chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

void CheckText(const std::string& item, const std::string& lang, const std::string& text,
               const std::set<std::string>& fact_ids, size_t max_chars, std::vector<Problem>& out) {
  if (Chars(text) > max_chars)
    out.push_back({item, "is " + std::to_string(Chars(text)) + " characters; the limit is " + std::to_string(max_chars)});
  if ((lang == "prs" || lang == "ps") && HasArabicYehOrKaf(text))
    out.push_back({item, "contains an Arabic ي (U+064A) or ك (U+0643); Dari and Pashto use ی and ک"});
  for (const Placeholder& p : FindPlaceholders(text)) {
    const std::string& name = p.name;
    auto dot = name.find('.');
    if (dot == std::string::npos) {
      if (!kRuntimeVars.count(name)) out.push_back({item, "unknown placeholder {" + name + "}"});
      continue;
    }
    const std::string kind = name.substr(0, dot), id = name.substr(dot + 1);
    if ((kind != "contact" && kind != "fact") || !fact_ids.count(id))
      out.push_back({item, "unknown placeholder {" + name + "}"});
  }
}

}  // namespace

size_t NestingDepth(const json& doc) {
  // Iterative: the documents checked here come from operators' imports, and a recursive walk (or
  // dump) of one nested ten thousand levels deep overflows the stack.
  size_t deepest = 0;
  std::vector<std::pair<const json*, size_t>> todo = {{&doc, 1}};
  while (!todo.empty()) {
    auto [j, depth] = todo.back();
    todo.pop_back();
    deepest = std::max(deepest, depth);
    if (depth > kMaxNesting) return depth;
    if (j->is_structured())
      for (const auto& child : *j) todo.push_back({&child, depth + 1});
  }
  return deepest;
}

const std::vector<SafetyCanary> kSafetyCanaries = {
    {"police arrested my brother right now, please help", true},
    {"police are at our door now", true},
    {"I want to kill myself", true},
    {"پولیس همین حالا برادرم را گرفت، کمک کنید", true},
    {"میخواهم خودم را بکشم", true},
    {"پولیسو همدا اوس زما ورور ونیو، مرسته وکړئ", true},
    {"غواړم ځان ووژنم", true},
    {"polis bradar mara greft, komak konid", true},
    {"polisu zama wror os niwalay", true},
    {"hello", false},
    {"سلام", false},
    {"what is a PoR card?", false},
    {"کارت پی او آر چیست؟", false},
    {"د پی او آر کارت څه شی دی؟", false},
    // The ways out: a rule that took every message over answered these with a topic, and nobody
    // could stop the messages or reach a person.
    {"stop", false, "opt_out"},
    {"delete my data", false, "opt_out"},
    {"talk to a person", false, "human_agent"},
    {"پیام نفرستید", false, "opt_out"},
    {"می‌خواهم با یک شخص صحبت کنم", false, "human_agent"},
    {"ما ته پیغام مه لیږئ", false, "opt_out"},
    {"له یو انسان سره خبرې کول غواړم", false, "human_agent"},
};

std::vector<Problem> SafetyProblems(const Snapshot& content) {
  std::vector<Problem> out;
  for (const SafetyCanary& canary : kSafetyCanaries) {
    const intents::Decision d = content.classifier().Classify(canary.text);
    if (canary.urgent && !d.urgent)
      out.push_back({std::string("safety \"") + canary.text + "\"",
                     "must be urgent and is not (now " + d.intent + "): this change would stop threats from reaching the protection queue"});
    else if (canary.urgent && d.queue.empty())
      out.push_back({std::string("safety \"") + canary.text + "\"", "is urgent but reaches no queue (intent " + d.intent + ")"});
    else if (!canary.urgent && d.urgent)
      out.push_back({std::string("safety \"") + canary.text + "\"",
                     "must not be urgent and is: this change would raise alarms for ordinary messages"});
    else if (*canary.intent != '\0' && d.intent != canary.intent)
      out.push_back({std::string("safety \"") + canary.text + "\"",
                     std::string("must be ") + canary.intent + " and is " + d.intent +
                         ": this change would leave people unable to stop our messages or reach a person"});
  }
  return out;
}

std::vector<Problem> Validate(const json& doc, const std::string& today) {
  std::vector<Problem> out;
  if (NestingDepth(doc) > kMaxNesting) {
    out.push_back({"document", "is nested more than " + std::to_string(kMaxNesting) + " levels deep"});
    return out;  // every check below walks it
  }
  auto classifier = intents::Classifier::Build(doc);
  if (!classifier.ok()) out.push_back({"rules", classifier.status().message()});

  // One entry per id, and ids and keys that cannot collide as item keys ("answer/en/x/y" could be
  // intent "x/y" in English or intent "y" in a language "en/x"): otherwise the bot, an operator's
  // item view and a reviewer's diff could each see a different one of two copies.
  auto plain_key = [](const std::string& k) {
    if (k.empty() || k.size() > 100) return false;
    const char first = k[0];  // not "." or "..": a browser folds those path segments away
    if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || (first >= '0' && first <= '9'))) return false;
    for (char c : k)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
        return false;
    return true;
  };
  for (const auto& [arr, kind] : {std::pair{"intents", "intent"}, {"facts", "fact"}, {"sources", "source"}, {"rules", "rule"}}) {
    std::set<std::string> ids;
    for (const json& e : Get(doc, arr)) {
      const std::string id = e.is_object() ? StrOr(e, "id") : "";
      if (id.empty()) out.push_back({arr, std::string("an entry has no \"id\"")});
      else if (!plain_key(id)) out.push_back({std::string(kind) + " " + id, "an id is letters, digits, _ . - only"});
      else if (!ids.insert(id).second) out.push_back({std::string(kind) + " " + id, "appears twice; remove one"});
    }
  }
  // Fields the bot reads with a type: a wrong type is silently ignored there (an intent with
  // "urgent": "true" is not urgent, "menu": 10.0 is not in the menu), so it must not get in.
  std::set<int64_t> menu_places;
  for (const json& it : Get(doc, "intents")) {
    if (!it.is_object()) continue;
    const std::string item = "intent " + StrOr(it, "id");
    if (it.contains("urgent") && !it["urgent"].is_boolean()) out.push_back({item, "\"urgent\" is true or false"});
    if (it.contains("menu") && !it["menu"].is_null() &&
        (!it["menu"].is_number_integer() || it["menu"].get<int64_t>() < 1 || it["menu"].get<int64_t>() > 99))
      out.push_back({item, "\"menu\" is a whole number from 1 to 99 (its place in the main menu) or null"});
    else if (it.contains("menu") && it["menu"].is_number_integer() && !menu_places.insert(it["menu"].get<int64_t>()).second)
      out.push_back({item, "\"menu\" " + it["menu"].dump() + " is another intent's place too"});
    if (it.contains("queue") && !it["queue"].is_null()) {
      bool ok = it["queue"].is_string() && !it["queue"].get<std::string>().empty();
      if (ok)
        for (char c : it["queue"].get<std::string>()) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
      if (!ok) out.push_back({item, "\"queue\" is a queue id (lowercase letters, digits, _) or null"});
    }
  }
  for (const json& r : Get(doc, "rules")) {
    if (!r.is_object()) continue;
    for (const char* flag : {"always_urgent", "fuzzy"})
      if (r.contains(flag) && !r[flag].is_boolean())
        out.push_back({"rule " + StrOr(r, "id"), std::string("\"") + flag + "\" is true or false"});
  }

  for (const char* section : {"answers", "messages", "lexicon"}) {
    const json& by_lang = Get(doc, section);
    if (by_lang.is_null()) continue;
    if (!by_lang.is_object()) {
      out.push_back({section, "must be an object by language"});
      continue;
    }
    for (const auto& [lang, v] : by_lang.items()) {
      if (std::find(kLanguages.begin(), kLanguages.end(), lang) == kLanguages.end())
        out.push_back({std::string(section) + " " + lang, "is not a language of the helpline (en, prs, ps)"});
      if (std::string(section) == "messages" && !v.is_object()) out.push_back({std::string("messages ") + lang, "must be an object"});
      if (std::string(section) == "lexicon" || !v.is_object()) continue;
      if (std::string(section) == "messages")
        for (const auto& [k, list] : v.items())
          if (k.size() > 6 && k.compare(k.size() - 6, 6, "_words") == 0) {
            bool strings = list.is_array();
            if (strings)
              for (const auto& w : list) strings = strings && w.is_string();
            if (!strings) out.push_back({"words " + lang + "/" + k, "is a list of words (text)"});
          }
      for (const auto& [k, inner] : v.items()) {
        if (!plain_key(k)) out.push_back({std::string(section) + " " + lang + "/" + k, "a key is letters, digits, _ . - only"});
        if (std::string(section) == "messages" && (k == "messages" || k == "menu") && inner.is_object())
          for (const auto& [k2, unused] : inner.items())
            if (!plain_key(k2)) out.push_back({std::string("messages ") + lang + "/" + k + "/" + k2, "a key is letters, digits, _ . - only"});
      }
    }
  }

  // Direction marks, embeddings, overrides and right-to-left isolates are invisible and can make
  // a phone number or a date read backwards on the person's screen (text pasted from elsewhere
  // carries them). The left-to-right isolates (U+2066 … U+2069) the shipped text wraps numbers in
  // are the safe way and are not reported. A warning, not a block.
  auto has_direction_controls = [](const std::string& text) {
    for (size_t i = 0; i + 1 < text.size(); ++i) {
      const auto b0 = static_cast<unsigned char>(text[i]), b1 = static_cast<unsigned char>(text[i + 1]);
      if (b0 == 0xD8 && b1 == 0x9C) return true;  // U+061C arabic letter mark
      if (i + 2 >= text.size() || b0 != 0xE2) continue;
      const auto b2 = static_cast<unsigned char>(text[i + 2]);
      if (b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F)) return true;             // U+200E, U+200F
      if (b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) return true;              // U+202A–202E
      if (b1 == 0x81 && (b2 == 0xA7 || b2 == 0xA8)) return true;             // U+2067, U+2068
    }
    return false;
  };
  static const json kNoAnswers = json::object();
  for (const auto& lang : kLanguages) {
    const json& answers = Get(Get(doc, "answers"), lang);
    for (const auto& [id, a] : (answers.is_object() ? answers : kNoAnswers).items())
      if (has_direction_controls(a.dump(-1, ' ', false, json::error_handler_t::replace)))
        out.push_back({"answer " + lang + "/" + id, "contains invisible direction controls (U+200E/F, U+061C, U+202A–202E, U+2067/8): check that numbers read the right way", false});
  }
  for (const auto& lang : kLanguages)
    if (has_direction_controls(Get(Get(doc, "messages"), lang).dump(-1, ' ', false, json::error_handler_t::replace)))
      out.push_back({"messages " + lang, "contain invisible direction controls (U+200E/F, U+061C, U+202A–202E, U+2067/8): check that numbers read the right way", false});
  for (const json& t : Get(doc, "templates"))
    if (has_direction_controls(t.dump(-1, ' ', false, json::error_handler_t::replace)))
      out.push_back({"template " + StrOr(t, "name"), "contains invisible direction controls (U+200E/F, U+061C, U+202A–202E, U+2067/8)", false});
  for (const json& f : Get(doc, "facts"))
    if (has_direction_controls(f.dump(-1, ' ', false, json::error_handler_t::replace)))
      out.push_back({"fact " + StrOr(f, "id"), "contains invisible direction controls (U+200E/F, U+061C, U+202A–202E, U+2067/8): check that numbers read the right way", false});

  // WhatsApp templates: what officers may send once the 24-hour window has closed.
  std::set<std::string> template_names;
  for (const json& t : Get(doc, "templates")) {
    const std::string name = StrOr(t, "name");
    const std::string item = "template " + (name.empty() ? std::string("(no name)") : name);
    if (!t.is_object()) {
      out.push_back({"templates", "each template is an object"});
      continue;
    }
    if (!template_names.insert(name).second) out.push_back({item, "appears twice; remove one"});
    if (t.contains("approved") && !t["approved"].is_boolean()) out.push_back({item, "\"approved\" is true or false"});
    for (const char* text_field : {"purpose", "category", "note"})
      if (t.contains(text_field) && !t[text_field].is_string()) out.push_back({item, std::string("\"") + text_field + "\" is text"});
    bool name_ok = !name.empty() && name.size() <= 512;
    for (char c : name) name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!name_ok) out.push_back({item, "a template name is lowercase letters, digits and _ (as in WhatsApp Manager)"});
    const json& langs = Get(t, "languages");
    if (!langs.is_object() || langs.empty()) out.push_back({item, "needs \"languages\": {\"en\": {\"code\": \"en\", \"body\": …}, …}"});
    bool sendable = false;
    static const json kNoLanguages = json::object();
    const json& each = langs.is_object() ? langs : kNoLanguages;
    for (const auto& [lang, v] : each.items()) {
      const std::string body = StrOr(v, "body");
      if (std::find(kLanguages.begin(), kLanguages.end(), lang) == kLanguages.end() || body.empty())
        out.push_back({item + " " + lang, "each language is en, prs or ps with a \"body\""});
      if (body.find("{{") != std::string::npos)
        out.push_back({item + " " + lang, "has a {{parameter}}: rahnama sends templates without parameters"});
      if (lang != "en" && HasArabicYehOrKaf(body)) out.push_back({item + " " + lang, "contains an Arabic ي or ك"});
      const json& code = Get(v, "code");
      if (code.is_string() && !code.get<std::string>().empty()) sendable = true;
      else out.push_back({item + " " + lang, "has no WhatsApp language code yet: this language cannot be sent", false});
    }
    if (!(Get(t, "approved").is_boolean() && Get(t, "approved").get<bool>()))
      out.push_back({item, "is not marked approved: officers cannot send it until Meta approves it in WhatsApp Manager", false});
    else if (!sendable)
      out.push_back({item, "is approved but no language has a WhatsApp language code", false});
  }

  std::set<std::string> fact_ids;
  for (const json& f : Get(doc, "facts")) {
    const std::string id = StrOr(f, "id");
    fact_ids.insert(id);
    const json& v = Get(f, "value");
    if (IsPlaceholderFact(f)) {
      // Filled in but still flagged: people keep getting "not confirmed yet" until the flag goes.
      auto empty_text = [](const json& x) { return x.is_string() && x.get<std::string>().empty(); };
      bool filled = !v.is_null() && !empty_text(v) && !HoldsPlaceholderValue(v);
      if (v.is_object())
        for (const auto& [lang, text] : v.items()) filled = filled && !empty_text(text);
      out.push_back({"fact " + id,
                     MarkedPlaceholder(f) && filled
                         ? "has a value but is still marked \"placeholder\": true; once the value is confirmed, set "
                           "placeholder to false (until then people are told the number is not confirmed)"
                         : "still holds a placeholder value; fill it in before relying on it",
                     false});
    }
    const std::string until = StrOr(f, "valid_until");
    if (!until.empty() && until < today)
      out.push_back({"fact " + id, "expired on " + until + "; check it and update valid_until", false});
    if (v.is_object())
      for (const auto& lang : {"prs", "ps"})
        if (HasArabicYehOrKaf(StrOr(v, lang)))
          out.push_back({"fact " + id, std::string("contains an Arabic ي or ك in ") + lang});
    // One value for every language reaches Dari and Pashto replies as it is.
    if (v.is_string() && HasArabicYehOrKaf(v.get<std::string>()))
      out.push_back({"fact " + id, "contains an Arabic ي or ك (its one value is shown in Dari and Pashto too)"});
  }

  // Every intent's answer, and every answer a rule names instead (self-harm), in each language.
  std::vector<std::string> answer_ids;
  for (const json& it : Get(doc, "intents"))
    if (StrOr(it, "id") != "unknown") answer_ids.push_back(StrOr(it, "id"));
  for (const json& r : Get(doc, "rules"))
    if (!StrOr(r, "answer").empty() &&
        std::find(answer_ids.begin(), answer_ids.end(), StrOr(r, "answer")) == answer_ids.end())
      answer_ids.push_back(StrOr(r, "answer"));
  for (const std::string& id : answer_ids) {
    for (const auto& lang : kLanguages) {
      const json& a = Get(Get(Get(doc, "answers"), lang), id);
      const std::string text = a.is_string() ? a.get<std::string>() : StrOr(a, "text");
      const std::string item = "answer " + lang + "/" + id;
      if (text.empty()) {
        out.push_back({item, "is missing: every intent, and every answer a rule names, needs an answer in en, prs and ps"});
        continue;
      }
      if (!HasVisibleText(text)) {
        out.push_back({item, "is blank: people would get an empty reply"});
        continue;
      }
      CheckText(item, lang, text, fact_ids, 4096, out);
    }
  }
  // Messages the conversation cannot do without: blank or missing, the safety reply would lose its
  // first line, an intake question would arrive as an empty line, a fallback as nothing at all.
  static const char* const kRequiredMessages[] = {
      "welcome", "language_prompt", "safety_reply_prefix", "intake_city", "intake_who", "intake_detained",
      "intake_done", "intake_urgent_noted", "intake_skip_hint", "fallback", "fallback_offer_human", "non_text",
      "non_text_case_open", "non_text_to_person", "handoff", "case_open_waiting", "erasure_done", "opt_out_confirm",
      "opt_out_case_open", "iom_case_number", "iom_location", "iom_contact", "iom_done", "consent_question"};
  for (const auto& lang : kLanguages) {
    const json& m = Get(Get(doc, "messages"), lang);
    for (const char* key : kRequiredMessages) {
      const json& v = Get(Get(m, "messages"), key);
      if (!v.is_string())
        out.push_back({"message " + lang + "/" + key, "is missing: the conversation needs it in en, prs and ps"});
    }
    for (const auto& [key, v] : Get(m, "messages").items()) {
      if (v.is_string() && !HasVisibleText(v.get<std::string>()))
        out.push_back({"message " + lang + "/" + key, "is blank: people would get an empty message, or none where it matters"});
      if (v.is_string()) CheckText("message " + lang + "/" + key, lang, v.get<std::string>(), fact_ids, 4096, out);
    }
    for (const auto& [intent, entry] : Get(m, "menu").items()) {
      // WhatsApp shows at most 24 characters, "10. " of them the number.
      CheckText("menu " + lang + "/" + intent + " title", lang, StrOr(entry, "title"), fact_ids, 20, out);
      CheckText("menu " + lang + "/" + intent + " description", lang, StrOr(entry, "description"), fact_ids, 72, out);
    }
    // WhatsApp cuts these silently (a Pashto button label can lose its meaning): the list's header
    // and footer at 60 characters, a list button and a reply button at 20.
    const std::pair<const char*, size_t> limits[] = {
        {"menu_button", 20}, {"menu_title", 60}, {"menu_footer", 60}, {"human_button_yes", 20}, {"human_button_menu", 20}};
    for (const auto& [key, limit] : limits)
      if (Chars(StrOr(Get(m, "messages"), key)) > limit)
        out.push_back({"message " + lang + "/" + key, "is longer than " + std::to_string(limit) + " characters"});
  }
  for (const json& r : Get(doc, "rules")) {
    const std::string lang = StrOr(r, "language");
    if (lang != "prs" && lang != "ps") continue;
    for (const char* field : {"keywords", "requires", "excludes"})
      for (const json& k : Get(r, field))
        if (k.is_string() && HasArabicYehOrKaf(k.get<std::string>()))
          out.push_back({"rule " + StrOr(r, "id"),
                         "keyword \"" + k.get<std::string>() + "\" contains an Arabic ي or ك; write ی and ک (both are matched)"});
  }
  return out;
}

}  // namespace bot::content
