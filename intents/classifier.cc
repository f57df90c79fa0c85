// Rule engine. Matching order per message token: exact key, light affix stripping, romanization
// skeleton (Latin), then edit distance through a deletion index (SymSpell), so a typo costs a few
// hash lookups rather than a scan of the vocabulary. Keywords of several words also match when
// the person ran them together or split them ("پی او آر" = "پیاوار").
//
// Speed: the rules are compiled into integer ids (every keyword word, term, rule and intent has
// one) and flat tables; a message is scored in per-thread arrays indexed by those ids, so the hot
// path does a few hash lookups per word and no allocation once its buffers have grown.
#include "intents/classifier.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>
#include <span>

#include "intents/example_model.h"

namespace bot::intents {
namespace {

using json = nlohmann::json;

const std::set<std::string> kLanguages = {"en", "prs", "ps"};
constexpr const char* kLanguageIds[3] = {"en", "prs", "ps"};  // index order = the old map order
// Pseudo-intents that never answer a message; they qualify urgency.
const std::set<std::string> kModifiers = {"_hypothetical", "_past", "_immediacy"};

constexpr double kQualityExact = 1.0;
constexpr double kQualityConcat = 0.95;
constexpr double kQualityStem = 0.9;
constexpr double kQualitySkeleton = 0.85;
constexpr double kQualityFuzzy = 0.8;

constexpr uint32_t kNone = UINT32_MAX;

int LanguageIndex(const std::string& lang) {
  for (int i = 0; i < 3; ++i)
    if (lang == kLanguageIds[i]) return i;
  return -1;
}

bool HasPashtoLetter(std::string_view utf8) {
  bool found = false;
  ForEachCodePoint(utf8, [&found](char32_t c) {
    switch (c) {
      case 0x067C: case 0x0689: case 0x0693: case 0x0696: case 0x069A: case 0x06BC:
      case 0x0681: case 0x0685: case 0x06AB: case 0x06D0: case 0x06CD:
        found = true;
        break;
      default: break;
    }
  });
  return found;
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

// Byte offset of every code point of a valid UTF-8 string, plus the end.
void CodePointOffsets(std::string_view s, std::vector<uint32_t>& out) {
  out.clear();
  for (uint32_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  out.push_back(static_cast<uint32_t>(s.size()));
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// An affix in key form, with its length in code points (the length rules count letters).
struct Affix {
  std::string text;
  size_t letters;
};

std::vector<Affix> Affixes(std::initializer_list<const char32_t*> list) {
  std::vector<Affix> out;
  for (const char32_t* a : list) out.push_back({FromU32(a), std::u32string_view(a).size()});
  return out;
}

// Dari and Pashto affixes in key form (after folding), longest first.
const std::vector<Affix> kSuffixes =
    Affixes({U"هایشان", U"هایتان", U"هایم", U"هاییش", U"های", U"ها", U"ونه", U"انو", U"ان", U"ام", U"ات", U"اش",
             U"تان", U"شان", U"مان", U"یم", U"ید", U"ند", U"ه", U"ی", U"و", U"ش", U"م"});
const std::vector<Affix> kPrefixes = Affixes({U"نمی", U"می", U"ب", U"و", U"ن"});
const std::vector<std::string> kLatinSuffixes = {"ing", "ed", "es", "s", "am", "an", "ad", "i", "e"};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

uint64_t HashBytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xff51afd7ed558ccdull);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 32;
  return h | 1;  // 0 marks an empty slot
}

// String → 32-bit value in one flat open-addressing array, keys in one arena: "is this word
// known?" is asked millions of times a second, and a node-based map chases a pointer per probe.
class StringTable {
 public:
  StringTable() { slots_.resize(16); }

  const uint32_t* Find(std::string_view key) const {
    const uint64_t h = HashBytes(key);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.hash == 0) return nullptr;
      if (s.hash == h && s.length == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0)
        return &s.value;
    }
  }

  // key → value unless the key is present; returns the stored value.
  uint32_t& Insert(std::string_view key, uint32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const uint64_t h = HashBytes(key);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.hash == 0) {
        s = {h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), value};
        arena_.append(key);
        ++size_;
        return s.value;
      }
      if (s.hash == h && s.length == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0)
        return s.value;
    }
  }

  size_t size() const { return size_; }
  size_t arena_bytes() const { return arena_.size(); }

  void Clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    arena_.clear();
    size_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0, length = 0, value = 0;
  };

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.hash == 0) continue;
      size_t i = s.hash & mask;
      while (slots_[i].hash != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t size_ = 0;
};

// (word id, word id) → 32-bit value, open addressing on the 8-byte pair: asked for every pair of
// adjacent words that could start a phrase, so no key bytes to compare and no arena.
class PairTable {
 public:
  PairTable() { slots_.resize(16); }

  const uint32_t* Find(uint32_t a, uint32_t b) const {
    const uint64_t key = Key(a, b);
    const size_t mask = slots_.size() - 1;
    for (size_t i = Home(key, mask);; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.value == kEmpty) return nullptr;
      if (s.key == key) return &s.value;
    }
  }

  size_t size() const { return size_; }

  // (a, b) → value unless the pair is present; returns the stored value.
  uint32_t& Insert(uint32_t a, uint32_t b, uint32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const uint64_t key = Key(a, b);
    const size_t mask = slots_.size() - 1;
    for (size_t i = Home(key, mask);; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.value == kEmpty) {
        s = {key, value};
        ++size_;
        return s.value;
      }
      if (s.key == key) return s.value;
    }
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint64_t key = 0;
    uint32_t value = kEmpty;
  };
  static uint64_t Key(uint32_t a, uint32_t b) { return uint64_t{a} << 32 | b; }
  // Both ids must decide the slot: a multiply alone leaves the low bits to the second id only,
  // and every pair sharing a second word would probe one long cluster (the reviewer measured 24
  // probes a hit instead of 1.3).
  static size_t Home(uint64_t key, size_t mask) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ull;
    key ^= key >> 33;
    return key & mask;
  }

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.value == kEmpty) continue;
      size_t i = Home(s.key, mask);
      while (slots_[i].value != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// Lists 0..n-1 of T, filled one item at a time while the rules compile and then flattened into
// one array (Freeze): the matching loops read a list without chasing a pointer to its own block.
template <typename T>
class FlatLists {
 public:
  void Add(size_t list, const T& item) {
    if (building_.size() <= list) building_.resize(list + 1);
    building_[list].push_back(item);
  }
  void Freeze() {
    offsets_.assign(1, 0);
    for (const auto& l : building_) {
      items_.insert(items_.end(), l.begin(), l.end());
      offsets_.push_back(static_cast<uint32_t>(items_.size()));
    }
    building_ = {};
  }
  // An empty list past the last one that was added to.
  std::span<const T> operator[](size_t list) const {
    if (list + 1 >= offsets_.size()) return {};
    return {items_.data() + offsets_[list], items_.data() + offsets_[list + 1]};
  }

 private:
  std::vector<std::vector<T>> building_;
  std::vector<uint32_t> offsets_;
  std::vector<T> items_;
};

enum class TermKind { kKeyword, kRequire, kExclude };

// A keyword, required or excluded word/phrase of one rule.
struct Term {
  std::vector<uint32_t> words;  // vocabulary ids of its tokens (key form)
  std::string text;             // as the operator wrote it
  uint32_t rule = 0;
  TermKind kind = TermKind::kKeyword;
};

// A term as the matching loops need it, packed into its word's list: most terms listed under a
// common word do not match, and checking one must not load its Term and its rule.
struct TermRef {
  uint32_t term;
  uint32_t rule;
  uint32_t words;  // how many words it has
  bool fuzzy;      // its rule lets typos, affixes and skeletons match
  TermKind kind;
};

struct CompiledRule {
  std::string id;
  uint32_t intent = 0;   // index into Impl::intents
  int language = -1;     // index into kLanguageIds, -1 for none
  double weight = 1.0;
  bool always_urgent = false;
  bool fuzzy = true;  // false: keywords match only as written (no typos, affixes or skeletons)
  // A hypothetical marker that speaks only for its own clause ("scope": "clause"): a question
  // about rights after a report ("police took him, is it legal?") does not make the report one.
  bool clause_scope = false;
  std::string answer;  // a more specific answer than the intent's ("urgent_self_harm"), or ""
  std::vector<uint32_t> keywords, requires_, excludes;  // term ids
  std::vector<std::unique_ptr<RE2>> patterns;
  std::vector<std::string> pattern_shown;  // "/pattern/" as the operator wrote it
  std::vector<char> pattern_whole;         // anchored at both ends: it matches whole messages only
};

// What scoring a rule that was touched needs, packed (a CompiledRule is a few hundred bytes, and
// a message touches a dozen rules).
struct RuleScoring {
  double weight;
  uint32_t intent;
  uint32_t id_rank;  // position of the rule's id in sorted order: ties between hits go by id
  bool has_requires, always_urgent, clause_scope, urgent_intent;
};

struct IntentInfo {
  std::string id;
  bool urgent = false;
  bool modifier = false;
  std::string queue;
};

struct Settings {
  double min_score = 0.5;
  double urgent_min_score = 0.5;
  std::string suppressed_urgent_intent = "deportation_info";
  double lid_min_score = 2;
  double lid_min_margin = 1;
  // The example model's second opinion (engine.json "example_model"); off without examples.
  double model_urgent_threshold = 2;   // > 1: never raises urgency
  double model_intent_threshold = 2;   // > 1: never names an intent
  double model_overrule_threshold = 2;  // to raise urgency the rules judged hypothetical or past
  std::set<std::string> model_intent_excluded;  // intents it must never pick (e.g. opt_out)
};

// What one token can stand for: a vocabulary word and how good the match is.
struct Variant {
  uint32_t word;
  double quality;
};

struct LexiconEntry {
  double weight[3] = {0, 0, 0};
  bool present[3] = {false, false, false};
  std::string clean[3];  // the word as the lexicon writes it (before folding)
};

struct RuleState {
  double best = 0;
  int distinct = 0;
  bool touched = false, required = false, excluded = false;
  const std::string* matched = nullptr;
  uint64_t clauses = 0;  // clauses of the message its keywords matched in (bit per clause)
};

// The last example model trained in this process, by what it was trained from (see
// Impl::TrainExampleModel).
class LastExampleModel {
 public:
  static std::shared_ptr<const ExampleModel> Find(const std::string& key) {
    std::lock_guard lock(mutex_);
    return key == key_ ? model_ : nullptr;
  }
  static void Keep(std::string key, std::shared_ptr<const ExampleModel> model) {
    std::lock_guard lock(mutex_);
    key_ = std::move(key);
    model_ = std::move(model);
  }

 private:
  static inline std::mutex mutex_;
  static inline std::string key_;
  static inline std::shared_ptr<const ExampleModel> model_;
};

uint64_t ClauseBit(int clause) { return uint64_t{1} << std::min(std::max(clause, 0), 63); }

struct Hit {
  uint32_t rule;
  double score;
  const std::string* matched;
};

}  // namespace

