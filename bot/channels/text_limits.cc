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

std::vector<std::string> SplitText(std::string_view s, size_t max_chars) {
  std::vector<std::string> parts;
  while (CharCount(s) > max_chars) {
    const size_t limit = OffsetOfChar(s, max_chars);
    std::string_view window = s.substr(0, limit);
    size_t cut = std::string_view::npos;
    size_t para = window.rfind("\n\n");
    if (para != std::string_view::npos && para > limit / 2) cut = para + 2;
    if (cut == std::string_view::npos) {
      // Last sentence end in the window: ". " "! " "? " or the Arabic-script marks.
      for (size_t i = window.size(); i-- > limit / 3;) {
        char c = window[i];
        bool end = (c == '.' || c == '!' || c == '?' || c == '\n') &&
                   (i + 1 == window.size() || window[i + 1] == ' ' || window[i + 1] == '\n');
        if (!end && i + 1 < window.size() && static_cast<unsigned char>(window[i]) == 0xD8 &&
            static_cast<unsigned char>(window[i + 1]) == 0x9F)  // ؟
          end = true, ++i;
        if (!end && i + 1 < window.size() && static_cast<unsigned char>(window[i]) == 0xDB &&
            static_cast<unsigned char>(window[i + 1]) == 0x94)  // ۔
          end = true, ++i;
        if (end) {
          cut = i + 1;
          break;
        }
      }
    }
    if (cut == std::string_view::npos) {
      size_t space = window.rfind(' ');
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
