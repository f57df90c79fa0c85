// Retention in bounded batches (BENCHMARKS.md CR-8): RunRetention over many more rows than one
// batch redacts exactly what the old single-transaction statements did, counts exactly, writes one
// audit row per run, and lets other writers in between its batches.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "db/sqlite_store.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kNow = 1767225600000;  // 2026-01-01
constexpr int64_t kMessageCutoff = kNow - 90 * kDay;
constexpr int64_t kCaseCutoff = kNow - 180 * kDay;
constexpr int64_t kOld = kNow - 200 * kDay;     // before both cutoffs
constexpr int64_t kRecent = kNow - 10 * kDay;   // after both

// Runs `sql` on the file with the SQLite API (keyed on a SQLCipher build, as the suite's other
// raw probes are); returns every row's columns joined by '|', one row a line.
std::string Raw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return "<cannot open>";
  }
#ifdef RAHNAMA_SQLCIPHER
  if (const char* key = std::getenv("RAHNAMA_DB_KEY")) sqlite3_key(db, key, static_cast<int>(std::strlen(key)));
#endif
  sqlite3_busy_timeout(db, 5000);
  std::string out;
  const char* tail = sql.c_str();
  while (tail != nullptr && *tail != '\0') {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
      out += std::string("<error: ") + sqlite3_errmsg(db) + ">";
      break;
    }
    if (st == nullptr) break;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* t = sqlite3_column_text(st, c);
        out += (c ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out += "\n";
    }
    if (rc != SQLITE_DONE) out += std::string("<error: ") + sqlite3_errmsg(db) + ">";
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

long RawInt(const std::string& path, const std::string& sql) {
  const std::string r = Raw(path, sql);
  return r.empty() || r[0] == '<' ? -1 : std::stol(r);
}

// What retention touches, row by row.
std::string Dump(const std::string& path) {
  return Raw(path,
             "SELECT 'm', id, body, payload, COALESCE(redacted_at, 'NULL') FROM messages ORDER BY id;"
             "SELECT 'c', id, intake, entities, COALESCE(outcome, 'NULL'), COALESCE(redacted_at, 'NULL') FROM cases ORDER BY id;"
             "SELECT 'n', id, case_id, body FROM case_notes ORDER BY id;"
             "SELECT 'o', id, state FROM outbox ORDER BY id;");
}

