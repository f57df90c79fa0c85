// The body of both webhook fuzz targets: a webhook body goes through the server's steps
// (bot/server/server.cc HandleWebhook: depth check, then the channel's ParseWebhook), and what
// comes out is checked and formatted back as our replies would be. Inputs that do not start like
// a JSON object instead drive the channel's outbound formatter directly (FuzzedDataProvider), so
// one target covers both directions without the two input shapes diluting each other.
#ifndef TESTS_FUZZ_WEBHOOK_FUZZ_H_
#define TESTS_FUZZ_WEBHOOK_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include "bot/channels/outbound.h"
#include "bot/channels/text_limits.h"
#include "bot/core/message.h"
#include "bot/core/status.h"
#include "tests/fuzz/fuzz_support.h"

namespace bot::fuzz {

inline constexpr int kServerMaxJsonDepth = 64;  // ServerConfig::max_json_depth's default

// Nesting depth of a parsed document, counted like JsonDepthExceeds (each array/object is one).
inline int DepthOf(const nlohmann::json& j) {
  if (!j.is_structured()) return 0;
  int deepest = 0;
  for (const auto& child : j) deepest = std::max(deepest, DepthOf(child));
  return deepest + 1;
}

// JsonDepthExceeds must agree with the parser on every body nlohmann accepts: otherwise a deep
// document could reach ParseWebhook (and the recursive walks after it) past the check.
inline void CheckDepth(std::string_view body) {
  const bool rejected = channels::JsonDepthExceeds(body, kServerMaxJsonDepth);
  if (rejected) return;  // the server stops here, and so does the parser below
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return;
  const int depth = DepthOf(j);
  FUZZ_CHECK(depth <= kServerMaxJsonDepth, "JsonDepthExceeds let a deeper document through");
  // Only under-counting matters. Over-counting is harmless and does happen: nlohmann's lexer
  // takes a NUL byte for the end of input, so "{…}\0[[[" parses as "{…}" while the scan counts on.
  if (depth > 0) FUZZ_CHECK(channels::JsonDepthExceeds(body, depth - 1), "JsonDepthExceeds under-counts nesting");
}

// Every outbound body must be JSON we can parse back (Meta would reject anything else).
inline void CheckBodies(const std::vector<std::string>& bodies) {
  for (const auto& b : bodies) {
    FUZZ_CHECK(ValidUtf8(b), "outbound body is not UTF-8");
    const nlohmann::json j = nlohmann::json::parse(b, nullptr, false);
    FUZZ_CHECK(!j.is_discarded() && j.is_object(), "outbound body is not a JSON object");
  }
}

inline OutboundMessage::Kind KindFrom(uint8_t b) {
  switch (b % 5) {
    case 0: return OutboundMessage::Kind::kText;
    case 1: return OutboundMessage::Kind::kButtons;
    case 2: return OutboundMessage::Kind::kList;
    case 3: return OutboundMessage::Kind::kTemplate;
    default: return OutboundMessage::Kind::kMarkRead;
  }
}

// An outbound message built from fuzzer bytes.
inline OutboundMessage OutboundFrom(FuzzedDataProvider& in) {
  OutboundMessage m;
  m.kind = KindFrom(in.ConsumeIntegral<uint8_t>());
  m.from_officer = in.ConsumeBool();
  m.header = in.ConsumeRandomLengthString(128);
  m.footer = in.ConsumeRandomLengthString(128);
  m.list_button = in.ConsumeRandomLengthString(64);
  const size_t buttons = in.ConsumeIntegralInRange<size_t>(0, 16);
  for (size_t i = 0; i < buttons; ++i)
    m.buttons.push_back({in.ConsumeRandomLengthString(300), in.ConsumeRandomLengthString(64)});
  const size_t rows = in.ConsumeIntegralInRange<size_t>(0, 16);
  for (size_t i = 0; i < rows; ++i)
    m.rows.push_back({in.ConsumeRandomLengthString(300), in.ConsumeRandomLengthString(64),
                      in.ConsumeRandomLengthString(128)});
  m.template_name = in.ConsumeRandomLengthString(64);
  m.template_language = in.ConsumeRandomLengthString(16);
  const size_t params = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < params; ++i) m.template_params.push_back(in.ConsumeRandomLengthString(256));
  // Long texts matter (the 4,096/2,000/1,024-character splits): repeat the rest when asked.
  std::string text = in.ConsumeRemainingBytesAsString();
  const size_t repeat = text.empty() ? 0 : static_cast<uint8_t>(text[0]) % 8;
  std::string long_text = text;
  for (size_t i = 0; i < repeat && long_text.size() < 20000; ++i) long_text += long_text;
  m.text = std::move(long_text);
  return m;
}

