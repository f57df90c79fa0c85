// Channel dispatch for outbound messages: the conversation speaks OutboundMessage, each channel
// adapter turns it into its provider's request bodies.
#ifndef BOT_CHANNELS_OUTBOUND_H_
#define BOT_CHANNELS_OUTBOUND_H_

#include <string>
#include <string_view>
#include <vector>

#include "bot/core/message.h"

namespace bot::channels {

std::vector<std::string> FormatOutbound(Channel channel, const OutboundMessage& message, const std::string& recipient);

// A list or buttons message as plain numbered text, for channels or states that cannot show it.
std::string AsNumberedText(const OutboundMessage& message);

struct SendOutcome {
  enum class Kind { kSent, kRetry, kFailed };
  Kind kind = Kind::kFailed;
  std::string message_id;
  int error_code = 0;
  std::string error;  // "131047: Re-engagement message" for logs and officers
  // The sending account is refused (expired or revoked token, missing permission, a policy
  // block): every message waits, retried, until an operator fixes the account.
  bool account_problem = false;
};

// How a provider's answer to a send request must be handled (Graph API errors are the same
// shape for WhatsApp and Messenger). kSent with `message_id` for WhatsApp's messages[0].id or
// Messenger's message_id (empty for mark-as-read {"success":true} and sender actions). An
// {"error":{...}} object means failure even under HTTP 200. kRetry for network errors, HTTP 429
// and 5xx, the transient codes (1, 2, 4, 613, 1200, 80007, 130429, 131000, 131016, 131048,
// 131056, 131057) and account problems (0, 3, 10, 190, 200, 368, 131005, 131031, 131042, or a
// 401/403 without a code: `account_problem`); kFailed for everything else, 131047 and Messenger's
// one-person subcodes (2018108, 2018065, 1545041, 2018278) included, and for a 2xx that is not a
// send answer. Never throws.
SendOutcome ClassifySendResponse(bool network_error, int http_status, std::string_view body);

// JSON nesting deeper than `max_depth` (arrays/objects), checked before parsing untrusted bodies.
bool JsonDepthExceeds(std::string_view body, int max_depth);

}  // namespace bot::channels

#endif  // BOT_CHANNELS_OUTBOUND_H_