// What one word says about the language, worked out once per word (the word cache keeps it).
struct WordLanguage {
  bool pashto_letter = false;   // a letter only Pashto has (ټ ډ ړ ږ ښ ګ ڼ ې ۍ)
  bool other_language = false;  // a word of a language we do not answer in (Urdu)
  bool present[3] = {false, false, false};
  double weight[3] = {0, 0, 0};  // its lexicon weight per language, weaker when found only after folding
};

struct Classifier::Impl {
  std::vector<CompiledRule> rules;
  std::vector<RuleScoring> scoring;  // per rule (Finish)
  std::vector<Term> terms;
  std::vector<IntentInfo> intents;  // sorted by id; modifiers included
  uint32_t unknown_intent = kNone, suppressed_intent = kNone, human_intent = kNone, stop_intent = kNone;
  uint32_t hypothetical = kNone, past = kNone, immediacy = kNone;

  StringTable vocabulary;                       // word → id
  std::vector<std::string> words;               // id → word
  std::vector<std::u32string> words32;          // id → word as code points (edit distances)
  // Terms by their first word: one-word terms by word id; longer terms by their first two words,
  // so a common first word ("د", "my") costs nothing unless the next word fits too.
  FlatLists<TermRef> single_by_word;                  // word id → one-word terms
  std::vector<char> starts_pair;                      // word id → first word of a longer term?
  std::vector<char> seconds_pair;                     // word id → second word of a longer term?
  PairTable pair_index;                               // (word id, word id) → list
  FlatLists<TermRef> by_pair;                         // … → terms of 2+ words
  std::vector<std::vector<uint32_t>> by_concat;       // tokens joined, no spaces → multi-word terms
  // Every byte prefix of those joined keys → its by_concat list, or kNone when only a prefix:
  // one lookup says both "stop extending" and "this is a keyword".
  StringTable concat_prefixes;
  // Split spellings ("می خواهم" for "میخواهم"): every way to cut a vocabulary word in two at a
  // letter boundary, as (first part, second part) → the word. Each part has an id, which the word
  // cache keeps, so two adjacent words are checked with one probe and no joined string.
  StringTable split_firsts;   // first part → its id
  StringTable split_seconds;  // second part → its id
  PairTable split_words;      // (first id, second id) → word id
  StringTable deletion_index;                   // variant → list (SymSpell)
  std::vector<std::vector<uint32_t>> deletions;       // … → word ids
  StringTable skeleton_index;                   // Latin skeleton → list
  std::vector<std::vector<uint32_t>> skeletons;       // … → word ids
  StringTable concat_keys;                      // build only: joined key → by_concat index
  StringTable lexicon_index;                    // key → entry
  std::vector<LexiconEntry> lexicon;
  Settings settings;
  // All patterns in one automaton: one scan of the text instead of one per pattern.
  std::unique_ptr<RE2::Set> pattern_set;
  uint64_t generation = 0;  // unique per Build: keys per-thread caches (an address can be reused)
  std::vector<std::pair<size_t, size_t>> set_entries;  // set index → (rule, pattern)
  std::shared_ptr<const ExampleModel> model;  // shared with other builds of the same examples
  std::vector<uint32_t> model_class_intent;  // model class → intent index
  std::vector<char> model_class_pickable;    // may the model answer with this class?
  uint32_t model_urgent_intent = kNone;      // what a message the model finds urgent is
  bool model_enabled = false;                // trained, and engine.json lets it decide something
  // Key forms of the content's yes_words and no_words: a message that is only one of them is an
  // answer, and the example model may not make it urgent.
  std::set<std::string> answer_words;
  // Words of a language we do not answer in, as written (unfolded): Urdu "ہے", "نہیں". Urdu shares
  // script and much vocabulary with Dari and Pashto; a message full of these has no language of ours.
  StringTable other_language_words;

  Status TrainExampleModel(const json& content);
  // The examples of `list`, checked and normalised; class_of: intent index → model class.
  Result<std::vector<ExampleModel::Example>> ExamplesOf(const json& list, const std::vector<int>& class_of) const;

  uint32_t WordId(const std::string& word);
  Status AddTerm(uint32_t rule_index, TermKind kind, const std::string& text, std::vector<uint32_t>& into);
  uint32_t IntentIndex(const std::string& id) const;
  TermRef RefOf(uint32_t term) const {
    const Term& t = terms[term];
    return {term, t.rule, static_cast<uint32_t>(t.words.size()), rules[t.rule].fuzzy, t.kind};
  }
  void AddVariants(const std::string& key, bool latin, std::vector<Variant>& out) const;
  // lexicon_entries: per token, its lexicon entry or kNone; nullptr to look them up here.
  WordLanguage LanguageOf(const Token& t, uint32_t lexicon_entry) const;
  // words: per token, what it says (LanguageOf); nullptr to work it out here.
  void LanguageScores(const NormalizedText& n, const WordLanguage* const* words, const std::vector<Hit>& hits,
                      double scores[3]) const;
  // After the last rule: prefix and split-spelling indexes, term lists flattened, rules packed.
  void FinishIndexes();
  // The clauses (bit per clause) in which `re` matches the padded key form of `n`.
  uint64_t PatternClauses(const RE2& re, const NormalizedText& n, const std::string& padded,
                          std::vector<uint32_t>& offsets) const;
  int PickLanguage(const double scores[3]) const;
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

void AppendTo(StringTable& index, std::vector<std::vector<uint32_t>>& lists, std::string_view key, uint32_t value) {
  uint32_t& slot = index.Insert(key, static_cast<uint32_t>(lists.size()));
  if (slot == lists.size()) lists.emplace_back();
  lists[slot].push_back(value);
}

const std::vector<uint32_t>* ListOf(const StringTable& index, const std::vector<std::vector<uint32_t>>& lists,
                                    std::string_view key) {
  const uint32_t* slot = index.Find(key);
  return slot ? &lists[*slot] : nullptr;
}

}  // namespace

uint32_t Classifier::Impl::WordId(const std::string& word) {
  const auto next = static_cast<uint32_t>(words.size());
  const uint32_t id = vocabulary.Insert(word, next);
  if (id != next) return id;
  words.push_back(word);
  words32.push_back(ToU32(word));
  starts_pair.push_back(0);
  seconds_pair.push_back(0);
  const std::u32string& w = words32.back();
  const int max = MaxDistance(w.size());
  if (max > 0) {
    for (const auto& d : Deletions(w, max)) AppendTo(deletion_index, deletions, FromU32(d), id);
    AppendTo(deletion_index, deletions, word, id);
  }
  bool latin = !word.empty() && static_cast<unsigned char>(word[0]) < 0x80 &&
               std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (latin && word.size() >= 4) {
    std::string sk = LatinSkeleton(word);
    if (sk.size() >= 3) AppendTo(skeleton_index, skeletons, sk, id);
  }
  return id;
}

