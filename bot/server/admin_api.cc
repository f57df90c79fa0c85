// /api/v1 on the admin listener.
#include "bot/server/admin_api.h"

#include <algorithm>

#include <httplib.h>

#include <set>

#include <nlohmann/json.hpp>

#include "bot/channels/outbound.h"
#include "bot/channels/signature.h"
#include "bot/channels/text_limits.h"
#include "bot/core/text.h"
#include "bot/content/content.h"
#include "bot/core/log.h"
#include "bot/escalation/routing.h"

namespace bot::server {

using json = nlohmann::json;

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kConflict: return 409;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

void SendError(httplib::Response& res, const Status& s) {
  res.status = HttpStatusOf(s);
  if (s.code() == StatusCode::kInternal || s.code() == StatusCode::kUnavailable)  // ours, not the caller's
    log::Error("api_internal_error", {{"error", s.ToString()}});
  res.set_content(json{{"error", s.code() == StatusCode::kInternal ? "internal error" : s.message()}}.dump(),
                  "application/json");
}

json ParseRequestJson(const std::string& text) {
  json body = json::parse(text, nullptr, false);
  if (!body.is_discarded() && content::NestingDepth(body) > content::kMaxNesting) return json(json::value_t::discarded);
  return body;
}

namespace {

constexpr const char* kCookie = "rahnama_session";

void SendJson(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  // A stored text that is not valid UTF-8 (a row edited by hand) is shown with U+FFFD rather
  // than making the whole case unreadable.
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

Result<json> ParseBody(const httplib::Request& req) {
  json j = ParseRequestJson(req.body);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  return j;
}

Result<std::string> RequiredString(const json& j, const char* key, size_t max_len = 4096) {
  if (!j.contains(key) || !j[key].is_string()) return Status::InvalidArgument(std::string("\"") + key + "\" (a string) is required");
  std::string v = j[key].get<std::string>();
  // A zero-width space alone reached the person as an empty message and stopped the case's clock.
  if (!HasVisibleText(v))
    return Status::InvalidArgument(std::string("\"") + key + "\" must not be empty (or only spaces and invisible characters)");
  // Characters, as Meta counts them: a Dari or Pashto letter is two bytes.
  if (channels::CharCount(v) > max_len)
    return Status::InvalidArgument(std::string("\"") + key + "\" is too long (" + std::to_string(max_len) +
                                   " characters at most)");
  return v;
}

std::string CookieToken(const httplib::Request& req) {
  const std::string cookies = req.get_header_value("Cookie");
  const std::string needle = std::string(kCookie) + "=";
  size_t pos = 0;
  while ((pos = cookies.find(needle, pos)) != std::string::npos) {
    if (pos == 0 || cookies[pos - 1] == ' ' || cookies[pos - 1] == ';') {
      size_t end = cookies.find(';', pos);
      return cookies.substr(pos + needle.size(), end == std::string::npos ? std::string::npos : end - pos - needle.size());
    }
    pos += needle.size();
  }
  return "";
}

bool HasQueue(const User& u, const std::string& queue) {
  return u.role == "admin" || std::find(u.queues.begin(), u.queues.end(), queue) != u.queues.end();
}

json UserJson(const User& u, int64_t now) {
  return json{{"username", u.username}, {"role", u.role},         {"queues", u.queues},
              {"languages", u.languages}, {"disabled", u.disabled}, {"locked", u.locked_until > now}};
}

// The session token a request carries (bearer header first, then the console's cookie).
std::string SessionToken(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  return auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : CookieToken(req);
}

// "languages": the ones a person reads, "prs,ps,en" or a part of it ("" for none said).
Result<std::string> LanguageList(const json& v) {
  const Status bad = Status::InvalidArgument("\"languages\" is a comma-separated list of prs, ps and en");
  if (!v.is_string()) return bad;
  const std::string text = v.get<std::string>();
  std::vector<std::string> langs;
  size_t start = 0;
  while (!text.empty() && start <= text.size()) {
    size_t end = std::min(text.find(',', start), text.size());
    std::string lang = text.substr(start, end - start);
    lang.erase(0, lang.find_first_not_of(' '));
    lang.erase(lang.find_last_not_of(' ') + 1);
    if (lang != "prs" && lang != "ps" && lang != "en") return bad;
    if (std::find(langs.begin(), langs.end(), lang) == langs.end()) langs.push_back(lang);
    start = end + 1;
  }
  std::string out;
  for (const auto& l : langs) out += (out.empty() ? "" : ",") + l;
  return out;
}

// "queues": an array of strings, each a queue that exists.
Result<std::vector<std::string>> QueueList(const json& v, db::SqliteStore& store) {
  if (!v.is_array()) return Status::InvalidArgument("\"queues\" must be an array of queue ids");
  std::vector<std::string> out;
  for (const auto& q : v) {
    if (!q.is_string()) return Status::InvalidArgument("\"queues\" must be an array of queue ids");
    if (!store.QueueById(q.get<std::string>()).ok()) return Status::InvalidArgument("unknown queue " + q.get<std::string>());
    out.push_back(q.get<std::string>());
  }
  return out;
}

// The WhatsApp templates of the content as officers see them: each language version with whether
// it can be sent now (approved in WhatsApp Manager and with a language code) and why not.
json TemplatesForOfficers(const json& document) {
  json out = json::array();
  if (!document.contains("templates") || !document["templates"].is_array()) return out;
  for (const auto& t : document["templates"]) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) continue;
    const bool approved = t.contains("approved") && t["approved"] == true;  // never value(): a wrong type throws
    json langs = json::array();
    if (t.contains("languages") && t["languages"].is_object())
      for (const auto& [lang, v] : t["languages"].items()) {
        if (!v.is_object()) continue;
        const bool has_code = v.contains("code") && v["code"].is_string() && !v["code"].get<std::string>().empty();
        const bool has_body = v.contains("body") && v["body"].is_string();
        langs.push_back({{"language", lang}, {"body", has_body ? v["body"] : json("")}, {"sendable", approved && has_code && has_body},
                         {"why_not", !approved ? "not approved in WhatsApp Manager yet" : !has_code ? "no WhatsApp language code"
                                                 : !has_body ? "no text" : ""}});
      }
    out.push_back({{"name", t["name"]}, {"purpose", t.contains("purpose") && t["purpose"].is_string() ? t["purpose"] : json("")},
                   {"approved", approved}, {"languages", langs}});
  }
  return out;
}

// The reply window: WhatsApp allows free-form messages for 24 hours after the person's last
// message; Messenger allows human agents 7 days with the HUMAN_AGENT tag.
int64_t WindowMillis(Channel c) { return c == Channel::kMessenger ? 7LL * 24 * 3600 * 1000 : 24LL * 3600 * 1000; }

json CaseSummary(const Case& c, const Queue* q, int64_t now, bool full_contact) {
  return json{{"id", c.id},
              {"queue", c.queue},
              {"priority", c.priority},
              {"status", c.status},
              {"intent", c.intent},
              {"language", c.language},
              {"assignee", c.assignee.empty() ? json(nullptr) : json(c.assignee)},
              {"channel", std::string(ChannelName(c.channel))},
              {"contact", full_contact ? c.contact_address : log::Mask(c.contact_address)},
              {"opened_at", c.opened_at},
              {"first_response_at", c.first_response_at ? json(c.first_response_at) : json(nullptr)},
              {"referred_from", c.referred_from.empty() ? json(nullptr) : json(c.referred_from)},
              {"queue_since", c.queue_since},
              {"resolved_at", c.resolved_at ? json(c.resolved_at) : json(nullptr)},
              {"last_message_at", c.last_message_at},
              {"consent", c.consent},
              {"outcome", c.outcome.empty() ? json(nullptr) : json(c.outcome)},
              {"awaiting_reply_since", c.awaiting_reply_since ? json(c.awaiting_reply_since) : json(nullptr)},
              {"overdue", q != nullptr && escalation::IsOverdue(c, q->sla_minutes, now)},
              {"overdue_reason", q != nullptr ? json(escalation::OverdueReason(c, q->sla_minutes, now)) : json("")},
              {"sla_minutes", q ? q->sla_minutes : 0},
              {"window_open", now - c.contact_last_inbound_ms < WindowMillis(c.channel)}};
}

}  // namespace

