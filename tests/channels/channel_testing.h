// Helpers shared by the channel tests: reading the project's own payloads in tests/testdata/.
#ifndef TESTS_CHANNELS_CHANNEL_TESTING_H_
#define TESTS_CHANNELS_CHANNEL_TESTING_H_

#include <fstream>
#include <sstream>
#include <string>

namespace bot::testing {

// The bytes of `path`, or "" when it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// tests/testdata/<relative>, e.g. TestData("whatsapp/text.json").
inline std::string TestData(const std::string& relative) {
  return ReadFile(std::string(RAHNAMA_SOURCE_DIR) + "/tests/testdata/" + relative);
}

}  // namespace bot::testing

#endif  // TESTS_CHANNELS_CHANNEL_TESTING_H_
