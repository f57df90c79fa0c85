// libFuzzer target: WhatsApp Cloud API webhook bodies (bot::channels::whatsapp::ParseWebhook),
// plus JsonDepthExceeds, SplitText/Truncate and the WhatsApp/Messenger outbound formatters.
// Seeds: shared/fixtures/meta/whatsapp/** (else tests/testdata/whatsapp), see run.sh.
#include <cstddef>
#include <cstdint>

#include "bot/channels/whatsapp/whatsapp.h"
#include "tests/fuzz/webhook_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bot::fuzz::FuzzWebhook(data, size, bot::Channel::kWhatsApp,
                         [](std::string_view body) { return bot::channels::whatsapp::ParseWebhook(body); });
  return 0;
}
