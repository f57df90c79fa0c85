// WhatsApp Cloud API webhook parser and send-request formatter. Every step of the walk checks
// types (json_walk.h): payloads are untrusted, and nlohmann's value() throws on non-objects.
#include "bot/channels/whatsapp/whatsapp.h"

#include <set>
#include <utility>

#include "bot/channels/json_walk.h"
#include "bot/channels/outbound.h"
#include "bot/channels/text_limits.h"

namespace bot::channels::whatsapp {
namespace {

using detail::Arr;
using detail::Dump;
using detail::Flag;
using detail::Int;
using detail::Number;
using detail::Obj;
using detail::Str;
using json = nlohmann::json;

// The person who wrote `m`. `from` is their phone number; username users have none and only a
// business-scoped user id (BSUID) in `from_user_id` or the contacts[] entry. Our own
// phone_number_id is never the person: some captures carry it in `from`, and replying to it
// would be a message to ourselves (error 131021), so the contacts[] entry decides then.
std::string SenderOf(const json& m, const json* contacts, const std::string& own_id) {
  auto usable = [&](const std::string& s) { return !s.empty() && s != own_id; };
  for (const char* key : {"from", "from_user_id"}) {
    std::string s = Str(m, key);
    if (usable(s)) return s;
  }
  // Without a `from` of its own, a message can only be attributed when the value names one person.
  if (contacts != nullptr && contacts->size() == 1) {
    for (const char* key : {"wa_id", "user_id"}) {
      std::string s = Str((*contacts)[0], key);
      if (usable(s)) return s;
    }
  }
  return {};
}

// The sender's other identifier, phone number or BSUID, when the message or its contacts[] entry
// gives both.
std::string AliasOf(const json& m, const std::string& sender, const json* contacts, const std::string& own_id) {
  std::vector<std::string> ids = {Str(m, "from"), Str(m, "from_user_id")};
  if (contacts != nullptr)
    for (const json& c : *contacts)
      if (Str(c, "wa_id") == sender || Str(c, "user_id") == sender) {  // only the entry naming the sender
        ids.push_back(Str(c, "wa_id"));
        ids.push_back(Str(c, "user_id"));
      }
  // Only a phone number beside a BSUID (or the reverse) is an alias: two different numbers
  // would be two people, or a capture we do not understand.
  const bool sender_is_bsuid = IsBusinessScopedUserId(sender);
  for (const std::string& id : ids)
    if (!id.empty() && id != sender && id != own_id && IsBusinessScopedUserId(id) != sender_is_bsuid) return id;
  return {};
}

std::string ProfileNameOf(const std::string& sender, const json* contacts) {
  if (contacts == nullptr) return {};
  for (const json& c : *contacts) {
    if (contacts->size() == 1 || Str(c, "wa_id") == sender || Str(c, "user_id") == sender) {
      if (const json* p = Obj(c, "profile")) return Str(*p, "name");
    }
  }
  return {};
}

// Fills kind, text, payload_id, media and location from the type-specific part of `m`. `depth`
// bounds the recursion through edits (an edit carries the whole new message).
void FillContent(const json& m, InboundMessage& out, int depth) {
  const std::string type = Str(m, "type");
  auto media = [&](const char* key, InboundKind kind) {
    out.kind = kind;
    const json* md = Obj(m, key);
    if (md == nullptr) return;
    MediaRef r;
    r.id = Str(*md, "id");
    r.mime_type = Str(*md, "mime_type");
    r.sha256 = Str(*md, "sha256");
    r.filename = Str(*md, "filename");
    r.voice = Flag(*md, "voice") || type == "voice";
    out.text = Str(*md, "caption");
    out.media = std::move(r);
  };
  out.kind = InboundKind::kUnsupported;  // unsupported, unknown (legacy), order, anything new
  if (type == "text") {
    out.kind = InboundKind::kText;
    if (const json* t = Obj(m, "text")) out.text = Str(*t, "body");
  } else if (type == "interactive") {
    // button_reply and list_reply carry the id we gave the button or row; a finished Flow
    // (nfm_reply) carries its name, and its response_json is a string we keep only in raw_json:
    // it may decode to anything, not only an object.
    const json* in = Obj(m, "interactive");
    const json* reply = nullptr;
    if (in != nullptr) reply = Obj(*in, "button_reply") ? Obj(*in, "button_reply") : Obj(*in, "list_reply");
    if (reply != nullptr) {
      out.kind = InboundKind::kChoice;
      out.payload_id = Str(*reply, "id");
      out.text = Str(*reply, "title");
    } else if (const json* nfm = in ? Obj(*in, "nfm_reply") : nullptr) {
      out.kind = InboundKind::kChoice;
      out.payload_id = Str(*nfm, "name");
      out.text = Str(*nfm, "body");
    }
  } else if (type == "button") {  // a template's quick-reply button
    out.kind = InboundKind::kChoice;
    if (const json* b = Obj(m, "button")) {
      out.payload_id = Str(*b, "payload");
      out.text = Str(*b, "text");
    }
  } else if (type == "image") {
    media("image", InboundKind::kImage);
  } else if (type == "video") {
    media("video", InboundKind::kVideo);
  } else if (type == "document") {
    media("document", InboundKind::kDocument);
  } else if (type == "audio") {
    media("audio", InboundKind::kAudio);
  } else if (type == "voice") {  // On-Premises era shape of a voice note
    media("voice", InboundKind::kAudio);
  } else if (type == "sticker") {
    media("sticker", InboundKind::kSticker);
  } else if (type == "location") {
    out.kind = InboundKind::kLocation;
    if (const json* l = Obj(m, "location")) {
      out.latitude = Number(*l, "latitude").value_or(0);
      out.longitude = Number(*l, "longitude").value_or(0);
      out.text = Str(*l, "name");
    }
  } else if (type == "contacts") {
    out.kind = InboundKind::kContacts;
  } else if (type == "reaction") {
    out.kind = InboundKind::kReaction;
    if (const json* r = Obj(m, "reaction")) {
      out.text = Str(*r, "emoji");  // "" or absent: the reaction was removed
      out.reply_to = Str(*r, "message_id");
    }
  } else if (type == "system") {
    out.kind = InboundKind::kSystem;
    if (const json* s = Obj(m, "system")) {
      out.text = Str(*s, "body");
      // The person moved to a new number: their case, language and opt-out go with them.
      // Only a phone number that is not ours (some captures carry placeholders or our own id).
      const std::string wa_id = Str(*s, "wa_id");
      const bool digits = !wa_id.empty() && wa_id.find_first_not_of("0123456789") == std::string::npos;
      if (Str(*s, "type") == "user_changed_number" && digits && wa_id != out.business_id) out.new_address = wa_id;
    }
  } else if (type == "revoke") {
    // The person deleted a message: nothing to answer, but officers should see it happened.
    out.kind = InboundKind::kSystem;
    if (const json* r = Obj(m, "revoke")) out.reply_to = Str(*r, "original_message_id");
  } else if (type == "edit") {
    // The person edited a message: the edit carries the new message whole; it is read as what it
    // now says, pointing at the message it replaces.
    if (const json* e = Obj(m, "edit")) {
      if (const json* inner = Obj(*e, "message"); inner != nullptr && depth < 2) FillContent(*inner, out, depth + 1);
      out.reply_to = Str(*e, "original_message_id");
    }
  }
}

bool ParseMessage(const json& m, const std::string& business_id, const json* contacts, InboundMessage& out,
                  std::string& why_not) {
  out.channel = Channel::kWhatsApp;
  out.business_id = business_id;
  out.provider_id = Str(m, "id");
  if (out.provider_id.empty()) {
    why_not = "message without id";
    return false;
  }
  out.sender = SenderOf(m, contacts, business_id);
  if (!out.sender.empty()) out.sender_alias = AliasOf(m, out.sender, contacts, business_id);
  if (out.sender.empty()) {
    why_not = "message " + out.provider_id + " has no sender other than our own number";
    return false;
  }
  out.sender_name = ProfileNameOf(out.sender, contacts);
  out.timestamp = Int(m, "timestamp").value_or(0);
  if (out.timestamp < 0) out.timestamp = 0;
  if (const json* ctx = Obj(m, "context")) out.reply_to = Str(*ctx, "id");
  out.raw_json = Dump(m);
  FillContent(m, out, 0);
  return true;
}

StatusUpdate ParseStatus(const json& s) {
  StatusUpdate u;
  u.channel = Channel::kWhatsApp;
  u.provider_message_id = Str(s, "id");
  u.status = Str(s, "status");
  u.timestamp = Int(s, "timestamp").value_or(0);
  u.recipient = Str(s, "recipient_id");
  if (u.recipient.empty()) u.recipient = Str(s, "recipient_user_id");
  if (const json* errs = Arr(s, "errors"); errs != nullptr && !errs->empty()) {
    const json& e = (*errs)[0];
    const int64_t code = Int(e, "code").value_or(0);
    u.error_code = code >= INT32_MIN && code <= INT32_MAX ? static_cast<int>(code) : 0;
    u.error_title = Str(e, "title");
    if (u.error_title.empty()) u.error_title = Str(e, "message");
  }
  return u;
}

WebhookBatch Walk(const json& root) {
  WebhookBatch batch;
  const json* entries = Arr(root, "entry");
  if (entries == nullptr) {
    batch.notes.push_back("webhook without entry[]");
    return batch;
  }
  std::set<std::string> seen_messages;
  std::set<std::pair<std::string, std::string>> seen_statuses;
  for (const json& entry : *entries) {
    const json* changes = Arr(entry, "changes");
    if (changes == nullptr) {
      ++batch.ignored;
      batch.notes.push_back("entry without changes[]");
      continue;
    }
    for (const json& change : *changes) {
      const std::string field = Str(change, "field");
      const json* value = Obj(change, "value");
      if (value == nullptr || (!field.empty() && field != "messages")) {
        ++batch.ignored;
        batch.notes.push_back("ignored webhook field \"" + field + "\"");
        continue;
      }
      std::string business_id;
      if (const json* md = Obj(*value, "metadata")) business_id = Str(*md, "phone_number_id");
      const json* contacts = Arr(*value, "contacts");
      if (const json* messages = Arr(*value, "messages")) {
        for (const json& m : *messages) {
          InboundMessage msg;
          std::string why;
          if (!ParseMessage(m, business_id, contacts, msg, why)) {
            ++batch.ignored;
            batch.notes.push_back(why);
          } else if (!seen_messages.insert(msg.provider_id).second) {
            ++batch.ignored;  // Meta may repeat a message inside one POST
            batch.notes.push_back("message " + msg.provider_id + " repeated in one webhook");
          } else {
            batch.messages.push_back(std::move(msg));
          }
        }
      }
      if (const json* statuses = Arr(*value, "statuses")) {
        for (const json& s : *statuses) {
          StatusUpdate u = ParseStatus(s);
          if (u.provider_message_id.empty() || u.status.empty()) {
            ++batch.ignored;
            batch.notes.push_back("status without id or status");
          } else if (seen_statuses.insert({u.provider_message_id, u.status}).second) {
            batch.statuses.push_back(std::move(u));
          }
        }
      }
      if (const json* errors = Arr(*value, "errors")) {
        ++batch.ignored;
        for (const json& e : *errors) batch.notes.push_back("webhook error " + Str(e, "code") + ": " + Str(e, "title"));
      }
    }
  }
  return batch;
}

}  // namespace

Result<WebhookBatch> ParseWebhook(std::string_view body) {
  return detail::ParseEnvelope(body, "whatsapp_business_account", "WhatsApp Business Account", Walk);
}

namespace {

json Envelope(const std::string& to) {
  json j = {{"messaging_product", "whatsapp"}, {"recipient_type", "individual"}};
  j[IsBusinessScopedUserId(to) ? "recipient" : "to"] = to;  // the Cloud API takes a BSUID as "recipient"
  return j;
}

class Formatter {
 public:
  explicit Formatter(const std::string& to) : to_(to) {}

