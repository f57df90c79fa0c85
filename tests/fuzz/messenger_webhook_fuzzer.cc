// libFuzzer target: Messenger Platform page webhook bodies (bot::channels::messenger::ParseWebhook),
// plus JsonDepthExceeds, SplitText/Truncate and the WhatsApp/Messenger outbound formatters.
// Seeds: shared/fixtures/meta/messenger/** (else tests/testdata/messenger), see run.sh.
#include <cstddef>
#include <cstdint>

#include "bot/channels/messenger/messenger.h"
#include "tests/fuzz/webhook_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bot::fuzz::FuzzWebhook(data, size, bot::Channel::kMessenger,
                         [](std::string_view body) { return bot::channels::messenger::ParseWebhook(body); });
  return 0;
}
