// Names of channel-neutral enums, as stored in the database and shown in APIs.
#include "bot/core/message.h"

#include <array>
#include <utility>

namespace bot {

std::string_view ChannelName(Channel c) {
  switch (c) {
    case Channel::kWhatsApp: return "whatsapp";
    case Channel::kMessenger: return "messenger";
    case Channel::kLocal: return "local";
    case Channel::kPartner: return "partner";
  }
  return "unknown";
}

std::optional<Channel> ParseChannel(std::string_view name) {
  if (name == "whatsapp") return Channel::kWhatsApp;
  if (name == "messenger") return Channel::kMessenger;
  if (name == "local") return Channel::kLocal;
  if (name == "partner") return Channel::kPartner;
  return std::nullopt;
}

namespace {
constexpr std::array<std::pair<InboundKind, std::string_view>, 12> kKindNames = {{
    {InboundKind::kText, "text"},         {InboundKind::kChoice, "choice"},
    {InboundKind::kImage, "image"},       {InboundKind::kAudio, "audio"},
    {InboundKind::kVideo, "video"},       {InboundKind::kDocument, "document"},
    {InboundKind::kSticker, "sticker"},   {InboundKind::kLocation, "location"},
    {InboundKind::kContacts, "contacts"}, {InboundKind::kReaction, "reaction"},
    {InboundKind::kUnsupported, "unsupported"}, {InboundKind::kSystem, "system"},
}};
}  // namespace

bool IsBusinessScopedUserId(std::string_view id) {
  return id.size() > 3 && id[0] >= 'A' && id[0] <= 'Z' && id[1] >= 'A' && id[1] <= 'Z' && id[2] == '.';
}

std::string_view InboundKindName(InboundKind k) {
  for (const auto& [kind, name] : kKindNames)
    if (kind == k) return name;
  return "unsupported";
}

std::optional<InboundKind> ParseInboundKind(std::string_view name) {
  for (const auto& [kind, n] : kKindNames)
    if (n == name) return kind;
  return std::nullopt;
}

}  // namespace bot
