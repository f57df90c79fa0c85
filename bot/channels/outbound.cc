// Outbound dispatch and send-response classification.
#include "bot/channels/outbound.h"

#include <nlohmann/json.hpp>

#include "bot/channels/json_walk.h"
#include "bot/channels/messenger/messenger.h"
#include "bot/channels/whatsapp/whatsapp.h"

namespace bot::channels {

std::vector<std::string> FormatOutbound(Channel channel, const OutboundMessage& message, const std::string& recipient) {
  switch (channel) {
    case Channel::kMessenger: return messenger::FormatOutbound(message, recipient);
    case Channel::kWhatsApp:
    case Channel::kLocal: return whatsapp::FormatOutbound(message, recipient);
    case Channel::kPartner: return {};
  }
  return {};
}

std::string AsNumberedText(const OutboundMessage& m) {
  std::string out;
  if (!m.header.empty()) out += m.header + "\n\n";
  out += m.text;
  int n = 0;
  for (const auto& row : m.rows) {
    ++n;
    // A menu row carries the number the conversation accepts for it; number the rest in order.
    out += "\n" + std::to_string(row.number > 0 ? row.number : n) + ". " + row.title;
  }
  for (const auto& b : m.buttons) {
    ++n;
    out += "\n" + std::to_string(n) + ". " + b.title;
  }
  if (!m.footer.empty()) out += "\n\n" + m.footer;
  return out;
}

SendOutcome ClassifySendResponse(bool network_error, int http_status, std::string_view body) {
  using detail::Arr;
  using detail::Obj;
  using detail::Str;
  SendOutcome out;
  if (network_error) {
    out.kind = SendOutcome::Kind::kRetry;
    out.error = "network error";
    return out;
  }
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (const nlohmann::json* e = Obj(j, "error")) {
    // An error object wins even under HTTP 200 (Messenger answers some errors that way).
    const int64_t code = detail::Int(*e, "code").value_or(0);
    out.error_code = code >= INT32_MIN && code <= INT32_MAX ? static_cast<int>(code) : 0;
    out.error = std::to_string(out.error_code) + ": " + Str(*e, "message");
  } else if (http_status >= 200 && http_status < 300 && j.is_object()) {
    // WhatsApp: {"messages":[{"id":"wamid…"}]}; Messenger: {"recipient_id","message_id"};
    // mark-as-read: {"success":true}; sender actions: {"recipient_id"} only.
    if (const nlohmann::json* msgs = Arr(j, "messages"); msgs != nullptr && !msgs->empty())
      out.message_id = Str((*msgs)[0], "id");
    if (out.message_id.empty()) out.message_id = Str(j, "message_id");
    const nlohmann::json* success = detail::Member(j, "success");
    if (!out.message_id.empty() || (success != nullptr && success->is_boolean() && success->get<bool>()) ||
        j.contains("recipient_id")) {
      out.kind = SendOutcome::Kind::kSent;
      return out;
    }
    out.error = "response carries no message id";
  } else {
    out.error = "HTTP " + std::to_string(http_status);
  }
  // Throttling and Meta-side trouble pass with time. So does trouble with our own account (an
  // expired token, a lost permission, a temporary policy block): failing the replies for good
  // would drop every safety reply queued until an operator fixes it, so they wait instead.
  // Everything else (131047 outside the 24-hour window, 551 person unavailable, bad parameters)
  // is about this one message and fails.
  // Graph rate limits: 4 application, 17 user, 32 page, 613 custom; 80006/80007 Messenger and
  // WhatsApp business-use-case limits.
  static constexpr int kTransient[] = {1,      2,      4,      17,     32,     613,    1200,  80006,
                                       80007, 130429, 131000, 131016, 131048, 131056, 131057};
  // Account codes (Meta's error-code list): 0 auth, 3 capability, 10 and 200–299 permissions, 190
  // token, 368 policy block, 131005 access denied, 131031 account locked, 131037 display name not
  // approved, 131042 payment, 131045 registration certificate, 133010 number not registered.
  // Messenger also sends permission codes for one person (subcodes below: not receiving messages
  // from you, unavailable, a closed window): those are about that message.
  static constexpr int kAccount[] = {0, 3, 10, 190, 368, 131005, 131031, 131037, 131042, 131045, 133010};
  static constexpr int kOnePerson[] = {2018108, 2018065, 1545041, 2018278};
  bool transient = http_status == 429 || http_status >= 500 || http_status == 0;
  for (int c : kTransient)
    if (out.error_code == c) transient = true;
  const nlohmann::json* e = Obj(j, "error");
  const int64_t sub = e != nullptr ? detail::Int(*e, "error_subcode").value_or(0) : 0;
  const bool has_code = e != nullptr && detail::Int(*e, "code").has_value();  // a missing code is not code 0
  const bool permission_code = out.error_code == 10 || (out.error_code >= 200 && out.error_code <= 299);
  if (has_code) {
    for (int c : kAccount)
      if (out.error_code == c) out.account_problem = true;
    if (permission_code) out.account_problem = true;
  }
  if (!has_code && (http_status == 401 || http_status == 403)) out.account_problem = true;
  for (int c : kOnePerson)
    if ((permission_code && sub == c) || out.error_code == c) out.account_problem = false, transient = false;

  out.kind = transient || out.account_problem ? SendOutcome::Kind::kRetry : SendOutcome::Kind::kFailed;
  return out;
}

bool JsonDepthExceeds(std::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false, escape = false;
  for (char c : body) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

}  // namespace bot::channels