// The statements RunRetention ran in one transaction before CR-8: the reference result.
std::string OneTransactionRetention() {
  const std::string mc = std::to_string(kMessageCutoff), cc = std::to_string(kCaseCutoff), now = std::to_string(kNow);
  return "BEGIN;"
         "UPDATE messages SET body = '', payload = '{}', redacted_at = " + now + " WHERE created_at < " + mc +
         " AND redacted_at IS NULL AND contact_id NOT IN (SELECT contact_id FROM cases WHERE status != 'resolved') "
         "AND NOT (direction = 'in' AND status = 'pending') AND NOT (direction = 'out' AND status = 'queued');"
         "UPDATE cases SET intake = '{}', entities = '{}', outcome = CASE WHEN outcome IS NULL THEN NULL ELSE "
         "'[redacted]' END, redacted_at = " + now + " WHERE status = 'resolved' AND resolved_at < " + cc +
         " AND redacted_at IS NULL;"
         "DELETE FROM case_notes WHERE case_id IN (SELECT id FROM cases WHERE redacted_at IS NOT NULL);"
         "DELETE FROM outbox WHERE state IN ('sent', 'failed') AND updated_at < " + mc + ";"
         "COMMIT;";
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db::SqliteStore::Options o;
    o.path = path();
    o.synchronous = "NORMAL";
    auto s = db::SqliteStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  std::string path() const { return dir_.File("r.db"); }

  // One inbound message from `from` stored at `at`; its message and contact ids.
  std::pair<int64_t, int64_t> Receive(const std::string& from, int64_t at) {
    InboundMessage m;
    m.provider_id = "wamid.ret-" + std::to_string(++seq_);
    m.sender = from;
    m.text = "what I wrote, number " + std::to_string(seq_);
    WebhookBatch batch;
    batch.messages.push_back(m);
    const WebhookBatch* batches[] = {&batch};
    auto r = store_->StoreWebhooks(batches, at);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto pending = store_->LoadPending(100000);
    EXPECT_TRUE(pending.ok());
    for (const auto& p : *pending)
      if (p.message.provider_id == m.provider_id) return {p.message_id, p.contact.id};
    ADD_FAILURE() << "stored message not pending";
    return {0, 0};
  }
  // Processes it at `at` with `replies` queued replies and an optional case change; the case id.
  int64_t Process(std::pair<int64_t, int64_t> msg, int64_t at, int replies = 0,
                  std::optional<CaseChange> change = std::nullopt) {
    Turn t;
    t.message_id = msg.first;
    t.contact_id = msg.second;
    t.intent = "greeting";
    t.language = "en";
    for (int i = 0; i < replies; ++i) {
      OutboundRecord r;
      r.message.text = "our reply " + std::to_string(i);
      r.payloads = {"{\"text\":\"our reply\"}"};
      t.replies.push_back(r);
    }
    t.case_change = change;
    auto id = store_->CommitTurn(t, at);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }
  // Sends every due reply at `at`; the third to a recipient fails instead.
  void SendAll(int64_t at) {
    std::map<std::string, int> per_recipient;
    while (true) {
      auto items = store_->ClaimDue(at, 100);
      ASSERT_TRUE(items.ok());
      if (items->empty()) return;
      for (const auto& it : *items) {
        if (++per_recipient[it.recipient] == 3) ASSERT_TRUE(store_->MarkFailed(it.id, "131047", at).ok());
        else ASSERT_TRUE(store_->MarkSent(it.id, "wamid.out-" + std::to_string(it.id), at).ok());
      }
    }
  }
  CaseChange OpenCase() {
    CaseChange c;
    c.open = true;
    c.queue = "info_desk";
    c.priority = "normal";
    c.intent = "human_agent";
    c.language = "en";
    c.intake_json = "{\"name\":\"a person's name\"}";
    c.entities_json = "{\"case_number\":\"AF-1234567\"}";
    return c;
  }
  void Resolve(int64_t case_id, int64_t at) {
    auto c = store_->CaseById(case_id);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    c->status = "resolved";
    c->outcome = "referred to the partner";
    c->resolved_at = at;
    ASSERT_TRUE(store_->UpdateCase(*c, at).ok());
  }

  // Six kinds of people, `rounds` of each, interleaved so every batch mixes them:
  //   0 no case; 3 old messages, 3 replies (2 sent, 1 failed): 6 messages and 3 outbox rows go
  //   1 an open case; 2 old messages: kept
  //   2 no case; 2 old messages, one still pending: 1 goes
  //   3 a case resolved before the case cutoff, with a note; 2 old messages: 2 go, the case and note go
  //   4 no case; 2 recent messages with replies still queued: kept
  //   5 a case resolved after the case cutoff, with a note; 2 old messages: 2 go, case and note stay
  void Populate(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      for (int kind = 0; kind < 6; ++kind) {
        const std::string who = "92300" + std::to_string(kind) + std::to_string(1000 + r);
        switch (kind) {
          case 0:
            for (int i = 0; i < 3; ++i) Process(Receive(who, kOld), kOld, 1);
            break;
          case 1:
            Process(Receive(who, kOld), kOld, 0, OpenCase());
            Process(Receive(who, kOld), kOld);
            break;
          case 2:
            Process(Receive(who, kOld), kOld);
            Receive(who, kOld);
            break;
          case 3:
          case 5: {
            const int64_t resolved = kind == 3 ? kOld : kNow - 30 * kDay;
            const int64_t id = Process(Receive(who, kOld), kOld, 0, OpenCase());
            Process(Receive(who, kOld), kOld);
            ASSERT_TRUE(store_->AddNote(id, "officer", "called them back", kOld).ok());
            Resolve(id, resolved);
            break;
          }
          case 4:
            break;  // below, after the old replies are sent
        }
      }
    }
    SendAll(kOld);
    for (int r = 0; r < rounds; ++r)
      for (int i = 0; i < 2; ++i) Process(Receive("923004" + std::to_string(1000 + r), kRecent), kRecent, 1);
  }

  TempDir dir_;
  std::unique_ptr<db::SqliteStore> store_;
  int seq_ = 0;
};

