// Outbound dispatch and send-response classification.
#include "bot/channels/outbound.h"

#include <nlohmann/json.hpp>

#include "bot/channels/messenger/messenger.h"
#include "bot/channels/whatsapp/whatsapp.h"

namespace bot::channels {

std::vector<std::string> FormatOutbound(Channel channel, const OutboundMessage& message, const std::string& recipient) {
  switch (channel) {
    case Channel::kMessenger: return messenger::FormatOutbound(message, recipient);
    case Channel::kWhatsApp:
    case Channel::kLocal: return whatsapp::FormatOutbound(message, recipient);
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
    // Our menu rows carry their number already when it is the menu; number the rest.
    out += "\n" + std::to_string(n) + ". " + row.title;
  }
  for (const auto& b : m.buttons) {
    ++n;
    out += "\n" + std::to_string(n) + ". " + b.title;
  }
  if (!m.footer.empty()) out += "\n\n" + m.footer;
  return out;
}

SendOutcome ClassifySendResponse(bool network_error, int http_status, std::string_view body) {
  SendOutcome out;
  if (network_error) {
    out.kind = SendOutcome::Kind::kRetry;
    out.error = "network error";
    return out;
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    if (e.contains("code") && e["code"].is_number_integer()) out.error_code = e["code"].get<int>();
    std::string msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    out.error = std::to_string(out.error_code) + ": " + msg;
  } else if (http_status >= 200 && http_status < 300 && j.is_object()) {
    if (j.contains("messages") && j["messages"].is_array() && !j["messages"].empty() && j["messages"][0].is_object() &&
        j["messages"][0].contains("id") && j["messages"][0]["id"].is_string())
      out.message_id = j["messages"][0]["id"].get<std::string>();
    else if (j.contains("message_id") && j["message_id"].is_string())
      out.message_id = j["message_id"].get<std::string>();
    if (!out.message_id.empty() || (j.contains("success") && j["success"].is_boolean()) || j.contains("recipient_id")) {
      out.kind = SendOutcome::Kind::kSent;
      return out;
    }
    out.error = "response carries no message id";
  } else {
    out.error = "HTTP " + std::to_string(http_status);
  }
  static const int kThrottled[] = {4, 613, 80007, 130429, 131048, 131056, 2, 1, 131000, 131016};
  bool throttled = http_status == 429 || http_status >= 500 || http_status == 0;
  for (int c : kThrottled)
    if (out.error_code == c) throttled = true;
  out.kind = throttled ? SendOutcome::Kind::kRetry : SendOutcome::Kind::kFailed;
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
