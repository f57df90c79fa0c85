// WhatsApp Cloud API adapter: webhook JSON in, channel-neutral messages out; our replies in,
// Graph API request bodies out, with WhatsApp's limits enforced here.
// Docs: developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
//
//   {"object": "whatsapp_business_account", "entry": [{"id": "<WABA>", "changes": [{"field": "messages",
//     "value": {"metadata": {"phone_number_id": "106540352242922"},
//               "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}],
//               "messages": [{"from": "16505551234", "id": "wamid.HBgL…", "timestamp": "1749416383",
//                             "type": "text", "text": {"body": "salam"}}]}}]}]}
#ifndef BOT_CHANNELS_WHATSAPP_WHATSAPP_H_
#define BOT_CHANNELS_WHATSAPP_WHATSAPP_H_

#include <string>
#include <string_view>
#include <vector>

#include "bot/core/message.h"
#include "bot/core/status.h"

namespace bot::channels::whatsapp {

inline constexpr size_t kMaxTextChars = 4096;
inline constexpr size_t kMaxInteractiveBodyChars = 1024;
inline constexpr size_t kMaxButtons = 3;
inline constexpr size_t kMaxButtonTitleChars = 20;
inline constexpr size_t kMaxListRows = 10;
inline constexpr size_t kMaxListButtonChars = 20;
inline constexpr size_t kMaxRowTitleChars = 24;
inline constexpr size_t kMaxRowDescriptionChars = 72;
inline constexpr size_t kMaxHeaderChars = 60;
inline constexpr size_t kMaxFooterChars = 60;
inline constexpr size_t kMaxRowIdChars = 200;

// Parses a webhook body. kInvalidArgument when it is not JSON or not a WhatsApp webhook; anything
// we accept but do not act on (other fields, value-level errors, unknown shapes) is counted in
// `ignored` with a note, never an error, so Meta does not retry it for days.
Result<WebhookBatch> ParseWebhook(std::string_view body);

// The request bodies (JSON) for POST /{phone_number_id}/messages that deliver `message` to `to`.
// Text over 4,096 characters becomes several messages split at a sentence boundary; buttons,
// lists and their titles are cut to WhatsApp's limits.
std::vector<std::string> FormatOutbound(const OutboundMessage& message, const std::string& to);

// Marks an inbound message as read.
std::string FormatMarkRead(const std::string& provider_message_id);

// What a send answered: the new message id, or the error.
struct SendResult {
  bool ok = false;
  std::string message_id;
  int error_code = 0;
  std::string error_message;
};
SendResult ParseSendResponse(int http_status, std::string_view body);

}  // namespace bot::channels::whatsapp

#endif  // BOT_CHANNELS_WHATSAPP_WHATSAPP_H_
