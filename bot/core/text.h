// Plain-text checks shared by the API (officer replies) and content validation (answers, messages).
#ifndef BOT_CORE_TEXT_H_
#define BOT_CORE_TEXT_H_

#include <string_view>

namespace bot {

// False for text a phone would show as nothing: whitespace, zero-width and other invisible
// characters only ("\u200b", a no-break space, a variation selector). Ill-formed bytes count as
// visible (they are refused elsewhere).
bool HasVisibleText(std::string_view utf8);

}  // namespace bot

#endif  // BOT_CORE_TEXT_H_
