// Provider limits on text, counted in characters (code points) as Meta counts them.
#ifndef BOT_CHANNELS_TEXT_LIMITS_H_
#define BOT_CHANNELS_TEXT_LIMITS_H_

#include <string>
#include <string_view>
#include <vector>

namespace bot::channels {

size_t CharCount(std::string_view utf8);

// At most `max_chars` characters; cut at a character boundary with "…" when shortened.
std::string Truncate(std::string_view utf8, size_t max_chars);

// Splits text into parts of at most `max_chars` characters, preferring a paragraph break, then a
// sentence end (. ! ? ؟ ۔), then a space; never inside a character.
std::vector<std::string> SplitText(std::string_view utf8, size_t max_chars);

}  // namespace bot::channels

#endif  // BOT_CHANNELS_TEXT_LIMITS_H_
