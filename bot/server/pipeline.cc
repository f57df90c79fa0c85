// Ingest writer, processor lanes and outbox sender.
#include "bot/server/pipeline.h"

#include <random>

#include "bot/channels/outbound.h"
#include "bot/conversation/conversation.h"
#include "bot/core/log.h"

namespace bot::server {

// ---------------------------------------------------------------------------------------------
// IngestWriter

IngestWriter::IngestWriter(db::SqliteStore& store, const Clock& clock, std::function<void()> on_stored)
    : store_(store), clock_(clock), on_stored_(std::move(on_stored)) {
  thread_ = std::thread([this] { Run(); });
}

IngestWriter::~IngestWriter() { Stop(); }

void IngestWriter::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::vector<bool>> IngestWriter::Store(const WebhookBatch& batch) {
  Request req{&batch, {}};
  auto fut = req.done.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Status::Unavailable("shutting down");
    queue_.push_back(&req);
  }
  cv_.notify_one();
  return fut.get();
}

void IngestWriter::Run() {
  while (true) {
    std::deque<Request*> work;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      work.swap(queue_);
    }
    std::vector<const WebhookBatch*> batches;
    batches.reserve(work.size());
    for (Request* r : work) batches.push_back(r->batch);
    auto stored = store_.StoreWebhooks(batches, clock_.NowMillis());
    for (size_t i = 0; i < work.size(); ++i) {
      if (stored.ok()) work[i]->done.set_value((*stored)[i]);
      else work[i]->done.set_value(stored.status());
    }
    if (!stored.ok()) log::Error("ingest_failed", {{"error", stored.status().ToString()}});
    if (on_stored_) on_stored_();
  }
}

// ---------------------------------------------------------------------------------------------
// Processor

namespace {

struct QueueInfo {
  const char* partner;
  const char* sla_en;
};

// Until queues are data (escalation issue), the partner names people see.
QueueInfo QueueFor(const std::string& queue) {
  if (queue == "unhcr_protection") return {"UNHCR", "15 minutes"};
  if (queue == "iom") return {"IOM", "24 hours"};
  return {"the information desk", "24 hours"};
}

}  // namespace

Processor::Processor(db::SqliteStore& store, const ContentHolder& content, const Clock& clock, Metrics& metrics,
                     std::function<void()> on_committed)
    : store_(store), content_(content), clock_(clock), metrics_(metrics), on_committed_(std::move(on_committed)) {}

Processor::~Processor() { Stop(); }

void Processor::Start() {
  running_ = true;
  threads_.emplace_back([this] { Lane(false); });
  threads_.emplace_back([this] { Lane(true); });
}