  void Text(const std::string& text) {
    for (const auto& part : SplitText(text, kMaxTextChars)) {
      json j = Envelope(to_);
      j["type"] = "text";
      j["text"] = {{"body", part}, {"preview_url", false}};
      out_.push_back(Dump(j));
    }
  }

  // An interactive body holds at most `max_chars`: what does not fit goes first as text
  // messages, and the interactive message keeps the last part, next to its buttons.
  std::string InteractiveBody(const std::string& text, size_t max_chars) {
    if (CharCount(text) <= max_chars) return text;
    auto parts = SplitText(text, max_chars);
    if (parts.empty()) return Truncate(text, max_chars);  // only whitespace: nothing to split
    std::string last = parts.back();
    parts.pop_back();
    for (const auto& p : parts) Text(p);
    return last;
  }

  void Interactive(json interactive, const OutboundMessage& m) {
    if (!m.header.empty()) interactive["header"] = {{"type", "text"}, {"text", Truncate(m.header, kMaxHeaderChars)}};
    if (!m.footer.empty()) interactive["footer"] = {{"text", Truncate(m.footer, kMaxFooterChars)}};
    json j = Envelope(to_);
    j["type"] = "interactive";
    j["interactive"] = std::move(interactive);
    out_.push_back(Dump(j));
  }

