// Rule engine. Matching order per message token: exact key, light affix stripping, romanization
// skeleton (Latin), then edit distance through a deletion index (SymSpell), so a typo costs a few
// hash lookups rather than a scan of the vocabulary. Keywords of several words also match when
// the person ran them together or split them ("پی او آر" = "پیاوار").
#include "intents/classifier.h"

#include <re2/re2.h>
#include <re2/set.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace bot::intents {
namespace {

using json = nlohmann::json;

const std::set<std::string> kLanguages = {"en", "prs", "ps"};
// Pseudo-intents that never answer a message; they qualify urgency.
const std::set<std::string> kModifiers = {"_hypothetical", "_past", "_immediacy"};

constexpr double kQualityExact = 1.0;
constexpr double kQualityConcat = 0.95;
constexpr double kQualityStem = 0.9;
constexpr double kQualitySkeleton = 0.85;
constexpr double kQualityFuzzy = 0.8;

bool HasPashtoLetter(std::u32string_view w) {
  for (char32_t c : w) {
    switch (c) {
      case 0x067C: case 0x0689: case 0x0693: case 0x0696: case 0x069A: case 0x06BC:
      case 0x0681: case 0x0685: case 0x06AB: case 0x06D0: case 0x06CD:
        return true;
      default: break;
    }
  }
  return false;
}

std::string FromU32(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// Dari and Pashto affixes in key form (after folding), longest first.
const std::vector<std::u32string> kSuffixes = {
    U"هایشان", U"هایتان", U"هایم", U"هاییش", U"های", U"ها", U"ونه", U"انو", U"ان", U"ام", U"ات", U"اش",
    U"تان", U"شان", U"مان", U"یم", U"ید", U"ند", U"ه", U"ی", U"و", U"ش", U"م"};
const std::vector<std::u32string> kPrefixes = {U"نمی", U"می", U"ب", U"و", U"ن"};
const std::vector<std::string> kLatinSuffixes = {"ing", "ed", "es", "s", "am", "an", "ad", "i", "e"};

struct Keyword {
  std::vector<std::string> tokens;  // key form
  std::string text;                 // as the operator wrote it
};

enum class TermKind { kKeyword, kRequire, kExclude };

struct CompiledRule {
  std::string id, intent, language;
  double weight = 1.0;
  bool always_urgent = false;
  bool fuzzy = true;  // false: keywords match only as written (no typos, affixes or skeletons)
  std::vector<Keyword> keywords, requires_, excludes;
  std::vector<std::unique_ptr<RE2>> patterns;
  std::vector<std::string> pattern_texts;
};

struct TermRef {
  size_t rule;
  TermKind kind;
  size_t index;
};

struct Settings {
  double min_score = 0.5;
  double urgent_min_score = 0.5;
  std::string suppressed_urgent_intent = "deportation_info";
  double lid_min_score = 2;
  double lid_min_margin = 1;
};

// Per message: for each token, the vocabulary words it can stand for, with a quality.
using Resolved = std::vector<std::vector<std::pair<std::string, double>>>;

}  // namespace

struct Classifier::Impl {
  std::vector<CompiledRule> rules;
  std::unordered_map<std::string, std::vector<TermRef>> by_first_token;
  std::unordered_map<std::string, std::vector<TermRef>> by_concat;  // tokens joined, no spaces
  std::unordered_set<std::string> vocabulary;
  std::unordered_map<std::string, std::vector<std::string>> deletions;  // variant → vocab words
  std::unordered_map<std::string, std::vector<std::string>> skeletons;  // Latin skeleton → words
  std::map<std::string, std::pair<bool, std::string>> intents;         // id → (urgent, queue)
  std::map<std::string, std::unordered_map<std::string, double>> lexicon;  // lang → key → weight
  std::map<std::string, std::unordered_map<std::string, std::string>> lexicon_clean;
  Settings settings;
  // All patterns in one automaton: one scan of the text instead of one per pattern.
  std::unique_ptr<RE2::Set> pattern_set;
  uint64_t generation = 0;  // unique per Build: keys per-thread caches (an address can be reused)
  std::vector<std::pair<size_t, size_t>> set_entries;  // set index → (rule, pattern)

