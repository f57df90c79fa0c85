// Messenger webhook parser and Send API formatter. Every step of the walk checks types
// (json_walk.h): payloads are untrusted, and nlohmann's value() throws on non-objects.
#include "bot/channels/messenger/messenger.h"

#include <set>
#include <utility>

#include "bot/channels/json_walk.h"
#include "bot/channels/outbound.h"
#include "bot/channels/text_limits.h"

namespace bot::channels::messenger {
namespace {

using detail::Arr;
using detail::Dump;
using detail::Flag;
using detail::Int;
using detail::Number;
using detail::Obj;
using detail::Str;
using json = nlohmann::json;

// Messenger timestamps are milliseconds; some payloads carry seconds. Unix seconds stay below
// 1e11 until the year 5138, milliseconds are above it since 1973.
int64_t Seconds(const json& ev) {
  const int64_t t = Int(ev, "timestamp").value_or(0);
  if (t <= 0) return 0;
  return t > 100000000000LL ? t / 1000 : t;
}

InboundKind AttachmentKind(const std::string& type) {
  if (type == "image") return InboundKind::kImage;
  if (type == "audio") return InboundKind::kAudio;
  if (type == "video") return InboundKind::kVideo;
  if (type == "file") return InboundKind::kDocument;
  if (type == "location") return InboundKind::kLocation;
  return InboundKind::kUnsupported;  // fallback (shared link), reel, ig_reel, template, …
}

// Text that is nothing but links (a link shared without a word typed): not something to answer.
bool OnlyLinks(const std::string& text) {
  bool any = false;
  for (size_t i = 0; i < text.size();) {
    const size_t start = text.find_first_not_of(" \t\r\n", i);
    if (start == std::string::npos) break;
    const size_t end = std::min(text.find_first_of(" \t\r\n", start), text.size());
    const std::string_view word(text.data() + start, end - start);
    if (word.rfind("http://", 0) != 0 && word.rfind("https://", 0) != 0 && word.rfind("www.", 0) != 0) return false;
    any = true;
    i = end;
  }
  return any;
}

// Messenger gives a URL where WhatsApp gives a media id.
MediaRef MediaOf(const std::string& type, const json& payload) {
  MediaRef r;
  r.id = Str(payload, "url");
  r.mime_type = type;
  return r;
}

// A user message: text, a quick reply, or attachments (the first one decides the kind; the
// others are kept for officers).
void FillMessage(const json& msg, InboundMessage& m) {
  m.provider_id = Str(msg, "mid");
  m.text = Str(msg, "text");
  m.kind = m.text.empty() ? InboundKind::kUnsupported : InboundKind::kText;
  if (const json* qr = Obj(msg, "quick_reply")) {
    m.kind = InboundKind::kChoice;
    m.payload_id = Str(*qr, "payload");
  }
  if (const json* rt = Obj(msg, "reply_to")) m.reply_to = Str(*rt, "mid");
  const json* atts = Arr(msg, "attachments");
  if (atts == nullptr || atts->empty() || m.kind == InboundKind::kChoice) return;
  const json& a = (*atts)[0];
  const std::string type = Str(a, "type");
  const json* payload = Obj(a, "payload");
  const InboundKind attached = AttachmentKind(type);
  // A shared link comes as the text the person typed plus a "fallback" (or "share", "post")
  // attachment: the text is the message ("police took my husband https://…").
  if (attached == InboundKind::kUnsupported && !m.text.empty()) {
    if (!OnlyLinks(m.text)) return;
    // Only the link: no words of the person's to read (a news link about arrests is not a report
    // of one); officers still see it in the raw message.
    m.text.clear();
  }
  m.kind = attached;
  // The like button is an image whose payload names a sticker.
  if (payload != nullptr && payload->contains("sticker_id")) m.kind = InboundKind::kSticker;
  if (payload == nullptr) return;
  if (m.kind == InboundKind::kLocation) {
    if (const json* c = Obj(*payload, "coordinates")) {
      m.latitude = Number(*c, "lat").value_or(0);
      m.longitude = Number(*c, "long").value_or(0);
    }
    return;
  }
  m.media = MediaOf(type, *payload);
  for (size_t i = 1; i < atts->size(); ++i) {
    const json& more = (*atts)[i];
    const json* p = Obj(more, "payload");
    const std::string t = Str(more, "type");
    const InboundKind k = AttachmentKind(t);
    if (p == nullptr || p->contains("sticker_id") || k == InboundKind::kLocation || k == InboundKind::kUnsupported) continue;
    if (MediaRef r = MediaOf(t, *p); !r.id.empty()) m.more_media.push_back(std::move(r));
  }
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
  auto add_status = [&](StatusUpdate u) {
    if (seen_statuses.insert({u.provider_message_id, u.status}).second) batch.statuses.push_back(std::move(u));
  };
  for (const json& entry : *entries) {
    const std::string page_id = Str(entry, "id");
    if (Arr(entry, "standby") != nullptr) {
      ++batch.ignored;
      batch.notes.push_back("standby events belong to the app that owns the thread");
    }
    const json* events = Arr(entry, "messaging");
    if (events == nullptr) {
      if (Arr(entry, "standby") == nullptr) {
        ++batch.ignored;
        batch.notes.push_back("entry without messaging[]");
      }
      continue;
    }
    for (const json& ev : *events) {
      const json* sender = Obj(ev, "sender");
      const std::string psid = sender != nullptr ? Str(*sender, "id") : "";
      const json* recipient = Obj(ev, "recipient");
      const std::string recipient_id = recipient != nullptr ? Str(*recipient, "id") : "";
      const std::string business_id = !recipient_id.empty() ? recipient_id : page_id;
      const int64_t ts = Seconds(ev);
      if (const json* delivery = Obj(ev, "delivery")) {
        const json* mids = Arr(*delivery, "mids");
        if (mids == nullptr || mids->empty()) {
          ++batch.ignored;
          batch.notes.push_back("delivery without mids");
        }
        for (const json& mid : mids ? *mids : json::array()) {
          if (mid.is_string() && !mid.get_ref<const std::string&>().empty())
            add_status({Channel::kMessenger, mid.get<std::string>(), "delivered", ts, psid, 0, ""});
        }
        continue;
      }
      if (const json* read = Obj(ev, "read")) {
        const std::string watermark = Str(*read, "watermark");
        if (psid.empty() || watermark.empty()) {
          ++batch.ignored;
          batch.notes.push_back("read without sender or watermark");
          continue;
        }
        add_status({Channel::kMessenger, ReadStatusId(psid, watermark), "read", ts, psid, 0, ""});
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
      m.raw_json = Dump(ev);
      if (const json* msg = Obj(ev, "message")) {
        // Echoes are our own messages coming back: answering them would loop.
        if (Flag(*msg, "is_echo") || (!page_id.empty() && psid == page_id)) {
          ++batch.ignored;
          batch.notes.push_back("echo of a page message");
          continue;
        }
        FillMessage(*msg, m);
      } else if (const json* pb = Obj(ev, "postback")) {
        m.kind = InboundKind::kChoice;
        m.payload_id = Str(*pb, "payload");
        m.text = Str(*pb, "title");
        m.provider_id = Str(*pb, "mid");
        if (m.provider_id.empty()) m.provider_id = PostbackId(psid, Str(ev, "timestamp"));
      } else if (const json* edit = Obj(ev, "message_edit")) {
        // The person edited a message (pages subscribed to message_edits): read as what it now
        // says, pointing at the message it replaces; each edit is its own message ("police took
        // him" added by an edit must not be lost). Meta documents num_edit as an integer; accept a
        // string too.
        m.kind = InboundKind::kText;
        m.text = Str(*edit, "text");
        m.reply_to = Str(*edit, "mid");
        std::string n = Str(*edit, "num_edit");
        if (n.empty()) n = std::to_string(detail::Int(*edit, "num_edit").value_or(0));
        if (!m.reply_to.empty()) m.provider_id = m.reply_to + "#edit" + n;
      } else if (const json* reaction = Obj(ev, "reaction")) {
        m.kind = InboundKind::kReaction;
        m.text = Str(*reaction, "emoji");
        m.reply_to = Str(*reaction, "mid");
        m.provider_id = "reaction:" + psid + ":" + m.reply_to + ":" + Str(*reaction, "action") + ":" +
                        Str(ev, "timestamp");
      } else {
        ++batch.ignored;
        batch.notes.push_back("messaging event ignored (optin, referral, handover or unknown)");
        continue;
      }
      if (m.provider_id.empty()) {
        ++batch.ignored;
        batch.notes.push_back("message without mid");
        continue;
      }
      if (!seen_messages.insert(m.provider_id).second) {
        ++batch.ignored;  // the same mid in two entries of one POST
        batch.notes.push_back("message " + m.provider_id + " repeated in one webhook");
        continue;
      }
      batch.messages.push_back(std::move(m));
    }
  }
  return batch;
}

}  // namespace

std::string ReadStatusId(const std::string& psid, const std::string& watermark) {
  return "watermark:" + psid + ":" + watermark;
}

std::string PostbackId(const std::string& psid, const std::string& timestamp) {
  return "postback:" + psid + ":" + timestamp;
}

Result<WebhookBatch> ParseWebhook(std::string_view body) {
  return detail::ParseEnvelope(body, "page", "Messenger page", Walk);
}

std::vector<std::string> FormatOutbound(const OutboundMessage& m, const std::string& psid) {
  std::vector<std::string> out;
  if (m.kind == OutboundMessage::Kind::kMarkRead) {
    out.push_back(Dump(json{{"recipient", {{"id", psid}}}, {"sender_action", "mark_seen"}}));
    return out;
  }
  json base = {{"recipient", {{"id", psid}}}};
  if (m.from_officer) {
    base["messaging_type"] = "MESSAGE_TAG";
    base["tag"] = "HUMAN_AGENT";
  } else {
    base["messaging_type"] = "RESPONSE";
  }
  std::string text = m.text;
  json quick = json::array();
  if (m.kind == OutboundMessage::Kind::kButtons || m.kind == OutboundMessage::Kind::kList) {
    // Messenger has no lists: the choices are numbered in the text (so none is lost past the
    // 13th) and the first 13 are also quick replies.
    text = AsNumberedText(m);
    std::vector<std::pair<std::string, std::string>> choices;
    for (const auto& r : m.rows) choices.emplace_back(r.id, r.title);
    for (const auto& b : m.buttons) choices.emplace_back(b.id, b.title);
    for (size_t i = 0; i < choices.size() && i < kMaxQuickReplies; ++i)
      quick.push_back({{"content_type", "text"},
                       {"title", Truncate(choices[i].second, kMaxQuickReplyTitleChars)},
                       {"payload", Truncate(choices[i].first, kMaxQuickReplyPayloadChars)}});
  }
  auto parts = SplitText(text, kMaxTextChars);
  for (size_t i = 0; i < parts.size(); ++i) {
    json j = base;
    j["message"] = {{"text", parts[i]}};
    if (i + 1 == parts.size() && !quick.empty()) j["message"]["quick_replies"] = quick;
    out.push_back(Dump(j));
  }
  return out;
}

}  // namespace bot::channels::messenger