  void Buttons(const OutboundMessage& m) {
    json buttons = json::array();
    for (const ReplyButton& b : m.buttons)
      buttons.push_back({{"type", "reply"},
                         {"reply", {{"id", Truncate(b.id, kMaxButtonIdChars)},
                                    {"title", Truncate(b.title, kMaxButtonTitleChars)}}}});
    const std::string body = InteractiveBody(m.text, kMaxInteractiveBodyChars);
    Interactive({{"type", "button"}, {"body", {{"text", body}}}, {"action", {{"buttons", buttons}}}}, m);
  }

  void List(const OutboundMessage& m, const std::vector<ListRow>& rows) {
    json j_rows = json::array();
    for (const ListRow& r : rows) {
      // The number too, for people who type it (the menu's footer says they may).
      const std::string title = r.number > 0 ? std::to_string(r.number) + ". " + r.title : r.title;
      json row = {{"id", Truncate(r.id, kMaxRowIdChars)}, {"title", Truncate(title, kMaxRowTitleChars)}};
      if (!r.description.empty()) row["description"] = Truncate(r.description, kMaxRowDescriptionChars);
      j_rows.push_back(std::move(row));
    }
    const std::string body = InteractiveBody(m.text, kMaxListBodyChars);
    const std::string button = Truncate(m.list_button.empty() ? "Menu" : m.list_button, kMaxListButtonChars);
    // One section: its title is optional then, and a header already names the list.
    Interactive({{"type", "list"},
                 {"body", {{"text", body}}},
                 {"action", {{"button", button}, {"sections", json::array({{{"rows", j_rows}}})}}}},
                m);
  }

