// Normaliser: ICU NFKC plus explicit code-point tables for what ICU leaves alone (Arabic/Persian/
// Pashto/Urdu keyboard variants, digits, punctuation, invisibles). Tables instead of a rule-based
// Transliterator on the hot path: the research probe measured 9–14 µs per message for the
// Transliterator against a budget of 10 µs for the whole classification.
#include "intents/normalizer.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>

namespace bot::intents {
namespace {

constexpr char32_t kZwnj = 0x200C;

__attribute__((always_inline)) inline bool IsRemoved(char32_t c) {
  if (c < 0xAD) return false;
  if (c == 0x0640) return true;                  // tatweel
  if (c >= 0x064B && c <= 0x065F) return true;   // harakat
  if (c == 0x0670) return true;                  // superscript alef
  if (c >= 0x06D6 && c <= 0x06ED && c != 0x06D5) return true;  // Quranic marks
  if (c == kZwnj) return false;
  if (c == 0x00AD || c == 0x061C || c == 0xFEFF) return true;
  if (c == 0x200B || c == 0x200D || c == 0x200E || c == 0x200F) return true;
  if (c >= 0x202A && c <= 0x202E) return true;
  if (c >= 0x2066 && c <= 0x2069) return true;
  if (c >= 0xFE00 && c <= 0xFE0F) return true;   // variation selectors (emoji)
  return false;
}

__attribute__((always_inline)) inline char32_t MapDigitOrPunct(char32_t c) {
  if (c < 0xAB) return c;
  if (c >= 0x06F0 && c <= 0x06F9) return U'0' + (c - 0x06F0);
  if (c >= 0x0660 && c <= 0x0669) return U'0' + (c - 0x0660);
  switch (c) {
    case 0x061F: return U'?';
    case 0x060C: return U',';
    case 0x061B: return U';';
    case 0x066A: return U'%';
    case 0x066B: return U'.';
    case 0x066C: return U',';
    case 0x06D4: return U'.';
    case 0x00AB: case 0x00BB: return U'"';
    default: return c;
  }
}

// Keyboard-variant folds for the key form (research/language.md §1.1).
__attribute__((always_inline)) inline char32_t FoldKey(char32_t c) {
  switch (c) {
    case 0x064A: case 0x0649: case 0x06D0: case 0x06CD: case 0x0626: case 0x06D2: case 0x06D3:
      return 0x06CC;  // ی
    case 0x0643: case 0x06AA: return 0x06A9;  // ک
    case 0x06AB: return 0x06AF;               // ګ → گ
    case 0x0629: case 0x06C0: case 0x06D5: case 0x06C1: case 0x06C2: case 0x06C3: case 0x06BE:
      return 0x0647;  // ه
    case 0x0623: case 0x0625: case 0x0622: case 0x0671: return 0x0627;  // ا
    case 0x0624: return 0x0648;               // و
    case 0x067C: case 0x0679: return 0x062A;  // ټ ٹ → ت
    case 0x0689: case 0x0688: return 0x062F;  // ډ ڈ → د
    case 0x0693: case 0x0691: return 0x0631;  // ړ ڑ → ر
    case 0x0696: return 0x0698;               // ږ → ژ
    case 0x069A: return 0x0634;               // ښ → ش
    case 0x06BC: case 0x06BA: return 0x0646;  // ڼ ں → ن
    case 0x0681: return 0x0632;               // ځ → ز
    case 0x0685: return 0x0633;               // څ → س
    default: return c;
  }
}

__attribute__((always_inline)) inline void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    const char b[2] = {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    out.append(b, 2);
  } else if (c < 0x10000) {
    const char b[3] = {static_cast<char>(0xE0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
                       static_cast<char>(0x80 | (c & 0x3F))};
    out.append(b, 3);
  } else if (c < 0x110000) {
    const char b[4] = {static_cast<char>(0xF0 | (c >> 18)), static_cast<char>(0x80 | ((c >> 12) & 0x3F)),
                       static_cast<char>(0x80 | ((c >> 6) & 0x3F)), static_cast<char>(0x80 | (c & 0x3F))};
    out.append(b, 4);
  }
}

// Writes c as UTF-8 at p (room for 4 bytes); returns the byte count.
__attribute__((always_inline)) inline size_t EncodeUtf8(char32_t c, char* p) {
  if (c < 0x80) {
    p[0] = static_cast<char>(c);
    return 1;
  }
  if (c < 0x800) {
    p[0] = static_cast<char>(0xC0 | (c >> 6));
    p[1] = static_cast<char>(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    p[0] = static_cast<char>(0xE0 | (c >> 12));
    p[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    p[2] = static_cast<char>(0x80 | (c & 0x3F));
    return 3;
  }
  if (c < 0x110000) {
    p[0] = static_cast<char>(0xF0 | (c >> 18));
    p[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    p[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    p[3] = static_cast<char>(0x80 | (c & 0x3F));
    return 4;
  }
  return 0;
}

// ICU's answers for every code point below U+0800 (Latin, Arabic, Persian, Pashto), looked up
// once: the character properties are asked several times per letter of every message.
// ICU's answer for one code point: NFKC quick check "yes" and combining class 0.
bool NfkcInertByIcu(UChar32 u) {
  return u_getIntPropertyValue(u, UCHAR_NFKC_QUICK_CHECK) == UNORM_YES && u_getCombiningClass(u) == 0;
}

struct CharInfo {
  char32_t folded = 0;
  bool alpha = false, alnum = false, digit = false, space = false, latin = false;
  bool nfkc_inert = false;  // NFKC quick check "yes" and combining class 0: a text of such is NFKC
};
constexpr char32_t kTableLimit = 0x800;

std::vector<CharInfo> BuildCharTable() {
    std::vector<CharInfo> t(kTableLimit);  // NOLINT: filled below
    for (char32_t c = 0; c < kTableLimit; ++c) {
      const auto u = static_cast<UChar32>(c);
      CharInfo& i = t[c];
      i.folded = static_cast<char32_t>(u_foldCase(u, U_FOLD_CASE_DEFAULT));
      i.alpha = u_isalpha(u);
      i.alnum = u_isalnum(u);
      i.digit = u_isdigit(u);
      i.space = u_isUWhiteSpace(u);
      UErrorCode st = U_ZERO_ERROR;
      i.latin = i.alpha && uscript_getScript(u, &st) == USCRIPT_LATIN;
      i.nfkc_inert = NfkcInertByIcu(u);
    }
    return t;
}

// Built before main (namespace scope), so reading it needs no "initialised yet?" check: the
// properties are asked several times per letter of every message. So nothing may normalise text
// from another file's static initialiser (none does): this table may not be built yet.
const std::vector<CharInfo> kCharTable = BuildCharTable();

__attribute__((always_inline)) inline const CharInfo* CharTable() { return kCharTable.data(); }

__attribute__((always_inline)) inline bool IsLatinLetter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c < kTableLimit) return CharTable()[c].latin;
  UErrorCode st = U_ZERO_ERROR;
  return u_isalpha(static_cast<UChar32>(c)) &&
         uscript_getScript(static_cast<UChar32>(c), &st) == USCRIPT_LATIN;
}

// Whether a text made only of characters like `c` is in NFKC without looking further.
inline bool IsNfkcInert(char32_t c) {
  if (c < kTableLimit) return CharTable()[c].nfkc_inert;
  return NfkcInertByIcu(static_cast<UChar32>(c));
}

__attribute__((always_inline)) inline bool IsArabicLetter(char32_t c) { return c >= 0x0600 && c <= 0x06FF && CharTable()[c].alpha; }

// é → e, ā → a: the first code point of the canonical decomposition when it is ASCII.
char32_t StripLatinAccent(char32_t c) {
  if (c < 0x80) return c;
  UErrorCode st = U_ZERO_ERROR;
  static const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(st);
  icu::UnicodeString d;
  if (nfd != nullptr && nfd->getDecomposition(static_cast<UChar32>(c), d) && d.length() > 0) {
    UChar32 first = d.char32At(0);
    if (first < 0x80) return static_cast<char32_t>(first);
  }
  if (c == 0x00DF) return U's';  // ß
  return c;
}

__attribute__((always_inline)) inline bool IsWordChar(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (c < kTableLimit) return CharTable()[c].alnum;
  return c == kZwnj || u_isalnum(static_cast<UChar32>(c));
}

__attribute__((always_inline)) inline bool IsWhiteSpace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  if (c < kTableLimit) return CharTable()[c].space;
  return u_isUWhiteSpace(static_cast<UChar32>(c));
}

__attribute__((always_inline)) inline char32_t FoldCase(char32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
  if (c < kTableLimit) return CharTable()[c].folded;
  return static_cast<char32_t>(u_foldCase(static_cast<UChar32>(c), U_FOLD_CASE_DEFAULT));
}

__attribute__((always_inline)) inline bool IsLetter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c < kTableLimit) return CharTable()[c].alpha;
  return u_isalpha(static_cast<UChar32>(c));
}

__attribute__((always_inline)) inline bool IsDigit(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  if (c < kTableLimit) return CharTable()[c].digit;
  return u_isdigit(static_cast<UChar32>(c));
}

// Emoji carry meaning on their own (👍 = thanks/ok, 🙏 = please/thanks): each is a token.
__attribute__((always_inline)) inline bool IsEmoji(char32_t c) {
  return c > 0x2000 && c != kZwnj && u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_EXTENDED_PICTOGRAPHIC);
}