uint32_t Classifier::Impl::IntentIndex(const std::string& id) const {
  auto it = std::lower_bound(intents.begin(), intents.end(), id,
                             [](const IntentInfo& a, const std::string& b) { return a.id < b; });
  return it != intents.end() && it->id == id ? static_cast<uint32_t>(it - intents.begin()) : kNone;
}

Status Classifier::Impl::TrainExampleModel(const json& content) {
  if (!content.contains("examples")) return Status::Ok();
  const json& list = content["examples"];
  if (!list.is_array()) return Status::InvalidArgument("\"examples\" must be a list");
  for (uint32_t i = 0; i < intents.size(); ++i)
    if (intents[i].urgent && model_urgent_intent == kNone) model_urgent_intent = i;
  // Classes: every intent but the modifiers. "unknown" and the intents the model may not pick
  // (urgency, which it judges on its own; engine.json's never_picks such as opting out) are
  // classes too, so their examples teach the model what they are not.
  std::vector<int> class_of(intents.size(), -1);
  for (uint32_t i = 0; i < intents.size(); ++i) {
    if (intents[i].modifier) continue;
    class_of[i] = static_cast<int>(model_class_intent.size());
    model_class_intent.push_back(i);
    model_class_pickable.push_back(!intents[i].urgent && i != unknown_intent &&
                                   !settings.model_intent_excluded.count(intents[i].id));
  }
  // The model depends only on the examples and the intents they can name. Content is compiled for
  // every draft check, preview and publish, nearly always with the examples unchanged: reuse the
  // last model (same examples, same classes) instead of training it again (~90 ms, ~3.5 MB).
  std::string key = list.dump(-1, ' ', false, json::error_handler_t::replace);
  for (uint32_t i : model_class_intent) key += "|" + intents[i].id + (intents[i].urgent ? "!" : "");
  model = LastExampleModel::Find(key);
  if (!model) {
    auto examples = ExamplesOf(list, class_of);
    if (!examples.ok()) return examples.status();
    model = std::make_shared<const ExampleModel>(
        ExampleModel::Train(*examples, static_cast<int>(model_class_intent.size()), ExampleModel::Options{}));
    LastExampleModel::Keep(std::move(key), model);
  }
  model_enabled = !model->empty() && (settings.model_urgent_threshold <= 1 || settings.model_intent_threshold <= 1);
  return Status::Ok();
}

Result<std::vector<ExampleModel::Example>> Classifier::Impl::ExamplesOf(const json& list,
                                                                     const std::vector<int>& class_of) const {
  std::vector<ExampleModel::Example> examples;
  examples.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& e = list[i];
    const std::string where = "examples[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("text") || !e["text"].is_string())
      return Status::InvalidArgument(where + ": needs \"text\"");
    if (!e.contains("intent") || !e["intent"].is_string())
      return Status::InvalidArgument(where + ": needs \"intent\"");
    const uint32_t intent = IntentIndex(e["intent"].get<std::string>());
    if (intent == kNone || intents[intent].modifier)
      return Status::InvalidArgument(where + ": unknown intent \"" + e["intent"].get<std::string>() + "\"");
    if (e.contains("urgent") && !e["urgent"].is_boolean())
      return Status::InvalidArgument(where + ": \"urgent\" must be true or false");
    auto n = Normalize(e["text"].get<std::string>());
    if (!n.ok()) return Status::InvalidArgument(where + ": " + n.status().message());
    ExampleModel::Example x;
    x.text = std::move(*n);
    x.urgent = e.contains("urgent") ? e["urgent"].get<bool>() : intents[intent].urgent;
    x.label = class_of[intent];
    examples.push_back(std::move(x));
  }
  return examples;
}

Status Classifier::Impl::AddTerm(uint32_t rule_index, TermKind kind, const std::string& text,
                                 std::vector<uint32_t>& into) {
  auto n = Normalize(text);
  const std::string& rule_id = rules[rule_index].id;
  if (!n.ok()) return Status::InvalidArgument("rule " + rule_id + ": \"" + text + "\": " + n.status().message());
  if (n->tokens.empty())
    return Status::InvalidArgument("rule " + rule_id + ": keyword \"" + text +
                                   "\" has no letters or digits and can never match");
  Term t;
  t.text = text;
  t.rule = rule_index;
  t.kind = kind;
  std::string concat;
  for (const Token& tok : n->tokens) {
    t.words.push_back(WordId(tok.key));
    concat += tok.key;
  }
  const auto term_id = static_cast<uint32_t>(terms.size());
  const TermRef ref{term_id, rule_index, static_cast<uint32_t>(t.words.size()), rules[rule_index].fuzzy, kind};
  if (t.words.size() == 1) {
    single_by_word.Add(t.words[0], ref);
  } else {
    starts_pair[t.words[0]] = 1;
    seconds_pair[t.words[1]] = 1;
    by_pair.Add(pair_index.Insert(t.words[0], t.words[1], static_cast<uint32_t>(pair_index.size())), ref);
  }
  if (t.words.size() > 1) AppendTo(concat_keys, by_concat, concat, term_id);
  terms.push_back(std::move(t));
  into.push_back(term_id);
  return Status::Ok();
}

void Classifier::Impl::AddVariants(const std::string& key, bool latin, std::vector<Variant>& out) const {
  auto add = [&out](uint32_t w, double q) {
    for (auto& v : out) {
      if (v.word == w) {
        v.quality = std::max(v.quality, q);
        return;
      }
    }
    out.push_back({w, q});
  };
  auto add_if_known = [&](std::string_view w, double q) {
    if (const uint32_t* id = vocabulary.Find(w)) add(*id, q);
  };
  const std::string_view k = key;
  add_if_known(k, kQualityExact);
  const size_t letters = CodePointCount(k);
  if (latin) {
    for (const auto& suf : kLatinSuffixes)
      if (k.size() > suf.size() + 3 && EndsWith(k, suf)) add_if_known(k.substr(0, k.size() - suf.size()), kQualityStem);
  } else {
    for (const auto& suf : kSuffixes) {
      if (letters >= suf.letters + 3 && EndsWith(k, suf.text)) {
        const std::string_view stem = k.substr(0, k.size() - suf.text.size());
        add_if_known(stem, kQualityStem);
        const size_t stem_letters = letters - suf.letters;
        for (const auto& pre : kPrefixes)
          if (stem_letters >= pre.letters + 3 && StartsWith(stem, pre.text))
            add_if_known(stem.substr(pre.text.size()), kQualityStem);
      }
    }
    for (const auto& pre : kPrefixes)
      if (letters >= pre.letters + 3 && StartsWith(k, pre.text)) add_if_known(k.substr(pre.text.size()), kQualityStem);
  }
  if (!out.empty() && out.front().quality >= kQualityExact) return;  // exact: no guessing
  // A word of the lexicon is a real word, not a typo: "pending" is not "pounding".
  if (lexicon_index.Find(k) != nullptr) return;
  thread_local std::u32string w;
  w = ToU32(k);
  if (latin && k.size() >= 4) {
    if (const auto* list = ListOf(skeleton_index, skeletons, LatinSkeleton(k))) {
      // The skeleton drops vowels; require the words to be close as well.
      for (uint32_t cand : *list)
        if (EditDistance(words32[cand], w, 2) <= 2) add(cand, kQualitySkeleton);
    }
  }
  const int max = MaxDistance(w.size());
  if (max == 0) return;
  // Probes: the word with one (and, for long words, two) letters deleted, then the word itself,
  // in the order the deletion index was built from (so explanations stay stable).
  thread_local std::vector<uint32_t> cps, cps1;
  thread_local std::string probe, probe2;
  auto try_probe = [&](std::string_view p) {
    const auto* list = ListOf(deletion_index, deletions, p);
    if (!list) return;
    for (uint32_t cand : *list) {
      const int allowed = std::min(max, MaxDistance(words32[cand].size()));
      if (allowed > 0 && EditDistance(words32[cand], w, allowed) <= allowed) add(cand, kQualityFuzzy);
    }
  };
  CodePointOffsets(k, cps);
  const size_t n = cps.size() - 1;
  for (size_t i = 0; i < n; ++i) {
    probe.assign(k.substr(0, cps[i])).append(k.substr(cps[i + 1]));
    try_probe(probe);
  }
  if (max >= 2) {
    for (size_t i = 0; i < n; ++i) {
      probe.assign(k.substr(0, cps[i])).append(k.substr(cps[i + 1]));
      CodePointOffsets(probe, cps1);
      for (size_t j = 0; j + 1 < cps1.size(); ++j) {
        probe2.assign(std::string_view(probe).substr(0, cps1[j])).append(std::string_view(probe).substr(cps1[j + 1]));
        try_probe(probe2);
      }
    }
  }
  try_probe(k);
}

