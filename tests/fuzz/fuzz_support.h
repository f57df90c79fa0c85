// Shared by the libFuzzer targets in tests/fuzz/: invariant checks that abort (so libFuzzer
// records the input), and seed files generated at start-up from the project's own data.
#ifndef TESTS_FUZZ_FUZZ_SUPPORT_H_
#define TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "bot/channels/text_limits.h"
#include "bot/core/message.h"

#ifndef RAHNAMA_SOURCE_DIR
#error "RAHNAMA_SOURCE_DIR must be defined by tests/fuzz/CMakeLists.txt"
#endif

namespace bot::fuzz {

// A broken invariant: print it and abort, which libFuzzer reports as a crash with the input.
#define FUZZ_CHECK(cond, what)                                                      \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s (%s)\n", __FILE__,       \
                   __LINE__, #cond, what);                                          \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

// run.sh sets RAHNAMA_FUZZ_SEED_DIR to the (temporary) corpus directory; targets whose seeds
// are derived from locales/ or tests/data/ write them there from LLVMFuzzerInitialize, which
// libFuzzer calls before it reads the corpus. Nothing is ever written into the source tree.
inline const char* SeedDir() {
  const char* d = std::getenv("RAHNAMA_FUZZ_SEED_DIR");
  return d != nullptr && *d != '\0' ? d : nullptr;
}

inline void WriteSeed(const std::string& name, std::string_view bytes) {
  const char* dir = SeedDir();
  if (dir == nullptr) return;
  std::filesystem::create_directories(dir);
  std::ofstream out(std::filesystem::path(dir) / ("gen-" + name), std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Well-formed UTF-8 as RFC 3629 defines it (no overlongs, surrogates or code points past
// U+10FFFF), which is what nlohmann::json and ICU accept.
inline bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c < 0x80) n = 1;
    else if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) n = 3, lo = 0xA0;
    else if (c == 0xED) n = 3, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) n = 3;
    else if (c == 0xF0) n = 4, lo = 0x90;
    else if (c == 0xF4) n = 4, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else return false;
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// Everything but spaces and newlines, the only bytes SplitText may drop at a cut.
inline std::string WithoutBreaks(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\n') out.push_back(c);
  return out;
}

// Truncate and SplitText contracts (bot/channels/text_limits.h) for one text and limit.
inline void CheckTextLimits(std::string_view text, size_t max_chars) {
  using channels::CharCount;
  const std::string cut = channels::Truncate(text, max_chars);
  FUZZ_CHECK(CharCount(cut) <= max_chars, "Truncate returned more than max_chars characters");
  if (CharCount(text) <= max_chars) FUZZ_CHECK(cut == text, "Truncate changed text that fits");
  const bool valid = ValidUtf8(text);
  if (valid) FUZZ_CHECK(ValidUtf8(cut), "Truncate cut inside a character");

  const auto parts = channels::SplitText(text, max_chars);
  std::string joined;
  for (const auto& p : parts) {
    FUZZ_CHECK(!p.empty() || max_chars == 0, "SplitText returned an empty part");
    FUZZ_CHECK(CharCount(p) <= max_chars, "SplitText part longer than max_chars");
    if (valid) FUZZ_CHECK(ValidUtf8(p), "SplitText cut inside a character");
    joined += p;
  }
  if (max_chars > 0) FUZZ_CHECK(WithoutBreaks(joined) == WithoutBreaks(text), "SplitText lost or added text");
}

}  // namespace bot::fuzz

#endif  // TESTS_FUZZ_FUZZ_SUPPORT_H_