// The outbound side: texts from the fuzzer through both channels' formatters and the limits.
inline void FuzzOutbound(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const size_t max_chars = in.ConsumeIntegralInRange<size_t>(0, 5000);
  const std::string recipient = in.ConsumeRandomLengthString(40);
  OutboundMessage m = OutboundFrom(in);
  CheckTextLimits(m.text, max_chars);
  // Tiny limits on a prefix only: SplitText rescans the rest for each part (quadratic), which is
  // fine for Meta's limits but would make 20,000 characters in 1-character parts take seconds.
  CheckTextLimits(std::string_view(m.text).substr(0, 600), 1 + max_chars % 7);
  // Replies are sent to addresses a webhook gave us, texts come from content and officers: all
  // valid UTF-8 by then. Invalid bytes are only fed to the limit checks above.
  if (!ValidUtf8(m.text) || !ValidUtf8(recipient) || !ValidUtf8(m.header) || !ValidUtf8(m.footer) ||
      !ValidUtf8(m.list_button) || !ValidUtf8(m.template_name) || !ValidUtf8(m.template_language))
    return;
  for (const auto& b : m.buttons)
    if (!ValidUtf8(b.id) || !ValidUtf8(b.title)) return;
  for (const auto& r : m.rows)
    if (!ValidUtf8(r.id) || !ValidUtf8(r.title) || !ValidUtf8(r.description)) return;
  for (const auto& p : m.template_params)
    if (!ValidUtf8(p)) return;
  CheckBodies(channels::FormatOutbound(Channel::kWhatsApp, m, recipient));
  CheckBodies(channels::FormatOutbound(Channel::kMessenger, m, recipient));
  (void)channels::AsNumberedText(m);
}

// The inbound side, with `parse` the channel's ParseWebhook.
template <typename Parse>
void FuzzWebhook(const uint8_t* data, size_t size, Channel channel, Parse parse) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  CheckDepth(body);
  if (channels::JsonDepthExceeds(body, kServerMaxJsonDepth)) return;  // as the server does

  const size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || body[start] != '{') {
    FuzzOutbound(data, size);
    return;
  }

  Result<WebhookBatch> batch = parse(body);
  if (!batch.ok()) {
    FUZZ_CHECK(!batch.status().message().empty(), "a rejected webhook must say why");
    return;
  }
  std::set<std::string> ids;
  for (const InboundMessage& m : batch->messages) {
    FUZZ_CHECK(m.channel == channel, "message on the wrong channel");
    FUZZ_CHECK(!m.provider_id.empty(), "message without a provider id (the idempotency key)");
    FUZZ_CHECK(!m.sender.empty(), "message without a sender");
    FUZZ_CHECK(ids.insert(m.provider_id).second, "repeated provider id within one batch");
    FUZZ_CHECK(ValidUtf8(m.text) && ValidUtf8(m.sender) && ValidUtf8(m.sender_name) && ValidUtf8(m.payload_id) &&
                   ValidUtf8(m.provider_id) && ValidUtf8(m.raw_json),
               "parsed field is not UTF-8");
    FUZZ_CHECK(m.raw_json.empty() || !nlohmann::json::parse(m.raw_json, nullptr, false).is_discarded(),
               "raw_json is not JSON");

    // What the bot does next with a message: limits on its text, and a reply to its sender.
    CheckTextLimits(std::string_view(m.text).substr(0, 600), 20);
    CheckTextLimits(m.text, 1024);
    OutboundMessage reply;
    reply.text = m.text;
    reply.buttons = {{m.payload_id, m.text}, {m.provider_id, m.sender_name}};
    for (auto kind : {OutboundMessage::Kind::kText, OutboundMessage::Kind::kButtons, OutboundMessage::Kind::kList}) {
      reply.kind = kind;
      CheckBodies(channels::FormatOutbound(channel, reply, m.sender));
    }
  }
  for (const StatusUpdate& s : batch->statuses) {
    FUZZ_CHECK(s.channel == channel, "status on the wrong channel");
    FUZZ_CHECK(ValidUtf8(s.provider_message_id) && ValidUtf8(s.status) && ValidUtf8(s.error_title),
               "status field is not UTF-8");
  }
}

}  // namespace bot::fuzz

#endif  // TESTS_FUZZ_WEBHOOK_FUZZ_H_
