// Channel-neutral messages: what a channel adapter produces from a webhook, and what the
// conversation asks a channel to send. Provider words (wa_id, PSID, wamid) stay in channels/.
#ifndef BOT_CORE_MESSAGE_H_
#define BOT_CORE_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bot {

enum class Channel { kWhatsApp, kMessenger, kLocal, kPartner };  // kPartner: partner webhooks

std::string_view ChannelName(Channel c);             // "whatsapp", "messenger", "local", "partner"
std::optional<Channel> ParseChannel(std::string_view name);

// What the person sent. kText covers typed text; kChoice a tapped button, list row, quick reply
// or postback (payload_id is the id we gave it); media kinds keep the provider's media id.
enum class InboundKind {
  kText, kChoice, kImage, kAudio, kVideo, kDocument, kSticker, kLocation, kContacts,
  kReaction, kUnsupported, kSystem
};
std::string_view InboundKindName(InboundKind k);

// WhatsApp's business-scoped user id ("US.13491208655302741918": a country code, a dot, then
// letters and digits), which username users have instead of a phone number; else a phone number.
bool IsBusinessScopedUserId(std::string_view id);
std::optional<InboundKind> ParseInboundKind(std::string_view name);

struct MediaRef {
  std::string id;
  std::string mime_type;
  std::string sha256;
  std::string filename;
  bool voice = false;
};

struct InboundMessage {
  Channel channel = Channel::kWhatsApp;
  std::string provider_id;   // the provider's message id: the idempotency key
  std::string sender;        // the person's address on that channel
  // The person's other WhatsApp identifier given beside `sender`: their business-scoped user id
  // (BSUID) beside a phone number, or the reverse. The same person: stored as an alias, so their
  // messages that carry only one of the two (usernames hide the phone number) reach one contact.
  std::string sender_alias;
  std::string sender_name;   // profile name, may be empty (personal data)
  std::string business_id;   // our number/page the message came to: replies go out from it
  int64_t timestamp = 0;     // unix seconds as the provider reported it
  InboundKind kind = InboundKind::kText;
  std::string text;          // body, caption, or tapped title
  std::string payload_id;    // id of a tapped button/row/quick reply/postback
  std::string reply_to;      // provider id of the message this one answers (context)
  std::optional<MediaRef> media;
  // The attachments after the first, when one message carries several (Messenger sends a
  // person's three photos of their documents as one message): officers must see them all.
  std::vector<MediaRef> more_media;
  double latitude = 0, longitude = 0;
  std::string new_address;   // WhatsApp "user_changed_number": the person's new number
  std::string raw_json;      // this message's JSON as received, kept for officers
  bool urgent_hint = false;  // set at ingest by a quick classification: the urgent lane's key
};

// A delivery report for something we sent.
struct StatusUpdate {
  Channel channel = Channel::kWhatsApp;
  std::string provider_message_id;
  std::string status;  // "sent", "delivered", "read", "failed" (others kept as given)
  int64_t timestamp = 0;
  std::string recipient;
  int error_code = 0;
  std::string error_title;
};

// Everything one webhook POST carried.
struct WebhookBatch {
  std::vector<InboundMessage> messages;
  std::vector<StatusUpdate> statuses;
  int ignored = 0;  // entries we accept and do not act on (echoes, other fields, errors[])
  std::vector<std::string> notes;  // why things were ignored, for logs
};

struct ReplyButton {
  std::string id;
  std::string title;
};
struct ListRow {
  std::string id;
  std::string title;
  std::string description;
  int number = 0;  // the number the person may type instead of tapping (menu rows); 0: none
};

// What the conversation wants sent. A channel adapter turns it into the provider's JSON and
// enforces the provider's limits there.
struct OutboundMessage {
  enum class Kind { kText, kButtons, kList, kTemplate, kMarkRead };
  Kind kind = Kind::kText;
  std::string text;
  std::string header;
  std::string footer;
  std::vector<ReplyButton> buttons;  // kButtons (and quick replies on Messenger)
  std::string list_button;           // kList: label of the button that opens the list
  std::vector<ListRow> rows;         // kList
  std::string template_name;         // kTemplate
  std::string template_language;
  std::vector<std::string> template_params;
  bool from_officer = false;         // Messenger sends these with the HUMAN_AGENT tag
  bool urgent = false;               // jumps the outbox queue
};

}  // namespace bot

#endif  // BOT_CORE_MESSAGE_H_
