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

bool IsRemoved(char32_t c) {
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

char32_t MapDigitOrPunct(char32_t c) {
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
char32_t FoldKey(char32_t c) {
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

void AppendUtf8(std::string& out, char32_t c) {
  char buf[4];
  int32_t len = 0;
  UBool error = false;
  U8_APPEND(buf, len, 4, static_cast<UChar32>(c), error);
  if (!error) out.append(buf, static_cast<size_t>(len));
}

bool IsLatinLetter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  UErrorCode st = U_ZERO_ERROR;
  return u_isalpha(static_cast<UChar32>(c)) &&
         uscript_getScript(static_cast<UChar32>(c), &st) == USCRIPT_LATIN;
}

bool IsArabicLetter(char32_t c) { return c >= 0x0600 && c <= 0x06FF && u_isalpha(static_cast<UChar32>(c)); }

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

bool IsWordChar(char32_t c) { return c == kZwnj || u_isalnum(static_cast<UChar32>(c)); }

// Emoji carry meaning on their own (👍 = thanks/ok, 🙏 = please/thanks): each is a token.
bool IsEmoji(char32_t c) {
  return c > 0x2000 && u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_EXTENDED_PICTOGRAPHIC);
}

}  // namespace

std::u32string ToU32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  int32_t i = 0;
  const auto len = static_cast<int32_t>(utf8.size());
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  while (i < len) {
    UChar32 c;
    U8_NEXT(s, i, len, c);
    out.push_back(c < 0 ? 0xFFFD : static_cast<char32_t>(c));
  }
  return out;
}

Result<NormalizedText> Normalize(std::string_view utf8) {
  // Validate first: ill-formed input is refused, not repaired behind the caller's back.
  {
    int32_t i = 0;
    const auto len = static_cast<int32_t>(utf8.size());
    const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
    int32_t last_good = 0;
    while (i < len) {
      UChar32 c;
      U8_NEXT(s, i, len, c);
      if (c < 0) return Status::InvalidArgument("text is not valid UTF-8");
      if (static_cast<size_t>(i) > kMaxNormalizeBytes) break;
      last_good = i;
    }
    if (utf8.size() > kMaxNormalizeBytes) utf8 = utf8.substr(0, static_cast<size_t>(last_good));
  }

  UErrorCode st = U_ZERO_ERROR;
  static const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(st);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  st = U_ZERO_ERROR;
  if (nfkc != nullptr && !nfkc->isNormalized(u, st)) {
    st = U_ZERO_ERROR;
    u = nfkc->normalize(u, st);
    if (U_FAILURE(st)) return Status::Internal("NFKC normalisation failed");
  }

  // Clean form, as code points.
  std::u32string clean;
  clean.reserve(static_cast<size_t>(u.length()));
  NormalizedText out;
  for (int32_t i = 0; i < u.length();) {
    UChar32 raw = u.char32At(i);
    i += U16_LENGTH(raw);
    auto c = static_cast<char32_t>(raw);
    if (c == 0x0654 && !clean.empty() && clean.back() == 0x0647) {  // ه + hamza above → ۀ
      clean.back() = 0x06C0;
      continue;
    }
    if (IsRemoved(c)) continue;
    if (u_isUWhiteSpace(static_cast<UChar32>(c))) {
      if (!clean.empty() && clean.back() != U' ') clean.push_back(U' ');
      continue;
    }
    c = MapDigitOrPunct(c);
    c = static_cast<char32_t>(u_foldCase(static_cast<UChar32>(c), U_FOLD_CASE_DEFAULT));
    clean.push_back(c);
  }
  // Runs of three or more identical letters are emphasis ("salaaam", "HELPPP", "سلاااام"): keep
  // one. Real doubles ("tashakkur") stay.
  {
    std::u32string collapsed;
    collapsed.reserve(clean.size());
    for (size_t a = 0; a < clean.size();) {
      size_t b = a;
      while (b < clean.size() && clean[b] == clean[a]) ++b;
      const size_t run = b - a;
      const bool letter = u_isalpha(static_cast<UChar32>(clean[a]));
      collapsed.append(letter && run >= 3 ? 1 : run, clean[a]);
      a = b;
    }
    clean.swap(collapsed);
  }
  while (!clean.empty() && clean.back() == U' ') clean.pop_back();

  // Tokens.
  size_t i = 0;
  while (i < clean.size()) {
    while (i < clean.size() && !IsWordChar(clean[i]) && clean[i] != U'\'' && !IsEmoji(clean[i])) ++i;
    if (i < clean.size() && IsEmoji(clean[i])) {
      Token t;
      AppendUtf8(t.clean, clean[i]);
      t.key = t.clean;
      // Skin-tone modifiers and joiners were removed or follow; one token per pictograph.
      out.tokens.push_back(std::move(t));
      ++i;
      continue;
    }
    size_t j = i;
    while (j < clean.size() && (IsWordChar(clean[j]) || (clean[j] == U'\'' && j > i))) ++j;
    if (j > i) {
      Token t;
      bool all_digits = true, any_latin = false;
      for (size_t k = i; k < j; ++k) {
        char32_t c = clean[k];
        if (c == U'\'') continue;
        AppendUtf8(t.clean, c);
        if (!u_isdigit(static_cast<UChar32>(c))) all_digits = false;
        if (IsLatinLetter(c)) {
          any_latin = true;
          ++out.latin_letters;
          AppendUtf8(t.key, StripLatinAccent(c));
        } else if (c == kZwnj) {
          // dropped in the key: می‌خواهم = میخواهم
        } else {
          if (IsArabicLetter(c)) ++out.arabic_letters;
          AppendUtf8(t.key, FoldKey(c));
        }
      }
      t.latin = any_latin;
      t.digits = all_digits;
      if (!t.key.empty()) out.tokens.push_back(std::move(t));
    }
    i = j == i ? i + 1 : j;
  }

  out.clean.reserve(clean.size() * 2);
  for (char32_t c : clean) AppendUtf8(out.clean, c);
  for (const Token& t : out.tokens) {
    if (!out.key.empty()) out.key.push_back(' ');
    out.key += t.key;
  }
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
  std::vector<int> prev2(static_cast<size_t>(m + 1)), prev(static_cast<size_t>(m + 1)),
      cur(static_cast<size_t>(m + 1));
  for (int j = 0; j <= m; ++j) prev[static_cast<size_t>(j)] = j;
  for (int i = 1; i <= n; ++i) {
    cur[0] = i;
    int row_min = cur[0];
    for (int j = 1; j <= m; ++j) {
      const size_t J = static_cast<size_t>(j);
      int cost = a[static_cast<size_t>(i - 1)] == b[J - 1] ? 0 : 1;
      int v = std::min({prev[J] + 1, cur[J - 1] + 1, prev[J - 1] + cost});
      if (i > 1 && j > 1 && a[static_cast<size_t>(i - 1)] == b[J - 2] &&
          a[static_cast<size_t>(i - 2)] == b[J - 1])
        v = std::min(v, prev2[J - 2] + 1);
      cur[J] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > max) return max + 1;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[static_cast<size_t>(m)];
}

}  // namespace bot::intents
