// WhatsApp Cloud API webhook parser and send-request formatter. Every step of the walk checks
// types: payloads are untrusted, and nlohmann's value() throws on non-objects.
#include "bot/channels/whatsapp/whatsapp.h"

#include <nlohmann/json.hpp>

#include "bot/channels/text_limits.h"

namespace bot::channels::whatsapp {
namespace {

using json = nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

const json* Obj(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

const json* Arr(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? &*it : nullptr;
}

// Timestamps are strings in Meta's docs and integers in some libraries' fixtures.
int64_t Timestamp(const json& j) {
  if (!j.is_object() || !j.contains("timestamp")) return 0;
  const json& t = j["timestamp"];
  if (t.is_number_integer()) return t.get<int64_t>();
  if (t.is_string()) {
    const std::string s = t.get<std::string>();
    if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::stoll(s);
  }
  return 0;
}

double Coordinate(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return 0;
  const json& v = j[key];
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    try {
      return std::stod(v.get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
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
  out.sender = Str(m, "from");
  if (out.sender.empty()) out.sender = Str(m, "from_user_id");  // username users: BSUID only
  if (contacts != nullptr) {
    for (const json& c : *contacts) {
      const std::string wa_id = Str(c, "wa_id"), user_id = Str(c, "user_id");
      if (out.sender.empty()) out.sender = !wa_id.empty() ? wa_id : user_id;
      if (wa_id == out.sender || user_id == out.sender || contacts->size() == 1) {
        if (const json* p = Obj(c, "profile")) out.sender_name = Str(*p, "name");
      }
    }
  }
  if (out.sender.empty()) {
    why_not = "message " + out.provider_id + " has no sender";
    return false;
  }
  out.timestamp = Timestamp(m);
  if (const json* ctx = Obj(m, "context")) out.reply_to = Str(*ctx, "id");
  out.raw_json = m.dump();

  const std::string type = Str(m, "type");
  auto media = [&](const char* key, InboundKind kind) {
    out.kind = kind;
    if (const json* md = Obj(m, key)) {
      MediaRef r;
      r.id = Str(*md, "id");
      r.mime_type = Str(*md, "mime_type");
      r.sha256 = Str(*md, "sha256");
      r.filename = Str(*md, "filename");
      r.voice = (md->contains("voice") && (*md)["voice"].is_boolean() && (*md)["voice"].get<bool>()) ||
                std::string(key) == "voice";
      out.text = Str(*md, "caption");
      out.media = r;
    }
  };
  if (type == "text") {
    out.kind = InboundKind::kText;
    if (const json* t = Obj(m, "text")) out.text = Str(*t, "body");
  } else if (type == "interactive") {
    const json* in = Obj(m, "interactive");
    out.kind = InboundKind::kChoice;
    const std::string itype = in ? Str(*in, "type") : "";
    const json* reply = in ? (Obj(*in, "button_reply") ? Obj(*in, "button_reply") : Obj(*in, "list_reply")) : nullptr;
    if (reply != nullptr) {
      out.payload_id = Str(*reply, "id");
      out.text = Str(*reply, "title");
    } else if (const json* nfm = in ? Obj(*in, "nfm_reply") : nullptr) {
      out.payload_id = Str(*nfm, "name");
      out.text = Str(*nfm, "body");
    } else {
      out.kind = InboundKind::kUnsupported;
    }
  } else if (type == "button") {
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
  } else if (type == "voice") {  // On-Premises era shape
    media("voice", InboundKind::kAudio);
  } else if (type == "sticker") {
    media("sticker", InboundKind::kSticker);
  } else if (type == "location") {
    out.kind = InboundKind::kLocation;
    if (const json* l = Obj(m, "location")) {
      out.latitude = Coordinate(*l, "latitude");
      out.longitude = Coordinate(*l, "longitude");
      out.text = Str(*l, "name");
    }
  } else if (type == "contacts") {
    out.kind = InboundKind::kContacts;
  } else if (type == "reaction") {
    out.kind = InboundKind::kReaction;
    if (const json* r = Obj(m, "reaction")) {
      out.text = Str(*r, "emoji");
      out.reply_to = Str(*r, "message_id");
    }
  } else if (type == "system") {
    out.kind = InboundKind::kSystem;
    if (const json* s = Obj(m, "system")) out.text = Str(*s, "body");
  } else {
    out.kind = InboundKind::kUnsupported;  // unsupported, unknown, order, revoke, edit, …
  }
  return true;
}

}  // namespace

Result<WebhookBatch> ParseWebhook(std::string_view body) {
  json root = json::parse(body, nullptr, false);
  if (root.is_discarded()) return Status::InvalidArgument("body is not valid JSON");
  if (!root.is_object()) return Status::InvalidArgument("body is not a JSON object");
  if (Str(root, "object") != "whatsapp_business_account")
    return Status::InvalidArgument("not a WhatsApp Business Account webhook (object=\"" + Str(root, "object") + "\")");
  WebhookBatch batch;
  const json* entries = Arr(root, "entry");
  if (entries == nullptr) return batch;
  for (const json& entry : *entries) {
    const json* changes = Arr(entry, "changes");
    if (changes == nullptr) {
      ++batch.ignored;
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
          if (ParseMessage(m, business_id, contacts, msg, why)) {
            batch.messages.push_back(std::move(msg));
          } else {
            ++batch.ignored;
            batch.notes.push_back(why);
          }
        }
      }
      if (const json* statuses = Arr(*value, "statuses")) {
        for (const json& s : *statuses) {
          StatusUpdate u;
          u.channel = Channel::kWhatsApp;
          u.provider_message_id = Str(s, "id");
          u.status = Str(s, "status");
          u.timestamp = Timestamp(s);
          u.recipient = Str(s, "recipient_id");
          if (const json* errs = Arr(s, "errors"); errs && !errs->empty()) {
            const json& e = (*errs)[0];
            if (e.is_object() && e.contains("code") && e["code"].is_number_integer()) u.error_code = e["code"].get<int>();
            u.error_title = Str(e, "title");
            if (u.error_title.empty()) u.error_title = Str(e, "message");
          }
          if (u.provider_message_id.empty() || u.status.empty()) {
            ++batch.ignored;
            batch.notes.push_back("status without id or status");
            continue;
          }
          batch.statuses.push_back(std::move(u));
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

std::vector<std::string> FormatOutbound(const OutboundMessage& m, const std::string& to) {
  json base = {{"messaging_product", "whatsapp"}, {"recipient_type", "individual"}, {"to", to}};
  std::vector<std::string> out;
  auto text_messages = [&](const std::string& text) {
    for (const auto& part : SplitText(text, kMaxTextChars)) {
      json j = base;
      j["type"] = "text";
      j["text"] = {{"body", part}, {"preview_url", false}};
      out.push_back(j.dump());
    }
  };
  switch (m.kind) {
    case OutboundMessage::Kind::kText:
      text_messages(m.text);
      break;
    case OutboundMessage::Kind::kButtons: {
      // A body too long for an interactive message goes first as text; the buttons follow.
      std::string body = m.text;
      if (CharCount(body) > kMaxInteractiveBodyChars) {
        auto parts = SplitText(body, kMaxInteractiveBodyChars);
        body = parts.back();
        parts.pop_back();
        for (const auto& p : parts) text_messages(p);
      }
      json buttons = json::array();
      for (size_t i = 0; i < m.buttons.size() && i < kMaxButtons; ++i)
        buttons.push_back({{"type", "reply"},
                           {"reply", {{"id", Truncate(m.buttons[i].id, 256)},
                                      {"title", Truncate(m.buttons[i].title, kMaxButtonTitleChars)}}}});
      json j = base;
      j["type"] = "interactive";
      j["interactive"] = {{"type", "button"}, {"body", {{"text", body}}}, {"action", {{"buttons", buttons}}}};
      if (!m.header.empty()) j["interactive"]["header"] = {{"type", "text"}, {"text", Truncate(m.header, kMaxHeaderChars)}};
      if (!m.footer.empty()) j["interactive"]["footer"] = {{"text", Truncate(m.footer, kMaxFooterChars)}};
      out.push_back(j.dump());
      break;
    }
    case OutboundMessage::Kind::kList: {
      std::string body = m.text;
      if (CharCount(body) > kMaxInteractiveBodyChars) {
        auto parts = SplitText(body, kMaxInteractiveBodyChars);
        body = parts.back();
        parts.pop_back();
        for (const auto& p : parts) text_messages(p);
      }
      json rows = json::array();
      for (size_t i = 0; i < m.rows.size() && i < kMaxListRows; ++i) {
        json row = {{"id", Truncate(m.rows[i].id, kMaxRowIdChars)},
                    {"title", Truncate(m.rows[i].title, kMaxRowTitleChars)}};
        if (!m.rows[i].description.empty())
          row["description"] = Truncate(m.rows[i].description, kMaxRowDescriptionChars);
        rows.push_back(row);
      }
      json j = base;
      j["type"] = "interactive";
      j["interactive"] = {{"type", "list"},
                          {"body", {{"text", body}}},
                          {"action", {{"button", Truncate(m.list_button.empty() ? "Menu" : m.list_button, kMaxListButtonChars)},
                                      {"sections", json::array({{{"title", Truncate(m.header.empty() ? "Menu" : m.header, kMaxRowTitleChars)},
                                                                 {"rows", rows}}})}}}};
      if (!m.header.empty()) j["interactive"]["header"] = {{"type", "text"}, {"text", Truncate(m.header, kMaxHeaderChars)}};
      if (!m.footer.empty()) j["interactive"]["footer"] = {{"text", Truncate(m.footer, kMaxFooterChars)}};
      out.push_back(j.dump());
      break;
    }
    case OutboundMessage::Kind::kTemplate: {
      json params = json::array();
      for (const auto& p : m.template_params) params.push_back({{"type", "text"}, {"text", p}});
      json j = base;
      j["type"] = "template";
      j["template"] = {{"name", m.template_name}, {"language", {{"code", m.template_language}}}};
      if (!params.empty()) j["template"]["components"] = json::array({{{"type", "body"}, {"parameters", params}}});
      out.push_back(j.dump());
      break;
    }
    case OutboundMessage::Kind::kMarkRead:
      out.push_back(FormatMarkRead(m.text));
      break;
  }
  return out;
}

std::string FormatMarkRead(const std::string& provider_message_id) {
  return json{{"messaging_product", "whatsapp"}, {"status", "read"}, {"message_id", provider_message_id}}.dump();
}

SendResult ParseSendResponse(int http_status, std::string_view body) {
  SendResult r;
  json j = json::parse(body, nullptr, false);
  if (const json* err = j.is_object() ? Obj(j, "error") : nullptr) {
    if (err->contains("code") && (*err)["code"].is_number_integer()) r.error_code = (*err)["code"].get<int>();
    r.error_message = Str(*err, "message");
    return r;
  }
  if (http_status < 200 || http_status >= 300) {
    r.error_message = "HTTP " + std::to_string(http_status);
    return r;
  }
  if (const json* msgs = j.is_object() ? Arr(j, "messages") : nullptr; msgs && !msgs->empty())
    r.message_id = Str((*msgs)[0], "id");
  if (r.message_id.empty() && j.is_object() && j.contains("success")) r.ok = true;  // mark-as-read
  r.ok = r.ok || !r.message_id.empty();
  if (!r.ok) r.error_message = "response carries no message id";
  return r;
}

}  // namespace bot::channels::whatsapp
