// Character-aware truncation and splitting for provider limits.
#include "bot/channels/text_limits.h"

namespace bot::channels {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Byte offset of the character after the first `n` characters.
size_t OffsetOfChar(std::string_view s, size_t n) {
  size_t i = 0, count = 0;
  while (i < s.size() && count < n) {
    ++i;
    while (i < s.size() && IsContinuation(static_cast<unsigned char>(s[i]))) ++i;
    ++count;
  }
  return i;
}

bool IsInvisible(char32_t c) {
  return c <= 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD || c == 0x34F || c == 0x61C || c == 0x115F ||
         c == 0x1160 || c == 0x17B4 || c == 0x17B5 || (c >= 0x180B && c <= 0x180F) || (c >= 0x2000 && c <= 0x200F) ||
         (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0x3164 ||
         (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF || c == 0xFFA0 || (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0xE0000 && c <= 0xE0FFF);
}

}  // namespace

bool HasVisibleText(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return true;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < len; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if (!IsInvisible(c)) return true;
    i += len;
  }
  return false;
}

size_t CharCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if (!IsContinuation(c)) ++n;
  return n;
}

std::string Truncate(std::string_view s, size_t max_chars) {
  if (CharCount(s) <= max_chars) return std::string(s);
  if (max_chars == 0) return {};
  return std::string(s.substr(0, OffsetOfChar(s, max_chars - 1))) + "…";
}

namespace {

// Where a sentence ends inside `window`, searching back from its end but not before `floor`:
// the byte offset just after ". " "! " "? " (or a newline), or after the Arabic-script question
// mark ؟ (U+061F) and full stop ۔ (U+06D4) used in Dari and Pashto. `after` is the text that
// follows the window, to tell "end." from "3.14" at the window's edge. npos when none.
size_t SentenceEnd(std::string_view window, std::string_view after, size_t floor) {
  auto next = [&](size_t i) -> int {
    if (i < window.size()) return static_cast<unsigned char>(window[i]);
    return after.empty() ? -1 : static_cast<unsigned char>(after[0]);
  };
  for (size_t i = window.size(); i-- > floor;) {
    const unsigned char c = static_cast<unsigned char>(window[i]);
    if (c == '\n') return i + 1;
    if (c == '.' || c == '!' || c == '?') {
      const int n = next(i + 1);
      if (n == -1 || n == ' ' || n == '\n') return i + 1;
    }
    if (i + 1 < window.size()) {
      const unsigned char d = static_cast<unsigned char>(window[i + 1]);
      if ((c == 0xD8 && d == 0x9F) || (c == 0xDB && d == 0x94)) return i + 2;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::vector<std::string> SplitText(std::string_view s, size_t max_chars) {
  std::vector<std::string> parts;
  if (max_chars == 0) return parts;
  while (CharCount(s) > max_chars) {
    const size_t limit = OffsetOfChar(s, max_chars);  // a character boundary
    std::string_view window = s.substr(0, limit);
    size_t cut = std::string_view::npos;
    // A paragraph break in the second half, else a sentence end in the last two thirds, else a
    // space, else the limit itself: every candidate is the byte after an ASCII character or a
    // whole two-byte mark, so a cut never falls inside a character.
    const size_t para = window.rfind("\n\n");
    if (para != std::string_view::npos && para > limit / 2) cut = para + 2;
    if (cut == std::string_view::npos) cut = SentenceEnd(window, s.substr(limit), limit / 3);
    if (cut == std::string_view::npos) {
      const size_t space = window.rfind(' ');
      cut = (space != std::string_view::npos && space > limit / 3) ? space + 1 : limit;
    }
    std::string part(s.substr(0, cut));
    while (!part.empty() && (part.back() == ' ' || part.back() == '\n')) part.pop_back();
    if (!part.empty()) parts.push_back(part);
    s = s.substr(cut);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.remove_prefix(1);
  }
  if (!s.empty()) parts.emplace_back(s);
  return parts;
}

}  // namespace bot::channels