// Prefixes and suffixes written after or before a ZWNJ (ي and ك folded), longest first.
bool IsZwnjAffix(std::u32string_view part, bool prefix) {
  static const std::u32string_view kPrefixes[] = {U"نمی", U"همی", U"می", U"بی"};
  static const std::u32string_view kSuffixes[] = {
      U"هایمان", U"هایتان", U"هایشان", U"هایی", U"هایم", U"هایت", U"هایش", U"های", U"ها", U"ترین", U"تر",
      U"اند", U"اید", U"ایم", U"است", U"ام", U"ای", U"ات", U"اش", U"مان", U"تان", U"شان", U"ست", U"یی", U"ی", U"گی"};
  std::u32string folded(part);
  for (char32_t& c : folded) {
    if (c == 0x064A || c == 0x0649) c = 0x06CC;  // ي ى → ی
    if (c == 0x0643) c = 0x06A9;                 // ك → ک
  }
  if (prefix) return std::find(std::begin(kPrefixes), std::end(kPrefixes), folded) != std::end(kPrefixes);
  return std::find(std::begin(kSuffixes), std::end(kSuffixes), folded) != std::end(kSuffixes);
}

// The per-character steps of the pipeline, worked out once for every code point below U+0800
// with the functions above (so they cannot disagree): what the clean form keeps, what the key
// form writes, and the classes the tokeniser asks about.
struct Step {
  enum Clean : uint8_t { kKeep, kRemove, kSpace };
  Clean clean = kKeep;
  bool word = false;    // IsWordChar
  bool digit = false;   // IsDigit
  bool latin = false;   // IsLatinLetter
  bool arabic = false;  // IsArabicLetter
  char32_t cleaned = 0;  // the clean form's character (kKeep)
  char32_t key = 0;      // the key form's character for it, as a token letter
};

