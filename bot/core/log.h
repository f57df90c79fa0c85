// Structured logs: one JSON object per line on stderr. Personal data never goes in at info level:
// identifiers through Mask(), message bodies only at debug.
#ifndef BOT_CORE_LOG_H_
#define BOT_CORE_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace bot::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
Level GetLevel();
bool Enabled(Level level);

using Field = std::pair<std::string_view, std::string>;
void Write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view e, std::initializer_list<Field> f = {}) { Write(Level::kDebug, e, f); }
inline void Info(std::string_view e, std::initializer_list<Field> f = {}) { Write(Level::kInfo, e, f); }
inline void Warn(std::string_view e, std::initializer_list<Field> f = {}) { Write(Level::kWarn, e, f); }
inline void Error(std::string_view e, std::initializer_list<Field> f = {}) { Write(Level::kError, e, f); }

// "+92 300 1234567" → "92******4567": enough to tell people apart in a log, not to call them.
std::string Mask(std::string_view identifier);

}  // namespace bot::log

#endif  // BOT_CORE_LOG_H_
