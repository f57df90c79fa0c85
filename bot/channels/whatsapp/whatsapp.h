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

// Limits in characters (code points), from the send-message docs (research/meta-webhooks.md §3).
inline constexpr size_t kMaxTextChars = 4096;
inline constexpr size_t kMaxInteractiveBodyChars = 1024;  // reply-button messages
inline constexpr size_t kMaxListBodyChars = 4096;
inline constexpr size_t kMaxButtons = 3;
inline constexpr size_t kMaxButtonTitleChars = 20;
inline constexpr size_t kMaxButtonIdChars = 256;
inline constexpr size_t kMaxListRows = 10;  // all sections together
inline constexpr size_t kMaxListButtonChars = 20;
inline constexpr size_t kMaxRowTitleChars = 24;
inline constexpr size_t kMaxRowDescriptionChars = 72;
inline constexpr size_t kMaxRowIdChars = 200;
inline constexpr size_t kMaxHeaderChars = 60;
inline constexpr size_t kMaxFooterChars = 60;

// Parses a webhook body; never throws.
//
// kInvalidArgument when it is not JSON, not an object, or its "object" is not
// "whatsapp_business_account". Otherwise a batch, also for content we accept but do not act on
// (other webhook fields, value-level errors[], messages without an id or a sender, repeats of an
// id already in the batch): each is counted in `ignored` with a note, so Meta gets its 200 and
// does not retry it for days.
//
// Per message: `sender` is `from`, else `from_user_id` (a BSUID), else the only contacts[]
// entry's wa_id/user_id, skipping our own phone_number_id. Kinds: text; choice for
// button_reply/list_reply/nfm_reply and template buttons; image, video, document, audio (also
// legacy "voice"), sticker, location (numbers or numeric strings), contacts, reaction, system; a
// revoke (deleted message) is system with reply_to = the deleted id; an edit is read as the
// message it now carries with reply_to = the edited id; anything else is unsupported.
Result<WebhookBatch> ParseWebhook(std::string_view body);

// The request bodies (JSON) for POST /{phone_number_id}/messages that deliver `message` to `to`
// (a phone number, or a BSUID, which goes in "recipient"). Text over 4,096 characters becomes
// several messages split at a sentence boundary. More than 3 buttons become a list, more than
// 10 choices numbered text; titles, descriptions, headers and footers are cut to WhatsApp's
// limits at a character boundary.
std::vector<std::string> FormatOutbound(const OutboundMessage& message, const std::string& to);

// Marks an inbound message as read.
std::string FormatMarkRead(const std::string& provider_message_id);

}  // namespace bot::channels::whatsapp

#endif  // BOT_CHANNELS_WHATSAPP_WHATSAPP_H_
