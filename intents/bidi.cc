// ICU ubidi reordering for terminal display.
#include "intents/bidi.h"

#include <unicode/ubidi.h>
#include <unicode/unistr.h>

#include <memory>

namespace bot::intents {
namespace {

std::string VisualLine(std::string_view line) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(line.data(), static_cast<int32_t>(line.size())));
  UErrorCode st = U_ZERO_ERROR;
  std::unique_ptr<UBiDi, decltype(&ubidi_close)> bidi(ubidi_open(), &ubidi_close);
  ubidi_setPara(bidi.get(), u.getBuffer(), u.length(), UBIDI_DEFAULT_LTR, nullptr, &st);
  if (U_FAILURE(st)) return std::string(line);
  std::u16string out(static_cast<size_t>(u.length()) + 16, u'\0');
  int32_t n = ubidi_writeReordered(bidi.get(), reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()),
                                   UBIDI_DO_MIRRORING | UBIDI_REMOVE_BIDI_CONTROLS, &st);
  if (U_FAILURE(st)) return std::string(line);
  std::string result;
  icu::UnicodeString(reinterpret_cast<const UChar*>(out.data()), n).toUTF8String(result);
  return result;
}

}  // namespace

std::string VisualOrder(std::string_view utf8) {
  std::string out;
  size_t start = 0;
  while (start <= utf8.size()) {
    size_t end = utf8.find('\n', start);
    if (end == std::string_view::npos) end = utf8.size();
    out += VisualLine(utf8.substr(start, end - start));
    if (end == utf8.size()) break;
    out += '\n';
    start = end + 1;
  }
  return out;
}

bool IsMostlyRtl(std::string_view utf8) {
  size_t rtl = 0, ltr = 0;
  for (size_t i = 0; i + 1 < utf8.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    if (c == 0xD8 || c == 0xD9 || c == 0xDA || c == 0xDB) ++rtl, ++i;
    else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) ++ltr;
  }
  return rtl > ltr;
}

}  // namespace bot::intents
