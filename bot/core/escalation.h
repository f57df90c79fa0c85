// Escalation domain types and the storage port for queues, cases, officers and the audit log.
#ifndef BOT_CORE_ESCALATION_H_
#define BOT_CORE_ESCALATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bot/core/message.h"
#include "bot/core/status.h"

namespace bot {

struct Queue {
  std::string id;
  std::string partner;
  std::string contact_fact;
  int sla_minutes = 0;
  std::string webhook_url;
  std::string webhook_secret;
  std::string hours;  // "1-5 08:00-17:00 +0500", or "" for always open
};

struct RoutingRule {
  int64_t id = 0;
  int position = 0;
  std::string intent;   // "" = any
  std::optional<bool> urgent;
  std::string entity;   // "" = any
  std::string queue;
  std::string priority;
};

struct CaseMessage {
  int64_t id = 0;
  std::string direction;  // "in" / "out"
  std::string author;     // "person", "bot", "officer:<name>"
  std::string kind;
  std::string body;
  std::string status;
  std::string payload;    // media ids etc., JSON
  int64_t created_at = 0;
};

struct CaseNote {
  std::string author;
  std::string body;
  int64_t created_at = 0;
};

struct Case {
  int64_t id = 0;
  int64_t contact_id = 0;
  std::string queue;
  std::string priority;
  std::string status;
  std::string intent;
  std::string language;
  std::string assignee;
  std::string consent;
  std::string intake;    // JSON object
  std::string entities;  // JSON object
  std::string outcome;
  int64_t opened_at = 0;
  int64_t first_response_at = 0;
  int64_t resolved_at = 0;
  int64_t last_message_at = 0;
  Channel channel = Channel::kWhatsApp;
  std::string contact_address;
  std::string contact_name;
  int64_t contact_last_inbound_ms = 0;
  std::string referred_from;      // the queue it came from, if an officer referred it
  int64_t queue_since = 0;        // when it entered its current queue: the service-level clock
  int64_t queue_response_at = 0;  // the first officer reply since then (0: none yet)
  bool human_mode = false;        // an officer replied: the bot stays quiet until the person asks for it
  int64_t safety_reply_at = 0;    // when the person was sent the full safety reply for it (0: never)
  // In human mode the bot is silent, so a message the person sends after the officer's last reply
  // waits for a human: when the oldest such message came (0: none; "thanks" alone does not count).
  // An urgent message does so also outside human mode, once an officer has answered the case (the
  // bot's safety reply is not the officer's).
  int64_t awaiting_reply_since = 0;
  std::vector<CaseMessage> messages;  // filled by CaseById
  std::vector<CaseNote> notes;
};

struct CaseFilter {
  std::vector<std::string> queues;  // empty = all
  std::string status;               // "" = not resolved
  std::string priority;
  std::string language;
  int64_t id = 0;  // one case (the console's unaudited polling), 0 = any
  int limit = 200;
};

struct User {
  int64_t id = 0;
  std::string username;
  std::string role;  // admin | operator | officer
  std::string password_hash;
  std::vector<std::string> queues;
  std::string languages;
  bool disabled = false;
  int failed_logins = 0;
  int64_t locked_until = 0;
};

struct Session {
  User user;
  std::string csrf_token;
  int64_t expires_at = 0;
};

struct AuditEntry {
  int64_t id = 0;
  int64_t at = 0;
  std::string actor;
  std::string action;
  std::string target;
  std::string details;  // JSON
};

// Aggregates for supervisors and partner reports: counts only, no personal data.
struct ReportData {
  struct Daily {
    std::string day;  // YYYY-MM-DD (UTC)
    std::string language;
    std::string channel;
    int64_t count = 0;
  };
  struct CaseTiming {
    std::string day;
    std::string queue;
    std::string priority;
    int64_t opened_at = 0;
    int64_t first_response_at = 0;  // 0 = no human response yet
  };
  std::vector<Daily> inbound_per_day;
  std::vector<std::pair<std::string, int64_t>> intents;  // processed inbound messages by intent
  std::vector<CaseTiming> cases_opened;
};

class EscalationStore {
 public:
  virtual ~EscalationStore() = default;
  virtual Result<std::vector<Queue>> Queues() = 0;
  virtual Result<Queue> QueueById(const std::string& id) = 0;
  virtual Status PutQueue(const Queue& q, int64_t now_ms) = 0;
  virtual Result<std::vector<RoutingRule>> RoutingRules() = 0;
  virtual Status ReplaceRoutingRules(const std::vector<RoutingRule>& rules) = 0;

  virtual Result<std::vector<Case>> ListCases(const CaseFilter& filter) = 0;
  // With messages and notes. kNotFound when there is no such case.
  virtual Result<Case> CaseById(int64_t id) = 0;
  // The open (not resolved) cases of a contact, newest first.
  virtual Result<std::vector<Case>> OpenCasesOf(int64_t contact_id) = 0;
  // Applies an officer's change to a case; `expect_status` guards against races ("" = any).
  virtual Status UpdateCase(const Case& c, int64_t now_ms) = 0;
  virtual Status AddNote(int64_t case_id, const std::string& author, const std::string& body, int64_t now_ms) = 0;

  virtual Result<int64_t> AddUser(const User& u, int64_t now_ms) = 0;
  virtual Result<User> UserByName(const std::string& username) = 0;
  virtual Result<std::vector<User>> Users() = 0;
  virtual Status UpdateUserLogin(int64_t user_id, int failed_logins, int64_t locked_until) = 0;
  // Only while the account is enabled and still has `password_hash` (the one the login verified):
  // a password reset or a disable between the check and this call leaves no session behind.
  virtual Status CreateSession(const std::string& token_hash, int64_t user_id, const std::string& password_hash,
                               const std::string& csrf, int64_t now_ms, int64_t expires_at) = 0;
  virtual Result<Session> SessionByTokenHash(const std::string& token_hash, int64_t now_ms) = 0;
  virtual Status DeleteSession(const std::string& token_hash) = 0;

  virtual Status Audit(const std::string& actor, const std::string& action, const std::string& target,
                       const std::string& details_json, int64_t now_ms) = 0;
  virtual Result<std::vector<AuditEntry>> AuditLog(int limit, int64_t before_id) = 0;
  // Inbound messages and cases between from_ms (inclusive) and to_ms (exclusive).
  virtual Result<ReportData> Report(int64_t from_ms, int64_t to_ms) = 0;
};

}  // namespace bot

#endif  // BOT_CORE_ESCALATION_H_