void Processor::Stop() {
  if (!running_.exchange(false)) return;
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Processor::Wake() {
  {
    std::lock_guard lock(mutex_);
    ++wake_seq_;
  }
  cv_.notify_all();
}

void Processor::Lane(bool urgent) {
  while (running_) {
    uint64_t seen;
    {
      std::lock_guard lock(mutex_);
      seen = wake_seq_;
    }
    auto pending = urgent ? store_.LoadPendingUrgent(64) : store_.LoadPending(64);
    if (!pending.ok()) {
      log::Error("pending_load_failed", {{"error", pending.status().ToString()}});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    // Group by contact, keeping each contact's order; skip contacts the other lane holds.
    std::vector<int64_t> order;
    std::map<int64_t, std::vector<PendingInbound>> by_contact;
    for (auto& p : *pending) {
      if (!by_contact.count(p.contact.id)) order.push_back(p.contact.id);
      by_contact[p.contact.id].push_back(std::move(p));
    }
    bool did_work = false;
    for (int64_t contact : order) {
      if (!running_) return;
      {
        std::lock_guard lock(mutex_);
        if (busy_contacts_.count(contact)) continue;
        busy_contacts_.insert(contact);
      }
      Status s = ProcessContactMessages(by_contact[contact]);
      {
        std::lock_guard lock(mutex_);
        busy_contacts_.erase(contact);
      }
      if (!s.ok()) {
        log::Error("turn_failed", {{"error", s.ToString()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      } else {
        did_work = true;
      }
      // The ordinary lane lets the urgent lane in between contacts.
    }
    if (did_work) continue;
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(urgent ? 50 : 250),
                 [&] { return !running_ || wake_seq_ != seen; });
  }
}

Status Processor::DrainOnce() {
  while (true) {
    auto pending = store_.LoadPending(256);
    if (!pending.ok()) return pending.status();
    if (pending->empty()) return Status::Ok();
    for (const auto& p : *pending) BOT_RETURN_IF_ERROR(ProcessOne(p));
  }
}

Status Processor::ProcessContactMessages(const std::vector<PendingInbound>& messages) {
  for (const auto& p : messages) BOT_RETURN_IF_ERROR(ProcessOne(p));
  if (on_committed_) on_committed_();
  return Status::Ok();
}

Status Processor::ProcessOne(const PendingInbound& p) {
  auto started = std::chrono::steady_clock::now();
  std::shared_ptr<const content::Snapshot> snapshot = content_.Get();  // this turn keeps its version
  auto state = store_.LoadConversation(p.contact.id);
  if (!state.ok()) return state.status();
  conversation::TurnInput in;
  in.state = *state;
  in.message = p.message;
  conversation::TurnOutput out = conversation::Converse(*snapshot, in);

  Turn turn;
  turn.message_id = p.message_id;
  turn.contact_id = p.contact.id;
  turn.intent = out.decision.intent;
  turn.language = out.language;
  turn.urgent = out.decision.urgent;
  turn.state = out.state;
  std::vector<OutboundMessage> replies = std::move(out.replies);
  if (out.open_case) {
    QueueInfo q = QueueFor(out.open_case->queue);
    OutboundMessage m;
    m.text = snapshot->Message("handoff", out.language, {{"partner", q.partner}, {"sla", q.sla_en}});
    m.urgent = out.open_case->priority == "urgent";
    if (!m.text.empty()) replies.push_back(std::move(m));
    metrics_.Add("rahnama_escalations_opened_total",
                 "queue=\"" + out.open_case->queue + "\",priority=\"" + out.open_case->priority + "\"");
  }
  for (auto& r : replies) {
    OutboundRecord rec;
    rec.payloads = channels::FormatOutbound(p.contact.channel, r, p.contact.address);
    rec.message = std::move(r);
    turn.replies.push_back(std::move(rec));
  }
  BOT_RETURN_IF_ERROR(store_.CommitTurn(turn, clock_.NowMillis()));
  metrics_.Add("rahnama_messages_classified_total",
               "intent=\"" + turn.intent + "\",language=\"" + (turn.language.empty() ? "none" : turn.language) + "\"");
  metrics_.Observe("rahnama_turn_seconds", "",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  log::Info("turn", {{"contact", log::Mask(p.contact.address)},
                     {"intent", turn.intent},
                     {"language", turn.language},
                     {"urgent", turn.urgent ? "true" : "false"},
                     {"replies", std::to_string(turn.replies.size())}});
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Sender

Sender::Sender(db::SqliteStore& store, GraphConfig graph, PipelineOptions options, const Clock& clock, Metrics& metrics)
    : store_(store), graph_(std::move(graph)), options_(options), clock_(clock), metrics_(metrics) {}

Sender::~Sender() { Stop(); }

void Sender::Start() {
  running_ = true;
  for (int i = 0; i < options_.sender_threads; ++i) threads_.emplace_back([this, i] { Run(i); });
}

void Sender::Stop() {
  if (!running_.exchange(false)) return;
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Sender::Wake() {
  {
    std::lock_guard lock(mutex_);
    ++wake_seq_;
  }
  cv_.notify_all();
}

void Sender::Throttle(const std::string& business_id) {
  if (options_.send_rate_per_number <= 0) return;
  while (running_) {
    int64_t wait_ms = 0;
    {
      std::lock_guard lock(throttle_mutex_);
      auto& [tokens, last] = buckets_.try_emplace(business_id, options_.send_rate_per_number, clock_.NowMillis())
                                 .first->second;
      const int64_t now = clock_.NowMillis();
      tokens = std::min(options_.send_rate_per_number,
                        tokens + static_cast<double>(now - last) * options_.send_rate_per_number / 1000.0);
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      wait_ms = static_cast<int64_t>((1 - tokens) * 1000.0 / options_.send_rate_per_number) + 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

void Sender::Run(int index) {
  GraphClient client(graph_);
  while (running_) {
    uint64_t seen;
    {
      std::lock_guard lock(mutex_);
      seen = wake_seq_;
    }
    auto items = store_.ClaimDue(clock_.NowMillis(), 1);
    if (!items.ok()) {
      log::Error("outbox_claim_failed", {{"error", items.status().ToString()}, {"thread", std::to_string(index)}});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (items->empty()) {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return !running_ || wake_seq_ != seen; });
      continue;
    }
    for (const OutboxItem& item : *items) Deliver(client, item);
  }
}

void Sender::Deliver(GraphClient& client, const OutboxItem& item) {
  Throttle(item.business_id);
  auto started = std::chrono::steady_clock::now();
  HttpReply reply = client.Send(item.channel, item.business_id, item.payload);
  metrics_.Observe("rahnama_send_seconds", "", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  channels::SendOutcome outcome = channels::ClassifySendResponse(reply.network_error, reply.status, reply.body);
  const int64_t now = clock_.NowMillis();
  Status s;
  switch (outcome.kind) {
    case channels::SendOutcome::Kind::kSent:
      s = store_.MarkSent(item.id, outcome.message_id, now);
      metrics_.Add("rahnama_messages_sent_total", "channel=\"" + std::string(ChannelName(item.channel)) + "\"");
      break;
    case channels::SendOutcome::Kind::kRetry: {
      metrics_.Add("rahnama_send_failures_total", "code=\"" + std::to_string(outcome.error_code) + "\"");
      if (item.attempts >= options_.max_attempts) {
        s = store_.MarkFailed(item.id, "gave up after " + std::to_string(item.attempts) + " attempts: " + outcome.error, now);
        break;
      }
      // Exponential backoff with ±25 % jitter, so a recovering Graph API is not hit in lockstep.
      thread_local std::mt19937_64 rng(std::random_device{}());
      double backoff = static_cast<double>(options_.retry_base_ms) * std::pow(2.0, item.attempts - 1);
      backoff = std::min(backoff, static_cast<double>(options_.retry_max_ms));
      backoff *= std::uniform_real_distribution<double>(0.75, 1.25)(rng);
      s = store_.MarkRetry(item.id, now + static_cast<int64_t>(backoff), outcome.error, now);
      log::Warn("send_retry", {{"outbox", std::to_string(item.id)}, {"error", outcome.error},
                               {"attempt", std::to_string(item.attempts)}});
      break;
    }
    case channels::SendOutcome::Kind::kFailed:
      metrics_.Add("rahnama_send_failures_total", "code=\"" + std::to_string(outcome.error_code) + "\"");
      s = store_.MarkFailed(item.id, outcome.error, now);
      log::Warn("send_failed", {{"outbox", std::to_string(item.id)}, {"error", outcome.error}});
      break;
  }
  if (!s.ok()) log::Error("outbox_update_failed", {{"error", s.ToString()}});
}

}  // namespace bot::server