AdminApi::AdminApi(db::SqliteStore& store, const Clock& clock, ContentHolder& content, Metrics& metrics,
                   std::function<void()> wake_sender, AdminApiOptions options)
    : store_(store), clock_(clock), content_(content), metrics_(metrics), wake_sender_(std::move(wake_sender)),
      options_(options) {}

Result<Session> AdminApi::Authenticate(const httplib::Request& req) const {
  const std::string token = SessionToken(req);
  const bool from_cookie = !token.empty() && req.get_header_value("Authorization").rfind("Bearer ", 0) != 0;
  if (token.empty()) return Status::Unauthenticated("log in first: POST /api/v1/session");
  auto s = store_.SessionByTokenHash(channels::Sha256Hex(token), clock_.NowMillis());
  if (!s.ok()) return s.status().code() == StatusCode::kUnauthenticated ? s.status() : Status::Unauthenticated("invalid session");
  // A cookie is sent by the browser on its own; a state change must also prove it came from our page.
  if (from_cookie && req.method != "GET" && req.method != "HEAD") {
    const std::string csrf = req.get_header_value("X-CSRF-Token");
    if (csrf.empty() || !channels::ConstantTimeEquals(csrf, s->csrf_token))
      return Status::PermissionDenied("missing or wrong X-CSRF-Token");
  }
  return s;
}

void AdminApi::Login(const httplib::Request& req, httplib::Response& res) {
  auto body = ParseBody(req);
  if (!body.ok()) return SendError(res, body.status());
  auto username = RequiredString(*body, "username", 100);
  auto password = RequiredString(*body, "password", 256);
  if (!username.ok()) return SendError(res, username.status());
  if (!password.ok()) return SendError(res, password.status());
  const int64_t now = clock_.NowMillis();
  auto user = store_.UserByName(*username);
  if (!user.ok() || user->disabled) {
    (void)escalation::VerifyPassword("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
                                     "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", *password);  // same cost as a real check
    (void)store_.Audit(*username, "login_failed", "", R"({"reason":"unknown user"})", now);
    metrics_.Add("rahnama_logins_total", "result=\"failed\"");
    return SendError(res, Status::Unauthenticated("wrong username or password"));
  }
  if (user->locked_until > now) {
    const int64_t wait = (user->locked_until - now + 999) / 1000;
    res.set_header("Retry-After", std::to_string(wait));
    metrics_.Add("rahnama_logins_total", "result=\"locked\"");
    res.status = 429;
    res.set_content(json{{"error", "too many failed logins; try again in " + std::to_string(wait) + " seconds"}}.dump(),
                    "application/json");
    return;
  }
  if (!escalation::VerifyPassword(user->password_hash, *password)) {
    const int failures = user->failed_logins + 1;
    const int64_t lock = escalation::LockoutMillis(failures);
    (void)store_.UpdateUserLogin(user->id, failures, lock > 0 ? now + lock : 0);
    (void)store_.Audit(user->username, "login_failed", "", json{{"failures", failures}}.dump(), now);
    metrics_.Add("rahnama_logins_total", "result=\"failed\"");
    return SendError(res, Status::Unauthenticated("wrong username or password"));
  }
  (void)store_.UpdateUserLogin(user->id, 0, 0);
  const std::string token = channels::RandomHex(32), csrf = channels::RandomHex(16);
  const int64_t expires = now + escalation::kSessionLifetimeMs;
  Status s = store_.CreateSession(channels::Sha256Hex(token), user->id, user->password_hash, csrf, now, expires);
  if (!s.ok()) return SendError(res, s);
  (void)store_.Audit(user->username, "login", "", "{}", now);
  metrics_.Add("rahnama_logins_total", "result=\"ok\"");
  res.set_header("Set-Cookie", std::string(kCookie) + "=" + token + "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" +
                                   std::to_string(escalation::kSessionLifetimeMs / 1000));
  user->password_hash.clear();
  SendJson(res, {{"token", token}, {"csrf_token", csrf}, {"expires_at", expires}, {"user", UserJson(*user, now)}});
}

