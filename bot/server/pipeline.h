// The message pipeline behind the webhook:
//
//   webhook ─► IngestWriter ──(one transaction, one fsync per batch of requests)──► messages
//                                                                                  │ pending
//   Processor: ordinary lane + urgent lane ─► conversation ─► CommitTurn ──────────► outbox
//                                                                                  │ due
//   Sender threads ─► Graph API (throttled per number, retried with backoff) ─► sent/failed
//
// Each stage only reads what the previous one committed, so a crash anywhere loses nothing: a
// message is pending until its turn commits, and a reply is pending or in flight until Meta
// accepted it (in-flight items are sent again after a crash: the only duplicate window).
#ifndef BOT_SERVER_PIPELINE_H_
#define BOT_SERVER_PIPELINE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bot/channels/outbound.h"
#include "bot/content/content.h"
#include "bot/server/decision_cache.h"
#include "bot/core/clock.h"
#include "bot/core/metrics.h"
#include "bot/server/graph_client.h"
#include "bot/server/ingest_pressure.h"
#include "db/sqlite_store.h"

namespace bot::server {

// What a person is told when their case reaches queue `q`: who will answer and within what time
// (or when the desk opens), in their language.
std::string HandoffText(const content::Snapshot& snapshot, const Queue& q, const std::string& lang, int64_t now_ms);

// Content currently published; swapped atomically, read without locks by the pipeline.
class ContentHolder {
 public:
  std::shared_ptr<const content::Snapshot> Get() const { return std::atomic_load(&snapshot_); }
  void Set(std::shared_ptr<const content::Snapshot> s) { std::atomic_store(&snapshot_, std::move(s)); }

 private:
  std::shared_ptr<const content::Snapshot> snapshot_;
};

// Group commit: request threads hand their webhook batches here and wait; one writer thread
// stores everything waiting in one transaction and then releases all of them.
class IngestWriter {
 public:
  // `pressure` (may be null) hears the size of every group commit.
  // on_stored(urgent): after each group commit; `urgent` when it stored a message with an urgent hint.
  // annotate (may be empty): called on the writer thread for each batch before it is stored; the
  // server classifies the messages there (their urgent hints), off the request threads.
  IngestWriter(InboundStore& store, const Clock& clock, std::function<void(bool urgent)> on_stored,
               IngestPressure* pressure = nullptr, std::function<void(WebhookBatch&)> annotate = {});
  ~IngestWriter();
  // Blocks until the batch is durably stored; per message, whether it was new.
  Result<std::vector<bool>> Store(WebhookBatch& batch);
  void Stop();

 private:
  struct Request {
    WebhookBatch* batch;
    std::promise<Result<std::vector<bool>>> done;
  };
  void Run();

  InboundStore& store_;
  const Clock& clock_;
  std::function<void(bool urgent)> on_stored_;
  IngestPressure* pressure_;
  std::function<void(WebhookBatch&)> annotate_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Request*> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

struct PipelineOptions {
  int sender_threads = 4;
  double send_rate_per_number = 80;  // messages per second per sending number
  int64_t retry_base_ms = 1000;
  int64_t retry_max_ms = 10 * 60 * 1000;
  // A reply that still cannot be sent this long after it was queued is given up (WhatsApp's
  // window has closed by then; Meta would refuse it anyway).
  int64_t give_up_after_ms = 24LL * 3600 * 1000;
  bool dev = false;
};

// How many contacts' turns the ordinary lane commits in one transaction.
inline constexpr size_t kTurnBatch = 16;
// The urgent lane's batches are smaller: the first reply of a batch waits for the others' turns.
inline constexpr size_t kUrgentTurnBatch = 8;

// A message whose turn has failed this many times is set aside (marked failed and handed to
// officers) once other messages' turns have gone through meanwhile, so the fault is this
// message's and not the database's; or, if nothing else went through, once it has been failing
// for kSetAsideAfterMs.
inline constexpr int kSetAsideAfterFailures = 5;
inline constexpr int64_t kSetAsideAfterMs = 5 * 60 * 1000;

// Runs conversations for pending messages: an ordinary lane and an urgent lane, each contact
// handled by one lane at a time, in order.
class Processor {
 public:
  // `decisions` (may be null) holds the classifications made at ingest; while `ingest` (may be
  // null) reports webhooks queueing, the ordinary lane pauses between its batches.
  Processor(db::SqliteStore& store, const ContentHolder& content, const Clock& clock, Metrics& metrics,
            std::function<void()> on_committed, DecisionCache* decisions = nullptr,
            const IngestPressure* ingest = nullptr);
  ~Processor();
  void Start();
  void Stop();   // finishes the message in hand, then returns
  void Wake();
  // A message with an urgent hint was stored: the ordinary lane lets the urgent lane have the
  // database before its next batch.
  void UrgentStored();