  Status AddKeyword(size_t rule_index, TermKind kind, const std::string& text,
                    std::vector<Keyword>& into);
  void IndexVocabulary(const std::string& word);
  Resolved Resolve(const NormalizedText& n) const;
  void AddVariants(const std::string& key, bool latin, std::vector<std::pair<std::string, double>>& out) const;
  std::map<std::string, double> LanguageScores(const NormalizedText& n,
                                               const std::vector<RuleHit>& hits) const;
  std::string PickLanguage(const std::map<std::string, double>& scores) const;
};

namespace {

std::vector<std::u32string> Deletions(const std::u32string& w, int depth) {
  std::vector<std::u32string> out;
  std::set<std::u32string> seen;
  std::vector<std::u32string> frontier = {w};
  for (int d = 0; d < depth; ++d) {
    std::vector<std::u32string> next;
    for (const auto& f : frontier) {
      for (size_t i = 0; i < f.size(); ++i) {
        std::u32string v = f.substr(0, i) + f.substr(i + 1);
        if (seen.insert(v).second) {
          out.push_back(v);
          next.push_back(v);
        }
      }
    }
    frontier.swap(next);
  }
  return out;
}

int MaxDistance(size_t length) { return length >= 9 ? 2 : (length >= 5 ? 1 : 0); }

std::vector<std::string> StringList(const json& j, const std::string& field, const std::string& rule_id,
                                    Status& status) {
  std::vector<std::string> out;
  if (!j.contains(field)) return out;
  const json& v = j.at(field);
  if (!v.is_array()) {
    status = Status::InvalidArgument("rule " + rule_id + ": \"" + field + "\" must be a list of strings");
    return out;
  }
  for (const json& s : v) {
    if (!s.is_string()) {
      status = Status::InvalidArgument("rule " + rule_id + ": \"" + field + "\" must hold strings only");
      return out;
    }
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

void Classifier::Impl::IndexVocabulary(const std::string& word) {
  if (!vocabulary.insert(word).second) return;
  std::u32string w = ToU32(word);
  const int max = MaxDistance(w.size());
  if (max > 0) {
    for (const auto& d : Deletions(w, max)) deletions[FromU32(d)].push_back(word);
    deletions[word].push_back(word);
  }
  bool latin = !word.empty() && static_cast<unsigned char>(word[0]) < 0x80 &&
               std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (latin && word.size() >= 4) {
    std::string sk = LatinSkeleton(word);
    if (sk.size() >= 3) skeletons[sk].push_back(word);
  }
}

Status Classifier::Impl::AddKeyword(size_t rule_index, TermKind kind, const std::string& text,
                                    std::vector<Keyword>& into) {
  auto n = Normalize(text);
  const std::string& rule_id = rules[rule_index].id;
  if (!n.ok()) return Status::InvalidArgument("rule " + rule_id + ": \"" + text + "\": " + n.status().message());
  if (n->tokens.empty())
    return Status::InvalidArgument("rule " + rule_id + ": keyword \"" + text +
                                   "\" has no letters or digits and can never match");
  Keyword k;
  k.text = text;
  std::string concat;
  for (const Token& t : n->tokens) {
    k.tokens.push_back(t.key);
    concat += t.key;
    IndexVocabulary(t.key);
  }
  const size_t index = into.size();
  into.push_back(std::move(k));
  TermRef ref{rule_index, kind, index};
  by_first_token[into.back().tokens.front()].push_back(ref);
  if (into.back().tokens.size() > 1) by_concat[concat].push_back(ref);
  return Status::Ok();
}

void Classifier::Impl::AddVariants(const std::string& key, bool latin,
                                   std::vector<std::pair<std::string, double>>& out) const {
  auto add = [&out](const std::string& w, double q) {
    for (auto& [word, quality] : out) {
      if (word == w) {
        quality = std::max(quality, q);
        return;
      }
    }
    out.emplace_back(w, q);
  };
  if (vocabulary.count(key)) add(key, kQualityExact);
  if (latin) {
    for (const auto& suf : kLatinSuffixes) {
      if (key.size() > suf.size() + 3 && key.compare(key.size() - suf.size(), suf.size(), suf) == 0) {
        std::string stem = key.substr(0, key.size() - suf.size());
        if (vocabulary.count(stem)) add(stem, kQualityStem);
      }
    }
  } else {
    std::u32string w = ToU32(key);
    for (const auto& suf : kSuffixes) {
      if (w.size() >= suf.size() + 3 && w.compare(w.size() - suf.size(), suf.size(), suf) == 0) {
        std::u32string stem = w.substr(0, w.size() - suf.size());
        std::string s = FromU32(stem);
        if (vocabulary.count(s)) add(s, kQualityStem);
        for (const auto& pre : kPrefixes) {
          if (stem.size() >= pre.size() + 3 && stem.compare(0, pre.size(), pre) == 0) {
            std::string s2 = FromU32(stem.substr(pre.size()));
            if (vocabulary.count(s2)) add(s2, kQualityStem);
          }
        }
      }
    }
    for (const auto& pre : kPrefixes) {
      if (w.size() >= pre.size() + 3 && w.compare(0, pre.size(), pre) == 0) {
        std::string s = FromU32(w.substr(pre.size()));
        if (vocabulary.count(s)) add(s, kQualityStem);
      }
    }
  }
  if (!out.empty() && out.front().second >= kQualityExact) return;  // exact: no guessing
  if (latin && key.size() >= 4) {
    auto it = skeletons.find(LatinSkeleton(key));
    if (it != skeletons.end()) {
      for (const auto& cand : it->second) {
        // The skeleton drops vowels; require the words to be close as well.
        if (EditDistance(ToU32(cand), ToU32(key), 2) <= 2) add(cand, kQualitySkeleton);
      }
    }
  }
  std::u32string w = ToU32(key);
  const int max = MaxDistance(w.size());
  if (max == 0) return;
  std::vector<std::u32string> probes = Deletions(w, max);
  probes.push_back(w);
  for (const auto& p : probes) {
    auto it = deletions.find(FromU32(p));
    if (it == deletions.end()) continue;
    for (const auto& cand : it->second) {
      std::u32string c = ToU32(cand);
      const int allowed = std::min(max, MaxDistance(c.size()));
      if (allowed > 0 && EditDistance(c, w, allowed) <= allowed) add(cand, kQualityFuzzy);
    }
  }
}

Resolved Classifier::Impl::Resolve(const NormalizedText& n) const {
  // People reuse words; what a word can stand for is worked out once per thread and rule set
  // (typo probes are the expensive part), in a bounded cache.
  struct WordCache {
    uint64_t owner = 0;
    std::unordered_map<std::string, std::vector<std::pair<std::string, double>>> words;
  };
  thread_local WordCache cache;
  // Bounded per thread (the HTTP pool has dozens of threads): a few thousand words cover the
  // vocabulary people use; past that the cache starts over.
  if (cache.owner != generation || cache.words.size() > 4096) {
    cache.words.clear();
    cache.owner = generation;
  }
  Resolved r(n.tokens.size());
  for (size_t i = 0; i < n.tokens.size(); ++i) {
    const Token& t = n.tokens[i];
    if (t.digits) {
      if (vocabulary.count(t.key)) r[i].emplace_back(t.key, kQualityExact);
      continue;
    }
    auto it = cache.words.find(t.key);
    if (it == cache.words.end()) {
      std::vector<std::pair<std::string, double>> v;
      AddVariants(t.key, t.latin, v);
      it = cache.words.emplace(t.key, std::move(v)).first;
    }
    r[i] = it->second;
  }
  return r;
}

std::map<std::string, double> Classifier::Impl::LanguageScores(const NormalizedText& n,
                                                               const std::vector<RuleHit>& hits) const {
  std::map<std::string, double> scores = {{"en", 0}, {"prs", 0}, {"ps", 0}};
  const bool latin_text = n.latin_letters > n.arabic_letters;
  for (const Token& t : n.tokens) {
    if (t.digits) continue;
    if (t.latin != latin_text) continue;  // a Latin "PoR" inside Dari text says nothing
    if (!t.latin && HasPashtoLetter(ToU32(t.clean))) scores["ps"] += 2;
    for (const auto& [lang, words] : lexicon) {
      auto it = words.find(t.key);
      if (it == words.end()) continue;
      double w = it->second;
      // Found only after folding (چی for چې): weaker evidence.
      auto clean_it = lexicon_clean.at(lang).find(t.key);
      if (!t.latin && clean_it != lexicon_clean.at(lang).end() && clean_it->second != t.clean)
        w = std::max(1.0, w - 1);
      scores[lang] += w;
    }
  }
  if (!latin_text) scores["en"] = 0;
  // Keywords of a language's own rules are a weak signal too (topic words carry no language,
  // so only rules marked with a language count, at half a point each).
  std::set<std::string> seen;
  for (const RuleHit& h : hits) {
    if (h.language.empty() || !seen.insert(h.rule_id).second) continue;
    if (latin_text && h.language != "en") continue;  // romanized rules share English words
    scores[h.language] += 0.5;
  }
  return scores;
}

std::string Classifier::Impl::PickLanguage(const std::map<std::string, double>& scores) const {
  std::string best;
  double best_score = -1, second = -1;
  for (const auto& [lang, s] : scores) {
    if (s > best_score) {
      second = best_score;
      best_score = s;
      best = lang;
    } else if (s > second) {
      second = s;
    }
  }
  if (best_score < settings.lid_min_score || best_score - second < settings.lid_min_margin) return "";
  return best;
}

Classifier::Classifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Classifier::~Classifier() = default;

Result<std::shared_ptr<const Classifier>> Classifier::Build(const json& content) {
  static std::atomic<uint64_t> next_generation{1};
  auto impl = std::make_unique<Impl>();
  impl->generation = next_generation++;
  if (!content.is_object() || !content.contains("intents") || !content["intents"].is_array())
    return Status::InvalidArgument("content has no \"intents\" list");
  for (const json& it : content["intents"]) {
    if (!it.is_object() || !it.contains("id") || !it["id"].is_string())
      return Status::InvalidArgument("an intent has no id");
    bool urgent = it.contains("urgent") && it["urgent"].is_boolean() && it["urgent"].get<bool>();
    std::string queue = it.contains("queue") && it["queue"].is_string() ? it["queue"].get<std::string>() : "";
    impl->intents[it["id"].get<std::string>()] = {urgent, queue};
  }
  if (!impl->intents.count("unknown")) return Status::InvalidArgument("intent \"unknown\" is missing");

  if (content.contains("engine") && content["engine"].is_object()) {
    const json& e = content["engine"];
    auto num = [&e](const char* k, double& into) {
      if (e.contains(k) && e[k].is_number()) into = e[k].get<double>();
    };
    num("min_score", impl->settings.min_score);
    num("urgent_min_score", impl->settings.urgent_min_score);
    num("lid_min_score", impl->settings.lid_min_score);
    num("lid_min_margin", impl->settings.lid_min_margin);
    if (e.contains("suppressed_urgent_intent") && e["suppressed_urgent_intent"].is_string())
      impl->settings.suppressed_urgent_intent = e["suppressed_urgent_intent"].get<std::string>();
  }

  if (content.contains("lexicon") && content["lexicon"].is_object()) {
    for (const auto& [lang, words] : content["lexicon"].items()) {
      if (!kLanguages.count(lang) || !words.is_object())
        return Status::InvalidArgument("lexicon: unknown language \"" + lang + "\"");
      for (const auto& [word, weight] : words.items()) {
        if (!weight.is_number()) return Status::InvalidArgument("lexicon " + lang + ": weight of \"" + word + "\"");
        auto n = Normalize(word);
        if (!n.ok() || n->tokens.size() != 1)
          return Status::InvalidArgument("lexicon " + lang + ": \"" + word + "\" must be one word");
        impl->lexicon[lang][n->tokens[0].key] = weight.get<double>();
        impl->lexicon_clean[lang][n->tokens[0].key] = n->tokens[0].clean;
      }
    }
  }
  for (const auto& lang : kLanguages) {
    impl->lexicon[lang];
    impl->lexicon_clean[lang];
  }

  std::set<std::string> ids;
  if (content.contains("rules")) {
    if (!content["rules"].is_array()) return Status::InvalidArgument("\"rules\" must be a list");
    for (const json& r : content["rules"]) {
      if (!r.is_object() || !r.contains("id") || !r["id"].is_string())
        return Status::InvalidArgument("a rule has no id");
      CompiledRule rule;
      rule.id = r["id"].get<std::string>();
      if (!ids.insert(rule.id).second) return Status::InvalidArgument("rule " + rule.id + ": duplicate id");
      if (!r.contains("intent") || !r["intent"].is_string())
        return Status::InvalidArgument("rule " + rule.id + ": no intent");
      rule.intent = r["intent"].get<std::string>();
      if (!impl->intents.count(rule.intent) && !kModifiers.count(rule.intent))
        return Status::InvalidArgument("rule " + rule.id + ": unknown intent \"" + rule.intent + "\"");
      if (rule.intent == "unknown") return Status::InvalidArgument("rule " + rule.id + ": cannot target \"unknown\"");
      if (r.contains("language")) {
        if (!r["language"].is_string() || !kLanguages.count(r["language"].get<std::string>()))
          return Status::InvalidArgument("rule " + rule.id + ": language must be en, prs or ps");
        rule.language = r["language"].get<std::string>();
      }
      if (r.contains("weight")) {
        if (!r["weight"].is_number()) return Status::InvalidArgument("rule " + rule.id + ": weight must be a number");
        rule.weight = r["weight"].get<double>();
        if (!(rule.weight > 0 && rule.weight <= 10))
          return Status::InvalidArgument("rule " + rule.id + ": weight must be in (0, 10]");
      }
      rule.always_urgent = r.contains("always_urgent") && r["always_urgent"].is_boolean() &&
                           r["always_urgent"].get<bool>();
      if (r.contains("fuzzy")) {
        if (!r["fuzzy"].is_boolean()) return Status::InvalidArgument("rule " + rule.id + ": fuzzy must be true or false");
        rule.fuzzy = r["fuzzy"].get<bool>();
      }
      Status st;
      auto keywords = StringList(r, "keywords", rule.id, st);
      auto requires_ = StringList(r, "requires", rule.id, st);
      auto excludes = StringList(r, "excludes", rule.id, st);
      auto patterns = StringList(r, "patterns", rule.id, st);
      BOT_RETURN_IF_ERROR(st);
      if (keywords.empty() && patterns.empty())
        return Status::InvalidArgument("rule " + rule.id + ": no keywords and no patterns, it can never match");
      const size_t index = impl->rules.size();
      impl->rules.push_back(std::move(rule));
      CompiledRule& cr = impl->rules.back();
      for (const auto& k : keywords) BOT_RETURN_IF_ERROR(impl->AddKeyword(index, TermKind::kKeyword, k, cr.keywords));
      for (const auto& k : requires_) BOT_RETURN_IF_ERROR(impl->AddKeyword(index, TermKind::kRequire, k, cr.requires_));
      for (const auto& k : excludes) BOT_RETURN_IF_ERROR(impl->AddKeyword(index, TermKind::kExclude, k, cr.excludes));
      // A keyword that is also excluded can never make its rule fire.
      for (const auto& k : cr.keywords)
        for (const auto& x : cr.excludes)
          if (k.tokens == x.tokens)
            return Status::InvalidArgument("rule " + cr.id + ": keyword \"" + k.text +
                                           "\" is also excluded, it can never match");
      for (const auto& p : patterns) {
        // Patterns run on the key form; fold the pattern's letters the same way so operators
        // can write ي or ک, ۱ or 1, and it still matches.
        std::string folded;
        for (char32_t c : ToU32(p)) {
          std::string one = FromU32(std::u32string(1, c));
          if (c >= 0x80) {
            auto n = Normalize(one);
            folded += n.ok() && !n->tokens.empty() ? n->tokens[0].key : one;
          } else {
            folded += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
          }
        }
        RE2::Options opts;
        opts.set_log_errors(false);
        opts.set_max_mem(1 << 20);  // operators' patterns get a bounded automaton
        auto re = std::make_unique<RE2>(folded, opts);
        if (!re->ok()) return Status::InvalidArgument("rule " + cr.id + ": pattern \"" + p + "\" does not compile: " + re->error());
        if (re->Match("", 0, 0, RE2::UNANCHORED, nullptr, 0) && folded.find_first_not_of(".*?^$()|") == std::string::npos)
          return Status::InvalidArgument("rule " + cr.id + ": pattern \"" + p + "\" matches everything");
        cr.patterns.push_back(std::move(re));
        cr.pattern_texts.push_back(p);
      }
    }
  }
  if (!impl->rules.empty()) {
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_max_mem(64 << 20);
    auto set = std::make_unique<RE2::Set>(opts, RE2::UNANCHORED);
    bool ok = true;
    for (size_t r = 0; r < impl->rules.size() && ok; ++r)
      for (size_t p = 0; p < impl->rules[r].patterns.size() && ok; ++p) {
        ok = set->Add(impl->rules[r].patterns[p]->pattern(), nullptr) >= 0;
        impl->set_entries.emplace_back(r, p);
      }
    if (ok && !impl->set_entries.empty() && set->Compile()) impl->pattern_set = std::move(set);
  }
  return std::shared_ptr<const Classifier>(new Classifier(std::move(impl)));
}

Decision Classifier::Classify(std::string_view text, Explanation* explain) const {
  const Impl& m = *impl_;
  Decision d;
  auto normalized = Normalize(text);
  if (!normalized.ok()) {
    if (explain) explain->notes.push_back(normalized.status().message());
    return d;
  }
  const NormalizedText& n = *normalized;
  Resolved resolved = m.Resolve(n);

  // Best quality of every term that matched, per rule.
  struct RuleState {
    double best = 0;
    int distinct = 0;
    bool required = false, excluded = false;
    std::string matched;
  };
  std::unordered_map<size_t, RuleState> states;
  auto record = [&](const TermRef& ref, double q) {
    RuleState& s = states[ref.rule];
    const CompiledRule& r = m.rules[ref.rule];
    switch (ref.kind) {
      case TermKind::kKeyword:
        if (q > s.best) {
          s.best = q;
          s.matched = r.keywords[ref.index].text;
        }
        ++s.distinct;
        break;
      case TermKind::kRequire: s.required = true; break;
      case TermKind::kExclude: s.excluded = true; break;
    }
  };
  auto term_of = [&m](const TermRef& ref) -> const Keyword& {
    const CompiledRule& r = m.rules[ref.rule];
    switch (ref.kind) {
      case TermKind::kKeyword: return r.keywords[ref.index];
      case TermKind::kRequire: return r.requires_[ref.index];
      default: return r.excludes[ref.index];
    }
  };

  std::set<std::tuple<size_t, int, size_t>> matched_terms;  // each term counts once
  const size_t count = n.tokens.size();
  for (size_t i = 0; i < count; ++i) {
    for (const auto& [word, q0] : resolved[i]) {
      auto it = m.by_first_token.find(word);
      if (it == m.by_first_token.end()) continue;
      for (const TermRef& ref : it->second) {
        const Keyword& k = term_of(ref);
        if (i + k.tokens.size() > count) continue;
        if (!m.rules[ref.rule].fuzzy && q0 < kQualityExact) continue;
        double q = q0;
        bool ok = true;
        for (size_t j = 1; j < k.tokens.size() && ok; ++j) {
          double best = 0;
          for (const auto& [w, qj] : resolved[i + j])
            if (w == k.tokens[j] && (m.rules[ref.rule].fuzzy || qj >= kQualityExact)) best = std::max(best, qj);
          ok = best > 0;
          q = std::min(q, best);
        }
        if (!ok) continue;
        if (matched_terms.insert({ref.rule, static_cast<int>(ref.kind), ref.index}).second) record(ref, q);
        else if (ref.kind == TermKind::kKeyword && q > states[ref.rule].best) states[ref.rule].best = q;
      }
    }
    // Run-together or split spellings of multi-word keywords.
    std::string concat = n.tokens[i].key;
    for (size_t len = 1; len <= 4 && i + len <= count; ++len) {
      if (len > 1) concat += n.tokens[i + len - 1].key;
      auto it = m.by_concat.find(concat);
      if (it == m.by_concat.end()) continue;
      for (const TermRef& ref : it->second)
        if (term_of(ref).tokens.size() != len &&
            matched_terms.insert({ref.rule, static_cast<int>(ref.kind), ref.index}).second)
          record(ref, kQualityConcat);
    }
  }
  // Split spellings of single keywords: "می خواهم" for "میخواهم".
  for (size_t i = 0; i + 1 < count; ++i) {
    std::string concat = n.tokens[i].key + n.tokens[i + 1].key;
    auto it = m.by_first_token.find(concat);
    if (it == m.by_first_token.end()) continue;
    for (const TermRef& ref : it->second)
      if (term_of(ref).tokens.size() == 1 &&
          matched_terms.insert({ref.rule, static_cast<int>(ref.kind), ref.index}).second)
        record(ref, kQualityConcat);
  }
  // Patterns.
  const std::string padded = " " + n.key + " ";
  auto pattern_matched = [&](size_t r, size_t p) {
    RuleState& s = states[r];
    if (kQualityExact > s.best) {
      s.best = kQualityExact;
      s.matched = "/" + m.rules[r].pattern_texts[p] + "/";
    }
    ++s.distinct;
  };
  std::vector<int> matched_patterns;
  RE2::Set::ErrorInfo set_error{};
  if (m.pattern_set && (m.pattern_set->Match(padded, &matched_patterns, &set_error) ||
                        set_error.kind == RE2::Set::kNoError)) {
    std::sort(matched_patterns.begin(), matched_patterns.end());  // stable explanations
    for (int idx : matched_patterns) pattern_matched(m.set_entries[static_cast<size_t>(idx)].first,
                                                     m.set_entries[static_cast<size_t>(idx)].second);
  } else {
    // No set (or its automaton ran out of memory on this text): one pattern at a time.
    for (size_t r = 0; r < m.rules.size(); ++r)
      for (size_t p = 0; p < m.rules[r].patterns.size(); ++p)
        if (RE2::PartialMatch(padded, *m.rules[r].patterns[p])) pattern_matched(r, p);
  }

  // Rule scores → intent scores.
  std::vector<RuleHit> hits;
  std::map<std::string, double> intent_scores;
  bool always_urgent = false;
  for (const auto& [r, s] : states) {
    const CompiledRule& rule = m.rules[r];
    if (s.best <= 0 || s.excluded) continue;
    if (!rule.requires_.empty() && !s.required) continue;
    double score = rule.weight * s.best * std::min(1.5, 1.0 + 0.15 * (s.distinct - 1));
    intent_scores[rule.intent] += score;
    if (rule.always_urgent) always_urgent = true;
    hits.push_back({rule.id, rule.intent, rule.language, s.matched, score});
  }
  std::sort(hits.begin(), hits.end(), [](const RuleHit& a, const RuleHit& b) {
    return a.score != b.score ? a.score > b.score : a.rule_id < b.rule_id;
  });

  // Urgency: favour recall; a question about what would happen *if*, or a report of something
  // long past, is information, unless something says it is happening now. Self-harm always counts.
  auto score_of = [&intent_scores](const std::string& id) {
    auto it = intent_scores.find(id);
    return it == intent_scores.end() ? 0.0 : it->second;
  };
  std::string urgent_intent;
  for (const auto& [id, meta] : m.intents)
    if (meta.first && score_of(id) >= m.settings.urgent_min_score) urgent_intent = id;
  bool urgent = !urgent_intent.empty();
  if (urgent && !always_urgent) {
    const bool hypothetical = score_of("_hypothetical") > 0;
    const bool past = score_of("_past") > 0;
    const bool now = score_of("_immediacy") > 0;
    if ((hypothetical || past) && !now) {
      urgent = false;
      if (explain)
        explain->notes.push_back(std::string("urgent words, but ") +
                                 (hypothetical ? "asked as a hypothetical" : "reported as long past") +
                                 " and nothing says it is happening now: information");
    }
  }
  if (urgent) {
    d.intent = urgent_intent;
    d.urgent = true;
    d.score = score_of(urgent_intent);
    if (explain) explain->notes.push_back(always_urgent ? "self-harm or threat to life: always urgent" : "urgent");
  } else {
    double best = 0;
    for (const auto& [id, s] : intent_scores) {
      if (kModifiers.count(id) || m.intents.at(id).first) continue;
      if (s > best) {
        best = s;
        d.intent = id;
      }
    }
    if (best < m.settings.min_score) {
      d.intent = "unknown";
      if (!urgent_intent.empty() && m.intents.count(m.settings.suppressed_urgent_intent)) {
        d.intent = m.settings.suppressed_urgent_intent;
        best = score_of(urgent_intent);
      }
    }
    d.score = best;
  }
  d.queue = m.intents.count(d.intent) ? m.intents.at(d.intent).second : "";

  auto lang_scores = m.LanguageScores(n, hits);
  d.language = m.PickLanguage(lang_scores);
  if (explain) {
    explain->normalized = n;
    explain->language_scores = lang_scores;
    explain->intent_scores = intent_scores;
    explain->hits = hits;
  }
  return d;
}

std::string Classifier::DetectLanguage(std::string_view text) const {
  auto n = Normalize(text);
  if (!n.ok()) return "";
  return impl_->PickLanguage(impl_->LanguageScores(*n, {}));
}

json ToJson(const Decision& d) {
  return json{{"intent", d.intent},
              {"language", d.language.empty() ? json(nullptr) : json(d.language)},
              {"urgent", d.urgent},
              {"queue", d.queue.empty() ? json(nullptr) : json(d.queue)},
              {"score", std::round(d.score * 1000) / 1000}};
}

json ToJson(const Explanation& e) {
  json tokens = json::array();
  for (const Token& t : e.normalized.tokens) tokens.push_back(t.key);
  json hits = json::array();
  for (const RuleHit& h : e.hits)
    hits.push_back({{"rule", h.rule_id}, {"intent", h.intent}, {"language", h.language},
                    {"matched", h.matched}, {"score", std::round(h.score * 1000) / 1000}});
  return json{{"clean", e.normalized.clean}, {"key", e.normalized.key}, {"tokens", tokens},
              {"language_scores", e.language_scores}, {"intent_scores", e.intent_scores},
              {"rules_fired", hits}, {"notes", e.notes}};
}

}  // namespace bot::intents