std::vector<Step> BuildSteps() {
  std::vector<Step> t(kTableLimit);
  for (char32_t c = 0; c < kTableLimit; ++c) {
    Step& st = t[c];
    st.clean = IsRemoved(c) ? Step::kRemove : IsWhiteSpace(c) ? Step::kSpace : Step::kKeep;
    st.cleaned = FoldCase(MapDigitOrPunct(c));
    st.word = IsWordChar(c);
    st.digit = IsDigit(c);
    st.latin = IsLatinLetter(c);
    st.arabic = IsArabicLetter(c);
    st.key = st.latin ? StripLatinAccent(c) : FoldKey(c);
  }
  return t;
}

const std::vector<Step> kSteps = BuildSteps();

void SplitWordsJoinedByZwnj(std::u32string& text) {
  auto is_part = [](char32_t c) { return c != kZwnj && c != U' ' && IsWordChar(c); };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != kZwnj) continue;
    size_t a = i;
    while (a > 0 && is_part(text[a - 1])) --a;
    size_t b = i + 1;
    while (b < text.size() && is_part(text[b])) ++b;
    const std::u32string_view left(text.data() + a, i - a), right(text.data() + i + 1, b - i - 1);
    if (left.empty() || right.empty()) continue;
    if (IsZwnjAffix(left, true) || IsZwnjAffix(right, false)) continue;
    text[i] = U' ';
  }
}

}  // namespace