WordLanguage Classifier::Impl::LanguageOf(const Token& t, uint32_t lexicon_entry) const {
  WordLanguage w;
  if (t.digits) return w;
  if (!t.latin) {
    w.pashto_letter = HasPashtoLetter(t.clean);
    w.other_language = other_language_words.size() > 0 && other_language_words.Find(t.clean) != nullptr;
  }
  if (lexicon_entry == kNone) return w;
  const LexiconEntry& e = lexicon[lexicon_entry];
  for (int lang = 0; lang < 3; ++lang) {
    if (!e.present[lang]) continue;
    w.present[lang] = true;
    w.weight[lang] = e.weight[lang];
    // Found only after folding (چی for چې): weaker evidence.
    if (!t.latin && e.clean[lang] != t.clean) w.weight[lang] = std::max(1.0, w.weight[lang] - 1);
  }
  return w;
}

void Classifier::Impl::LanguageScores(const NormalizedText& n, const WordLanguage* const* words,
                                      const std::vector<Hit>& hits, double scores[3]) const {
  scores[0] = scores[1] = scores[2] = 0;
  const bool latin_text = n.latin_letters > n.arabic_letters;
  for (size_t i = 0; i < n.tokens.size(); ++i) {
    const Token& t = n.tokens[i];
    if (t.digits) continue;
    if (t.latin != latin_text) continue;  // a Latin "PoR" inside Dari text says nothing
    WordLanguage here;
    if (!words) {
      const uint32_t* found = lexicon_index.Find(t.key);
      here = LanguageOf(t, found ? *found : kNone);
    }
    const WordLanguage& w = words ? *words[i] : here;
    if (w.pashto_letter) scores[2] += 2;
    for (int lang = 0; lang < 3; ++lang)
      if (w.present[lang]) scores[lang] += w.weight[lang];
  }
  if (!latin_text) scores[0] = 0;
  // Keywords of a language's own rules are a weak signal too (topic words carry no language,
  // so only rules marked with a language count, at half a point each; a rule fires once).
  for (const Hit& h : hits) {
    const int lang = rules[h.rule].language;
    if (lang < 0) continue;
    if (latin_text && lang != 0) continue;  // romanized rules share English words
    scores[lang] += 0.5;
  }
}

int Classifier::Impl::PickLanguage(const double scores[3]) const {
  int best = -1;
  double best_score = -1, second = -1;
  for (int lang = 0; lang < 3; ++lang) {
    const double s = scores[lang];
    if (s > best_score) {
      second = best_score;
      best_score = s;
      best = lang;
    } else if (s > second) {
      second = s;
    }
  }
  if (best_score < settings.lid_min_score || best_score - second < settings.lid_min_margin) return -1;
  return best;
}

void Classifier::Impl::FinishIndexes() {
  for (uint32_t id = 0; id < words.size(); ++id) {
    const std::string& w = words[id];
    for (size_t cut = 1; cut < w.size(); ++cut) {
      if ((static_cast<unsigned char>(w[cut]) & 0xC0) == 0x80) continue;  // inside a letter
      const uint32_t first = split_firsts.Insert(std::string_view(w).substr(0, cut), static_cast<uint32_t>(split_firsts.size()));
      const uint32_t second = split_seconds.Insert(std::string_view(w).substr(cut), static_cast<uint32_t>(split_seconds.size()));
      split_words.Insert(first, second, id);
    }
  }
  // by_concat's keys are in concat_keys; rebuild them from the terms.
  for (const Term& t : terms) {
    if (t.words.size() < 2) continue;
    std::string joined;
    for (uint32_t w : t.words) joined += words[w];
    const uint32_t list = *concat_keys.Find(joined);
    for (size_t len = 1; len < joined.size(); ++len) concat_prefixes.Insert(std::string_view(joined).substr(0, len), kNone);
    concat_prefixes.Insert(joined, kNone) = list;
  }
  single_by_word.Freeze();
  by_pair.Freeze();
  std::vector<uint32_t> by_id(rules.size());
  for (uint32_t r = 0; r < rules.size(); ++r) by_id[r] = r;
  std::sort(by_id.begin(), by_id.end(), [this](uint32_t a, uint32_t b) { return rules[a].id < rules[b].id; });
  scoring.resize(rules.size());
  for (uint32_t rank = 0; rank < by_id.size(); ++rank) {
    const CompiledRule& r = rules[by_id[rank]];
    scoring[by_id[rank]] = {r.weight, r.intent, rank, !r.requires_.empty(), r.always_urgent, r.clause_scope,
                            intents[r.intent].urgent};
  }
}

uint64_t Classifier::Impl::PatternClauses(const RE2& re, const NormalizedText& n, const std::string& padded,
                                          std::vector<uint32_t>& offsets) const {
  if (n.tokens.empty()) return 0;
  // padded = " " + keys joined by single spaces + " ": where each token starts.
  offsets.clear();
  uint32_t at = 1;
  for (const Token& t : n.tokens) {
    offsets.push_back(at);
    at += static_cast<uint32_t>(t.key.size()) + 1;
  }
  uint64_t mask = 0;
  size_t pos = 0;
  re2::StringPiece match;
  while (pos <= padded.size() && re.Match(padded, pos, padded.size(), RE2::UNANCHORED, &match, 1)) {
    size_t start = static_cast<size_t>(match.data() - padded.data());
    while (start < padded.size() && padded[start] == ' ') ++start;  // patterns often begin with " "
    auto it = std::upper_bound(offsets.begin(), offsets.end(), static_cast<uint32_t>(start));
    const size_t token = it == offsets.begin() ? 0 : static_cast<size_t>(it - offsets.begin()) - 1;
    mask |= ClauseBit(n.tokens[std::min(token, n.tokens.size() - 1)].clause);
    pos = static_cast<size_t>(match.data() - padded.data()) + std::max<size_t>(1, match.size());
  }
  return mask;
}

Classifier::Classifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Classifier::~Classifier() = default;