 private:
  void Lane(bool urgent);
  void WaitWhileUrgentPending();
  bool IngestSaturated() const;
  void PauseWhileIngestSaturated();
  // Processes one contact's messages in order; the ids of those whose turns went through are
  // added to `done`. `in_batch`: inside RunBatch (nothing is durable until the batch commits).
  Status ProcessContactMessages(const std::vector<PendingInbound>& messages, bool in_batch, std::vector<int64_t>* done);
  // `stop`: the contact's other messages in hand must not be processed now (the turn erased the
  // contact, or found its message already handled or moved): they are loaded again.
  Status ProcessOne(const PendingInbound& p, bool* stop);
  // ProcessOne, with an exception turned into an error.
  Status ProcessGuarded(const PendingInbound& p, bool* stop);
  // The turns of messages `ids` are durable: other messages went through, and theirs are no
  // longer failing.
  void TurnsCommitted(const std::vector<int64_t>& ids);
  // Counts a failure of message `id`: whether it must now be set aside (kSetAsideAfterFailures).
  bool FailedTooOften(int64_t id);
  // Marks the message failed and hands it to officers, telling the person who will answer.
  Status SetAside(const PendingInbound& p, const Status& why);
  // SetAside's case change (the officer's case, or a new one) and its reply to the person.
  void PlanSetAside(const PendingInbound& p, const Status& why, int64_t now, Turn* turn);

  db::SqliteStore& store_;
  const ContentHolder& content_;
  const Clock& clock_;
  Metrics& metrics_;
  std::function<void()> on_committed_;
  DecisionCache* decisions_;
  const IngestPressure* ingest_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::set<int64_t> busy_contacts_;
  uint64_t wake_seq_ = 0;
  // Urgent stores seen, and the count the urgent lane had seen when it last found nothing to do:
  // while they differ, urgent messages may be waiting.
  std::atomic<uint64_t> urgent_stored_{0};
  std::atomic<uint64_t> urgent_drained_{0};
  std::atomic<bool> running_{false};
  std::vector<std::thread> threads_;
  // Messages whose turns keep failing (a poison message must not be retried forever, holding
  // back the person's later messages): failures so far, and the turns committed and the time
  // at the first one.
  struct Failures {
    int count = 0;
    uint64_t turns_committed_then = 0;
    int64_t first_ms = 0;
  };
  std::mutex failures_mutex_;
  std::map<int64_t, Failures> failures_;
  std::atomic<uint64_t> turns_committed_{0};
};

// Delivers the outbox.
class Sender {
 public:
  Sender(db::SqliteStore& store, GraphConfig graph, PipelineOptions options, const Clock& clock, Metrics& metrics);
  ~Sender();
  void Start();
  void Stop();  // lets requests in flight finish
  void Wake();

 private:
  void Run(int index);
  void Deliver(GraphClient& client, const OutboxItem& item);
  void Throttle(const std::string& business_id);
  channels::SendOutcome NotifyPartner(const OutboxItem& item);

  db::SqliteStore& store_;
  GraphConfig graph_;
  PipelineOptions options_;
  const Clock& clock_;
  Metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t wake_seq_ = 0;
  std::atomic<bool> running_{false};
  std::vector<std::thread> threads_;
  std::mutex throttle_mutex_;
  std::map<std::string, std::pair<double, int64_t>> buckets_;  // business id → (tokens, last ms)
  // Channels whose sends Meta refused for our account's sake (bit per Channel): the next
  // successful send there means it was fixed, and the replies backing off need not wait.
  std::atomic<unsigned> account_refused_{0};
};

}  // namespace bot::server

#endif  // BOT_SERVER_PIPELINE_H_
