// Facebook Messenger Platform adapter: page webhooks in, Send API bodies out.
// Docs: developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks
//
//   {"object": "page", "entry": [{"id": "<PAGE_ID>", "time": 1458692752478, "messaging": [
//     {"sender": {"id": "<PSID>"}, "recipient": {"id": "<PAGE_ID>"}, "timestamp": 1458692752478,
//      "message": {"mid": "mid.1457764197618:41d102a3e1ae206a38", "text": "salam"}}]}]}
#ifndef BOT_CHANNELS_MESSENGER_MESSENGER_H_
#define BOT_CHANNELS_MESSENGER_MESSENGER_H_

#include <string>
#include <string_view>
#include <vector>

#include "bot/core/message.h"
#include "bot/core/status.h"

namespace bot::channels::messenger {

// Limits in characters (code points): research/meta-webhooks.md §4.2.
inline constexpr size_t kMaxTextChars = 2000;
inline constexpr size_t kMaxQuickReplies = 13;
inline constexpr size_t kMaxQuickReplyTitleChars = 20;
inline constexpr size_t kMaxQuickReplyPayloadChars = 1000;

// Parses a webhook body; never throws.
//
// kInvalidArgument for non-JSON, a non-object, or an "object" other than "page". Otherwise a
// batch of every entry[].messaging[] event: messages (text, quick reply = choice, attachments:
// image, sticker (an image with sticker_id), audio, video, file = document, location, anything
// else unsupported) and postbacks (choice) become InboundMessages; deliveries become "delivered"
// statuses per mid, and reads one "read" status under ReadStatusId(). Echoes of our own
// messages (is_echo, or sent by the page itself), standby events (another app owns the thread),
// opt-ins, referrals, handovers, events without a sender and repeats of a mid already in the
// batch are counted in `ignored` with a note. Timestamps are read as seconds whether the payload
// gave milliseconds (the norm) or seconds.
Result<WebhookBatch> ParseWebhook(std::string_view body);

// The status id under which a read receipt is reported: reads carry a watermark (everything
// sent before it was read), not message ids. "watermark:<psid>:<watermark>".
std::string ReadStatusId(const std::string& psid, const std::string& watermark);

// The provider id of a postback that carries no mid (older payloads): "postback:<psid>:<timestamp
// as sent>", so Meta's retries of the same tap deduplicate.
std::string PostbackId(const std::string& psid, const std::string& timestamp);

// Send API bodies for POST /me/messages. Officer messages carry MESSAGE_TAG HUMAN_AGENT (allowed
// up to 7 days after the person's last message); everything else is a RESPONSE.
std::vector<std::string> FormatOutbound(const OutboundMessage& message, const std::string& psid);

}  // namespace bot::channels::messenger

#endif  // BOT_CHANNELS_MESSENGER_MESSENGER_H_