Result<std::shared_ptr<const Classifier>> Classifier::Build(const json& content) {
  static std::atomic<uint64_t> next_generation{1};
  auto impl = std::make_unique<Impl>();
  impl->generation = next_generation++;
  if (!content.is_object() || !content.contains("intents") || !content["intents"].is_array())
    return Status::InvalidArgument("content has no \"intents\" list");
  {
    std::map<std::string, IntentInfo> by_id;
    for (const json& it : content["intents"]) {
      if (!it.is_object() || !it.contains("id") || !it["id"].is_string())
        return Status::InvalidArgument("an intent has no id");
      IntentInfo info;
      info.id = it["id"].get<std::string>();
      info.urgent = it.contains("urgent") && it["urgent"].is_boolean() && it["urgent"].get<bool>();
      info.queue = it.contains("queue") && it["queue"].is_string() ? it["queue"].get<std::string>() : "";
      by_id[info.id] = info;
    }
    if (!by_id.count("unknown")) return Status::InvalidArgument("intent \"unknown\" is missing");
    for (const auto& m : kModifiers)
      if (!by_id.count(m)) by_id[m] = IntentInfo{m, false, true, ""};
    for (auto& [id, info] : by_id) impl->intents.push_back(std::move(info));
  }
  impl->unknown_intent = impl->IntentIndex("unknown");
  impl->human_intent = impl->IntentIndex("human_agent");
  impl->stop_intent = impl->IntentIndex("opt_out");
  impl->hypothetical = impl->IntentIndex("_hypothetical");
  impl->past = impl->IntentIndex("_past");
  impl->immediacy = impl->IntentIndex("_immediacy");

  if (content.contains("engine") && content["engine"].is_object()) {
    const json& e = content["engine"];
    // A setting of the wrong type is an error, not a silent fall-back to the default ("0.5" as
    // text would quietly undo a tuned threshold).
    for (const char* k : {"min_score", "urgent_min_score", "lid_min_score", "lid_min_margin"})
      if (e.contains(k) && !e[k].is_number()) return Status::InvalidArgument(std::string("engine: \"") + k + "\" must be a number");
    if (e.contains("suppressed_urgent_intent") && !e["suppressed_urgent_intent"].is_string())
      return Status::InvalidArgument("engine: \"suppressed_urgent_intent\" must be an intent id");
    auto num = [&e](const char* k, double& into) {
      if (e.contains(k)) into = e[k].get<double>();
    };
    num("min_score", impl->settings.min_score);
    num("urgent_min_score", impl->settings.urgent_min_score);
    num("lid_min_score", impl->settings.lid_min_score);
    num("lid_min_margin", impl->settings.lid_min_margin);
    if (e.contains("suppressed_urgent_intent"))
      impl->settings.suppressed_urgent_intent = e["suppressed_urgent_intent"].get<std::string>();
    if (e.contains("example_model")) {
      const json& em = e["example_model"];
      if (!em.is_object()) return Status::InvalidArgument("engine: \"example_model\" must be an object");
      for (const char* k : {"urgent_threshold", "intent_threshold", "overrule_threshold"})
        if (em.contains(k) && (!em[k].is_number() || em[k].get<double>() <= 0))
          return Status::InvalidArgument(std::string("engine: example_model.") + k + " must be a number above 0");
      impl->settings.model_urgent_threshold = em.value("urgent_threshold", 2.0);
      impl->settings.model_intent_threshold = em.value("intent_threshold", 2.0);
      impl->settings.model_overrule_threshold = em.value("overrule_threshold", 2.0);
      if (em.contains("never_picks")) {
        if (!em["never_picks"].is_array()) return Status::InvalidArgument("engine: example_model.never_picks must be a list");
        for (const json& id : em["never_picks"]) {
          if (!id.is_string() || impl->IntentIndex(id.get<std::string>()) == kNone)
            return Status::InvalidArgument("engine: example_model.never_picks names an unknown intent " + id.dump());
          impl->settings.model_intent_excluded.insert(id.get<std::string>());
        }
      }
    }
  }
  if (Status st = impl->TrainExampleModel(content); !st.ok()) return st;
  if (content.contains("messages") && content["messages"].is_object())
    for (const auto& [lang, messages] : content["messages"].items())
      for (const char* list : {"yes_words", "no_words"})
        if (messages.is_object() && messages.contains(list) && messages[list].is_array())
          for (const json& w : messages[list])
            if (w.is_string())
              if (std::string k = KeyOf(w.get<std::string>()); !k.empty()) impl->answer_words.insert(std::move(k));
  impl->suppressed_intent = impl->IntentIndex(impl->settings.suppressed_urgent_intent);
  if (impl->suppressed_intent != kNone && impl->intents[impl->suppressed_intent].modifier)
    impl->suppressed_intent = kNone;

  if (content.contains("engine") && content["engine"].is_object() && content["engine"].contains("other_language_words")) {
    const json& other = content["engine"]["other_language_words"];
    if (!other.is_object()) return Status::InvalidArgument("engine: \"other_language_words\" must be an object of word lists by language");
    for (const auto& [lang, words] : other.items()) {
      if (!words.is_array()) return Status::InvalidArgument("engine: other_language_words." + lang + " must be a list of words");
      for (const json& w : words) {
        auto n = w.is_string() ? Normalize(w.get<std::string>()) : Result<NormalizedText>(Status::InvalidArgument(""));
        if (!n.ok() || n->tokens.size() != 1)
          return Status::InvalidArgument("engine: other_language_words." + lang + ": " + w.dump() + " must be one word");
        impl->other_language_words.Insert(n->tokens[0].clean, 0);
      }
    }
  }
  if (content.contains("lexicon") && content["lexicon"].is_object()) {
    for (const auto& [lang, words] : content["lexicon"].items()) {
      if (!kLanguages.count(lang) || !words.is_object())
        return Status::InvalidArgument("lexicon: unknown language \"" + lang + "\"");
      const int li = LanguageIndex(lang);
      for (const auto& [word, weight] : words.items()) {
        if (!weight.is_number()) return Status::InvalidArgument("lexicon " + lang + ": weight of \"" + word + "\"");
        auto n = Normalize(word);
        if (!n.ok() || n->tokens.size() != 1)
          return Status::InvalidArgument("lexicon " + lang + ": \"" + word + "\" must be one word");
        const uint32_t entry = impl->lexicon_index.Insert(n->tokens[0].key, static_cast<uint32_t>(impl->lexicon.size()));
        if (entry == impl->lexicon.size()) impl->lexicon.emplace_back();
        LexiconEntry& e = impl->lexicon[entry];
        e.present[li] = true;
        e.weight[li] = weight.get<double>();
        e.clean[li] = n->tokens[0].clean;
      }
    }
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
      const std::string intent = r["intent"].get<std::string>();
      rule.intent = impl->IntentIndex(intent);
      if (rule.intent == kNone)
        return Status::InvalidArgument("rule " + rule.id + ": unknown intent \"" + intent + "\"");
      if (intent == "unknown") return Status::InvalidArgument("rule " + rule.id + ": cannot target \"unknown\"");
      if (r.contains("language")) {
        if (!r["language"].is_string() || !kLanguages.count(r["language"].get<std::string>()))
          return Status::InvalidArgument("rule " + rule.id + ": language must be en, prs or ps");
        rule.language = LanguageIndex(r["language"].get<std::string>());
      }
      if (r.contains("weight")) {
        if (!r["weight"].is_number()) return Status::InvalidArgument("rule " + rule.id + ": weight must be a number");
        rule.weight = r["weight"].get<double>();
        if (!(rule.weight > 0 && rule.weight <= 10))
          return Status::InvalidArgument("rule " + rule.id + ": weight must be in (0, 10]");
      }
      rule.always_urgent = r.contains("always_urgent") && r["always_urgent"].is_boolean() &&
                           r["always_urgent"].get<bool>();
      if (r.contains("answer")) {
        if (!r["answer"].is_string() || r["answer"].get<std::string>().empty())
          return Status::InvalidArgument("rule " + rule.id + ": answer must be the id of an answer");
        rule.answer = r["answer"].get<std::string>();
      }
      if (r.contains("fuzzy")) {
        if (!r["fuzzy"].is_boolean()) return Status::InvalidArgument("rule " + rule.id + ": fuzzy must be true or false");
        rule.fuzzy = r["fuzzy"].get<bool>();
      }
      if (r.contains("scope")) {
        if (intent != "_hypothetical")
          return Status::InvalidArgument("rule " + rule.id + ": scope is only for _hypothetical rules");
        if (r["scope"] != "clause" && r["scope"] != "message")
          return Status::InvalidArgument("rule " + rule.id + ": scope must be \"message\" or \"clause\"");
        rule.clause_scope = r["scope"] == "clause";
      }
      Status st;
      auto keywords = StringList(r, "keywords", rule.id, st);
      auto requires_ = StringList(r, "requires", rule.id, st);
      auto excludes = StringList(r, "excludes", rule.id, st);
      auto patterns = StringList(r, "patterns", rule.id, st);
      BOT_RETURN_IF_ERROR(st);
      if (keywords.empty() && patterns.empty())
        return Status::InvalidArgument("rule " + rule.id + ": no keywords and no patterns, it can never match");
      const auto index = static_cast<uint32_t>(impl->rules.size());
      impl->rules.push_back(std::move(rule));
      // AddTerm may not hold a reference into `rules` across calls; index each time.
      for (const auto& k : keywords) {
        std::vector<uint32_t>& into = impl->rules[index].keywords;
        BOT_RETURN_IF_ERROR(impl->AddTerm(index, TermKind::kKeyword, k, into));
      }
      for (const auto& k : requires_) {
        std::vector<uint32_t>& into = impl->rules[index].requires_;
        BOT_RETURN_IF_ERROR(impl->AddTerm(index, TermKind::kRequire, k, into));
      }
      for (const auto& k : excludes) {
        std::vector<uint32_t>& into = impl->rules[index].excludes;
        BOT_RETURN_IF_ERROR(impl->AddTerm(index, TermKind::kExclude, k, into));
      }
      CompiledRule& cr = impl->rules[index];
      // A keyword that is also excluded can never make its rule fire.
      for (uint32_t k : cr.keywords)
        for (uint32_t x : cr.excludes)
          if (impl->terms[k].words == impl->terms[x].words)
            return Status::InvalidArgument("rule " + cr.id + ": keyword \"" + impl->terms[k].text +
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
        // Patterns run on " " + the words' key forms + " ": " ", "\\s" or "." match every message,
        // which would take "stop", "delete my data" and "talk to a person" over. A pattern that
        // matches all of these unrelated messages matches everything.
        static const char* const kUnrelated[] = {" 1 ", " ok ", " stop ", " delete my data ", " سلام ", " مننه ",
                                                 " talk to a person ", " x "};
        bool matches_all = true;
        for (const char* sample : kUnrelated) matches_all = matches_all && RE2::PartialMatch(sample, *re);
        if (matches_all)
          return Status::InvalidArgument("rule " + cr.id + ": pattern \"" + p +
                                         "\" matches every message (even \"1\", \"stop\" and \"سلام\"): make it name the words it is for");
        cr.patterns.push_back(std::move(re));
        cr.pattern_shown.push_back("/" + p + "/");
        cr.pattern_whole.push_back(p.size() >= 2 && p.front() == '^' && p.back() == '$');
      }
    }
  }
  impl->FinishIndexes();
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

