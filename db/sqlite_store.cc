// SqliteStore: the domain's storage ports as SQL. Every multi-row change is one transaction.
#include "db/sqlite_store.h"

#include <nlohmann/json.hpp>

#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "db/database.h"

namespace bot::db {
namespace {

using json = nlohmann::json;

json PayloadOf(const InboundMessage& m) {
  json p = json::object();
  if (!m.payload_id.empty()) p["payload_id"] = m.payload_id;
  if (!m.reply_to.empty()) p["reply_to"] = m.reply_to;
  auto media_json = [](const MediaRef& r) {
    return json{{"id", r.id}, {"mime_type", r.mime_type}, {"sha256", r.sha256}, {"filename", r.filename}, {"voice", r.voice}};
  };
  if (m.media) p["media"] = media_json(*m.media);
  if (!m.more_media.empty()) {
    p["more_media"] = json::array();
    for (const MediaRef& r : m.more_media) p["more_media"].push_back(media_json(r));
  }
  if (m.kind == InboundKind::kLocation) p["location"] = {{"latitude", m.latitude}, {"longitude", m.longitude}};
  p["timestamp"] = m.timestamp;
  p["business_id"] = m.business_id;
  if (!m.new_address.empty()) p["new_address"] = m.new_address;
  if (!m.raw_json.empty()) p["raw"] = m.raw_json;
  return p;
}

void FillFromPayload(const std::string& text, InboundMessage& m) {
  json p = json::parse(text, nullptr, false);
  if (!p.is_object()) return;
  // Read field by field, checking each type: a row we cannot fully read (an older version's, or
  // edited by hand) loses that field, and never throws in the lane that loads it.
  auto str = [](const json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto number = [](const json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_number() ? it->get<double>() : 0.0;
  };
  m.payload_id = str(p, "payload_id");
  m.reply_to = str(p, "reply_to");
  m.business_id = str(p, "business_id");
  m.raw_json = str(p, "raw");
  m.new_address = str(p, "new_address");
  if (auto t = p.find("timestamp"); t != p.end() && t->is_number_integer()) m.timestamp = t->get<int64_t>();
  auto media_of = [&str](const json& md) {
    MediaRef r;
    r.id = str(md, "id");
    r.mime_type = str(md, "mime_type");
    r.sha256 = str(md, "sha256");
    r.filename = str(md, "filename");
    auto voice = md.find("voice");
    r.voice = voice != md.end() && voice->is_boolean() && voice->get<bool>();
    return r;
  };
  if (auto md = p.find("media"); md != p.end() && md->is_object()) m.media = media_of(*md);
  if (auto more = p.find("more_media"); more != p.end() && more->is_array())
    for (const json& md : *more)
      if (md.is_object()) m.more_media.push_back(media_of(md));
  if (auto loc = p.find("location"); loc != p.end() && loc->is_object()) {
    m.latitude = number(*loc, "latitude");
    m.longitude = number(*loc, "longitude");
  }
}

json StateToJson(const ConversationState& s) {
  return json{{"language", s.language}, {"language_chosen", s.language_chosen},
              {"language_known", s.language_known}, {"welcomed", s.welcomed},
              {"stage", s.stage},       {"misses", s.misses},
              {"opted_out", s.opted_out}, {"erasure_offered", s.erasure_offered},
              {"case_id", s.case_id},     {"pending", s.pending},
              {"menu_shown", s.menu_shown}};
}

ConversationState StateFromJson(const std::string& text) {
  ConversationState s;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return s;
  try {
    s.language = j.value("language", "");
    s.language_chosen = j.value("language_chosen", false);
    // States written before the field: only a chosen language counts (every state has some
    // language, guessed from one "salam"); a few extra languages in a safety reply is the safe side.
    s.language_known = j.value("language_known", s.language_chosen);
    s.welcomed = j.value("welcomed", false);
    s.stage = j.value("stage", "idle");
    s.misses = j.value("misses", 0);
    s.opted_out = j.value("opted_out", false);
    s.erasure_offered = j.value("erasure_offered", s.opted_out);
    s.case_id = j.value("case_id", int64_t{0});
    s.pending = j.value("pending", "");
    s.menu_shown = j.value("menu_shown", "");
  } catch (const json::exception&) {
    // A state we cannot read starts over rather than blocking the person.
  }
  return s;
}

std::string OutboundKindName(OutboundMessage::Kind k) {
  switch (k) {
    case OutboundMessage::Kind::kText: return "text";
    case OutboundMessage::Kind::kButtons: return "buttons";
    case OutboundMessage::Kind::kList: return "list";
    case OutboundMessage::Kind::kTemplate: return "template";
    case OutboundMessage::Kind::kMarkRead: return "mark_read";
  }
  return "text";
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<Database> db, std::unique_ptr<Database> metrics_db, bool durable_ingest)
    : db_(std::move(db)), metrics_db_(std::move(metrics_db)), durable_ingest_(durable_ingest) {}
SqliteStore::~SqliteStore() = default;

namespace {

Result<std::string> KeyFor(const std::optional<std::string>& key) {
  if (key) return *key;
  return DatabaseKeyFromEnvironment();
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const Options& options) {
  auto key = KeyFor(options.key);
  if (!key.ok()) return key.status();
  Database::Options o;
  o.path = options.path;
  o.synchronous = "NORMAL";
  o.key = std::move(*key);
  auto db = Database::Open(o);
  if (!db.ok()) return db.status();
  BOT_RETURN_IF_ERROR((*db)->IntegrityCheck());
  if (options.require_existing_schema) {
    auto tables = (*db)->Prepare(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', 'messages', 'contacts', 'cases')");
    if (!tables.ok()) return tables.status();
    auto row = tables->Step();
    if (!row.ok()) return row.status();
    if (tables->Int(0) != 4)
      return Status::InvalidArgument(options.path + " is not a rahnama database (no messages, contacts and cases tables)");
  }
  BOT_RETURN_IF_ERROR((*db)->Migrate());
  // A scrape may wait a little for a checkpoint, never for the writers (see OutboxBacklog).
  o.busy_timeout_ms = 1000;
  auto metrics_db = Database::Open(o);
  if (!metrics_db.ok()) return metrics_db.status();
  BOT_RETURN_IF_ERROR((*metrics_db)->Exec("PRAGMA query_only=ON"));
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(*db), std::move(*metrics_db), options.synchronous == "FULL"));
}

Status SqliteStore::BackupFile(const std::string& db_path, const std::string& to_path,
                               const std::optional<std::string>& key) {
  auto k = KeyFor(key);
  if (!k.ok()) return k.status();
  Database::Options o;
  o.path = db_path;
  o.key = *k;
  auto src = Database::Open(o);
  if (!src.ok()) return src.status();
  BOT_RETURN_IF_ERROR((*src)->BackupTo(to_path));
  Database::Options c;
  c.path = to_path;
  c.key = *k;
  auto copy = Database::Open(c);
  if (!copy.ok()) return copy.status();
  BOT_RETURN_IF_ERROR((*copy)->IntegrityCheck());
  return (*copy)->Exec("PRAGMA journal_mode=DELETE");
}

Result<std::vector<std::vector<bool>>> SqliteStore::StoreWebhooks(std::span<const WebhookBatch* const> batches,
                                                                  int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  if (durable_ingest_) BOT_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=FULL"));
  struct BackToNormal {
    Database* db;
    bool on;
    ~BackToNormal() {
      if (on) (void)db->Exec("PRAGMA synchronous=NORMAL");
    }
  } back{db_.get(), durable_ingest_};
  Transaction tx(*db_);
  BOT_RETURN_IF_ERROR(tx.status());
  std::vector<std::vector<bool>> result;
  for (const WebhookBatch* batch : batches) {
    std::vector<bool> fresh;
    for (const InboundMessage& m : batch->messages) {
      const std::string channel(ChannelName(m.channel));
      // The sender's clock, within reason: a timestamp years ahead kept the reply window "open"
      // for years in the console. A few minutes of clock skew pass.
      constexpr int64_t kMaxSkewMs = 5 * 60 * 1000;
      const int64_t sent_ms = m.timestamp > 0 && m.timestamp < (now_ms + kMaxSkewMs) / 1000 ? m.timestamp * 1000
                              : m.timestamp > 0                                            ? now_ms + kMaxSkewMs
                                                                                           : now_ms;
      // A message delivered again touches nothing, not even its contact: after an erasure, a
      // redelivery would otherwise bring back the person's number and name.
      if (!m.provider_id.empty()) {
        auto seen = db_->Prepare("SELECT 1 FROM messages WHERE channel = ?1 AND provider_id = ?2 AND direction = 'in'");
        if (!seen.ok()) return seen.status();
        seen->Bind(1, channel).Bind(2, m.provider_id);
        auto row = seen->Step();
        if (!row.ok()) return row.status();
        const bool duplicate = *row;
        BOT_RETURN_IF_ERROR(seen->Run());
        if (duplicate) {
          fresh.push_back(false);
          continue;
        }
      }
      auto contact_id = UpsertContact(channel, m, now_ms, sent_ms);
      if (!contact_id.ok()) return contact_id.status();

      // Dedup on (channel, provider id) by the unique index messages_inbound_dedup, in this
      // transaction: a message Meta delivers twice is stored once. (No UPSERT: SQLCipher's
      // SQLite 3.15 predates it; OR IGNORE is the same here, every NOT NULL column is bound.)
      auto ins = db_->Prepare(
          "INSERT OR IGNORE INTO messages(contact_id, direction, channel, provider_id, kind, body, payload, status, "
          "urgent, created_at) VALUES (?1, 'in', ?2, ?3, ?4, ?5, ?6, 'pending', ?8, ?7)");
      if (!ins.ok()) return ins.status();
      ins->Bind(1, *contact_id).Bind(2, channel).Bind(3, m.provider_id).Bind(4, std::string(InboundKindName(m.kind)))
          .Bind(5, m.text).Bind(6, PayloadOf(m).dump(-1, ' ', false, json::error_handler_t::replace)).Bind(7, now_ms).Bind(8, m.urgent_hint ? 1 : 0);
      BOT_RETURN_IF_ERROR(ins->Run());
      fresh.push_back(db_->Changes() == 1);
    }
    for (const StatusUpdate& s : batch->statuses) {
      auto ins = db_->Prepare(
          "INSERT OR IGNORE INTO delivery_statuses(channel, provider_message_id, status, timestamp, error_code, "
          "error_title, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      if (!ins.ok()) return ins.status();
      ins->Bind(1, std::string(ChannelName(s.channel))).Bind(2, s.provider_message_id).Bind(3, s.status)
          .Bind(4, s.timestamp).Bind(5, s.error_code).Bind(6, s.error_title).Bind(7, now_ms);
      BOT_RETURN_IF_ERROR(ins->Run());
    }
    result.push_back(std::move(fresh));
  }
  BOT_RETURN_IF_ERROR(tx.Commit());
  return result;
}

Result<SqliteStore::KnownIds> SqliteStore::IdsOfContact(int64_t contact_id) {
  KnownIds ids;
  auto st = db_->Prepare("SELECT external_id FROM contacts WHERE id = ?1 UNION ALL "
                         "SELECT alias FROM contact_aliases WHERE contact_id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, contact_id);
  BOT_RETURN_IF_ERROR(ForEachRow(*st, [&](const Statement& row) {
    const std::string id = row.Text(0);
    (IsBusinessScopedUserId(id) ? ids.bsuid : ids.phone) = id;
  }));
  return ids;
}

Result<int64_t> SqliteStore::UpsertContact(const std::string& channel, const InboundMessage& m, int64_t now_ms,
                                           int64_t sent_ms) {
  // Select, then update or insert: the caller's BEGIN IMMEDIATE holds the write lock, so no other
  // writer can add the contact in between (UPSERT/RETURNING need SQLite 3.24/3.35).
  // The person is found by their address, or by either identifier (phone number or BSUID) as an
  // alias of a contact; a contact found through an alias must not know a different phone or
  // BSUID than the message gives (a number reissued to someone else, a number changed): that is
  // another person, or an old number replies must not go to.
  KnownIds given;
  for (const std::string* key : {&m.sender, &m.sender_alias})
    if (!key->empty()) (IsBusinessScopedUserId(*key) ? given.bsuid : given.phone) = *key;
  auto agrees = [&](int64_t contact) -> Result<bool> {
    auto known = IdsOfContact(contact);
    if (!known.ok()) return known.status();
    return (given.phone.empty() || known->phone.empty() || known->phone == given.phone) &&
           (given.bsuid.empty() || known->bsuid.empty() || known->bsuid == given.bsuid);
  };
  int64_t id = 0;
  for (const std::string* key : {&m.sender, &m.sender_alias}) {
    if (key->empty() || id != 0) continue;
    auto find = db_->Prepare(
        "SELECT id, 0 FROM contacts WHERE channel = ?1 AND external_id = ?2 "
        "UNION ALL SELECT contact_id, 1 FROM contact_aliases WHERE channel = ?1 AND alias = ?2 ORDER BY 2 LIMIT 1");
    if (!find.ok()) return find.status();
    find->Bind(1, channel).Bind(2, *key);
    auto row = find->Step();
    if (!row.ok()) return row.status();
    const int64_t found = *row ? find->Int(0) : 0;
    const bool by_address = *row && find->Int(1) == 0 && key == &m.sender;
    BOT_RETURN_IF_ERROR(find->Run());
    if (found == 0) continue;
    // The sender's own address is theirs (addresses are unique); anything else must agree.
    auto ok = by_address ? Result<bool>(true) : agrees(found);
    if (!ok.ok()) return ok.status();
    if (*ok) id = found;
  }
  if (id != 0) {
    auto up = db_->Prepare(
        "UPDATE contacts SET business_id = CASE WHEN ?2 != '' AND ?4 >= last_inbound_at THEN ?2 ELSE business_id END, "
        "display_name = CASE WHEN ?3 != '' THEN ?3 ELSE display_name END, "
        "last_inbound_at = MAX(last_inbound_at, ?4) WHERE id = ?1");
    if (!up.ok()) return up.status();
    up->Bind(1, id).Bind(2, m.business_id).Bind(3, m.sender_name).Bind(4, sent_ms);
    BOT_RETURN_IF_ERROR(up->Run());
  } else {
    auto ins = db_->Prepare(
        "INSERT INTO contacts(channel, external_id, business_id, display_name, created_at, last_inbound_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, channel).Bind(2, m.sender).Bind(3, m.business_id).Bind(4, m.sender_name).Bind(5, now_ms).Bind(6, sent_ms);
    BOT_RETURN_IF_ERROR(ins->Run());
    id = db_->LastInsertId();
  }
  // Both identifiers given: the one the contact lacks becomes its alias. A contact keeps one phone
  // number and one BSUID (a second number is a number change, which WhatsApp announces); an alias
  // already taken keeps its contact (two contacts written to before are not merged here).
  if (!m.sender_alias.empty()) {
    auto known = IdsOfContact(id);
    if (!known.ok()) return known.status();
    for (const std::string* key : {&given.phone, &given.bsuid}) {
      const std::string& have = key == &given.phone ? known->phone : known->bsuid;
      if (key->empty() || !have.empty()) continue;
      auto alias = db_->Prepare("INSERT OR IGNORE INTO contact_aliases(channel, alias, contact_id) VALUES (?1, ?2, ?3)");
      if (!alias.ok()) return alias.status();
      alias->Bind(1, channel).Bind(2, *key).Bind(3, id);
      BOT_RETURN_IF_ERROR(alias->Run());
    }
  }
  return id;
}

Result<std::vector<bot::PendingInbound>> SqliteStore::LoadPending(int limit) { return Pending(limit, false); }

Result<std::vector<bot::PendingInbound>> SqliteStore::LoadPendingUrgent(int limit) { return Pending(limit, true); }

Result<std::vector<bot::PendingInbound>> SqliteStore::Pending(int limit, bool urgent_contacts_only) {
  std::lock_guard lock(db_->mutex());
  // The urgent lane takes every pending message of a contact with an urgent one pending, oldest
  // first, so urgency never reorders one person's messages.
  auto st = db_->Prepare(urgent_contacts_only
      ? "SELECT m.id, m.kind, m.body, m.payload, m.provider_id, c.id, c.channel, c.external_id, c.business_id, "
        "c.display_name, c.last_inbound_at, m.urgent FROM messages m JOIN contacts c ON c.id = m.contact_id "
        "WHERE m.direction = 'in' AND m.status = 'pending' AND m.contact_id IN (SELECT contact_id FROM messages "
        "WHERE direction = 'in' AND status = 'pending' AND urgent = 1) ORDER BY m.id LIMIT ?1"
      : "SELECT m.id, m.kind, m.body, m.payload, m.provider_id, c.id, c.channel, c.external_id, c.business_id, "
        "c.display_name, c.last_inbound_at, m.urgent FROM messages m JOIN contacts c ON c.id = m.contact_id "
        "WHERE m.direction = 'in' AND m.status = 'pending' ORDER BY m.id LIMIT ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, limit);
  std::vector<bot::PendingInbound> out;
  BOT_RETURN_IF_ERROR(ForEachRow(*st, [&](const Statement& row) {
    bot::PendingInbound p;
    p.message_id = row.Int(0);
    p.message.kind = ParseInboundKind(row.Text(1)).value_or(InboundKind::kUnsupported);
    p.message.text = row.Text(2);
    FillFromPayload(row.Text(3), p.message);
    p.message.provider_id = row.Text(4);
    p.contact.id = row.Int(5);
    p.contact.channel = ParseChannel(row.Text(6)).value_or(Channel::kWhatsApp);
    p.message.channel = p.contact.channel;
    p.contact.address = row.Text(7);
    p.message.sender = p.contact.address;
    p.contact.business_id = row.Text(8);
    if (p.message.business_id.empty()) p.message.business_id = p.contact.business_id;
    p.contact.display_name = row.Text(9);
    p.contact.last_inbound_ms = row.Int(10);
    p.message.urgent_hint = row.Int(11) != 0;
    out.push_back(std::move(p));
  }));
  return out;
}

Result<ConversationState> SqliteStore::LoadConversation(int64_t contact_id) {
  std::lock_guard lock(db_->mutex());
  auto st = db_->Prepare("SELECT state FROM conversations WHERE contact_id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, contact_id);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return ConversationState{};
  return StateFromJson(st->Text(0));
}

Status SqliteStore::RunBatch(const std::function<Status()>& work) {
  std::lock_guard lock(db_->mutex());
  BOT_RETURN_IF_ERROR(db_->BeginBatch());
  Status s = CatchExceptions("the batch", work);  // the batch must end either way, or it stays open
  Status ended = db_->EndBatch(s.ok());
  return s.ok() ? ended : s;
}

Result<int64_t> SqliteStore::CommitTurn(const Turn& turn, int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  Transaction tx(*db_);
  BOT_RETURN_IF_ERROR(tx.status());
  if (turn.message_id != 0) {
    auto mark = db_->Prepare(
        "UPDATE messages SET status = 'processed', intent = ?2, language = ?3, urgent = ?4, processed_at = ?5 "
        "WHERE id = ?1 AND status = 'pending' AND contact_id = ?6");
    if (!mark.ok()) return mark.status();
    mark->Bind(1, turn.message_id).Bind(2, turn.intent).Bind(3, turn.language).Bind(4, turn.urgent ? 1 : 0).Bind(5, now_ms)
        .Bind(6, turn.contact_id);
    BOT_RETURN_IF_ERROR(mark->Run());
    // Processed already, or moved to a fresh contact by an erasure since it was loaded (the lane
    // holds a copy with the old contact): nothing is written; the lane loads it again.
    if (db_->Changes() == 0) return kTurnRepeated;
  }
  ConversationState state = turn.state;
  int64_t case_id = 0;
  if (turn.case_change) {
    auto c = ApplyCaseChange(turn.contact_id, turn.message_id, *turn.case_change, now_ms);
    if (!c.ok()) return c.status();
    case_id = *c;
    if (turn.case_change->open) state.case_id = case_id;
  }
  if (turn.message_id != 0) {
    const std::string state_json = StateToJson(state).dump();
    auto conv = db_->Prepare("UPDATE conversations SET state = ?2, updated_at = ?3 WHERE contact_id = ?1");
    if (!conv.ok()) return conv.status();
    conv->Bind(1, turn.contact_id).Bind(2, state_json).Bind(3, now_ms);
    BOT_RETURN_IF_ERROR(conv->Run());
    if (db_->Changes() == 0) {  // the first turn: in this transaction, so no one else inserts it
      auto first = db_->Prepare("INSERT INTO conversations(contact_id, state, updated_at) VALUES (?1, ?2, ?3)");
      if (!first.ok()) return first.status();
      first->Bind(1, turn.contact_id).Bind(2, state_json).Bind(3, now_ms);
      BOT_RETURN_IF_ERROR(first->Run());
    }
    auto contact = db_->Prepare("UPDATE contacts SET language = ?2, opted_out = ?3 WHERE id = ?1");
    if (!contact.ok()) return contact.status();
    contact->Bind(1, turn.contact_id).Bind(2, state.language).Bind(3, state.opted_out ? 1 : 0);
    BOT_RETURN_IF_ERROR(contact->Run());
  }
  BOT_RETURN_IF_ERROR(QueueReplies(turn.contact_id, case_id, turn.replies, now_ms, turn.business_id));
  if (!turn.new_address.empty()) BOT_RETURN_IF_ERROR(MoveContactAddress(turn.contact_id, turn.new_address));
  // In the same transaction: the person is never told their data is deleted while it is not.
  if (turn.erase) BOT_RETURN_IF_ERROR(EraseContactLocked(turn.contact_id, "person", now_ms));
  BOT_RETURN_IF_ERROR(tx.Commit());
  return case_id;
}

Result<int64_t> SqliteStore::SetAsideMessage(const Turn& turn, const std::string& error, int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  Transaction tx(*db_);
  BOT_RETURN_IF_ERROR(tx.status());
  auto mark = db_->Prepare(
      "UPDATE messages SET status = 'failed', error = ?2, urgent = ?3, processed_at = ?4 "
      "WHERE id = ?1 AND status = 'pending' AND contact_id = ?5");
  if (!mark.ok()) return mark.status();
  mark->Bind(1, turn.message_id).Bind(2, error).Bind(3, turn.urgent ? 1 : 0).Bind(4, now_ms).Bind(5, turn.contact_id);
  BOT_RETURN_IF_ERROR(mark->Run());
  if (db_->Changes() == 0) return kTurnRepeated;
  int64_t case_id = 0;
  if (turn.case_change) {
    auto c = ApplyCaseChange(turn.contact_id, turn.message_id, *turn.case_change, now_ms);
    if (!c.ok()) return c.status();
    case_id = *c;
  }
  BOT_RETURN_IF_ERROR(QueueReplies(turn.contact_id, case_id, turn.replies, now_ms, turn.business_id));
  BOT_RETURN_IF_ERROR(tx.Commit());
  return case_id;
}

Result<bool> SqliteStore::HasContact(const std::string& channel, const std::string& address) {
  std::lock_guard lock(db_->mutex());
  auto st = db_->Prepare("SELECT 1 FROM contacts WHERE channel = ?1 AND external_id = ?2");
  if (!st.ok()) return st.status();
  st->Bind(1, channel).Bind(2, address);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return *row;
}

Status SqliteStore::MoveContactAddress(int64_t contact_id, const std::string& new_address) {
  auto who = db_->Prepare("SELECT channel, external_id FROM contacts WHERE id = ?1 AND erased_at IS NULL");
  if (!who.ok()) return who.status();
  who->Bind(1, contact_id);
  auto row = who->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Ok();  // erased: nothing to move
  const std::string channel = who->Text(0), old_address = who->Text(1);
  BOT_RETURN_IF_ERROR(who->Run());
  if (old_address == new_address) return Status::Ok();
  // A new number that already wrote to us has its own contact: two histories are not merged here
  // (an officer sees both; the old one keeps its case).
  auto move = db_->Prepare(
      "UPDATE contacts SET external_id = ?2 WHERE id = ?1 AND NOT EXISTS "
      "(SELECT 1 FROM contacts other WHERE other.channel = ?3 AND other.external_id = ?2)");
  if (!move.ok()) return move.status();
  move->Bind(1, contact_id).Bind(2, new_address).Bind(3, channel);
  BOT_RETURN_IF_ERROR(move->Run());
  if (db_->Changes() == 0) return Status::Ok();
  // Aliases that are phone numbers go: the old number may be given to someone else, whose messages
  // must not join this person's conversation. An old address that was a business-scoped user id
  // stays theirs, as an alias (BSUIDs are never reissued).
  auto forget = db_->Prepare(
      "DELETE FROM contact_aliases WHERE contact_id = ?1 AND (alias = ?2 OR alias NOT GLOB '[A-Z][A-Z].*')");  // IsBusinessScopedUserId
  if (!forget.ok()) return forget.status();
  forget->Bind(1, contact_id).Bind(2, new_address);
  BOT_RETURN_IF_ERROR(forget->Run());
  if (IsBusinessScopedUserId(old_address)) {
    auto keep = db_->Prepare("INSERT OR IGNORE INTO contact_aliases(channel, alias, contact_id) VALUES (?1, ?2, ?3)");
    if (!keep.ok()) return keep.status();
    keep->Bind(1, channel).Bind(2, old_address).Bind(3, contact_id);
    BOT_RETURN_IF_ERROR(keep->Run());
  }
  // Replies not yet sent go to the number the person has now: the row's recipient and the "to"
  // written into the request body it will be sent as.
  auto queued = db_->Prepare("SELECT id, payload FROM outbox WHERE channel = ?2 AND recipient = ?1 AND state = 'pending'");
  if (!queued.ok()) return queued.status();
  queued->Bind(1, old_address).Bind(2, channel);
  std::vector<std::pair<int64_t, std::string>> rewritten;
  BOT_RETURN_IF_ERROR(ForEachRow(*queued, [&](const Statement& row) {
    json body = json::parse(row.Text(1), nullptr, false);
    if (body.is_object() && body.contains("to")) body["to"] = new_address;
    rewritten.emplace_back(row.Int(0), body.is_discarded() ? row.Text(1) : body.dump());
  }));
  for (const auto& [id, payload] : rewritten) {
    auto up = db_->Prepare("UPDATE outbox SET recipient = ?2, payload = ?3 WHERE id = ?1");
    if (!up.ok()) return up.status();
    up->Bind(1, id).Bind(2, new_address).Bind(3, payload);
    BOT_RETURN_IF_ERROR(up->Run());
  }
  return Status::Ok();
}

Status SqliteStore::QueueReplies(int64_t contact_id, int64_t case_id, const std::vector<OutboundRecord>& replies,
                                 int64_t now_ms, const std::string& from_business_id) {
  if (replies.empty()) return Status::Ok();
  auto who = db_->Prepare("SELECT channel, external_id, business_id FROM contacts WHERE id = ?1");
  if (!who.ok()) return who.status();
  who->Bind(1, contact_id);
  auto row = who->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("contact " + std::to_string(contact_id));
  // A reply leaves from the number the message came to; an officer's from the latest one.
  const std::string channel = who->Text(0), recipient = who->Text(1);
  const std::string business_id = from_business_id.empty() ? who->Text(2) : from_business_id;
  BOT_RETURN_IF_ERROR(who->Run());

  // An earlier reply backing off after an error is tried again now, with the urgent one (which
  // does not wait for it: ClaimDue), so the person's replies stay close to the order they were written in.
  for (const OutboundRecord& r : replies) {
    if (!r.message.urgent) continue;
    auto due = db_->Prepare(
        "UPDATE outbox SET next_attempt_at = ?3 WHERE recipient = ?1 AND channel = ?2 AND state = 'pending' "
        "AND next_attempt_at > ?3");
    if (!due.ok()) return due.status();
    due->Bind(1, recipient).Bind(2, channel).Bind(3, now_ms);
    BOT_RETURN_IF_ERROR(due->Run());
    break;
  }
  for (const OutboundRecord& r : replies) {
    auto msg = db_->Prepare(
        "INSERT INTO messages(contact_id, direction, channel, kind, body, payload, author, status, urgent, created_at, "
        "case_id) VALUES (?1, 'out', ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?9)");
    if (!msg.ok()) return msg.status();
    // The payloads are our own formatter's JSON: joined as they are, not parsed and dumped again.
    std::string parts = "[";
    for (const auto& p : r.payloads) parts.append(parts.size() > 1 ? "," : "").append(p);
    parts += "]";
    msg->Bind(1, contact_id).Bind(2, channel).Bind(3, OutboundKindName(r.message.kind)).Bind(4, r.message.text)
        .Bind(5, parts).Bind(6, r.author).Bind(7, r.message.urgent ? 1 : 0).Bind(8, now_ms);
    if (case_id != 0) msg->Bind(9, case_id);
    else msg->BindNull(9);
    BOT_RETURN_IF_ERROR(msg->Run());
    const int64_t message_id = db_->LastInsertId();
    for (const auto& p : r.payloads) {
      auto ob = db_->Prepare(
          "INSERT INTO outbox(message_id, channel, recipient, business_id, payload, priority, next_attempt_at, "
          "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)");
      if (!ob.ok()) return ob.status();
      ob->Bind(1, message_id).Bind(2, channel).Bind(3, recipient).Bind(4, business_id).Bind(5, p)
          .Bind(6, r.message.urgent ? 10 : 0).Bind(7, now_ms);
      BOT_RETURN_IF_ERROR(ob->Run());
    }
  }
  return Status::Ok();
}

Result<std::vector<OutboxItem>> SqliteStore::ClaimDue(int64_t now_ms, int limit) {
  std::lock_guard lock(db_->mutex());
  Transaction tx(*db_);
  BOT_RETURN_IF_ERROR(tx.status());
  // Only the head of each recipient's queue, and nothing while one of theirs is in flight: replies
  // to one person leave in order. One exception: an urgent reply does not wait behind an ordinary
  // one that has already failed and is backing off (it may keep failing for the day it is retried).
  auto st = db_->Prepare(
      "SELECT id, message_id, channel, recipient, business_id, payload, priority, attempts, created_at FROM outbox o "
      "WHERE state = 'pending' AND next_attempt_at <= ?1 AND NOT EXISTS (SELECT 1 FROM outbox p "
      "WHERE p.recipient = o.recipient AND p.channel = o.channel AND p.state IN ('pending', 'in_flight') AND "
      "(p.state = 'in_flight' OR (p.id < o.id AND NOT (p.priority < o.priority AND p.attempts > 0)))) "
      "ORDER BY priority DESC, id LIMIT ?2");
  if (!st.ok()) return st.status();
  st->Bind(1, now_ms).Bind(2, limit);
  std::vector<OutboxItem> items;
  std::set<std::pair<std::string, std::string>> recipients;  // one row per person per claim, too
  BOT_RETURN_IF_ERROR(ForEachRow(*st, [&](const Statement& row) {
    if (!recipients.emplace(row.Text(2), row.Text(3)).second) return;
    OutboxItem it;
    it.id = row.Int(0);
    it.message_id = row.Int(1);
    it.channel = ParseChannel(row.Text(2)).value_or(Channel::kWhatsApp);
    it.recipient = row.Text(3);
    it.business_id = row.Text(4);
    it.payload = row.Text(5);
    it.priority = static_cast<int>(row.Int(6));
    it.attempts = static_cast<int>(row.Int(7)) + 1;
    it.created_at = row.Int(8);
    items.push_back(std::move(it));
  }));
  for (const OutboxItem& it : items) {
    auto up = db_->Prepare("UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1");
    if (!up.ok()) return up.status();
    up->Bind(1, it.id).Bind(2, now_ms);
    BOT_RETURN_IF_ERROR(up->Run());
  }
  BOT_RETURN_IF_ERROR(tx.Commit());
  return items;
}

Status SqliteStore::MarkSent(int64_t id, const std::string& provider_message_id, int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  Transaction tx(*db_);
  BOT_RETURN_IF_ERROR(tx.status());
  // Once Meta has it, the request body is not needed again: the message row keeps the text.
  auto up = db_->Prepare(
      "UPDATE outbox SET state = 'sent', provider_message_id = ?2, last_error = NULL, payload = '', updated_at = ?3 "
      "WHERE id = ?1");
  if (!up.ok()) return up.status();
  up->Bind(1, id).Bind(2, provider_message_id).Bind(3, now_ms);
  BOT_RETURN_IF_ERROR(up->Run());
  auto msg = db_->Prepare(
      "UPDATE messages SET status = 'sent', provider_id = COALESCE(provider_id, ?2) WHERE id = "
      "(SELECT message_id FROM outbox WHERE id = ?1) AND status = 'queued'");
  if (!msg.ok()) return msg.status();
  msg->Bind(1, id).Bind(2, provider_message_id);
  BOT_RETURN_IF_ERROR(msg->Run());
  BOT_RETURN_IF_ERROR(ForgetIfErased(id));
  return tx.Commit();
}

Status SqliteStore::ForgetIfErased(int64_t outbox_id) {
  // The last reply to an erased person (the confirmation) leaves no trace once sent or failed.
  // Correlated on this row's message: an IN (SELECT …) here scanned every message per reply
  // (BENCHMARKS.md CR-6: 65% of server CPU while draining, ~100 ms per reply at 1M messages).
  auto gone = db_->Prepare(
      "DELETE FROM outbox WHERE id = ?1 AND EXISTS (SELECT 1 FROM messages m JOIN contacts c ON c.id = m.contact_id "
      "WHERE m.id = outbox.message_id AND c.erased_at IS NOT NULL)");
  if (!gone.ok()) return gone.status();
  gone->Bind(1, outbox_id);
  return gone->Run();
}

Status SqliteStore::MarkRetry(int64_t id, int64_t next_attempt_ms, const std::string& error, int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  auto up = db_->Prepare(
      "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1");
  if (!up.ok()) return up.status();
  up->Bind(1, id).Bind(2, next_attempt_ms).Bind(3, error).Bind(4, now_ms);
  return up->Run();
}

Status SqliteStore::MarkFailed(int64_t id, const std::string& error, int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  Transaction tx(*db_);
  BOT_RETURN_IF_ERROR(tx.status());
  auto up = db_->Prepare("UPDATE outbox SET state = 'failed', last_error = ?2, updated_at = ?3 WHERE id = ?1");
  if (!up.ok()) return up.status();
  up->Bind(1, id).Bind(2, error).Bind(3, now_ms);
  BOT_RETURN_IF_ERROR(up->Run());
  auto msg = db_->Prepare(
      "UPDATE messages SET status = 'failed', error = ?2 WHERE id = (SELECT message_id FROM outbox WHERE id = ?1)");
  if (!msg.ok()) return msg.status();
  msg->Bind(1, id).Bind(2, error);
  BOT_RETURN_IF_ERROR(msg->Run());
  BOT_RETURN_IF_ERROR(ForgetIfErased(id));
  return tx.Commit();
}

Status SqliteStore::RetryNow(Channel channel, int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  auto up = db_->Prepare(
      "UPDATE outbox SET next_attempt_at = ?2 WHERE channel = ?1 AND state = 'pending' AND next_attempt_at > ?2");
  if (!up.ok()) return up.status();
  up->Bind(1, std::string(ChannelName(channel))).Bind(2, now_ms);
  return up->Run();
}

Result<int> SqliteStore::RequeueInFlight(int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  auto up = db_->Prepare(
      "UPDATE outbox SET state = 'pending', requeued_after_crash = requeued_after_crash + 1, updated_at = ?1 "
      "WHERE state = 'in_flight'");
  if (!up.ok()) return up.status();
  up->Bind(1, now_ms);
  BOT_RETURN_IF_ERROR(up->Run());
  return db_->Changes();
}

Result<ContentVersion> SqliteStore::LatestContent() {
  std::lock_guard lock(db_->mutex());
  auto st = db_->Prepare(
      "SELECT id, author, message, document, created_at FROM content_versions ORDER BY id DESC LIMIT 1");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no content published yet");
  return ContentVersion{st->Int(0), st->Text(1), st->Text(2), st->Text(3), st->Int(4)};
}

Result<ContentVersion> SqliteStore::ContentVersionById(int64_t id) {
  std::lock_guard lock(db_->mutex());
  auto st = db_->Prepare("SELECT id, author, message, document, created_at FROM content_versions WHERE id = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("content version " + std::to_string(id));
  return ContentVersion{st->Int(0), st->Text(1), st->Text(2), st->Text(3), st->Int(4)};
}

Result<int64_t> SqliteStore::PublishContent(const std::string& author, const std::string& message,
                                            const std::string& document, int64_t now_ms) {
  std::lock_guard lock(db_->mutex());
  DurableScope durable(*db_, durable_ingest_);  // officers' and operators' actions are few: fsync them
  auto st = db_->Prepare("INSERT INTO content_versions(author, message, document, created_at) VALUES (?1, ?2, ?3, ?4)");
  if (!st.ok()) return st.status();
  st->Bind(1, author).Bind(2, message).Bind(3, document).Bind(4, now_ms);
  BOT_RETURN_IF_ERROR(st->Run());
  return db_->LastInsertId();
}

Result<std::string> SqliteStore::GetSetting(const std::string& key) {
  std::lock_guard lock(db_->mutex());
  auto st = db_->Prepare("SELECT value FROM settings WHERE key = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, key);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("setting " + key);
  return st->Text(0);
}

Status SqliteStore::PutSetting(const std::string& key, const std::string& value) {
  std::lock_guard lock(db_->mutex());
  DurableScope durable(*db_, durable_ingest_);  // officers' and operators' actions are few: fsync them
  Transaction tx(*db_);
  BOT_RETURN_IF_ERROR(tx.status());
  auto up = db_->Prepare("UPDATE settings SET value = ?2 WHERE key = ?1");
  if (!up.ok()) return up.status();
  up->Bind(1, key).Bind(2, value);
  BOT_RETURN_IF_ERROR(up->Run());
  if (db_->Changes() == 0) {
    auto ins = db_->Prepare("INSERT INTO settings(key, value) VALUES (?1, ?2)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, key).Bind(2, value);
    BOT_RETURN_IF_ERROR(ins->Run());
  }
  return tx.Commit();
}

Result<int> SqliteStore::SchemaVersion() {
  std::lock_guard lock(db_->mutex());
  return db_->SchemaVersion();
}

Result<int64_t> SqliteStore::OutboxBacklog() {
  std::lock_guard lock(metrics_db_->mutex());
  auto st = metrics_db_->Prepare("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight')");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return st->Int(0);
}

Result<std::optional<int64_t>> SqliteStore::OldestOnMetricsConnection(const char* sql) {
  std::lock_guard lock(metrics_db_->mutex());
  auto st = metrics_db_->Prepare(sql);
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row || st->IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(st->Int(0));
}

Result<int64_t> SqliteStore::OldestPendingOutboxMillis(int64_t now_ms) {
  auto oldest = OldestOnMetricsConnection("SELECT MIN(created_at) FROM outbox WHERE state IN ('pending', 'in_flight')");
  if (!oldest.ok()) return oldest.status();
  return *oldest ? now_ms - **oldest : int64_t{0};
}

Result<int64_t> SqliteStore::OldestPendingUrgentInboundMillis(int64_t now_ms) {
  // Read from the partial index of pending urgent messages: normally empty, or nearly.
  auto oldest = OldestOnMetricsConnection(
      "SELECT MIN(created_at) FROM messages WHERE direction = 'in' AND status = 'pending' AND urgent = 1");
  if (!oldest.ok()) return oldest.status();
  return *oldest ? std::max<int64_t>(0, now_ms - **oldest) : int64_t{0};
}

Result<int64_t> SqliteStore::OldestPendingInboundMillis(int64_t now_ms) {
  // The pending index is in id order, and ids follow arrival.
  auto oldest = OldestOnMetricsConnection(
      "SELECT created_at FROM messages WHERE direction = 'in' AND status = 'pending' ORDER BY id LIMIT 1");
  if (!oldest.ok()) return oldest.status();
  return *oldest ? std::max<int64_t>(0, now_ms - **oldest) : int64_t{0};
}

}  // namespace bot::db