TEST_F(RetentionTest, BatchedRunRedactsExactlyWhatOneTransactionDidAndCountsExactly) {
  constexpr int kRounds = 6;
  Populate(kRounds);
  ASSERT_GT(RawInt(path(), "SELECT COUNT(*) FROM messages"), 100) << "many more rows than one batch of 7";

  // The reference: a copy, run through the old single-transaction statements.
  const std::string reference = dir_.File("reference.db");
  ASSERT_TRUE(db::SqliteStore::BackupFile(path(), reference).ok());
  ASSERT_EQ(Raw(reference, OneTransactionRetention()), "");

  auto report = store_->RunRetention(kMessageCutoff, kCaseCutoff, kNow, /*batch_rows=*/7);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->messages_redacted, kRounds * (6 + 1 + 2 + 2));
  EXPECT_EQ(report->cases_redacted, kRounds * 1);
  EXPECT_EQ(report->outbox_deleted, kRounds * 3);
  EXPECT_EQ(Dump(path()), Dump(reference)) << "the batched run must leave exactly what one transaction left";

  // Every eligible row redacted, nothing else touched.
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM messages WHERE redacted_at IS NOT NULL"), report->messages_redacted);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM messages WHERE redacted_at IS NOT NULL AND (body != '' OR payload != '{}')"), 0);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM messages WHERE redacted_at IS NULL AND body = '' AND direction = 'in'"), 0);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE "
                           "m.redacted_at IS NOT NULL AND (c.external_id LIKE '923001%' OR c.external_id LIKE '923004%')"), 0)
      << "people with an open case and recent messages keep theirs";
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM messages WHERE redacted_at IS NOT NULL AND status IN ('pending', 'queued')"), 0);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM messages WHERE redacted_at IS NULL AND created_at < " +
                               std::to_string(kMessageCutoff) + " AND status NOT IN ('pending', 'queued') AND contact_id "
                               "NOT IN (SELECT contact_id FROM cases WHERE status != 'resolved')"), 0);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM cases WHERE redacted_at IS NOT NULL AND intake = '{}' AND "
                           "entities = '{}' AND outcome = '[redacted]'"), kRounds);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM cases WHERE redacted_at IS NULL AND intake != '{}'"), 2 * kRounds);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM case_notes"), kRounds) << "notes of the recently resolved cases stay";
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"), 2 * kRounds);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM outbox WHERE state IN ('sent', 'failed')"), 0);

  // One audit row for the run, with the counts.
  EXPECT_EQ(Raw(path(), "SELECT details FROM audit_log WHERE action = 'retention_run'"),
            "{\"messages_redacted\":66,\"cases_redacted\":6,\"outbox_deleted\":18}\n");

  // A second run finds nothing left to do.
  const std::string before = Dump(path());
  auto again = store_->RunRetention(kMessageCutoff, kCaseCutoff, kNow + 1, 7);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->messages_redacted, 0);
  EXPECT_EQ(again->cases_redacted, 0);
  EXPECT_EQ(again->outbox_deleted, 0);
  EXPECT_EQ(Dump(path()), before);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM audit_log WHERE action = 'retention_run'"), 2);
}

TEST_F(RetentionTest, BatchSizesGiveTheSameResult) {
  Populate(2);
  const std::string copy = dir_.File("copy.db");
  ASSERT_TRUE(db::SqliteStore::BackupFile(path(), copy).ok());
  auto small = store_->RunRetention(kMessageCutoff, kCaseCutoff, kNow, 1);
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  db::SqliteStore::Options o;
  o.path = copy;
  o.synchronous = "NORMAL";
  auto other = db::SqliteStore::Open(o);
  ASSERT_TRUE(other.ok());
  auto large = (*other)->RunRetention(kMessageCutoff, kCaseCutoff, kNow);  // the default batch
  ASSERT_TRUE(large.ok()) << large.status().ToString();
  EXPECT_EQ(small->messages_redacted, large->messages_redacted);
  EXPECT_EQ(small->cases_redacted, large->cases_redacted);
  EXPECT_EQ(small->outbox_deleted, large->outbox_deleted);
  EXPECT_EQ(small->messages_redacted, 2 * 11);
  EXPECT_EQ(Dump(path()), Dump(copy));
  EXPECT_FALSE(store_->RunRetention(kMessageCutoff, kCaseCutoff, kNow, 0).ok()) << "a batch of 0 is refused";
}

TEST_F(RetentionTest, WebhooksAreStoredBetweenBatchesWhileRetentionRuns) {
  // 1,200 old messages in one webhook batch, processed: ~170 windows of 7.
  WebhookBatch batch;
  for (int i = 0; i < 1200; ++i) {
    InboundMessage m;
    m.provider_id = "wamid.bulk-" + std::to_string(i);
    m.sender = "92301" + std::to_string(100000 + i % 40);
    m.text = "an old message";
    batch.messages.push_back(m);
  }
  const WebhookBatch* batches[] = {&batch};
  ASSERT_TRUE(store_->StoreWebhooks(batches, kOld).ok());
  auto pending = store_->LoadPending(5000);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1200u);
  for (const auto& p : *pending) Process({p.message_id, p.contact.id}, kOld);

  std::atomic<bool> done{false};
  Result<db::SqliteStore::RetentionReport> report = Status::Internal("not run");
  std::thread retention([&] {
    report = store_->RunRetention(kMessageCutoff, kCaseCutoff, kNow, 7);
    done = true;
  });
  // Once the first batch is committed, a webhook gets in while the rest is still to do.
  const std::string redacted = "SELECT COUNT(*) FROM messages WHERE redacted_at IS NOT NULL";
  for (int waited = 0; RawInt(path(), redacted) <= 0 && waited < 10000; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto fresh = Receive("923019999999", kNow);
  const long redacted_when_stored = RawInt(path(), redacted);
  const bool finished_when_stored = done.load();
  retention.join();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->messages_redacted, 1200);
  EXPECT_FALSE(finished_when_stored);
  EXPECT_GT(redacted_when_stored, 0);
  EXPECT_LT(redacted_when_stored, 1200) << "the webhook waited for the whole run";
  EXPECT_NE(fresh.first, 0);
  EXPECT_EQ(RawInt(path(), "SELECT COUNT(*) FROM messages WHERE redacted_at IS NULL"), 1) << "the new message stays";
}

}  // namespace
}  // namespace bot::testing