namespace {

// What the engine knows about one word of a message.
struct WordInfo {
  uint32_t offset = 0, count = 0;  // its variants, in Scratch::cache_arena
  bool starts_concat = false;      // a prefix of some multi-word keyword written as one
  uint32_t concat_list = kNone;    // then its concat_prefixes value (a keyword's by_concat list, or kNone)
  uint32_t split_first = kNone;    // its id as the first part of a vocabulary word cut in two
  uint32_t split_second = kNone;   // … as the second part
  ExampleModel::Word model;        // what the example model knows of it (its features in a model arena)
  WordLanguage language;           // what it says about the language
};

constexpr uint32_t kUnknownPair = 0xFFFFFFFEu;  // concat_pairs: not looked up yet

// Everything one message needs, kept per thread and reused: after warm-up a message allocates
// only its Decision's strings. Reset when the thread meets another rule set (generation).
struct Scratch {
  uint64_t generation = 0;
  NormalizedText normalized;
  // Word cache: what a word can stand for is worked out once per thread and rule set (typo
  // probes are the expensive part). Bounded: a few thousand words cover the vocabulary people
  // use; past that it starts over.
  StringTable cache_index;               // key → entry
  std::vector<WordInfo> cache_entries;
  std::vector<Variant> cache_arena;      // the entries' variants
  std::vector<Variant> variants;  // AddVariants' output for one word
  std::vector<ModelFeature> model_arena;  // the entries' example-model features
  // Two cached words joined: their concat_prefixes lookup, as 0 (no keyword starts so), 1 (only a
  // prefix) or list + 2. Most words start some joined keyword, so this is asked for most pairs of
  // adjacent words; the answer depends on the two words alone. Emptied with the word cache.
  PairTable concat_pairs;
  std::vector<ModelFeature> digit_model_arena;  // per message: those of numbers, which are not cached
  std::vector<ExampleModel::DescribedWord> described;  // per token
  // Per message.
  std::vector<uint32_t> entry_of;
  std::vector<Variant> digit_variant;
  std::vector<WordInfo> number_info;  // per token: what a number (never cached) is
  std::vector<const WordInfo*> info;  // per token: its cache entry or number_info
  std::vector<const WordLanguage*> language_of;  // per token
  std::vector<std::pair<const Variant*, uint32_t>> resolved;
  std::vector<RuleState> states;
  std::vector<uint32_t> touched_rules;
  std::vector<uint32_t> term_seen;  // term id → epoch in which it matched (each term counts once)
  uint32_t epoch = 0;
  std::vector<double> intent_scores;
  std::vector<char> intent_touched;
  std::vector<uint32_t> touched_intents;
  std::vector<Hit> hits;
  std::vector<int> matched_patterns;
  std::vector<std::pair<uint32_t, uint32_t>> pattern_hits;  // (rule, pattern) that matched
  std::vector<uint32_t> token_offsets;                      // byte offset of each token in padded
  std::string concat, padded;

  void Reset(size_t rules, size_t terms, size_t intents, uint64_t gen) {
    generation = gen;
    cache_index.Clear();
    cache_entries.clear();
    cache_arena.clear();
    model_arena.clear();
    concat_pairs = PairTable();
    states.assign(rules, RuleState{});
    term_seen.assign(terms, 0);
    epoch = 0;
    intent_scores.assign(intents, 0);
    intent_touched.assign(intents, 0);
  }
};

// Two points: one strong function word ("my", "mikonam", "است") or two weak ones, and as far ahead
// of the next language.
constexpr double kCertainLanguageScore = 2;
// The default keeps ~500 KB of words and up to ~0.5 MB of word pairs (concat_pairs) a thread.
thread_local size_t word_cache_limit = Classifier::kDefaultWordCacheLimit;

}  // namespace

void Classifier::SetWordCacheLimitForThisThread(size_t words) { word_cache_limit = words; }