std::u32string ToU32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  ForEachCodePoint(utf8, [&out](char32_t c) { out.push_back(c); });
  return out;
}

namespace {

// Punctuation that ends a clause ("police took my brother, we came here in 2021": the year says
// nothing about the arrest). Between two digits it is a number ("10,000", "2.5").
bool EndsClause(char32_t c) {
  return c == U'.' || c == U',' || c == U';' || c == U':' || c == U'!' || c == U'?';
}

// The same pipeline for text that is all ASCII (English and romanized Dari/Pashto, about half of
// what people send), on bytes: none of the Unicode steps can change ASCII except case folding.
void NormalizeAscii(std::string_view text, NormalizedText* out) {
  // Written by index into buffers sized for the whole text, then trimmed: a push_back per
  // character (not inlined) was a third of the time.
  std::string& clean = out->clean;
  clean.resize(text.size());
  char* cp = clean.data();
  size_t n = 0;
  char run_char = 0;  // the trailing run of identical characters of the input, after folding
  int run_length = 0;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || (c >= 0x09 && c <= 0x0D)) {
      if (n > 0 && cp[n - 1] != ' ') {
        cp[n++] = ' ';
        run_char = ' ';
        run_length = 1;
      }
      continue;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + ('a' - 'A'));
    if (static_cast<char>(c) == run_char) {
      ++run_length;
    } else {
      run_char = static_cast<char>(c);
      run_length = 1;
    }
    // Runs of three or more identical letters are emphasis ("salaaam", "HELPPP"): keep one.
    if (c >= 'a' && c <= 'z' && run_length >= 3) {
      if (run_length == 3) --n;  // "cc" + c → "c"
      continue;
    }
    cp[n++] = static_cast<char>(c);
  }
  while (n > 0 && cp[n - 1] == ' ') --n;
  clean.resize(n);

  out->latin_letters = 0;
  out->arabic_letters = 0;
  out->key.clear();
  size_t used = 0;
  auto word_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  thread_local std::string word;
  if (word.size() < n) word.resize(n);
  int clause = 0;
  size_t i = 0;
  while (i < n) {
    bool ends = false;  // "?!!!" is one boundary: clause bits stop at 63
    while (i < n && !word_char(cp[i]) && cp[i] != '\'') {
      if (EndsClause(static_cast<unsigned char>(cp[i])) && !(i > 0 && i + 1 < n && digit(cp[i - 1]) && digit(cp[i + 1])))
        ends = true;
      ++i;
    }
    if (ends) ++clause;
    size_t j = i;
    while (j < n && (word_char(cp[j]) || (cp[j] == '\'' && j > i))) ++j;
    if (j > i) {
      if (used == out->tokens.size()) out->tokens.emplace_back();
      Token& t = out->tokens[used++];
      bool all_digits = true, any_latin = false;
      size_t length = 0;
      for (size_t k = i; k < j; ++k) {
        const char c = cp[k];
        if (c == '\'') continue;
        word[length++] = c;
        if (c >= 'a' && c <= 'z') {
          all_digits = false;
          any_latin = true;
          ++out->latin_letters;
        }
      }
      t.clean.assign(word.data(), length);
      t.key.assign(word.data(), length);
      t.latin = any_latin;
      t.digits = all_digits;
      t.clause = clause;
      if (!out->key.empty()) out->key.push_back(' ');
      out->key.append(word.data(), length);
    }
    i = j == i ? i + 1 : j;
  }
  out->tokens.resize(used);
}

}  // namespace