  void Template(const OutboundMessage& m) {
    json j = Envelope(to_);
    j["type"] = "template";
    j["template"] = {{"name", m.template_name}, {"language", {{"code", m.template_language}}}};
    if (!m.template_params.empty()) {
      json params = json::array();
      for (const auto& p : m.template_params) params.push_back({{"type", "text"}, {"text", p}});
      j["template"]["components"] = json::array({{{"type", "body"}, {"parameters", params}}});
    }
    out_.push_back(Dump(j));
  }

  void Raw(std::string body) { out_.push_back(std::move(body)); }
  std::vector<std::string> Take() { return std::move(out_); }

 private:
  const std::string& to_;
  std::vector<std::string> out_;
};

}  // namespace

std::vector<std::string> FormatOutbound(const OutboundMessage& m, const std::string& to) {
  Formatter f(to);
  switch (m.kind) {
    case OutboundMessage::Kind::kText:
      f.Text(m.text);
      break;
    case OutboundMessage::Kind::kButtons:
      // More choices than reply buttons allow become a list, and more than a list allows become
      // numbered text: a choice is never dropped silently.
      if (m.buttons.empty()) {
        f.Text(m.text);
      } else if (m.buttons.size() <= kMaxButtons) {
        f.Buttons(m);
      } else if (m.buttons.size() <= kMaxListRows) {
        std::vector<ListRow> rows;
        for (const ReplyButton& b : m.buttons) rows.push_back({b.id, b.title, ""});
        f.List(m, rows);
      } else {
        f.Text(AsNumberedText(m));
      }
      break;
    case OutboundMessage::Kind::kList:
      if (!m.rows.empty() && m.rows.size() <= kMaxListRows) f.List(m, m.rows);
      else f.Text(AsNumberedText(m));
      break;
    case OutboundMessage::Kind::kTemplate:
      f.Template(m);
      break;
    case OutboundMessage::Kind::kMarkRead:
      f.Raw(FormatMarkRead(m.text));
      break;
  }
  return f.Take();
}

std::string FormatMarkRead(const std::string& provider_message_id) {
  return Dump(json{{"messaging_product", "whatsapp"}, {"status", "read"}, {"message_id", provider_message_id}});
}

}  // namespace bot::channels::whatsapp
