// Text normalisation for matching: one pipeline from raw UTF-8 to a faithful "clean" form (for
// language identification, logs and operators) and an aggressive "key" form (for keywords).
#ifndef INTENTS_NORMALIZER_H_
#define INTENTS_NORMALIZER_H_

#include <string>
#include <string_view>
#include <vector>

#include <unicode/utf8.h>

#include "bot/core/status.h"

namespace bot::intents {

struct Token {
  std::string clean;  // the word as typed, cleaned (Pashto letters kept)
  std::string key;    // folded: ي/ى/ې/ۍ→ی, ك→ک, ګ→گ, ټ→ت …, no ZWNJ, Latin without accents
  bool latin = false; // written in Latin letters (English or romanized Dari/Pashto)
  bool digits = false;
  int clause = 0;     // which clause of the message (split at . , ; : ! ? and their Arabic forms)
};

struct NormalizedText {
  std::string clean;          // whole message, clean form, single spaces
  std::string key;            // whole message, key form, tokens joined by single spaces
  std::vector<Token> tokens;  // words and numbers, in order
  int latin_letters = 0;
  int arabic_letters = 0;
};

// Limit on what one message may carry into the classifier; longer text is cut at a word.
inline constexpr size_t kMaxNormalizeBytes = 16 * 1024;

// Normalises `utf8`. Returns kInvalidArgument for ill-formed UTF-8 (never silently U+FFFD).
// Thread-safe: ICU objects are per thread.
//  - NFKC (presentation forms → letters), ه+ٔ → ۀ
//  - removes tatweel, harakat, Quranic marks and invisible format characters (ZWNJ kept in clean)
//  - Persian ۰-۹ and Arabic ٠-٩ digits → 0-9; ؟ ، ؛ ٪ ٫ ٬ ۔ « » → ASCII
//  - case folding; runs of 3+ identical letters collapse to one ("salaaam" → "salam")
//  - key form additionally folds keyboard variants and strips Latin accents
Result<NormalizedText> Normalize(std::string_view utf8);

// The same into `out`, reusing its buffers: the classifier's hot path keeps one per thread, so a
// message costs no allocation once the buffers have grown. On error `out` is unspecified.
Status NormalizeInto(std::string_view utf8, NormalizedText* out);

// Key form of a single keyword or phrase, as Normalize would produce for the same text.
std::string KeyOf(std::string_view utf8);

// A romanization skeleton for Latin words: vowels dropped, doubled letters collapsed,
// x→kh, q→k, v→w ("tashakkur" and "tashakor" both → "tshkr").
std::string LatinSkeleton(std::string_view ascii_word);

// Damerau–Levenshtein (optimal string alignment) distance over code points, stopping early
// once it exceeds `max`.
int EditDistance(std::u32string_view a, std::u32string_view b, int max);

std::u32string ToU32(std::string_view utf8);

// Calls fn(char32_t) for each code point of `utf8` (U+FFFD for an ill-formed sequence).
template <typename Fn>
void ForEachCodePoint(std::string_view utf8, Fn&& fn) {
  int32_t i = 0;
  const auto len = static_cast<int32_t>(utf8.size());
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  while (i < len) {
    UChar32 c;
    U8_NEXT(s, i, len, c);
    fn(c < 0 ? char32_t{0xFFFD} : static_cast<char32_t>(c));
  }
}

}  // namespace bot::intents

#endif  // INTENTS_NORMALIZER_H_
