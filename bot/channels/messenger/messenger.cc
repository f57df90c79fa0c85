// Messenger webhook parser and Send API formatter.
#include "bot/channels/messenger/messenger.h"

#include <nlohmann/json.hpp>

#include "bot/channels/outbound.h"
#include "bot/channels/text_limits.h"

namespace bot::channels::messenger {
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

// Messenger timestamps are milliseconds; some payloads carry seconds.
int64_t Seconds(const json& j) {
  if (!j.is_object() || !j.contains("timestamp") || !j["timestamp"].is_number_integer()) return 0;
  int64_t t = j["timestamp"].get<int64_t>();
  return t > 100000000000LL ? t / 1000 : t;
}

InboundKind AttachmentKind(const std::string& type) {
  if (type == "image") return InboundKind::kImage;
  if (type == "audio") return InboundKind::kAudio;
  if (type == "video") return InboundKind::kVideo;
  if (type == "file") return InboundKind::kDocument;
  if (type == "location") return InboundKind::kLocation;
  return InboundKind::kUnsupported;
}

}  // namespace

Result<WebhookBatch> ParseWebhook(std::string_view body) {
  json root = json::parse(body, nullptr, false);
  if (root.is_discarded()) return Status::InvalidArgument("body is not valid JSON");
  if (!root.is_object()) return Status::InvalidArgument("body is not a JSON object");
  if (Str(root, "object") != "page")
    return Status::InvalidArgument("not a Messenger page webhook (object=\"" + Str(root, "object") + "\")");
  WebhookBatch batch;
  const json* entries = Arr(root, "entry");
  if (entries == nullptr) return batch;
  for (const json& entry : *entries) {
    const std::string page_id = Str(entry, "id");
    if (Arr(entry, "standby")) {
      ++batch.ignored;
      batch.notes.push_back("standby events belong to another app");
    }
    const json* events = Arr(entry, "messaging");
    if (events == nullptr) {
      ++batch.ignored;
      continue;
    }
    for (const json& ev : *events) {
      const json* sender = Obj(ev, "sender");
      const std::string psid = sender ? Str(*sender, "id") : "";
      const json* recipient = Obj(ev, "recipient");
      const std::string business_id = recipient && !Str(*recipient, "id").empty() ? Str(*recipient, "id") : page_id;
      const int64_t ts = Seconds(ev);
      if (const json* delivery = Obj(ev, "delivery")) {
        if (const json* mids = Arr(*delivery, "mids")) {
          for (const json& mid : *mids) {
            if (!mid.is_string()) continue;
            batch.statuses.push_back({Channel::kMessenger, mid.get<std::string>(), "delivered", ts, psid, 0, ""});
          }
        } else {
          ++batch.ignored;
        }
        continue;
      }
      if (const json* read = Obj(ev, "read")) {
        // Reads carry a watermark, not ids: everything sent before it was read.
        batch.statuses.push_back({Channel::kMessenger, "watermark:" + psid + ":" + Str(*read, "watermark"), "read", ts,
                                  psid, 0, ""});
        continue;
      }
      if (psid.empty()) {
        ++batch.ignored;
        batch.notes.push_back("messaging event without sender");
        continue;
      }
      InboundMessage m;
      m.channel = Channel::kMessenger;
      m.sender = psid;
      m.business_id = business_id;
      m.timestamp = ts;
      m.raw_json = ev.dump();
      if (const json* msg = Obj(ev, "message")) {
        if (msg->contains("is_echo") && (*msg)["is_echo"].is_boolean() && (*msg)["is_echo"].get<bool>()) {
          ++batch.ignored;
          batch.notes.push_back("echo of a page message");
          continue;
        }
        m.provider_id = Str(*msg, "mid");
        m.text = Str(*msg, "text");
        m.kind = InboundKind::kText;
        if (const json* qr = Obj(*msg, "quick_reply")) {
          m.kind = InboundKind::kChoice;
          m.payload_id = Str(*qr, "payload");
        }
        if (const json* rt = Obj(*msg, "reply_to")) m.reply_to = Str(*rt, "mid");
        if (const json* atts = Arr(*msg, "attachments"); atts && !atts->empty()) {
          const json& a = (*atts)[0];
          const std::string type = Str(a, "type");
          const json* payload = Obj(a, "payload");
          m.kind = AttachmentKind(type);
          if (payload && payload->contains("sticker_id")) m.kind = InboundKind::kSticker;
          if (m.kind == InboundKind::kLocation && payload) {
            if (const json* c = Obj(*payload, "coordinates")) {
              if (c->contains("lat") && (*c)["lat"].is_number()) m.latitude = (*c)["lat"].get<double>();
              if (c->contains("long") && (*c)["long"].is_number()) m.longitude = (*c)["long"].get<double>();
            }
          } else if (payload) {
            MediaRef r;
            r.id = Str(*payload, "url");
            r.mime_type = type;
            m.media = r;
          }
        }
      } else if (const json* pb = Obj(ev, "postback")) {
        m.kind = InboundKind::kChoice;
        m.payload_id = Str(*pb, "payload");
        m.text = Str(*pb, "title");
        m.provider_id = Str(*pb, "mid");
        if (m.provider_id.empty()) m.provider_id = "postback:" + psid + ":" + std::to_string(ts);
      } else if (const json* reaction = Obj(ev, "reaction")) {
        m.kind = InboundKind::kReaction;
        m.text = Str(*reaction, "emoji");
        m.reply_to = Str(*reaction, "mid");
        m.provider_id = "reaction:" + psid + ":" + m.reply_to + ":" + Str(*reaction, "action");
      } else {
        ++batch.ignored;
        batch.notes.push_back("messaging event ignored (optin, referral or unknown)");
        continue;
      }
      if (m.provider_id.empty()) {
        ++batch.ignored;
        batch.notes.push_back("message without mid");
        continue;
      }
      batch.messages.push_back(std::move(m));
    }
  }
  return batch;
}