void AdminApi::Logout(const httplib::Request& req, httplib::Response& res) {
  auto session = Authenticate(req);
  if (!session.ok()) return SendError(res, session.status());
  (void)store_.DeleteSession(channels::Sha256Hex(SessionToken(req)));
  (void)store_.Audit(session->user.username, "logout", "", "{}", clock_.NowMillis());
  res.set_header("Set-Cookie", std::string(kCookie) + "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
  SendJson(res, {{"status", "logged out"}});
}

void AdminApi::CaseAction(const httplib::Request& req, httplib::Response& res, const std::string& action) {
  auto session = Authenticate(req);
  if (!session.ok()) return SendError(res, session.status());
  const User& me = session->user;
  if (me.role != "officer" && me.role != "admin")
    return SendError(res, Status::PermissionDenied("only officers and admins work cases"));
  const int64_t id = std::stoll(req.matches[1]);
  auto c = store_.CaseById(id);
  if (!c.ok()) return SendError(res, c.status());
  // An officer of another queue learns nothing, not even that the case exists.
  if (!HasQueue(me, c->queue)) return SendError(res, Status::NotFound("case " + std::to_string(id)));
  const int64_t now = clock_.NowMillis();
  auto snapshot = content_.Get();
  auto queue = store_.QueueById(c->queue);
  const std::string person_language = c->language.empty() ? "en" : c->language;
  std::string partner = snapshot->Message("partner_" + c->queue, person_language);
  if (partner.empty()) partner = queue.ok() ? queue->partner : c->queue;
  json body = json::object();
  if (req.method == "POST" && !req.body.empty()) {
    auto b = ParseBody(req);
    if (!b.ok()) return SendError(res, b.status());
    body = *b;
  }
  Case updated = *c;
  // A message from the bot to the person about their case, written with the case change it
  // announces (UpdateCaseIfAndTell): both or neither. Only within the 24 hours after the person's
  // last message, when Meta lets the bot write (after that it refuses, and "the person was told"
  // would be untrue); the answer says whether they were told.
  const bool bot_may_write = now - c->contact_last_inbound_ms < 24LL * 3600 * 1000;
  bool person_told = false;
  auto notice = [&](const std::string& text) {
    OutboundMessage m;
    m.text = text;
    person_told = true;
    return OutboundRecord{m, channels::FormatOutbound(c->channel, m, c->contact_address), "bot"};
  };
  auto write_and_tell = [&](const std::vector<OutboundRecord>& messages, bool human_mode) -> Status {
    Status s = store_.UpdateCaseIfAndTell(*c, updated, messages, human_mode, now);
    if (s.ok() && !messages.empty() && wake_sender_) wake_sender_();
    return s;
  };
  auto audit = [&](const json& details) {
    (void)store_.Audit(me.username, "case_" + action, "case:" + std::to_string(c->id), details.dump(), now);
  };
  if (c->status == "resolved" && action != "notes")
    return SendError(res, Status::Conflict("case " + std::to_string(id) + " is resolved"));

  // Another officer's claimed case changes hands only through its officer (release) or an admin
  // (take over, assign): an officer may be in the middle of the conversation.
  const bool someone_elses = c->status == "claimed" && c->assignee != me.username;
  const bool may_move = !someone_elses || me.role == "admin";
  if (action == "claim") {
    if (!may_move)
      return SendError(res, Status::Conflict("already claimed by " + c->assignee +
                                             "; ask them to release it, or an admin to assign it to you"));
    updated.status = "claimed";
    updated.assignee = me.username;
    std::vector<OutboundRecord> messages;
    if (c->status != "claimed" && bot_may_write)
      messages.push_back(notice(snapshot->Message("officer_claimed", person_language, {{"partner", partner}})));
    Status s = write_and_tell(messages, false);
    if (!s.ok()) return SendError(res, s);
    audit(someone_elses ? json{{"took_over_from", c->assignee}} : json::object());
  } else if (action == "release") {
    if (c->assignee != me.username && me.role != "admin")
      return SendError(res, Status::PermissionDenied("only the assignee or an admin can release this case"));
    updated.status = "open";
    updated.assignee.clear();
    Status s = store_.UpdateCaseIf(*c, updated, now);
    if (!s.ok()) return SendError(res, s);
    audit({});
  } else if (action == "assign") {
    if (!may_move)
      return SendError(res, Status::PermissionDenied("only " + c->assignee + " or an admin can give this case to someone else"));
    auto who = RequiredString(body, "username", 100);
    if (!who.ok()) return SendError(res, who.status());
    auto target = store_.UserByName(*who);
    if (!target.ok() || target->role == "operator" || !HasQueue(*target, c->queue))
      return SendError(res, Status::InvalidArgument(*who + " is not an officer of queue " + c->queue));
    if (target->disabled) return SendError(res, Status::InvalidArgument(*who + "'s account is disabled"));
    updated.status = "claimed";
    updated.assignee = *who;
    Status s = store_.UpdateCaseIf(*c, updated, now);
    if (!s.ok()) return SendError(res, s);
    audit({{"assignee", *who}});
  } else if (action == "replies") {
    const bool window_open = now - c->contact_last_inbound_ms < WindowMillis(c->channel);
    OutboundMessage m;
    m.from_officer = true;
    if (body.contains("template")) {
      const json& t = body["template"];
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
        return SendError(res, Status::InvalidArgument("\"template\" needs a \"name\""));
      if (c->channel != Channel::kWhatsApp)
        return SendError(res, Status::InvalidArgument("templates are for WhatsApp; Messenger allows no message after 7 days"));
      // Only a template of the content, approved, in a language it has a code for: anything else
      // Meta refuses after we have told the officer it is on its way.
      const std::string name = t["name"].get<std::string>();
      const std::string language = t.contains("language") && t["language"].is_string() ? t["language"].get<std::string>() : person_language;
      const json* found = nullptr;
      const json& doc = snapshot->document();
      if (doc.contains("templates") && doc["templates"].is_array())
        for (const auto& x : doc["templates"])
          if (x.is_object() && x.contains("name") && x["name"] == name) found = &x;
      if (found == nullptr) return SendError(res, Status::InvalidArgument("no template " + name + " in the content"));
      if (!found->contains("approved") || (*found)["approved"] != true)
        return SendError(res, Status::Conflict("template " + name + " is not approved in WhatsApp Manager yet (an operator marks it approved once Meta has)"));
      const json* version = found->contains("languages") && (*found)["languages"].is_object() && (*found)["languages"].contains(language)
                                ? &(*found)["languages"][language] : nullptr;
      if (version == nullptr || !version->is_object() || !version->contains("code") || !(*version)["code"].is_string() ||
          (*version)["code"].get<std::string>().empty() || !version->contains("body") || !(*version)["body"].is_string())
        return SendError(res, Status::InvalidArgument("template " + name + " cannot be sent in " + language +
                                                      " (no text or no WhatsApp language code); choose another language"));
      m.kind = OutboundMessage::Kind::kTemplate;
      m.template_name = name;
      m.template_language = (*version)["code"].get<std::string>();
      m.text = (*version)["body"].get<std::string>();  // what the person reads, in the conversation
    } else {
      auto text = RequiredString(body, "text", 4096);
      if (!text.ok()) return SendError(res, text.status());
      if (!window_open) {
        res.status = 409;
        if (c->channel == Channel::kMessenger) {  // Messenger has no templates to offer
          res.set_content(json{{"error", "the person last wrote more than 7 days ago; Messenger allows no reply now"}}.dump(),
                          "application/json");
          return;
        }
        res.set_content(json{{"error", "outside WhatsApp's 24-hour window: only an approved template can be sent"},
                             {"templates", TemplatesForOfficers(snapshot->document())}}
                            .dump(),
                        "application/json");
        return;
      }
      m.text = *text;
    }
    // Case, reply and human mode in one transaction: if someone else changed the case meanwhile
    // (or this account was just disabled) nothing is queued, so a retry cannot send the reply
    // twice; and a first response is never counted for a reply that was not queued.
    if (updated.first_response_at == 0) updated.first_response_at = now;
    if (updated.queue_response_at == 0) updated.queue_response_at = now;
    if (updated.status == "open") {
      updated.status = "claimed";
      updated.assignee = me.username;
    }
    OutboundRecord rec{m, channels::FormatOutbound(c->channel, m, c->contact_address), "officer:" + me.username};
    Status s = write_and_tell({rec}, true);
    if (!s.ok()) return SendError(res, s);
    audit({{"chars", channels::CharCount(m.text)}, {"template", m.template_name.empty() ? json(nullptr) : json(m.template_name)}});
  } else if (action == "notes") {
    auto text = RequiredString(body, "text", 8192);
    if (!text.ok()) return SendError(res, text.status());
    Status s = store_.AddNote(c->id, me.username, *text, now);
    if (!s.ok()) return SendError(res, s);
    audit({});
  } else if (action == "resolve") {
    // The person is told their case is closed: not while a colleague is still working on it.
    if (!may_move)
      return SendError(res, Status::PermissionDenied("only " + c->assignee + " or an admin can resolve this case"));
    auto outcome = RequiredString(body, "outcome", 500);
    if (!outcome.ok()) return SendError(res, outcome.status());
    updated.status = "resolved";
    updated.outcome = *outcome;
    updated.resolved_at = now;
    if (updated.assignee.empty()) updated.assignee = me.username;
    std::vector<OutboundRecord> messages;
    // Named, because the person may have another case open with someone else.
    if (bot_may_write)
      messages.push_back(notice(snapshot->Message("case_resolved", person_language, {{"partner", partner}})));
    Status s = write_and_tell(messages, false);
    if (!s.ok()) return SendError(res, s);
    audit({{"outcome", *outcome}});
  } else if (action == "refer") {
    if (!may_move)
      return SendError(res, Status::PermissionDenied("only " + c->assignee + " or an admin can refer this case"));
    auto to = RequiredString(body, "queue", 100);
    if (!to.ok()) return SendError(res, to.status());
    if (*to == c->queue) return SendError(res, Status::InvalidArgument("the case is already in queue " + *to));
    auto q = store_.QueueById(*to);
    if (!q.ok()) return SendError(res, Status::InvalidArgument("unknown queue " + *to));
    updated.queue = *to;
    updated.status = "open";
    updated.assignee.clear();
    // New to its officers: its service-level clock starts again, and the person hears who has it now.
    updated.referred_from = c->queue;
    updated.queue_since = now;
    updated.queue_response_at = 0;
    std::vector<OutboundRecord> messages;
    if (const std::string text = HandoffText(*snapshot, *q, person_language, now); !text.empty() && bot_may_write)
      messages.push_back(notice(text));
    Status s = write_and_tell(messages, false);
    if (!s.ok()) return SendError(res, s);
    audit({{"from", c->queue}, {"to", *to}});
  } else {
    return SendError(res, Status::NotFound("unknown action " + action));
  }
  auto after = store_.CaseById(id);
  if (!after.ok()) return SendError(res, after.status());
  auto q = store_.QueueById(after->queue);
  json summary = CaseSummary(*after, q.ok() ? &*q : nullptr, now, true);
  if (action == "claim" || action == "resolve" || action == "refer") summary["person_told"] = person_told;
  SendJson(res, summary);
}

void AdminApi::Register(httplib::Server& svr) {
  svr.Post("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) { Login(req, res); });
  svr.Delete("/api/v1/session", [this](const httplib::Request& req, httplib::Response& res) { Logout(req, res); });
  svr.Get("/api/v1/me", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    json j = UserJson(s->user, clock_.NowMillis());
    j["csrf_token"] = s->csrf_token;
    SendJson(res, j);
  });

  svr.Get("/api/v1/queues", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    auto queues = store_.Queues();
    if (!queues.ok()) return SendError(res, queues.status());
    const int64_t now = clock_.NowMillis();
    json out = json::array();
    for (const auto& q : *queues) {
      if (s->user.role == "officer" && !HasQueue(s->user, q.id)) continue;
      CaseFilter f;
      f.queues = {q.id};
      f.limit = 1000;
      auto cases = store_.ListCases(f);
      if (!cases.ok()) return SendError(res, cases.status());
      int urgent = 0, overdue = 0;
      for (const auto& c : *cases) {
        urgent += c.priority == "urgent";
        overdue += escalation::IsOverdue(c, q.sla_minutes, now);
      }
      json j = {{"id", q.id}, {"partner", q.partner}, {"sla_minutes", q.sla_minutes}, {"hours", q.hours},
                {"open", cases->size()}, {"urgent", urgent}, {"overdue", overdue},
                {"contact_fact", q.contact_fact}, {"webhook", !q.webhook_url.empty()}};
      if (s->user.role == "admin") j["webhook_url"] = q.webhook_url;
      out.push_back(j);
    }
    SendJson(res, out);
  });
  svr.Put(R"(/api/v1/queues/([a-z0-9_]{1,64}))", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins edit queues"));
    auto b = ParseBody(req);
    if (!b.ok()) return SendError(res, b.status());
    Queue q;
    q.id = req.matches[1];
    auto partner = RequiredString(*b, "partner", 200);
    if (!partner.ok()) return SendError(res, partner.status());
    q.partner = *partner;
    if (!b->contains("sla_minutes") || !(*b)["sla_minutes"].is_number_integer() || (*b)["sla_minutes"].get<int>() <= 0)
      return SendError(res, Status::InvalidArgument("\"sla_minutes\" must be a positive integer"));
    q.sla_minutes = (*b)["sla_minutes"].get<int>();
    auto str = [&](const char* k) { return b->contains(k) && (*b)[k].is_string() ? (*b)[k].get<std::string>() : std::string(); };
    q.hours = str("hours");
    q.contact_fact = str("contact_fact");
    q.webhook_url = str("webhook_url");
    q.webhook_secret = str("webhook_secret");
    Status hs = escalation::CheckHoursSpec(q.hours);
    if (!hs.ok()) return SendError(res, hs);
    if (!q.webhook_url.empty()) {
      Status url = CheckHttpUrl(q.webhook_url, "\"webhook_url\"");
      if (!url.ok()) return SendError(res, url);
    }
    if (!q.webhook_url.empty() && q.webhook_secret.size() < 16)
      return SendError(res, Status::InvalidArgument("a partner webhook needs a \"webhook_secret\" of at least 16 characters"));
    Status st = store_.PutQueue(q, clock_.NowMillis());
    if (!st.ok()) return SendError(res, st);
    (void)store_.Audit(s->user.username, "queue_put", "queue:" + q.id,
                       json{{"partner", q.partner}, {"sla_minutes", q.sla_minutes}, {"hours", q.hours},
                            {"webhook", !q.webhook_url.empty()}}.dump(),
                       clock_.NowMillis());
    SendJson(res, {{"id", q.id}, {"status", "saved"}});
  });
  svr.Get("/api/v1/routing-rules", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins see routing rules"));
    auto rules = store_.RoutingRules();
    if (!rules.ok()) return SendError(res, rules.status());
    json out = json::array();
    for (const auto& r : *rules)
      out.push_back({{"position", r.position}, {"intent", r.intent.empty() ? json(nullptr) : json(r.intent)},
                     {"urgent", r.urgent ? json(*r.urgent) : json(nullptr)},
                     {"entity", r.entity.empty() ? json(nullptr) : json(r.entity)}, {"queue", r.queue},
                     {"priority", r.priority}});
    SendJson(res, out);
  });
  svr.Put("/api/v1/routing-rules", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins edit routing rules"));
    json b = json::parse(req.body, nullptr, false);
    if (!b.is_array()) return SendError(res, Status::InvalidArgument("the body must be a JSON list of rules"));
    std::vector<RoutingRule> rules;
    for (size_t i = 0; i < b.size(); ++i) {
      const json& r = b[i];
      const std::string where = "rule " + std::to_string(i + 1) + ": ";
      if (!r.is_object() || !r.contains("queue") || !r["queue"].is_string())
        return SendError(res, Status::InvalidArgument(where + "\"queue\" is required"));
      RoutingRule rr;
      rr.position = r.contains("position") && r["position"].is_number_integer() ? r["position"].get<int>() : static_cast<int>(i + 1) * 10;
      rr.queue = r["queue"];
      if (!store_.QueueById(rr.queue).ok()) return SendError(res, Status::InvalidArgument(where + "unknown queue " + rr.queue));
      rr.priority = r.contains("priority") && r["priority"].is_string() ? r["priority"].get<std::string>() : "normal";
      if (rr.priority != "urgent" && rr.priority != "high" && rr.priority != "normal")
        return SendError(res, Status::InvalidArgument(where + "priority must be urgent, high or normal"));
      if (r.contains("intent") && r["intent"].is_string()) rr.intent = r["intent"];
      if (r.contains("entity") && r["entity"].is_string()) rr.entity = r["entity"];
      if (r.contains("urgent") && r["urgent"].is_boolean()) rr.urgent = r["urgent"].get<bool>();
      rules.push_back(rr);
    }
    Status st = store_.ReplaceRoutingRules(rules);
    if (!st.ok()) return SendError(res, st);
    (void)store_.Audit(s->user.username, "routing_rules_put", "", json{{"rules", b}}.dump(), clock_.NowMillis());
    SendJson(res, {{"status", "saved"}, {"rules", rules.size()}});
  });

  svr.Get("/api/v1/cases", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    const User& me = s->user;
    if (me.role != "officer" && me.role != "admin") return SendError(res, Status::PermissionDenied("only officers and admins see cases"));
    CaseFilter f;
    const std::string queue = req.get_param_value("queue");
    if (!queue.empty()) {
      if (!HasQueue(me, queue)) return SendError(res, Status::PermissionDenied("you do not work queue " + queue));
      f.queues = {queue};
    } else if (me.role != "admin") {
      f.queues = me.queues;
      if (f.queues.empty()) return SendJson(res, json::array());
    }
    f.status = req.get_param_value("status");
    f.priority = req.get_param_value("priority");
    f.language = req.get_param_value("language");
    // A typo must not look like an empty queue.
    const std::set<std::string> statuses = {"", "open", "claimed", "resolved", "all"}, priorities = {"", "urgent", "high", "normal"},
                                languages = {"", "en", "prs", "ps"};
    if (!statuses.count(f.status)) return SendError(res, Status::InvalidArgument("status must be open, claimed, resolved or all"));
    if (!priorities.count(f.priority)) return SendError(res, Status::InvalidArgument("priority must be urgent, high or normal"));
    if (!languages.count(f.language)) return SendError(res, Status::InvalidArgument("language must be en, prs or ps"));
    if (req.has_param("id")) {
      const std::string id = req.get_param_value("id");
      if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos || std::stoll(id) == 0)
        return SendError(res, Status::InvalidArgument("id must be a case number"));
      f.id = std::stoll(id);
    }
    auto cases = store_.ListCases(f);
    if (!cases.ok()) return SendError(res, cases.status());
    auto queues = store_.Queues();
    if (!queues.ok()) return SendError(res, queues.status());
    const int64_t now = clock_.NowMillis();
    std::vector<json> rows;
    for (const auto& c : *cases) {
      const Queue* q = nullptr;
      for (const auto& x : *queues)
        if (x.id == c.queue) q = &x;
      rows.push_back(CaseSummary(c, q, now, false));
    }
    // Open cases: urgent first, then overdue, then oldest. Resolved ones after them, latest first
    // (as listed).
    std::stable_sort(rows.begin(), rows.end(), [](const json& a, const json& b) {
      auto rank = [](const json& j) {
        if (j["status"] == "resolved") return 10;
        return (j["priority"] == "urgent" ? 0 : j["priority"] == "high" ? 2 : 4) + (j["overdue"].get<bool>() ? 0 : 1);
      };
      return rank(a) < rank(b);
    });
    SendJson(res, rows);
  });
  svr.Get(R"(/api/v1/cases/(\d{1,18}))", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    const User& me = s->user;
    if (me.role != "officer" && me.role != "admin") return SendError(res, Status::PermissionDenied("only officers and admins see cases"));
    auto c = store_.CaseById(std::stoll(req.matches[1]));
    if (!c.ok()) return SendError(res, c.status());
    if (!HasQueue(me, c->queue)) return SendError(res, Status::NotFound("case " + std::string(req.matches[1])));
    auto q = store_.QueueById(c->queue);
    const int64_t now = clock_.NowMillis();
    json j = CaseSummary(*c, q.ok() ? &*q : nullptr, now, true);
    j["contact_name"] = c->contact_name;
    j["intake"] = json::parse(c->intake, nullptr, false);
    j["entities"] = json::parse(c->entities, nullptr, false);
    j["last_inbound_at"] = c->contact_last_inbound_ms;
    if (c->channel == Channel::kWhatsApp) j["templates"] = TemplatesForOfficers(content_.Get()->document());
    json msgs = json::array();
    for (const auto& m : c->messages) {
      json mj = {{"id", m.id}, {"direction", m.direction}, {"author", m.author}, {"kind", m.kind},
                 {"text", m.body}, {"status", m.status}, {"at", m.created_at}};
      json p = json::parse(m.payload, nullptr, false);
      if (m.direction == "in" && p.is_object() && p.contains("media")) mj["media"] = p["media"];
      if (m.direction == "in" && p.is_object() && p.contains("more_media")) mj["more_media"] = p["more_media"];
      if (m.direction == "in" && p.is_object() && p.contains("location")) mj["location"] = p["location"];
      msgs.push_back(mj);
    }
    j["messages"] = msgs;
    json notes = json::array();
    for (const auto& n : c->notes) notes.push_back({{"author", n.author}, {"text", n.body}, {"at", n.created_at}});
    j["notes"] = notes;
    // Who looked at whose case is audited, once per officer and case every ten minutes, so a
    // console that refreshes does not drown the log.
    {
      std::lock_guard lock(view_mutex_);
      int64_t& last = last_view_[me.username + "#" + std::to_string(c->id)];
      if (now - last > 10 * 60 * 1000) {
        last = now;
        (void)store_.Audit(me.username, "case_view", "case:" + std::to_string(c->id), "{}", now);
      }
    }
    SendJson(res, j);
  });
  for (const char* action : {"claim", "release", "assign", "replies", "notes", "resolve", "refer"}) {
    const std::string a = action;
    svr.Post(R"(/api/v1/cases/(\d{1,18})/)" + a, [this, a](const httplib::Request& req, httplib::Response& res) {
      CaseAction(req, res, a);
    });
  }

  // Media is not downloaded when it arrives (it may be a photo of someone's documents); an officer
  // of the case's queue fetches it on demand, and only media that belongs to that case: by its
  // WhatsApp media id, or by its message and position (Messenger's are URLs, and one message may
  // carry several).
  auto send_media = [this](const httplib::Request& req, httplib::Response& res, int64_t message_id, size_t index,
                           const std::string& media_id) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "officer" && s->user.role != "admin") return SendError(res, Status::PermissionDenied("only officers and admins see cases"));
    auto c = store_.CaseById(std::stoll(req.matches[1]));
    if (!c.ok()) return SendError(res, c.status());
    if (!HasQueue(s->user, c->queue)) return SendError(res, Status::NotFound("case " + std::string(req.matches[1])));
    std::string found;
    for (const auto& m : c->messages) {
      if (m.direction != "in" || (message_id != 0 && m.id != message_id)) continue;
      json p = json::parse(m.payload, nullptr, false);
      if (!p.is_object()) continue;
      std::vector<std::string> ids;
      if (p.contains("media") && p["media"].is_object()) ids.push_back(p["media"].value("id", ""));
      if (p.contains("more_media") && p["more_media"].is_array())
        for (const json& more : p["more_media"]) ids.push_back(more.is_object() ? more.value("id", "") : "");
      if (message_id != 0 && index < ids.size()) found = ids[index];
      if (message_id == 0 && std::find(ids.begin(), ids.end(), media_id) != ids.end()) found = media_id;
    }
    if (found.empty())
      return SendError(res, Status::NotFound(message_id != 0 ? "no attachment " + std::to_string(index) + " on message " +
                                                                   std::to_string(message_id) + " of this case"
                                                             : "no media " + media_id + " on this case"));
    if (!fetch_media_) return SendError(res, Status::Unavailable("media fetching is not configured"));
    auto media = fetch_media_(c->channel, found);
    // Every attempt is audited, the failed ones too (the server reached out on the officer's behalf).
    json what = message_id != 0 ? json{{"message", message_id}, {"attachment", index}} : json{{"media", media_id}};
    if (!media.ok()) what["failed"] = media.status().message();
    (void)store_.Audit(s->user.username, "media_fetch", "case:" + std::to_string(c->id), what.dump(), clock_.NowMillis());
    if (!media.ok()) return SendError(res, media.status());
    res.set_header("Content-Disposition", "attachment");
    res.set_content(media->second, media->first);
  };
  svr.Get(R"(/api/v1/cases/(\d{1,18})/media/([A-Za-z0-9_.:\-]{1,200}))", [send_media](const httplib::Request& req, httplib::Response& res) {
    send_media(req, res, 0, 0, req.matches[2]);
  });
  svr.Get(R"(/api/v1/cases/(\d{1,18})/messages/(\d{1,18})/media/(\d{1,3}))", [send_media](const httplib::Request& req, httplib::Response& res) {
    send_media(req, res, std::stoll(req.matches[2]), std::stoul(req.matches[3]), "");
  });
  svr.Post(R"(/api/v1/cases/(\d{1,18})/erase)", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins erase a person's data"));
    auto contact = store_.ContactOfCase(std::stoll(req.matches[1]));
    if (!contact.ok()) return SendError(res, contact.status());
    Status st = store_.EraseContact(*contact, s->user.username, clock_.NowMillis());
    if (!st.ok()) return SendError(res, st);
    metrics_.Add("rahnama_erasures_total", "by=\"admin\"");
    SendJson(res, {{"status", "erased"}});
  });
  svr.Post("/api/v1/retention/run", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins run retention"));
    auto r = run_retention_ ? run_retention_() : Result<json>(Status::Unavailable("retention is not configured"));
    if (!r.ok()) return SendError(res, r.status());
    SendJson(res, *r);
  });
  svr.Get("/api/v1/audit", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins read the audit log"));
    int limit = 200;
    int64_t before = 0;
    try {
      if (req.has_param("limit")) limit = std::stoi(req.get_param_value("limit"));
      if (req.has_param("before")) before = std::stoll(req.get_param_value("before"));
    } catch (...) {
      return SendError(res, Status::InvalidArgument("limit and before must be numbers"));
    }
    auto log = store_.AuditLog(limit, before);
    if (!log.ok()) return SendError(res, log.status());
    json out = json::array();
    for (const auto& e : *log)
      out.push_back({{"id", e.id}, {"at", e.at}, {"actor", e.actor}, {"action", e.action}, {"target", e.target},
                     {"details", json::parse(e.details, nullptr, false)}});
    SendJson(res, out);
  });
  svr.Get("/api/v1/users", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins manage users"));
    auto users = store_.Users();
    if (!users.ok()) return SendError(res, users.status());
    json out = json::array();
    for (const auto& u : *users) out.push_back(UserJson(u, clock_.NowMillis()));
    SendJson(res, out);
  });
  svr.Post("/api/v1/users", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins manage users"));
    auto b = ParseBody(req);
    if (!b.ok()) return SendError(res, b.status());
    auto name = RequiredString(*b, "username", 100);
    auto role = RequiredString(*b, "role", 20);
    auto password = RequiredString(*b, "password", 256);
    if (!name.ok()) return SendError(res, name.status());
    if (!role.ok()) return SendError(res, role.status());
    if (!password.ok()) return SendError(res, password.status());
    Status name_ok = escalation::CheckUsername(*name);
    if (!name_ok.ok()) return SendError(res, name_ok);
    User u;
    u.username = *name;
    u.role = *role;
    if (u.role != "admin" && u.role != "operator" && u.role != "officer")
      return SendError(res, Status::InvalidArgument("role must be admin, operator or officer"));
    Status policy = escalation::CheckPasswordPolicy(u.username, *password);
    if (!policy.ok()) return SendError(res, policy);
    if (b->contains("queues")) {
      auto queues = QueueList((*b)["queues"], store_);
      if (!queues.ok()) return SendError(res, queues.status());
      u.queues = *queues;
    }
    if (b->contains("languages")) {
      auto languages = LanguageList((*b)["languages"]);
      if (!languages.ok()) return SendError(res, languages.status());
      u.languages = *languages;
    }
    auto hash = escalation::HashPassword(*password, options_.hash_cost);
    if (!hash.ok()) return SendError(res, hash.status());
    u.password_hash = *hash;
    auto id = store_.AddUser(u, clock_.NowMillis());
    if (!id.ok()) return SendError(res, id.status());
    (void)store_.Audit(s->user.username, "user_add", "user:" + u.username, json{{"role", u.role}, {"queues", u.queues}}.dump(),
                       clock_.NowMillis());
    SendJson(res, UserJson(u, clock_.NowMillis()), 201);
  });
  // Disable or enable an account, reset its password, change its role, queues or languages.
  svr.Patch(R"(/api/v1/users/([A-Za-z0-9_.@\-]{1,100}))", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins manage users"));
    auto b = ParseBody(req);
    if (!b.ok()) return SendError(res, b.status());
    const std::string name = req.matches[1];
    static const std::set<std::string> kFields = {"disabled", "password", "role", "queues", "languages"};
    for (const auto& [k, v] : b->items())
      if (!kFields.count(k)) return SendError(res, Status::InvalidArgument("unknown field \"" + k + "\"; allowed: disabled, password, role, queues, languages"));
    if (b->empty()) return SendError(res, Status::InvalidArgument("nothing to change"));
    db::SqliteStore::AccountChange change;
    change.actor = s->user.username;
    json audit_details = json::object();
    if (b->contains("disabled")) {
      if (!(*b)["disabled"].is_boolean()) return SendError(res, Status::InvalidArgument("\"disabled\" must be true or false"));
      change.disabled = (*b)["disabled"].get<bool>();
      if (*change.disabled && name == s->user.username)
        return SendError(res, Status::Conflict("you cannot disable your own account"));
      audit_details["disabled"] = *change.disabled;
    }
    if (b->contains("role")) {
      auto role = RequiredString(*b, "role", 20);
      if (!role.ok()) return SendError(res, role.status());
      if (*role != "admin" && *role != "operator" && *role != "officer")
        return SendError(res, Status::InvalidArgument("role must be admin, operator or officer"));
      change.role = *role;
      audit_details["role"] = *role;
    }
    if (b->contains("queues")) {
      auto queues = QueueList((*b)["queues"], store_);
      if (!queues.ok()) return SendError(res, queues.status());
      change.queues = *queues;
      audit_details["queues"] = *queues;
    }
    if (b->contains("languages")) {
      auto languages = LanguageList((*b)["languages"]);
      if (!languages.ok()) return SendError(res, languages.status());
      change.languages = *languages;
      audit_details["languages"] = *change.languages;
    }
    if (b->contains("password")) {
      if (name == s->user.username)
        return SendError(res, Status::Conflict("change your own password with POST /api/v1/me/password (it asks for the current one)"));
      auto password = RequiredString(*b, "password", 256);
      if (!password.ok()) return SendError(res, password.status());
      Status policy = escalation::CheckPasswordPolicy(name, *password);
      if (!policy.ok()) return SendError(res, policy);
      auto hash = escalation::HashPassword(*password, options_.hash_cost);
      if (!hash.ok()) return SendError(res, hash.status());
      change.password_hash = *hash;
      audit_details["password"] = "reset";  // never the password itself
    }
    // A reset password or a new role must not leave an old session working as before.
    change.revoke_sessions = change.password_hash.has_value();
    change.revoke_if_role_changes = true;
    auto released = store_.ChangeAccount(name, change, clock_.NowMillis());
    if (!released.ok()) return SendError(res, released.status());
    audit_details["released_cases"] = *released;
    (void)store_.Audit(s->user.username, "user_change", "user:" + name, audit_details.dump(), clock_.NowMillis());
    auto after = store_.UserByName(name);
    if (!after.ok()) return SendError(res, after.status());
    json j = UserJson(*after, clock_.NowMillis());
    j["released_cases"] = *released;
    SendJson(res, j);
  });
  // Anyone changes their own password, proving they know the current one; their other sessions end.
  svr.Post("/api/v1/me/password", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    auto b = ParseBody(req);
    if (!b.ok()) return SendError(res, b.status());
    auto current = RequiredString(*b, "current_password", 256);
    auto next = RequiredString(*b, "new_password", 256);
    if (!current.ok()) return SendError(res, current.status());
    if (!next.ok()) return SendError(res, next.status());
    auto me = store_.UserByName(s->user.username);
    if (!me.ok()) return SendError(res, me.status());
    const int64_t now = clock_.NowMillis();
    // Someone holding a stolen session must not get unlimited guesses at the password: the
    // login's failure count and lockout apply here too.
    if (me->locked_until > now) {
      res.set_header("Retry-After", std::to_string((me->locked_until - now + 999) / 1000));
      res.status = 429;
      res.set_content(json{{"error", "too many wrong passwords; try again later"}}.dump(), "application/json");
      return;
    }
    if (!escalation::VerifyPassword(me->password_hash, *current)) {
      const int failures = me->failed_logins + 1;
      const int64_t lock = escalation::LockoutMillis(failures);
      (void)store_.UpdateUserLogin(me->id, failures, lock > 0 ? now + lock : 0);
      (void)store_.Audit(me->username, "password_change_failed", "", json{{"failures", failures}}.dump(), now);
      return SendError(res, Status::PermissionDenied("the current password is wrong"));
    }
    if (*next == *current) return SendError(res, Status::InvalidArgument("the new password must differ from the current one"));
    Status policy = escalation::CheckPasswordPolicy(me->username, *next);
    if (!policy.ok()) return SendError(res, policy);
    auto hash = escalation::HashPassword(*next, options_.hash_cost);
    if (!hash.ok()) return SendError(res, hash.status());
    db::SqliteStore::AccountChange change;
    change.password_hash = *hash;
    change.revoke_sessions = true;
    change.keep_session = channels::Sha256Hex(SessionToken(req));
    auto done = store_.ChangeAccount(me->username, change, clock_.NowMillis());
    if (!done.ok()) return SendError(res, done.status());
    (void)store_.Audit(me->username, "password_change", "user:" + me->username, "{}", clock_.NowMillis());
    SendJson(res, {{"status", "password changed; your other sessions were logged out"}});
  });
  // Who can take a case of this queue (for "assign"): its officers and the admins, enabled ones.
  svr.Get(R"(/api/v1/queues/([a-z0-9_]{1,64})/officers)", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    const std::string queue = req.matches[1];
    if (s->user.role == "operator") return SendError(res, Status::PermissionDenied("only officers and admins work cases"));
    if (!HasQueue(s->user, queue) || !store_.QueueById(queue).ok()) return SendError(res, Status::NotFound("queue " + queue));
    auto users = store_.Users();
    if (!users.ok()) return SendError(res, users.status());
    json out = json::array();
    for (const auto& u : *users)
      if (!u.disabled && u.role != "operator" && HasQueue(u, queue))
        out.push_back({{"username", u.username}, {"role", u.role}, {"languages", u.languages}});
    SendJson(res, out);
  });
}

}  // namespace bot::server