Status NormalizeInto(std::string_view utf8, NormalizedText* out) {
  // Validate first: ill-formed input is refused, not repaired behind the caller's back. Text with
  // a non-ASCII character is decoded on the way, and checked for NFKC as far as its characters
  // alone tell (most typed Dari and Pashto needs no ICU call at all).
  thread_local std::u32string decoded;
  bool ascii = true, nfkc_inert = true;
  {
    int32_t i = 0;
    const auto len = static_cast<int32_t>(utf8.size());
    const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
    int32_t last_good = 0;
    size_t count = 0;  // code points in `decoded`, once a non-ASCII one is met
    char32_t* chars = nullptr;
    while (i < len) {
      if (s[i] < 0x80) {  // most bytes of English and romanized text
        if (!ascii) chars[count++] = s[i];
        ++i;
      } else {
        if (ascii) {
          ascii = false;
          // At most one code point per byte, and no more than the limit keeps (+1: an ASCII byte
          // is written before the limit is checked). Sized from a 3 MB body it was 12 MB, kept.
          decoded.resize(std::min(utf8.size(), kMaxNormalizeBytes + 1));
          chars = decoded.data();
          for (int32_t k = 0; k < i; ++k) chars[count++] = s[k];  // the ASCII before it
        }
        UChar32 c;
        U8_NEXT(s, i, len, c);
        if (c < 0) return Status::InvalidArgument("text is not valid UTF-8");
        if (static_cast<size_t>(i) > kMaxNormalizeBytes) break;
        chars[count++] = static_cast<char32_t>(c);
        if (nfkc_inert && !IsNfkcInert(static_cast<char32_t>(c))) nfkc_inert = false;
      }
      if (static_cast<size_t>(i) > kMaxNormalizeBytes) {
        if (!ascii) --count;  // the ASCII byte that crossed the limit
        break;
      }
      last_good = i;
    }
    if (!ascii) decoded.resize(count);
    if (utf8.size() > kMaxNormalizeBytes) utf8 = utf8.substr(0, static_cast<size_t>(last_good));
  }

  if (ascii) {
    NormalizeAscii(utf8, out);
    return Status::Ok();
  }

  // Per-thread buffers: no allocation per message once they have grown.
  thread_local std::u32string clean, collapsed;
  // Written by index into a buffer sized for the most it can hold (one character out per
  // character in), then trimmed: a push_back per letter was a tenth of the time.
  size_t n = 0;
  char32_t* out_chars = nullptr;
  const Step* steps = kSteps.data();
  auto append_clean = [steps, &n, &out_chars](char32_t c) __attribute__((always_inline)) {
    if (c == 0x0654 && n > 0 && out_chars[n - 1] == 0x0647) {  // ه + hamza above → ۀ
      out_chars[n - 1] = 0x06C0;
      return;
    }
    if (c < kTableLimit) {
      const Step& st = steps[c];
      if (st.clean == Step::kKeep) {
        out_chars[n++] = st.cleaned;
      } else if (st.clean == Step::kSpace && n > 0 && out_chars[n - 1] != U' ') {
        out_chars[n++] = U' ';
      }
      return;
    }
    if (IsRemoved(c)) return;
    if (IsWhiteSpace(c)) {
      if (n > 0 && out_chars[n - 1] != U' ') out_chars[n++] = U' ';
      return;
    }
    out_chars[n++] = FoldCase(MapDigitOrPunct(c));
  };

  // NFKC only when the text is not already in NFKC (ASCII always is; most typed text is).
  UErrorCode st = U_ZERO_ERROR;
  static const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(st);
  const icu::StringPiece piece(utf8.data(), static_cast<int32_t>(utf8.size()));
  st = U_ZERO_ERROR;
  if (nfkc_inert || (nfkc != nullptr && nfkc->isNormalizedUTF8(piece, st) && U_SUCCESS(st))) {
    clean.resize(decoded.size());
    out_chars = clean.data();
    for (char32_t c : decoded) append_clean(c);  // validated above: no U+FFFD appears
  } else {
    icu::UnicodeString u = icu::UnicodeString::fromUTF8(piece);
    if (nfkc != nullptr) {
      st = U_ZERO_ERROR;
      u = nfkc->normalize(u, st);
      if (U_FAILURE(st)) return Status::Internal("NFKC normalisation failed");
    }
    clean.resize(static_cast<size_t>(u.length()));  // UTF-16 units: at least as many as characters
    out_chars = clean.data();
    for (int32_t i = 0; i < u.length();) {
      UChar32 raw = u.char32At(i);
      i += U16_LENGTH(raw);
      append_clean(static_cast<char32_t>(raw));
    }
  }
  clean.resize(n);
  // A ZWNJ joins a prefix or a suffix to its word (می‌خواهم, کتاب‌ها, خانه‌ام); between two words
  // it is a space some keyboards type («پولیس‌برادرم‌را‌گرفت» was one unknown word).
  if (clean.find(kZwnj) != std::u32string::npos) SplitWordsJoinedByZwnj(clean);
  // Runs of three or more identical letters are emphasis ("salaaam", "HELPPP", "سلاااام"): keep
  // one. Real doubles ("tashakkur") stay.
  bool has_run = false;
  for (size_t k = 2; k < clean.size() && !has_run; ++k) has_run = clean[k] == clean[k - 1] && clean[k] == clean[k - 2];
  if (has_run) {
    collapsed.clear();
    for (size_t a = 0; a < clean.size();) {
      size_t b = a;
      while (b < clean.size() && clean[b] == clean[a]) ++b;
      const size_t run = b - a;
      collapsed.append(run >= 3 && IsLetter(clean[a]) ? 1 : run, clean[a]);
      a = b;
    }
    clean.swap(collapsed);
  }
  while (!clean.empty() && clean.back() == U' ') clean.pop_back();

  // Tokens, reusing the Token objects (and their strings' capacity) of the previous message.
  out->latin_letters = 0;
  out->arabic_letters = 0;
  size_t used = 0;
  int clause = 0;
  auto next_token = [&]() -> Token& {
    if (used == out->tokens.size()) out->tokens.emplace_back();
    Token& t = out->tokens[used++];
    t.clean.clear();
    t.key.clear();
    t.latin = false;
    t.digits = false;
    t.clause = clause;
    return t;
  };
  size_t i = 0;
  while (i < clean.size()) {
    bool ends = false;  // "؟!!!" is one boundary: clause bits stop at 63
    while (i < clean.size() && !IsWordChar(clean[i]) && clean[i] != U'\'' && !IsEmoji(clean[i])) {
      if (EndsClause(clean[i]) &&
          !(i > 0 && i + 1 < clean.size() && IsDigit(clean[i - 1]) && IsDigit(clean[i + 1])))
        ends = true;
      ++i;
    }
    if (ends) ++clause;
    if (i < clean.size() && IsEmoji(clean[i])) {
      Token& t = next_token();
      AppendUtf8(t.clean, clean[i]);
      t.key = t.clean;
      // Skin-tone modifiers and joiners were removed or follow; one token per pictograph.
      ++i;
      continue;
    }
    size_t j = i;
    auto word_char = [steps](char32_t c) { return c < kTableLimit ? steps[c].word : IsWordChar(c); };
    while (j < clean.size() && (word_char(clean[j]) || (clean[j] == U'\'' && j > i))) ++j;
    if (j > i) {
      Token& t = next_token();
      bool all_digits = true, any_latin = false;
      // Encoded into per-thread buffers sized for the worst case, then copied once (a string
      // resized for the worst case is zero-filled first).
      thread_local std::string clean_buffer, key_buffer;
      if (clean_buffer.size() < 4 * (j - i)) clean_buffer.resize(4 * (j - i)), key_buffer.resize(4 * (j - i));
      char* clean_out = clean_buffer.data();
      char* key_out = key_buffer.data();
      size_t clean_bytes = 0, key_bytes = 0;
      for (size_t k = i; k < j; ++k) {
        char32_t c = clean[k];
        if (c == U'\'') continue;
        clean_bytes += EncodeUtf8(c, clean_out + clean_bytes);
        if (c < kTableLimit) {
          const Step& st = steps[c];
          all_digits = all_digits && st.digit;
          any_latin = any_latin || st.latin;
          out->latin_letters += st.latin;
          out->arabic_letters += st.arabic;
          key_bytes += EncodeUtf8(st.key, key_out + key_bytes);
          continue;
        }
        if (!IsDigit(c)) all_digits = false;
        if (IsLatinLetter(c)) {
          any_latin = true;
          ++out->latin_letters;
          key_bytes += EncodeUtf8(StripLatinAccent(c), key_out + key_bytes);
        } else if (c == kZwnj) {
          // dropped in the key: می‌خواهم = میخواهم
        } else {
          if (IsArabicLetter(c)) ++out->arabic_letters;
          key_bytes += EncodeUtf8(FoldKey(c), key_out + key_bytes);
        }
      }
      t.clean.assign(clean_out, clean_bytes);
      t.key.assign(key_out, key_bytes);
      t.latin = any_latin;
      t.digits = all_digits;
      if (t.key.empty()) --used;  // only apostrophes or joiners: no token
    }
    i = j == i ? i + 1 : j;
  }
  out->tokens.resize(used);

  thread_local std::string whole;
  if (whole.size() < clean.size() * 4) whole.resize(clean.size() * 4);
  size_t clean_bytes = 0;
  for (char32_t c : clean) clean_bytes += EncodeUtf8(c, whole.data() + clean_bytes);
  out->clean.assign(whole.data(), clean_bytes);
  out->key.clear();
  for (const Token& t : out->tokens) {
    if (!out->key.empty()) out->key.push_back(' ');
    out->key += t.key;
  }
  return Status::Ok();
}