std::vector<std::string> FormatOutbound(const OutboundMessage& m, const std::string& psid) {
  std::vector<std::string> out;
  json base = {{"recipient", {{"id", psid}}}};
  if (m.from_officer) {
    base["messaging_type"] = "MESSAGE_TAG";
    base["tag"] = "HUMAN_AGENT";
  } else {
    base["messaging_type"] = "RESPONSE";
  }
  std::string text;
  json quick = json::array();
  switch (m.kind) {
    case OutboundMessage::Kind::kText:
    case OutboundMessage::Kind::kTemplate: text = m.text; break;
    case OutboundMessage::Kind::kMarkRead: {
      json j = {{"recipient", {{"id", psid}}}, {"sender_action", "mark_seen"}};
      out.push_back(j.dump());
      return out;
    }
    case OutboundMessage::Kind::kButtons:
    case OutboundMessage::Kind::kList: {
      text = AsNumberedText(m);
      std::vector<std::pair<std::string, std::string>> choices;
      for (const auto& r : m.rows) choices.emplace_back(r.id, r.title);
      for (const auto& b : m.buttons) choices.emplace_back(b.id, b.title);
      for (size_t i = 0; i < choices.size() && i < kMaxQuickReplies; ++i)
        quick.push_back({{"content_type", "text"},
                         {"title", Truncate(choices[i].second, kMaxQuickReplyTitleChars)},
                         {"payload", choices[i].first}});
      break;
    }
  }
  auto parts = SplitText(text, kMaxTextChars);
  for (size_t i = 0; i < parts.size(); ++i) {
    json j = base;
    j["message"] = {{"text", parts[i]}};
    if (i + 1 == parts.size() && !quick.empty()) j["message"]["quick_replies"] = quick;
    out.push_back(j.dump());
  }
  return out;
}

}  // namespace bot::channels::messenger
