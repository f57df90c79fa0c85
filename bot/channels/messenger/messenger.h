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

inline constexpr size_t kMaxTextChars = 2000;
inline constexpr size_t kMaxQuickReplies = 13;
inline constexpr size_t kMaxQuickReplyTitleChars = 20;

// kInvalidArgument for non-JSON or an object other than "page". Echoes of our own messages,
// opt-ins, referrals and standby events are counted as ignored.
Result<WebhookBatch> ParseWebhook(std::string_view body);

// Send API bodies for POST /me/messages. Officer messages carry MESSAGE_TAG HUMAN_AGENT (allowed
// up to 7 days after the person's last message); everything else is a RESPONSE.
std::vector<std::string> FormatOutbound(const OutboundMessage& message, const std::string& psid);

}  // namespace bot::channels::messenger

#endif  // BOT_CHANNELS_MESSENGER_MESSENGER_H_
