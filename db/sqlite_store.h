// SQLite implementation of the storage ports (bot/core/ports.h).
#ifndef DB_SQLITE_STORE_H_
#define DB_SQLITE_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bot/core/escalation.h"
#include "bot/core/ports.h"

namespace bot::db {

class Database;

class SqliteStore final : public InboundStore,
                          public ConversationStore,
                          public OutboxStore,
                          public ContentStore,
                          public EscalationStore {
 public:
  struct Options {
    std::string path;
    std::string synchronous = "FULL";
    // The SQLCipher key. Unset: DatabaseKeyFromEnvironment() (RAHNAMA_DB_KEY or
    // RAHNAMA_DB_KEY_FILE), so every entry point (serve, backup, restore, user add) follows one
    // rule. Empty: no encryption.
    std::optional<std::string> key;
    // Refuse a file that is not already a rahnama database (kInvalidArgument) instead of creating
    // the schema in it: a restore from an empty or foreign file would replace every message.
    bool require_existing_schema = false;
  };
  // Opens, checks integrity and migrates. kConflict if the schema is newer than the binary;
  // kInvalidArgument when the key is missing (SQLCipher build), given to a build without
  // SQLCipher, or wrong ("database key is wrong or the file is not a rahnama database").
  static Result<std::unique_ptr<SqliteStore>> Open(const Options& options);
  // An online, consistent copy of the database at `db_path` written to `to_path`, without
  // migrating or otherwise changing the source (a newer binary must not migrate the database
  // under a running older server); the copy is integrity-checked, and encrypted with the same
  // key as the source (`key` as in Options).
  static Status BackupFile(const std::string& db_path, const std::string& to_path,
                           const std::optional<std::string>& key = std::nullopt);
  ~SqliteStore() override;

  // InboundStore
  Result<std::vector<std::vector<bool>>> StoreWebhooks(std::span<const WebhookBatch* const> batches,
                                                       int64_t now_ms) override;

  // ConversationStore
  Result<std::vector<bot::PendingInbound>> LoadPending(int limit) override;
  // Pending messages of contacts that have an urgent one pending (the urgent lane).
  Result<std::vector<bot::PendingInbound>> LoadPendingUrgent(int limit);
  Result<ConversationState> LoadConversation(int64_t contact_id) override;
  Result<int64_t> CommitTurn(const Turn& turn, int64_t now_ms) override;
  // A message no turn can process: marked 'failed' with `error` instead of 'processed', and its
  // case change and replies (turn.case_change, turn.replies: who will read it and what the person
  // is told) written in the same transaction. kTurnRepeated when it is no longer pending.
  Result<int64_t> SetAsideMessage(const Turn& turn, const std::string& error, int64_t now_ms);
  // Runs `work` on this thread as one batch: the store's writes inside it (each still atomic on
  // its own, as a savepoint) are committed together at the end, or all rolled back when `work`
  // fails. Other users of the store wait until the batch ends: keep batches short.
  Status RunBatch(const std::function<Status()>& work);

  // OutboxStore
  Result<std::vector<OutboxItem>> ClaimDue(int64_t now_ms, int limit) override;
  Status MarkSent(int64_t id, const std::string& provider_message_id, int64_t now_ms) override;
  Status MarkRetry(int64_t id, int64_t next_attempt_ms, const std::string& error, int64_t now_ms) override;
  Status RetryNow(Channel channel, int64_t now_ms) override;
  Status MarkFailed(int64_t id, const std::string& error, int64_t now_ms) override;
  Result<int> RequeueInFlight(int64_t now_ms) override;

  // ContentStore
  Result<ContentVersion> LatestContent() override;
  Result<ContentVersion> ContentVersionById(int64_t id) override;
  Result<int64_t> PublishContent(const std::string& author, const std::string& message,
                                 const std::string& document, int64_t now_ms) override;
  Result<std::string> GetSetting(const std::string& key) override;
  Status PutSetting(const std::string& key, const std::string& value) override;

  // EscalationStore
  Result<std::vector<Queue>> Queues() override;
  Result<Queue> QueueById(const std::string& id) override;
  Status PutQueue(const Queue& q, int64_t now_ms) override;
  Result<std::vector<RoutingRule>> RoutingRules() override;
  Status ReplaceRoutingRules(const std::vector<RoutingRule>& rules) override;
  Result<std::vector<Case>> ListCases(const CaseFilter& filter) override;
  Result<Case> CaseById(int64_t id) override;
  Result<std::vector<Case>> OpenCasesOf(int64_t contact_id) override;
  Status UpdateCase(const Case& c, int64_t now_ms) override;
  // Writes `c` only if the case still has the status, assignee and queue `seen` had when the
  // officer's action read it (another officer, or an account change, may have moved it since), and
  // a claimed case's assignee is an enabled account: kConflict otherwise.
  Status UpdateCaseIf(const Case& seen, const Case& c, int64_t now_ms);
  // UpdateCaseIf, the messages to the person and (when `human_mode`) the case's human mode, in one
  // transaction: a case never records a first response, a claim notice or a resolution whose
  // message to the person was not queued, and a refused write queues nothing.
  Status UpdateCaseIfAndTell(const Case& seen, const Case& c, const std::vector<OutboundRecord>& messages,
                             bool human_mode, int64_t now_ms);
  Status AddNote(int64_t case_id, const std::string& author, const std::string& body, int64_t now_ms) override;
  Result<int64_t> AddUser(const User& u, int64_t now_ms) override;
  Result<User> UserByName(const std::string& username) override;
  Result<std::vector<User>> Users() override;
  Status UpdateUserLogin(int64_t user_id, int failed_logins, int64_t locked_until) override;
  Status CreateSession(const std::string& token_hash, int64_t user_id, const std::string& password_hash,
                       const std::string& csrf, int64_t now_ms, int64_t expires_at) override;
  Result<Session> SessionByTokenHash(const std::string& token_hash, int64_t now_ms) override;
  Status DeleteSession(const std::string& token_hash) override;
  Status Audit(const std::string& actor, const std::string& action, const std::string& target,
               const std::string& details_json, int64_t now_ms) override;
  Result<std::vector<AuditEntry>> AuditLog(int limit, int64_t before_id) override;
  Result<ReportData> Report(int64_t from_ms, int64_t to_ms) override;
  // A signed notification to the case's partner, through the outbox (sent by the partner lane).
  Status QueuePartnerNotification(int64_t case_id, const std::string& payload_json, int64_t now_ms);

  // Content management.
  struct Regression {
    int64_t id = 0;
    std::string text, intent, created_by;
    bool urgent = false;
  };
  Result<std::vector<Regression>> RegressionExamples();
  Result<int64_t> AddRegressionExample(const Regression& r, int64_t now_ms);
  Status DeleteRegressionExample(int64_t id);
  struct PublishRequest {
    int64_t id = 0;
    std::string author, message, document, status, decided_by;
    int64_t created_at = 0;
    int64_t base_version = 0;  // the published version the request was made against
    int64_t decided_at = 0;
    int64_t version_id = 0;    // what approving it published
    std::string reason;        // why it was rejected or withdrawn
    std::string kind = "publish";  // or "restore"
    std::string overrides = "[]";  // JSON: the regression failures its author overrode
  };
  // Uses r.author, message, document, base_version, kind, overrides and created_at.
  Result<int64_t> AddPublishRequest(const PublishRequest& r);
  Result<PublishRequest> PublishRequestById(int64_t id);
  // Newest first; `status` empty for every status. Documents included (the reviewer sees changes).
  Result<std::vector<PublishRequest>> PublishRequests(const std::string& status, int limit);
  // kConflict when the request is no longer pending (someone else decided first).
  Status DecidePublishRequest(int64_t id, const std::string& status, const std::string& decided_by, int64_t version_id,
                              const std::string& reason, int64_t now_ms);
  // Publishes the request's document as a new version and marks it approved, in one transaction
  // (never live content with its request still pending). Returns the version.
  Result<int64_t> PublishApprovedRequest(int64_t request_id, const std::string& approver, const std::string& message,
                                         int64_t now_ms);
  Result<std::vector<ContentVersion>> ContentVersions(int limit);  // newest first, without documents

  // Account changes by an admin (or by the person, for their own password). Fields left empty
  // stay as they are.
  struct AccountChange {
    std::optional<std::string> role, languages;
    std::optional<std::vector<std::string>> queues;
    std::optional<bool> disabled;
    std::optional<std::string> password_hash;  // also clears failed logins and the lockout
    bool revoke_sessions = false;
    bool revoke_if_role_changes = false;       // decided inside the transaction, against the stored role
    std::string keep_session;                  // token hash of a session that stays (one's own)
    std::string actor;                         // named in the note on each released case
  };
  // One transaction. kConflict when it would leave no enabled admin; kNotFound for an unknown
  // user; kInvalidArgument for an unknown queue. Returns the cases released back to their queue:
  // the account's claimed cases when it is disabled, or in queues it can no longer work (each gets a
  // note, so whoever picks it up knows why it is unassigned).
  Result<std::vector<int64_t>> ChangeAccount(const std::string& username, const AccountChange& change, int64_t now_ms);

  // Privacy.
  struct RetentionReport {
    int64_t messages_redacted = 0;
    int64_t cases_redacted = 0;
    int64_t outbox_deleted = 0;
  };
  static constexpr int kRetentionBatchRows = 5000;
  // Redacts message bodies older than `message_cutoff_ms` of people with no open case (rows and
  // their intent/language/day stay, for statistics), personal fields of cases resolved before
  // `case_cutoff_ms` (and deletes their notes), and delivered outbox rows older than the message
  // cutoff; one audit row records the counts. Works through each table in windows of
  // `batch_rows` consecutive rows, one transaction each, releasing the database mutex between
  // them so webhooks and officers wait at most one window (BENCHMARKS.md CR-8). A failure stops
  // the run with the windows done so far committed; running again finishes the job.
  // REQUIRES: batch_rows >= 1; the caller does not hold the database mutex.
  Result<RetentionReport> RunRetention(int64_t message_cutoff_ms, int64_t case_cutoff_ms, int64_t now_ms,
                                       int batch_rows = kRetentionBatchRows);
  // Irreversibly removes a person's messages, case details and identifiers; replies still queued
  // (the confirmation) are delivered and then deleted. The audit log keeps that it happened.
  // Whether someone has written to us from `address` on `channel` (erased contacts are not found).
  Result<bool> HasContact(const std::string& channel, const std::string& address);
  Status EraseContact(int64_t contact_id, const std::string& actor, int64_t now_ms);
  Result<int64_t> ContactOfCase(int64_t case_id);

  // Operations.
  Result<int> SchemaVersion();
  // Reads for /metrics, on a read-only connection of their own, never the store's mutex: a writer
  // holds that mutex while it waits (up to the busy timeout, again and again) on a file another
  // process has locked, and a scrape waiting behind it would time out, so RahnamaDown would fire
  // instead of the alert that says what is wrong (RahnamaMessagesWaiting). A reader in WAL mode is
  // not blocked by a writer's lock.
  Result<int64_t> OutboxBacklog();
  Result<int64_t> OldestPendingOutboxMillis(int64_t now_ms);
  // How long the oldest inbound message not yet processed has waited (0 when none).
  Result<int64_t> OldestPendingInboundMillis(int64_t now_ms);
  // The same for messages stored as possibly urgent (0 when none waits).
  Result<int64_t> OldestPendingUrgentInboundMillis(int64_t now_ms);
  // Queues() and ListCases(), for the overdue-cases gauge.
  Result<std::vector<Queue>> QueuesForMetrics();
  Result<std::vector<Case>> ListCasesForMetrics(const CaseFilter& filter);

 private:
  // The first column of `sql`'s first row, read on the metrics connection; none when there is no
  // row or it is NULL.
  Result<std::optional<int64_t>> OldestOnMetricsConnection(const char* sql);
  SqliteStore(std::unique_ptr<Database> db, std::unique_ptr<Database> metrics_db, bool durable_ingest);
  Result<std::vector<bot::PendingInbound>> Pending(int limit, bool urgent_contacts_only);
  // The id of the sender's contact row, created or brought up to date. REQUIRES: inside a
  // transaction holding the mutex.
  Result<int64_t> UpsertContact(const std::string& channel, const InboundMessage& m, int64_t now_ms, int64_t sent_ms);
  // A contact's WhatsApp phone number and business-scoped user id, as its address or an alias
  // ("" for one it has none of).
  struct KnownIds {
    std::string phone, bsuid;
  };
  Result<KnownIds> IdsOfContact(int64_t contact_id);
  // REQUIRES: inside a transaction holding the mutex.
  // The contact's address becomes `new_address` (a WhatsApp number change), with its pending
  // replies; not when another contact has that address already. Inside the caller's transaction.
  Status MoveContactAddress(int64_t contact_id, const std::string& new_address);
  // Deletes an outbox row once it is done with, if its person was erased (db mutex held).
  Status ForgetIfErased(int64_t outbox_id);
  // from_business_id: the number or page to send from; empty = the contact's latest.
  Status QueueReplies(int64_t contact_id, int64_t case_id, const std::vector<OutboundRecord>& replies, int64_t now_ms,
                      const std::string& from_business_id = "");
  // EraseContact's statements, inside the caller's transaction and lock.
  Status EraseContactLocked(int64_t contact_id, const std::string& actor, int64_t now_ms);
  Result<int64_t> ApplyCaseChange(int64_t contact_id, int64_t message_id, const CaseChange& change, int64_t now_ms);
  // REQUIRES: holding the mutex. `seen` null: unconditional.
  Status WriteCase(const Case& c, const Case* seen, int64_t now_ms);
  std::unique_ptr<Database> db_;
  std::unique_ptr<Database> metrics_db_;  // reads only (see OutboxBacklog)
  // synchronous=FULL only where durability is promised (the ingest commit before the 200, and
  // the few writes officers and operators make); the pipeline's own commits run with NORMAL. Safe
  // in WAL mode: a commit that survives a power loss implies every earlier one did, so the next
  // ingest fsync makes them durable too; a lost turn is processed again, a lost MarkSent is the
  // accepted in-flight duplicate window.
  bool durable_ingest_ = true;
};

}  // namespace bot::db

#endif  // DB_SQLITE_STORE_H_