Decision Classifier::Classify(std::string_view text, Explanation* explain) const {
  const Impl& m = *impl_;
  thread_local Scratch s;
  if (s.generation != m.generation) s.Reset(m.rules.size(), m.terms.size(), m.intents.size(), m.generation);
  Decision d;
  Status normalized = NormalizeInto(text, &s.normalized);
  if (!normalized.ok()) {
    if (explain) explain->notes.push_back(normalized.message());
    return d;
  }
  const NormalizedText& n = s.normalized;
  const size_t count = n.tokens.size();

  // What each token can stand for (cached per word).
  if (s.cache_index.size() > word_cache_limit) {
    s.cache_index.Clear();
    s.cache_entries.clear();
    s.cache_arena.clear();
    s.model_arena.clear();
    s.concat_pairs = PairTable();
  }
  // 16-byte slots at most half full: 32-64 bytes a pair, ~2 MB at the bulk cache's bound.
  if (s.concat_pairs.size() > 4 * word_cache_limit) s.concat_pairs = PairTable();
  s.digit_model_arena.clear();
  s.entry_of.assign(count, kNone);
  s.digit_variant.assign(count, Variant{kNone, 0});
  s.info.resize(count);
  s.number_info.resize(count);
  s.language_of.resize(count);
  auto prefix_flags = [&m](std::string_view key, WordInfo& w) {
    const uint32_t* concat = m.concat_prefixes.Find(key);
    w.starts_concat = concat != nullptr;
    if (concat) w.concat_list = *concat;
    if (const uint32_t* id = m.split_firsts.Find(key)) w.split_first = *id;
    if (const uint32_t* id = m.split_seconds.Find(key)) w.split_second = *id;
  };
  for (size_t i = 0; i < count; ++i) {
    const Token& t = n.tokens[i];
    if (t.digits) {
      if (const uint32_t* id = m.vocabulary.Find(t.key)) s.digit_variant[i] = {*id, kQualityExact};
      WordInfo w;
      prefix_flags(t.key, w);
      if (m.model) w.model = m.model->DescribeWord(t.key, &s.digit_model_arena);
      s.number_info[i] = w;
      continue;
    }
    const auto next = static_cast<uint32_t>(s.cache_entries.size());
    // Keyed by the word as cleaned (its key is a function of it): the language evidence depends on
    // the Pashto letters that the key folds away.
    const uint32_t entry = s.cache_index.Insert(t.clean, next);
    if (entry == next) {
      s.variants.clear();
      m.AddVariants(t.key, t.latin, s.variants);
      WordInfo w;
      w.offset = static_cast<uint32_t>(s.cache_arena.size());
      w.count = static_cast<uint32_t>(s.variants.size());
      const uint32_t* lexicon_entry = m.lexicon_index.Find(t.key);
      w.language = m.LanguageOf(t, lexicon_entry ? *lexicon_entry : kNone);
      prefix_flags(t.key, w);
      if (m.model) w.model = m.model->DescribeWord(t.key, &s.model_arena);
      s.cache_entries.push_back(w);
      s.cache_arena.insert(s.cache_arena.end(), s.variants.begin(), s.variants.end());
    }
    s.entry_of[i] = entry;

  }
  s.resolved.resize(count);
  for (size_t i = 0; i < count; ++i) {
    // After the loop above: a word new to the cache may have moved the entries.
    s.info[i] = s.entry_of[i] == kNone ? &s.number_info[i] : &s.cache_entries[s.entry_of[i]];
    s.language_of[i] = &s.info[i]->language;
    if (s.entry_of[i] == kNone) {
      const bool known = s.digit_variant[i].word != kNone;
      s.resolved[i] = {&s.digit_variant[i], known ? 1u : 0u};
    } else {
      s.resolved[i] = {s.cache_arena.data() + s.info[i]->offset, s.info[i]->count};
    }
  }

  // Best quality of every term that matched, per rule.
  if (++s.epoch == 0) {  // wrapped: forget every stamp
    std::fill(s.term_seen.begin(), s.term_seen.end(), 0);
    s.epoch = 1;
  }
  auto state_of = [&](uint32_t rule) -> RuleState& {
    RuleState& st = s.states[rule];
    if (!st.touched) {
      st.touched = true;
      s.touched_rules.push_back(rule);
    }
    return st;
  };
  auto first_time = [&](uint32_t term) {
    if (s.term_seen[term] == s.epoch) return false;
    s.term_seen[term] = s.epoch;
    return true;
  };
  auto record = [&](const TermRef& t, double q, size_t token) {
    RuleState& st = state_of(t.rule);
    switch (t.kind) {
      case TermKind::kKeyword:
        if (q > st.best) {
          st.best = q;
          st.matched = &m.terms[t.term].text;
        }
        ++st.distinct;
        st.clauses |= ClauseBit(n.tokens[token].clause);
        break;
      case TermKind::kRequire: st.required = true; break;
      case TermKind::kExclude: st.excluded = true; break;
    }
  };

  // A term found at token i: the first time it counts; again (another spelling or place) it can
  // only raise its keyword's quality and add the clause.
  auto matched_at = [&](const TermRef& t, double q, size_t token) {
    if (first_time(t.term)) {
      record(t, q, token);
      return;
    }
    if (t.kind != TermKind::kKeyword) return;
    RuleState& st = s.states[t.rule];
    st.best = std::max(st.best, q);
    st.clauses |= ClauseBit(n.tokens[token].clause);
  };

  for (size_t i = 0; i < count; ++i) {
    const auto [variants, nvariants] = s.resolved[i];
    for (uint32_t v = 0; v < nvariants; ++v) {
      const uint32_t w1 = variants[v].word;
      const double q0 = variants[v].quality;
      for (const TermRef& t : m.single_by_word[w1]) {
        if (!t.fuzzy && q0 < kQualityExact) continue;
        matched_at(t, q0, i);
      }
      if (!m.starts_pair[w1] || i + 1 >= count) continue;
      const auto [second, nsecond] = s.resolved[i + 1];
      for (uint32_t x = 0; x < nsecond; ++x) {
        if (!m.seconds_pair[second[x].word]) continue;
        const uint32_t* list = m.pair_index.Find(w1, second[x].word);
        if (!list) continue;
        for (const TermRef& t : m.by_pair[*list]) {
          if (i + t.words > count) continue;
          const bool fuzzy = t.fuzzy;
          if (!fuzzy && (q0 < kQualityExact || second[x].quality < kQualityExact)) continue;
          double q = std::min(q0, second[x].quality);
          bool ok = true;
          const std::vector<uint32_t>& words = m.terms[t.term].words;
          for (size_t j = 2; j < t.words && ok; ++j) {
            double best = 0;
            const auto [next, nnext] = s.resolved[i + j];
            for (uint32_t y = 0; y < nnext; ++y)
              if (next[y].word == words[j] && (fuzzy || next[y].quality >= kQualityExact))
                best = std::max(best, next[y].quality);
            ok = best > 0;
            q = std::min(q, best);
          }
          if (!ok) continue;
          matched_at(t, q, i);
        }
      }
    }
    // Run-together or split spellings of multi-word keywords.
    if (!s.info[i]->starts_concat) continue;
    for (size_t len = 1; len <= 4 && i + len <= count; ++len) {
      if (len == 2) s.concat = n.tokens[i].key;
      if (len > 1) s.concat += n.tokens[i + len - 1].key;
      const uint32_t* list = len == 1 ? &s.info[i]->concat_list : nullptr;
      uint32_t pair_list;
      if (len == 2 && s.entry_of[i] != kNone && s.entry_of[i + 1] != kNone) {
        uint32_t& cached = s.concat_pairs.Insert(s.entry_of[i], s.entry_of[i + 1], kUnknownPair);
        if (cached == kUnknownPair) {
          const uint32_t* found = m.concat_prefixes.Find(s.concat);
          cached = !found ? 0 : *found == kNone ? 1 : *found + 2;
        }
        pair_list = cached == 1 ? kNone : cached - 2;
        list = cached == 0 ? nullptr : &pair_list;
      } else if (len > 1) {
        list = m.concat_prefixes.Find(s.concat);
      }
      if (!list) break;  // no multi-word keyword starts like this
      if (*list == kNone) continue;
      for (uint32_t term : m.by_concat[*list])
        if (m.terms[term].words.size() != len && first_time(term)) record(m.RefOf(term), kQualityConcat, i);
    }
  }
  // Split spellings of single keywords: "می خواهم" for "میخواهم".
  for (size_t i = 0; i + 1 < count; ++i) {
    if (s.info[i]->split_first == kNone || s.info[i + 1]->split_second == kNone) continue;
    const uint32_t* word = m.split_words.Find(s.info[i]->split_first, s.info[i + 1]->split_second);
    if (!word) continue;
    for (const TermRef& t : m.single_by_word[*word])
      if (first_time(t.term)) record(t, kQualityConcat, i);
  }
  // Patterns.
  s.padded.assign(" ").append(n.key).append(" ");
  s.pattern_hits.clear();
  auto pattern_matched = [&](size_t r, size_t p) {
    s.pattern_hits.emplace_back(static_cast<uint32_t>(r), static_cast<uint32_t>(p));
    RuleState& st = state_of(static_cast<uint32_t>(r));
    if (kQualityExact > st.best) {
      st.best = kQualityExact;
      st.matched = &m.rules[r].pattern_shown[p];
    }
    ++st.distinct;
  };
  s.matched_patterns.clear();
  RE2::Set::ErrorInfo set_error{};
  if (m.pattern_set && (m.pattern_set->Match(s.padded, &s.matched_patterns, &set_error) ||
                        set_error.kind == RE2::Set::kNoError)) {
    std::sort(s.matched_patterns.begin(), s.matched_patterns.end());  // stable explanations
    for (int idx : s.matched_patterns) pattern_matched(m.set_entries[static_cast<size_t>(idx)].first,
                                                       m.set_entries[static_cast<size_t>(idx)].second);
  } else {
    // No set (or its automaton ran out of memory on this text): one pattern at a time.
    for (size_t r = 0; r < m.rules.size(); ++r)
      for (size_t p = 0; p < m.rules[r].patterns.size(); ++p)
        if (RE2::PartialMatch(s.padded, *m.rules[r].patterns[p])) pattern_matched(r, p);
  }

  // Rule scores → intent scores, in rule order.
  s.hits.clear();
  bool always_urgent = false;
  // Where urgent words, "long ago" markers and hypothetical markers are (a bit per clause).
  uint64_t urgent_clauses = 0, past_clauses = 0, hypothetical_clauses = 0, rights_clauses = 0;
  std::sort(s.touched_rules.begin(), s.touched_rules.end());
  for (uint32_t r : s.touched_rules) {
    RuleState& st = s.states[r];
    const RuleScoring& rule = m.scoring[r];
    const bool fires = st.best > 0 && !st.excluded && (!rule.has_requires || st.required);
    if (fires) {
      double score = rule.weight * st.best * std::min(1.5, 1.0 + 0.15 * (st.distinct - 1));
      if (!s.intent_touched[rule.intent]) {
        s.intent_touched[rule.intent] = 1;
        s.touched_intents.push_back(rule.intent);
      }
      s.intent_scores[rule.intent] += score;
      if (rule.always_urgent) always_urgent = true;
      if (rule.urgent_intent) urgent_clauses |= st.clauses;
      if (rule.intent == m.past) past_clauses |= st.clauses;
      if (rule.intent == m.hypothetical) (rule.clause_scope ? rights_clauses : hypothetical_clauses) |= st.clauses;
      s.hits.push_back({r, score, st.matched});
    }
    st = RuleState{};
  }
  s.touched_rules.clear();
  std::sort(s.hits.begin(), s.hits.end(), [&m](const Hit& a, const Hit& b) {
    return a.score != b.score ? a.score > b.score : m.scoring[a.rule].id_rank < m.scoring[b.rule].id_rank;
  });

  // Urgency: favour recall; a question about what would happen *if*, or a report of something
  // long past, is information, unless something says it is happening now. Self-harm always counts.
  auto score_of = [](uint32_t intent) { return intent == kNone ? 0.0 : s.intent_scores[intent]; };
  uint32_t urgent_intent = kNone;
  for (uint32_t i = 0; i < m.intents.size(); ++i)
    if (m.intents[i].urgent && score_of(i) >= m.settings.urgent_min_score) urgent_intent = i;
  bool urgent = urgent_intent != kNone;
  bool judged_not_urgent = false;
  if (urgent && !always_urgent) {
    const bool hypothetical = score_of(m.hypothetical) > 0;
    const bool past = score_of(m.past) > 0;
    const bool now = score_of(m.immediacy) > 0;
    if ((past || hypothetical) && !now) {
      for (const auto& [r, p] : s.pattern_hits) {
        const CompiledRule& rule = m.rules[r];
        const bool is_urgent = m.intents[rule.intent].urgent, is_past = rule.intent == m.past,
                   is_hypothetical = rule.intent == m.hypothetical;
        if (!is_urgent && !is_past && !is_hypothetical) continue;
        bool fired = false;
        for (const Hit& h : s.hits) fired = fired || h.rule == r;
        if (!fired) continue;
        const uint64_t where = m.PatternClauses(*rule.patterns[p], n, s.padded, s.token_offsets);
        (is_urgent ? urgent_clauses : is_past ? past_clauses : rule.clause_scope ? rights_clauses : hypothetical_clauses) |= where;
      }
    }
    // Each marker speaks only for some clauses; urgent words in any other clause stay urgent.
    // "Police took my brother, we came here in 2021": a "long ago" marker, for its own clause.
    // "Police arrested my husband, is it legal?": a report, then a question about it. A question
    // about rights ("scope": "clause") speaks for its own clause; a conditional, a rumour check or
    // "just asking" for the whole message ("people say police take Afghans, is it true?").
    const uint64_t covered = past_clauses | rights_clauses | (hypothetical_clauses != 0 ? ~uint64_t{0} : 0);
    const bool markers_cover_all = (past || hypothetical) && (urgent_clauses & ~covered) == 0;
    if ((past || hypothetical) && !markers_cover_all && !now && explain)
      explain->notes.push_back(std::string(hypothetical ? "a question about rights" : "a \"long ago\" marker") +
                               ", but in another clause than the urgent words: urgent");
    if (markers_cover_all && !now) {
      urgent = false;
      judged_not_urgent = true;
      if (explain)
        explain->notes.push_back(std::string("urgent words, but ") +
                                 (hypothetical ? "asked as a hypothetical" : "reported as long past") +
                                 " and nothing says it is happening now: information");
    }
  }
  uint32_t chosen = m.unknown_intent;
  if (urgent) {
    chosen = urgent_intent;
    d.urgent = true;
    d.score = score_of(urgent_intent);
    if (explain) explain->notes.push_back(always_urgent ? "self-harm or threat to life: always urgent" : "urgent");
  } else {
    double best = 0;
    for (uint32_t i = 0; i < m.intents.size(); ++i) {
      if (m.intents[i].modifier || m.intents[i].urgent) continue;
      if (score_of(i) > best) {
        best = score_of(i);
        chosen = i;
      }
    }
    if (best < m.settings.min_score) {
      chosen = m.unknown_intent;
      if (urgent_intent != kNone && m.suppressed_intent != kNone) {
        chosen = m.suppressed_intent;
        best = score_of(urgent_intent);
      }
    }
    d.score = best;
  }
  // The example model's second opinion: it may raise urgency the rules missed and name an intent
  // where the rules found none. It never lowers urgency and never overrides a rule's intent.
  // A message without letters ("6", "۱۰", "👍") is a menu pick or a reaction: the model, which
  // has seen few of them, may not make it urgent.
  // A bare yes or no ("نه") is an answer to a question, never an alarm on its own: the model,
  // which has seen few such words, scored "نه" 0.76. Only a rule can make it urgent.
  const bool bare_answer = m.answer_words.count(n.key) > 0;
  if (bare_answer && explain) explain->notes.push_back("a bare yes or no: the example model may not make it urgent");
  // "بس کنید" ("stop it") alone is someone asking us to stop: the model, which has seen the words
  // in pleas ("stop, they are beating him"), scored it 0.88 and opened a case instead. A message
  // that a request-to-stop pattern matches whole (`^ بس( است| کنید)? $`) stays one; "پولیس بس",
  // with a word of its own, is still the model's to judge.
  bool bare_stop = false;
  if (chosen == m.stop_intent && m.stop_intent != kNone)
    for (const auto& [r, p] : s.pattern_hits)
      bare_stop = bare_stop || (m.rules[r].intent == m.stop_intent && m.rules[r].pattern_whole[p]);
  if (bare_stop && explain) explain->notes.push_back("a bare request to stop: the example model may not make it urgent");
  if (!urgent && m.model_enabled && n.latin_letters + n.arabic_letters > 0 && !bare_answer && !bare_stop) {
    thread_local ModelInput input;
    s.described.resize(count);
    for (size_t i = 0; i < count; ++i)
      s.described[i] = {&s.info[i]->model, (s.entry_of[i] == kNone ? s.digit_model_arena : s.model_arena).data()};
    const double known_words = m.model->EncodeWords(s.described.data(), count, &input);
    const double p = m.model->Urgency(input);
    if (explain) {
      explain->model_urgency = p;
      explain->rules_judged_not_urgent = judged_not_urgent;
    }
    // Where the rules saw urgent words and a marker saying it is a question or long past, the
    // model needs more certainty to overrule them: those look-alikes are what it confuses most.
    const double needed = judged_not_urgent ? std::max(m.settings.model_urgent_threshold, m.settings.model_overrule_threshold)
                                            : m.settings.model_urgent_threshold;
    // Not one of the words is in any example ("Toronto", a name): the letters alone are no
    // evidence of a threat, and a place name is what people write when asked where they are.
    const bool no_known_word = known_words == 0;
    if (no_known_word && p >= needed && explain)
      explain->notes.push_back("no word of it is in the examples: the example model may not make it urgent");
    if (p >= needed && !no_known_word && m.model_urgent_intent != kNone) {
      chosen = m.model_urgent_intent;
      d.urgent = true;
      d.urgent_from_model = true;
      d.score = p;
      if (explain) explain->notes.push_back("the example model finds it urgent although the rules did not: urgent");
    } else if (chosen == m.unknown_intent) {
      int best_class = -1;
      double best_p = 0;
      thread_local std::vector<double> probabilities;
      m.model->ClassProbabilities(input, &probabilities);
      for (int c = 0; c < m.model->class_count(); ++c) {
        const double pc = probabilities[static_cast<size_t>(c)];
        if (pc > best_p) best_p = pc, best_class = c;
      }
      if (best_class >= 0 && explain) {
        explain->model_intent = m.intents[m.model_class_intent[static_cast<size_t>(best_class)]].id;
        explain->model_intent_probability = best_p;
      }
      // Only when most of the words are ones the examples contain, and the best guess is an
      // intent it may pick (its best guess can be "unknown", which changes nothing).
      const bool usable = best_class >= 0 && known_words >= 0.5 && m.model_class_pickable[static_cast<size_t>(best_class)];
      if (explain) explain->model_intent_usable = usable;
      // Naming an intent from one or two words ("نه" → deportation_info) needs more certainty.
      // (Urgency keeps the usual threshold there: a short plea, "کمک", is often caught only here.)
      const bool short_message = n.tokens.size() < 3;
      const double intent_needed = short_message ? std::max(m.settings.model_intent_threshold, m.settings.model_overrule_threshold)
                                                 : m.settings.model_intent_threshold;
      if (usable && best_p >= intent_needed) {
        chosen = m.model_class_intent[static_cast<size_t>(best_class)];
        d.score = best_p;
        if (explain) explain->notes.push_back("no rule decided; the example model names the intent");
      }
    }
  }
  d.intent = m.intents[chosen].id;
  d.queue = m.intents[chosen].queue;
  d.asks_for_person = !d.urgent && chosen != m.unknown_intent && m.human_intent != kNone && chosen != m.human_intent &&
                      score_of(m.human_intent) >= m.settings.min_score;
  if (d.asks_for_person && explain) explain->notes.push_back("also asks for a person: answered, then handed over");
  d.asks_to_stop = chosen != m.stop_intent && score_of(m.stop_intent) > 0;
  if (d.asks_to_stop && explain) explain->notes.push_back("also asks to stop");
  // The answer a firing rule of the chosen intent names (self-harm), the strongest first. Whatever
  // else the message reports, someone who may harm themselves gets those words first; that answer
  // also carries the protection helpline and legal aid, for a raid or an arrest told with it.
  for (const Hit& h : s.hits) {
    const CompiledRule& rule = m.rules[h.rule];
    if (rule.intent == chosen && !rule.answer.empty()) {
      d.answer = rule.answer;
      break;
    }
  }

  double lang_scores[3];
  m.LanguageScores(n, s.language_of.data(), s.hits, lang_scores);
  int lang = m.PickLanguage(lang_scores);
  // Written in another language (Urdu): at least two of its own words, weighing at least as much
  // as the evidence for Dari or Pashto. No language of ours then: the person's stored one stays.
  if (lang > 0 && m.other_language_words.size() > 0) {
    int other = 0;
    for (size_t i = 0; i < count; ++i) other += s.info[i]->language.other_language;
    if (other >= 2 && 2.0 * other >= lang_scores[lang]) {
      lang = -1;
      if (explain) explain->notes.push_back("written in a language we do not answer in (Urdu words): no language detected");
    }
  }
  if (lang >= 0) {
    d.language = kLanguageIds[lang];
    double second = 0;
    for (int l = 0; l < 3; ++l)
      if (l != lang) second = std::max(second, lang_scores[l]);
    d.language_certain = lang_scores[lang] >= kCertainLanguageScore && lang_scores[lang] - second >= kCertainLanguageScore;
  }
  if (explain) {
    explain->normalized = n;
    for (int l = 0; l < 3; ++l) explain->language_scores[kLanguageIds[l]] = lang_scores[l];
    for (uint32_t i : s.touched_intents) explain->intent_scores[m.intents[i].id] = s.intent_scores[i];
    for (const Hit& h : s.hits) {
      const CompiledRule& rule = m.rules[h.rule];
      explain->hits.push_back({rule.id, m.intents[rule.intent].id, rule.language < 0 ? "" : kLanguageIds[rule.language],
                               h.matched ? *h.matched : "", h.score});
    }
  }
  for (uint32_t i : s.touched_intents) {
    s.intent_scores[i] = 0;
    s.intent_touched[i] = 0;
  }
  s.touched_intents.clear();
  return d;
}

std::string Classifier::DetectLanguage(std::string_view text) const {
  auto n = Normalize(text);
  if (!n.ok()) return "";
  double scores[3];
  impl_->LanguageScores(*n, nullptr, {}, scores);
  const int lang = impl_->PickLanguage(scores);
  return lang < 0 ? "" : kLanguageIds[lang];
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
  json out{{"clean", e.normalized.clean}, {"key", e.normalized.key}, {"tokens", tokens},
              {"language_scores", e.language_scores}, {"intent_scores", e.intent_scores},
              {"rules_fired", hits}, {"notes", e.notes}};
  if (e.model_urgency >= 0) {
    out["example_model"] = {{"urgency", std::round(e.model_urgency * 1000) / 1000}};
    if (!e.model_intent.empty())
      out["example_model"]["intent"] = {{"id", e.model_intent},
                                        {"probability", std::round(e.model_intent_probability * 1000) / 1000}};
  }
  return out;
}

}  // namespace bot::intents
