// Display helpers for terminals without bidirectional text support.
#ifndef INTENTS_BIDI_H_
#define INTENTS_BIDI_H_

#include <string>
#include <string_view>

namespace bot::intents {

// Each line of `utf8` in visual (left-to-right display) order, per the Unicode Bidirectional
// Algorithm (ICU ubidi), so Dari and Pashto read correctly in a terminal that does no bidi.
std::string VisualOrder(std::string_view utf8);

// Whether the text is mostly right-to-left (Arabic script).
bool IsMostlyRtl(std::string_view utf8);

}  // namespace bot::intents

#endif  // INTENTS_BIDI_H_
