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

}  // namespace

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
