// Storage ports: what the conversation, the ingest path and the sender need from a database,
// in domain terms. db/ implements them on SQLite; a PostgreSQL adapter would implement the same.
#ifndef BOT_CORE_PORTS_H_
#define BOT_CORE_PORTS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bot/core/message.h"
#include "bot/core/status.h"

namespace bot {

// Where the conversation with one person stands. Serialised by the store.
struct ConversationState {
  std::string language;          // "en", "prs", "ps" or "" (not known yet)
  bool language_chosen = false;  // the person picked it (menu or request), not only detected
  bool language_known = false;   // chosen, or detected with certainty in one of their messages
  bool welcomed = false;
  std::string stage = "idle";    // idle | awaiting_language | offered_human | intake_* | iom_* | ...
  int misses = 0;                // consecutive messages the bot did not understand
  bool opted_out = false;
  bool erasure_offered = false;  // told "Reply DELETE to delete your data" (a later DELETE erases)
  // The menu as last shown, "1=por_card,2=acc_card,…": a number typed later means what the person
  // saw, even if an operator has renumbered the menu since.
  std::string menu_shown;
  int64_t case_id = 0;           // the case the intake questions are for
  std::string pending;           // stage-specific scratch (JSON), e.g. collected IOM answers
};

struct Contact {
  int64_t id = 0;
  Channel channel = Channel::kWhatsApp;
  std::string address;      // the person's id on the channel
  std::string business_id;  // our number/page they last wrote to
  std::string display_name;
  int64_t last_inbound_ms = 0;
};

// An inbound message stored and not yet processed.
struct PendingInbound {
  int64_t message_id = 0;
  Contact contact;
  InboundMessage message;
};

// One reply the conversation decided on, formatted for the channel (a long text becomes several
// parts, each one provider request).
struct OutboundRecord {
  OutboundMessage message;
  std::vector<std::string> payloads;  // provider JSON bodies, in order
  std::string author = "bot";         // "bot" or "officer:<username>"
};

// What a turn does to a case: open one (or join the open one in that queue), record intake
// answers and entities, consent, human mode, and queue the partner notification.
struct CaseChange {
  bool open = false;             // open or join a case in `queue`
  std::string queue;
  std::string priority;          // urgent | high | normal
  std::string intent;
  std::string language;
  int64_t case_id = 0;           // the existing case this message belongs to (when !open)
  std::string intake_json;       // replaces intake when non-empty (merged by the caller)
  std::string entities_json;     // replaces entities when non-empty
  std::string consent;           // "" = unchanged
  std::optional<bool> human_mode;
  std::string partner_payload;   // non-empty: queue a signed partner notification (case_id added)
  std::string system_note;       // non-empty: a note on the case from rahnama itself (author "rahnama")
  bool safety_reply = false;     // the turn sends the person the full safety reply for this case
};

// Everything one processed inbound message changes, committed in one transaction, so a crash
// either leaves the message pending (processed again, nothing sent twice) or fully processed.
struct Turn {
  int64_t message_id = 0;
  int64_t contact_id = 0;
  // The number or page the message was written to: its replies go out from it (empty: the
  // contact's latest one).
  std::string business_id;
  std::string intent;
  std::string language;
  bool urgent = false;
  ConversationState state;
  std::vector<OutboundRecord> replies;
  std::optional<CaseChange> case_change;
  // WhatsApp told us the person changed number: the contact (case, language, opt-out, pending
  // replies) moves to it, unless the new number already has a contact of its own.
  std::string new_address;
  // The person asked to delete their data: erased in the turn's transaction, after its replies
  // (the confirmation) are queued to the real address.
  bool erase = false;
};

struct OutboxItem {
  int64_t id = 0;
  int64_t message_id = 0;
  Channel channel = Channel::kWhatsApp;
  std::string recipient;
  std::string business_id;
  std::string payload;
  int priority = 0;
  int attempts = 0;  // including this one
  int64_t created_at = 0;
};

// The inbound side: idempotent storage of what webhooks carry.
class InboundStore {
 public:
  virtual ~InboundStore() = default;
  // Stores every message (new contacts created as needed) and status of all `batches` in one
  // transaction (group commit: one fsync for many webhooks). Returns, per batch and message,
  // whether it was new (false: a duplicate provider id, nothing changed).
  virtual Result<std::vector<std::vector<bool>>> StoreWebhooks(std::span<const WebhookBatch* const> batches,
                                                               int64_t now_ms) = 0;
};

class ConversationStore {
 public:
  virtual ~ConversationStore() = default;
  // Up to `limit` pending inbound messages, oldest first.
  virtual Result<std::vector<PendingInbound>> LoadPending(int limit) = 0;
  virtual Result<ConversationState> LoadConversation(int64_t contact_id) = 0;
  // Returns the id of the case the turn touched (0 if none), or kTurnRepeated when the message
  // is no longer this contact's pending message (processed already by another lane or a retried
  // batch, or moved to a fresh contact by an erasure): nothing was written.
  virtual Result<int64_t> CommitTurn(const Turn& turn, int64_t now_ms) = 0;
  static constexpr int64_t kTurnRepeated = -1;
};

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;
  // Marks up to `limit` due items in flight and returns them, most urgent first.
  virtual Result<std::vector<OutboxItem>> ClaimDue(int64_t now_ms, int limit) = 0;
  virtual Status MarkSent(int64_t id, const std::string& provider_message_id, int64_t now_ms) = 0;
  virtual Status MarkRetry(int64_t id, int64_t next_attempt_ms, const std::string& error, int64_t now_ms) = 0;
  virtual Status MarkFailed(int64_t id, const std::string& error, int64_t now_ms) = 0;
  // Every reply on `channel` waiting out a backoff becomes due now (our account works again).
  virtual Status RetryNow(Channel channel, int64_t now_ms) = 0;
  // After a crash: items left in flight go back to pending. Returns how many.
  virtual Result<int> RequeueInFlight(int64_t now_ms) = 0;
};

}  // namespace bot



namespace bot {

struct ContentVersion {
  int64_t id = 0;
  std::string author;
  std::string message;
  std::string document;  // the whole content document, JSON
  int64_t created_at = 0;
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;
  // The newest published version; kNotFound when none was ever published.
  virtual Result<ContentVersion> LatestContent() = 0;
  virtual Result<ContentVersion> ContentVersionById(int64_t id) = 0;
  virtual Result<int64_t> PublishContent(const std::string& author, const std::string& message,
                                         const std::string& document, int64_t now_ms) = 0;
  virtual Result<std::string> GetSetting(const std::string& key) = 0;  // kNotFound if unset
  virtual Status PutSetting(const std::string& key, const std::string& value) = 0;
};

}  // namespace bot
#endif  // BOT_CORE_PORTS_H_