Result<NormalizedText> Normalize(std::string_view utf8) {
  NormalizedText out;
  Status st = NormalizeInto(utf8, &out);
  if (!st.ok()) return st;
  return out;
}

std::string KeyOf(std::string_view utf8) {
  auto n = Normalize(utf8);
  return n.ok() ? n->key : std::string();
}

std::string LatinSkeleton(std::string_view w) {
  std::string s;
  s.reserve(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    char c = w[i];
    if (c == 'x') {
      s += "kh";
      continue;
    }
    if (c == 'q') c = 'k';
    if (c == 'v') c = 'w';
    if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y') {
      if (i == 0) s.push_back('a');  // keep that the word starts with a vowel
      continue;
    }
    if (c == 'h' && !s.empty() && (s.back() == 'k' || s.back() == 'g' || s.back() == 'z')) {
      s.push_back(c);  // kh, gh, zh are letters of their own
      continue;
    }
    if (!s.empty() && s.back() == c) continue;
    s.push_back(c);
  }
  return s;
}

int EditDistance(std::u32string_view a, std::u32string_view b, int max) {
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  if (std::abs(n - m) > max) return max + 1;
  // Three rows; on the stack for words (the typo probes call this thousands of times a second).
  constexpr int kStackRow = 64;
  int stack_rows[3][kStackRow];
  std::vector<int> heap_rows;
  int *prev2 = stack_rows[0], *prev = stack_rows[1], *cur = stack_rows[2];
  if (m + 1 > kStackRow) {
    heap_rows.assign(static_cast<size_t>(3 * (m + 1)), 0);
    prev2 = heap_rows.data();
    prev = prev2 + m + 1;
    cur = prev + m + 1;
  }
  for (int j = 0; j <= m; ++j) prev[j] = j;
  for (int i = 1; i <= n; ++i) {
    cur[0] = i;
    int row_min = cur[0];
    for (int j = 1; j <= m; ++j) {
      int cost = a[static_cast<size_t>(i - 1)] == b[static_cast<size_t>(j - 1)] ? 0 : 1;
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[static_cast<size_t>(i - 1)] == b[static_cast<size_t>(j - 2)] &&
          a[static_cast<size_t>(i - 2)] == b[static_cast<size_t>(j - 1)])
        v = std::min(v, prev2[j - 2] + 1);
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > max) return max + 1;
    int* recycled = prev2;
    prev2 = prev;
    prev = cur;
    cur = recycled;
  }
  return prev[m];
}

}  // namespace bot::intents
