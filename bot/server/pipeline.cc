// Ingest writer, processor lanes and outbox sender.
#include "bot/server/pipeline.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "bot/channels/outbound.h"
#include "bot/channels/signature.h"
#include "bot/conversation/conversation.h"
#include "bot/core/log.h"
#include "bot/escalation/routing.h"
#include "db/database.h"
#include "intents/entities.h"

#include <nlohmann/json.hpp>

namespace bot::server {

// ---------------------------------------------------------------------------------------------
// IngestWriter

IngestWriter::IngestWriter(InboundStore& store, const Clock& clock, std::function<void(bool urgent)> on_stored,
                           IngestPressure* pressure, std::function<void(WebhookBatch&)> annotate)
    : store_(store), clock_(clock), on_stored_(std::move(on_stored)), pressure_(pressure), annotate_(std::move(annotate)) {
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

Result<std::vector<bool>> IngestWriter::Store(WebhookBatch& batch) {
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

namespace {


// Names the calling thread (top -H, perf, /proc/<pid>/task/*/comm show it).
void NameThread(const char* name) { pthread_setname_np(pthread_self(), name); }

// The lanes' label on their metrics.
const char* LaneLabel(bool urgent) { return urgent ? "lane=\"urgent\"" : "lane=\"ordinary\""; }

}  // namespace

void IngestWriter::Run() {
  NameThread("ingest-writer");
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
    // A throw would stop the server with the requests unanswered, and Meta's redelivery would
    // stop it again: the batch is refused (503, Meta retries) instead.
    auto stored = CatchExceptions("storing the webhooks", [&] {
      if (annotate_)
        for (Request* r : work) annotate_(*r->batch);
      return store_.StoreWebhooks(batches, clock_.NowMillis());
    });
    // Read before the requests are released: their batches die with them.
    bool urgent = false;
    for (const WebhookBatch* b : batches)
      for (const InboundMessage& m : b->messages) urgent = urgent || m.urgent_hint;
    for (size_t i = 0; i < work.size(); ++i) {
      if (stored.ok()) work[i]->done.set_value((*stored)[i]);
      else work[i]->done.set_value(stored.status());
    }
    if (!stored.ok()) log::Error("ingest_failed", {{"error", stored.status().ToString()}});
    if (pressure_ != nullptr) pressure_->RecordBatch(work.size(), std::chrono::steady_clock::now());
    if (on_stored_) on_stored_(stored.ok() && urgent);
  }
}

// ---------------------------------------------------------------------------------------------
// Processor

namespace {

using json = nlohmann::json;

// Merges `fields` into the JSON object text `base`.
std::string MergeFields(const std::string& base, const std::vector<std::pair<std::string, std::string>>& fields) {
  json j = json::parse(base.empty() ? "{}" : base, nullptr, false);
  if (!j.is_object()) j = json::object();
  for (const auto& [k, v] : fields) j[k] = v;
  return j.dump();
}

// Adds newly found entities to the case's, keeping what was there.
std::string MergeEntities(const std::string& base, const intents::Entities& e) {
  json j = json::parse(base.empty() ? "{}" : base, nullptr, false);
  if (!j.is_object()) j = json::object();
  auto add = [&j](const char* key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    if (!j.contains(key) || !j[key].is_array()) j[key] = json::array();
    for (const auto& v : values)
      if (std::find(j[key].begin(), j[key].end(), v) == j[key].end()) j[key].push_back(v);
  };
  add("cities", e.cities);
  add("phones", e.phones);
  add("case_numbers", e.case_numbers);
  add("dates", e.dates);
  return j.dump();
}

std::vector<std::string> EntityKinds(const intents::Entities& e) {
  std::vector<std::string> k;
  if (!e.cities.empty()) k.push_back("city");
  if (!e.phones.empty()) k.push_back("phone");
  if (!e.case_numbers.empty()) k.push_back("case_number");
  if (!e.dates.empty()) k.push_back("date");
  return k;
}

// "15 minutes" in the person's language, from content (falls back to English).
std::string SlaText(const content::Snapshot& c, const std::string& lang, int minutes) {
  std::string key = minutes < 120 ? "sla_minutes" : minutes < 48 * 60 ? "sla_hours" : "sla_days";
  int n = minutes < 120 ? minutes : minutes < 48 * 60 ? minutes / 60 : minutes / 1440;
  std::string t = c.Message(key, lang, {{"n", std::to_string(n)}});
  return t.empty() ? escalation::DescribeMinutes(minutes) : t;
}

}  // namespace

std::string HandoffText(const content::Snapshot& snapshot, const Queue& q, const std::string& lang, int64_t now_ms) {
  auto open_now = escalation::IsOpen(q.hours, now_ms);
  const std::string key = open_now.ok() && !*open_now ? "handoff_outside_hours" : "handoff";
  std::string partner = snapshot.Message("partner_" + q.id, lang);
  return snapshot.Message(key, lang,
                          {{"partner", partner.empty() ? q.partner : partner},
                           {"sla", SlaText(snapshot, lang, q.sla_minutes)}});
}

Processor::Processor(db::SqliteStore& store, const ContentHolder& content, const Clock& clock, Metrics& metrics,
                     std::function<void()> on_committed, DecisionCache* decisions, const IngestPressure* ingest)
    : store_(store),
      content_(content),
      clock_(clock),
      metrics_(metrics),
      on_committed_(std::move(on_committed)),
      decisions_(decisions),
      ingest_(ingest) {
  // Exported from the start, so an alert on them has a series to watch.
  metrics_.Add("rahnama_turn_failures_total", "", 0);
  for (const char* lane : {LaneLabel(true), LaneLabel(false)}) {
    metrics_.Add("rahnama_turn_commits_total", lane, 0);  // transactions
    metrics_.Add("rahnama_turns_committed_total", lane, 0);
  }
  metrics_.Add("rahnama_messages_set_aside_total", "urgent=\"true\"", 0);
  metrics_.Add("rahnama_messages_set_aside_total", "urgent=\"false\"", 0);
}

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

void Processor::UrgentStored() {
  urgent_stored_.fetch_add(1);
  Wake();
}

// Before each ordinary batch (which holds the database for up to kTurnBatch turns): if urgent
// messages are waiting, let the urgent lane go first rather than race it for the database lock,
// which the thread that just released it usually wins. Bounded, so a stuck urgent lane cannot
// stop the ordinary one.
void Processor::WaitWhileUrgentPending() {
  if (urgent_stored_.load() == urgent_drained_.load()) return;
  metrics_.Add("rahnama_ordinary_lane_yields_total");
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, std::chrono::milliseconds(200),
               [&] { return !running_ || urgent_stored_.load() == urgent_drained_.load(); });
}

bool Processor::IngestSaturated() const {
  return ingest_ != nullptr && ingest_->Saturated(std::chrono::steady_clock::now());
}

// Called between batches only: no database mutex, no transaction, no contact held, so nothing
// waits on this lane while it sleeps (unlike the reverted nice level, which slowed the lane
// while it held the mutex). Bounded by max_pause_ms, so the lane still progresses.
void Processor::PauseWhileIngestSaturated() {
  if (!IngestSaturated()) return;
  metrics_.Add("rahnama_ordinary_lane_pauses_total");
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ingest_->options().max_pause_ms);
  std::unique_lock lock(mutex_);
  while (running_ && IngestSaturated() && std::chrono::steady_clock::now() < until)
    cv_.wait_until(lock, std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
}

void Processor::Lane(bool urgent) {
  NameThread(urgent ? "lane-urgent" : "lane-ordinary");
  if (urgent) db::PriorityRecursiveMutex::FirstInLineForThisThread();
  intents::Classifier::SetWordCacheLimitForThisThread(intents::Classifier::kBulkWordCacheLimit);
  while (running_) {
    if (!urgent) PauseWhileIngestSaturated();
    uint64_t seen;
    {
      std::lock_guard lock(mutex_);
      seen = wake_seq_;
    }
    const uint64_t urgent_seen = urgent_stored_.load();
    // Never let a row we cannot read stop the lane.
    auto pending = CatchExceptions("loading pending messages",
                                   [&] { return urgent ? store_.LoadPendingUrgent(64) : store_.LoadPending(64); });
    if (urgent && pending.ok() && pending->empty()) {
      // Everything stored before urgent_seen is answered: the ordinary lane may go on.
      std::lock_guard lock(mutex_);
      urgent_drained_.store(urgent_seen);
      cv_.notify_all();
    }
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
    // Each lane commits several contacts' turns in one transaction: the pages they all touch
    // (outbox, message indexes) reach the WAL once, with one fsync, instead of once per turn.
    // Only contacts already loaded are batched, so a lone urgent message never waits for others;
    // when many arrive at once (a raid), one turn a transaction fell behind by seconds.
    const size_t batch = urgent ? kUrgentTurnBatch : kTurnBatch;
    const char* lane_label = LaneLabel(urgent);
    for (size_t first = 0, next = 0; first < order.size() && running_; first = next) {
      // Under a webhook burst: one batch, then pause and load afresh (the urgent lane may have
      // answered some of these contacts meanwhile).
      if (!urgent && first > 0 && IngestSaturated()) break;
      if (!urgent) WaitWhileUrgentPending();
      // The urgent lane's batch also stays within kUrgentTurnBatch turns: one person's backlog of
      // messages is committed on its own, not ahead of other people's safety replies.
      size_t turns = 0;
      for (next = first; next < order.size() && next - first < batch; ++next) {
        const size_t more = by_contact[order[next]].size();
        if (urgent && next > first && turns + more > kUrgentTurnBatch) break;
        turns += more;
      }
      std::vector<int64_t> mine;
      {
        std::lock_guard lock(mutex_);
        for (size_t i = first; i < next; ++i)
          if (busy_contacts_.insert(order[i]).second) mine.push_back(order[i]);
      }
      // Turns are counted as done (TurnsCommitted) only once they are durable: a batch's when it
      // commits, a single contact's as each turn commits on its own.
      std::vector<int64_t> done;
      auto process = [&](int64_t contact, bool in_batch) {
        return ProcessContactMessages(by_contact[contact], in_batch, &done);
      };
      auto committed = [&](size_t transactions) {
        TurnsCommitted(done);
        metrics_.Add("rahnama_turn_commits_total", lane_label, static_cast<double>(transactions));
        metrics_.Add("rahnama_turns_committed_total", lane_label, static_cast<double>(done.size()));
      };
      Status s = Status::Ok();
      if (mine.size() > 1) {
        s = store_.RunBatch([&] {
          for (int64_t contact : mine) BOT_RETURN_IF_ERROR(process(contact, true));
          return Status::Ok();
        });
        if (s.ok()) committed(1);
        done.clear();
        if (!s.ok()) {
          // Nothing of the batch was committed: retry contact by contact, so one failing
          // message does not hold back the others.
          log::Warn("turn_batch_failed", {{"error", s.ToString()}, {"contacts", std::to_string(mine.size())}});
          s = Status::Ok();
          for (int64_t contact : mine) {
            Status one = process(contact, false);
            if (!one.ok()) s = one;
          }
          committed(done.size());  // each turn on its own
        }
      } else {
        for (int64_t contact : mine) s = process(contact, false);
        committed(done.size());  // each turn on its own
      }
      {
        std::lock_guard lock(mutex_);
        for (int64_t contact : mine) busy_contacts_.erase(contact);
        if (!urgent && urgent_stored_.load() != urgent_drained_.load()) {
          ++wake_seq_;  // the urgent lane may have skipped a contact this batch held
          cv_.notify_all();
        }
      }
      if (!mine.empty() && on_committed_) on_committed_();
      if (!s.ok()) {
        log::Error("turn_failed", {{"error", s.ToString()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      } else if (!mine.empty()) {
        did_work = true;
      }
      // The ordinary lane lets the urgent lane in between batches.
    }
    if (did_work) continue;
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(urgent ? 50 : 250),
                 [&] { return !running_ || wake_seq_ != seen; });
  }
}

Status Processor::ProcessContactMessages(const std::vector<PendingInbound>& messages, bool in_batch,
                                         std::vector<int64_t>* done) {
  for (const auto& p : messages) {
    bool stop = false;
    Status s = ProcessGuarded(p, &stop);
    if (!s.ok()) {
      // In a batch nothing is counted or set aside: the batch rolls back, and the contact is
      // retried on its own at once. A fault of the database (busy, full, damaged) is not the
      // message's and never sets it aside.
      if (in_batch || s.code() == StatusCode::kUnavailable || !FailedTooOften(p.message_id)) return s;
      BOT_RETURN_IF_ERROR(CatchExceptions("setting the message aside", [&] { return SetAside(p, s); }));
      continue;  // the person's later messages are answered as usual
    }
    done->push_back(p.message_id);
    if (stop) break;  // the rest may belong to a fresh contact now
  }
  return Status::Ok();
}

Status Processor::ProcessGuarded(const PendingInbound& p, bool* stop) {
  // Uncaught, it would stop the server, and the same message would stop it again after every
  // restart. The transaction it was in has been rolled back by its guard.
  return CatchExceptions("the turn", [&] { return ProcessOne(p, stop); });
}

void Processor::TurnsCommitted(const std::vector<int64_t>& ids) {
  if (ids.empty()) return;
  turns_committed_.fetch_add(ids.size());
  std::lock_guard lock(failures_mutex_);
  for (int64_t id : ids) failures_.erase(id);
}

bool Processor::FailedTooOften(int64_t id) {
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(failures_mutex_);
  // Messages that left "pending" some other way (erased, answered by the other lane) leave
  // entries behind: forget those an hour old.
  if (failures_.size() > 1000)
    for (auto it = failures_.begin(); it != failures_.end();)
      it = now - it->second.first_ms > 3600 * 1000 ? failures_.erase(it) : std::next(it);
  auto [it, first] = failures_.try_emplace(id);
  Failures& f = it->second;
  if (first) {
    f.turns_committed_then = turns_committed_.load();
    f.first_ms = now;
  }
  ++f.count;
  metrics_.Add("rahnama_turn_failures_total");
  if (f.count < kSetAsideAfterFailures) return false;
  return turns_committed_.load() != f.turns_committed_then || now - f.first_ms >= kSetAsideAfterMs;
}

namespace {

// The case a set-aside message opens when it joins none: protection, urgent, for a possibly urgent
// one (as the conversation would); else the queue a request for a person goes to, high priority
// (the person has had no answer at all).
CaseChange SetAsideCase(db::SqliteStore& store, bool urgent, const std::string& language, const std::string& note) {
  CaseChange change;
  auto rules = store.RoutingRules();
  const std::string intent = urgent ? "urgent_protection" : "human_agent";
  auto route = rules.ok() ? escalation::RouteCase(*rules, intent, urgent, {}) : std::nullopt;
  change.open = true;
  change.queue = route ? route->queue : urgent ? "unhcr_protection" : "info_desk";
  change.priority = urgent ? "urgent" : "high";
  change.intent = intent;
  change.language = language;
  change.system_note = note;
  return change;
}

std::string SetAsideNote(const Status& why, bool urgent) {
  return "rahnama could not process this message after " + std::to_string(kSetAsideAfterFailures) + " attempts (" +
         why.ToString() + ") and set it aside" + (urgent ? ", possibly urgent" : "") +
         ": read it in the conversation and answer the person yourself.";
}

}  // namespace

void Processor::PlanSetAside(const PendingInbound& p, const Status& why, int64_t now, Turn* turn) {
  std::shared_ptr<const content::Snapshot> snapshot = content_.Get();
  const bool urgent = p.message.urgent_hint;
  // Each of these reads may fail as the turn did: the message is set aside anyway.
  auto state = store_.LoadConversation(p.contact.id);
  std::string language = state.ok() ? state->language : "";
  if (language.empty()) language = snapshot->classifier().Classify(p.message.text).language;
  auto open_cases = store_.OpenCasesOf(p.contact.id);
  const Case* officer_on = nullptr;  // the newest case an officer is talking on
  const Case* open_case = nullptr;   // the conversation's case if open, else the newest
  if (open_cases.ok()) {
    for (const auto& c : *open_cases) {  // newest first
      if (c.human_mode && officer_on == nullptr) officer_on = &c;
      if (state.ok() && c.id == state->case_id) open_case = &c;
    }
    if (open_case == nullptr && !open_cases->empty()) open_case = &open_cases->front();
  }
  const std::string note = SetAsideNote(why, urgent);
  std::optional<Queue> queue;
  CaseChange change;
  if (urgent) {
    // Like an urgent message the bot understood: a protection case (joined if open, raised to urgent).
    change = SetAsideCase(store_, true, language, note);
  } else if (officer_on != nullptr || open_case != nullptr) {
    // The officer talking to the person, or the officers who have their case, read it there.
    change.case_id = officer_on != nullptr ? officer_on->id : open_case->id;
    change.system_note = note;
    if (officer_on == nullptr)
      if (auto q = store_.QueueById(open_case->queue); q.ok()) queue = *q;
  } else {
    change = SetAsideCase(store_, false, language, note);
  }
  if (change.open)
    if (auto q = store_.QueueById(change.queue); q.ok()) queue = *q;
  turn->case_change = change;

  // What the person is told. Nothing for a reaction or a system notice (they asked nothing).
  if (p.message.kind == InboundKind::kReaction || p.message.kind == InboundKind::kSystem) return;
  OutboundMessage m;
  if (urgent) {
    // A possibly urgent message gets the safety line even from someone who opted out (as the
    // conversation does), and even while an officer talks to them.
    m.text = snapshot->Message("safety_reply_prefix", language, {{"partner", queue ? queue->partner : std::string()}});
    m.urgent = true;
  } else if (queue && state.ok() && !state->opted_out) {
    // Who will answer, unless an officer is already talking to them or they opted out.
    m.text = HandoffText(*snapshot, *queue, language, now);
  }
  if (m.text.empty()) return;
  OutboundRecord rec;
  rec.payloads = channels::FormatOutbound(p.contact.channel, m, p.contact.address);
  rec.message = std::move(m);
  turn->replies.push_back(std::move(rec));
}

Status Processor::SetAside(const PendingInbound& p, const Status& why) {
  const int64_t now = clock_.NowMillis();
  const bool urgent = p.message.urgent_hint;
  Turn turn;
  turn.message_id = p.message_id;
  turn.contact_id = p.contact.id;
  turn.business_id = p.message.business_id;
  turn.urgent = urgent;
  turn.intent = "unknown";
  try {
    PlanSetAside(p, why, now, &turn);
  } catch (...) {
    log::Error("set_aside_plan_failed", {{"message", std::to_string(p.message_id)}});
  }
  // Officers must be able to find it: without a plan, a new case of its own.
  if (!turn.case_change) turn.case_change = SetAsideCase(store_, urgent, "", SetAsideNote(why, urgent));
  auto done = store_.SetAsideMessage(turn, why.ToString(), now);
  if (!done.ok() && done.status().code() != StatusCode::kUnavailable) {
    // The plan's case or reply may be what keeps failing: a new case of its own and no reply.
    // Failing that too, the message stays pending (never failed where no officer can find it):
    // RahnamaMessagesWaiting pages after 5 minutes.
    log::Error("set_aside_case_failed", {{"message", std::to_string(p.message_id)}, {"error", done.status().ToString()}});
    Turn fallback = turn;
    fallback.case_change = SetAsideCase(store_, urgent, "", SetAsideNote(why, urgent));
    fallback.replies.clear();
    done = store_.SetAsideMessage(fallback, why.ToString(), now);
  }
  if (!done.ok()) return done.status();
  {
    std::lock_guard lock(failures_mutex_);
    failures_.erase(p.message_id);
  }
  if (*done == ConversationStore::kTurnRepeated) return Status::Ok();  // no longer pending
  metrics_.Add("rahnama_messages_set_aside_total", urgent ? "urgent=\"true\"" : "urgent=\"false\"");
  log::Error("message_set_aside", {{"message", std::to_string(p.message_id)},
                                   {"contact", log::Mask(p.contact.address)},
                                   {"case", std::to_string(*done)},
                                   {"error", why.ToString()}});
  return Status::Ok();
}

Status Processor::ProcessOne(const PendingInbound& p, bool* stop) {
  auto started = std::chrono::steady_clock::now();
  std::shared_ptr<const content::Snapshot> snapshot = content_.Get();  // this turn keeps its version
  const int64_t now = clock_.NowMillis();
  auto state = store_.LoadConversation(p.contact.id);
  if (!state.ok()) return state.status();
  auto open_cases = store_.OpenCasesOf(p.contact.id);
  if (!open_cases.ok()) return open_cases.status();
  auto queues = store_.Queues();
  if (!queues.ok()) return queues.status();
  auto queue_of = [&](const std::string& id) -> const Queue* {
    for (const auto& q : *queues)
      if (q.id == id) return &q;
    return nullptr;
  };

  // The case this message belongs to: the one whose question the bot has just asked (intake,
  // consent); else the one an officer is talking to the person on (with two open cases, the
  // person's answer is for the officer who asked, and the bot must not talk over them); else the
  // one the conversation is working on; else the newest.
  const Case* working_on = nullptr;  // the conversation's case, if still open
  const Case* officer_on = nullptr;  // the newest case an officer is talking on
  for (const auto& c : *open_cases) {  // newest first
    if (c.id == state->case_id) working_on = &c;
    if (c.human_mode && officer_on == nullptr) officer_on = &c;
  }
  const bool asked = conversation::AwaitsAnswer(state->stage);
  const bool bot_asked = working_on != nullptr && asked;
  const Case* active = bot_asked ? working_on : officer_on ? officer_on : working_on;
  if (active == nullptr && !open_cases->empty()) active = &open_cases->front();
  conversation::TurnInput in;
  in.state = *state;
  // The bot's questions belong to their case: once an officer resolved it, the next message is
  // not an answer to them ("thank you" was asked "who is at risk?", and a new threat got no
  // intake of its own).
  if (asked && working_on == nullptr) in.state.stage = "idle";
  in.message = p.message;
  in.safety_reply_sent =
      std::any_of(open_cases->begin(), open_cases->end(), [](const Case& c) { return c.safety_reply_at != 0; });
  if (active != nullptr) {
    conversation::ActiveCase ac;
    ac.id = active->id;
    ac.queue = active->queue;
    const Queue* q = queue_of(active->queue);
    ac.partner = q ? q->partner : active->queue;
    ac.consent = active->consent;
    ac.partner_webhook = q && !q->webhook_url.empty();
    ac.human_mode = active->human_mode;
    in.active_case = ac;
  }
  if (decisions_ != nullptr) {
    in.text_decision = decisions_->Take(p.message.channel, p.message.provider_id, snapshot->version());
    metrics_.Add("rahnama_ingest_classifications_total", in.text_decision ? "reused=\"yes\"" : "reused=\"no\"");
  }
  conversation::TurnOutput out = conversation::Converse(*snapshot, in);

  Turn turn;
  turn.message_id = p.message_id;
  turn.contact_id = p.contact.id;
  turn.business_id = p.message.business_id;
  if (p.message.kind == InboundKind::kSystem) turn.new_address = p.message.new_address;
  turn.intent = out.answered_intent.empty() ? out.decision.intent : out.answered_intent;
  turn.language = out.language;
  turn.urgent = out.decision.urgent;
  turn.state = out.state;
  std::vector<OutboundMessage> replies = std::move(out.replies);

  const intents::Entities entities = intents::ExtractEntities(p.message.text);
  CaseChange change;
  const Case* target = active;
  if (out.open_case) {
    auto rules = store_.RoutingRules();
    if (!rules.ok()) return rules.status();
    auto route = escalation::RouteCase(*rules, out.open_case->intent, out.open_case->priority == "urgent",
                                       EntityKinds(entities));
    change.open = true;
    change.queue = route ? route->queue : out.open_case->queue;
    change.priority = route ? route->priority : out.open_case->priority;
    if (out.open_case->priority == "urgent") change.priority = "urgent";  // routing never downgrades a threat
    change.intent = out.open_case->intent;
    change.language = out.language;
    change.safety_reply = out.safety_reply;
    if (out.decision.urgent_from_model) {
      char probability[16];
      std::snprintf(probability, sizeof probability, "%.2f", out.decision.score);
      change.system_note = std::string("Urgent by the example model only (probability ") + probability +
                           "): no rule found this message urgent. Please check it; if it is not urgent, tell an "
                           "operator so it can become a labelled example.";
    }
    target = nullptr;
    for (const auto& c : *open_cases)
      if (c.queue == change.queue) target = &c;
    const Queue* q = queue_of(change.queue);
    if (target == nullptr && change.priority != "urgent" && q != nullptr) {
      // A new hand-off: tell the person who will answer and when.
      OutboundMessage m;
      m.text = HandoffText(*snapshot, *q, out.language, now);
      // Before a question the bot has just asked (IOM's "what is your case number?"): after it,
      // the notice buried the question.
      const bool asking = conversation::AwaitsAnswer(out.state.stage);
      if (!m.text.empty()) replies.insert(asking && !replies.empty() ? replies.end() - 1 : replies.end(), std::move(m));
    }
  } else if (active != nullptr) {
    change.case_id = active->id;
    // The officer must know where their replies go after a number change, and when the new number
    // already has its own conversation (the two are not merged: the case stays on the old one).
    if (!turn.new_address.empty()) {
      auto known = store_.HasContact(std::string(ChannelName(p.contact.channel)), turn.new_address);
      if (!known.ok()) return known.status();
      change.system_note = *known ? "WhatsApp says the person changed number to " + turn.new_address +
                                        ", which already has its own conversation with us. It was not merged: this case "
                                        "stays on the old number. Check both."
                                  : "WhatsApp says the person changed number to " + turn.new_address +
                                        ". This case and your replies now go to the new number.";
    }
  }
  if (change.open || change.case_id != 0) {
    const std::string intake_base = target ? target->intake : "{}";
    const std::string entities_base = target ? target->entities : "{}";
    if (!out.case_fields.empty()) change.intake_json = MergeFields(intake_base, out.case_fields);
    if (!entities.empty()) change.entities_json = MergeEntities(entities_base, entities);
    change.consent = out.consent;
    if (out.bot_back) change.human_mode = false;
    if (out.consent == "yes" && target != nullptr) {
      const Queue* q = queue_of(target->queue);
      if (q != nullptr && !q->webhook_url.empty()) {
        json payload = {{"event", "case_shared"},
                        {"queue", target->queue},
                        {"priority", target->priority},
                        {"intent", target->intent},
                        {"language", target->language},
                        {"opened_at", target->opened_at},
                        {"channel", std::string(ChannelName(p.contact.channel))},
                        {"contact", p.contact.address},
                        {"intake", json::parse(change.intake_json.empty() ? intake_base : change.intake_json, nullptr, false)},
                        {"entities", json::parse(change.entities_json.empty() ? entities_base : change.entities_json, nullptr, false)}};
        change.partner_payload = payload.dump();
      }
    }
    turn.case_change = change;
  }

  for (auto& r : replies) {
    OutboundRecord rec;
    rec.payloads = channels::FormatOutbound(p.contact.channel, r, p.contact.address);
    rec.message = std::move(r);
    turn.replies.push_back(std::move(rec));
  }
  turn.erase = out.erase;
  auto committed = store_.CommitTurn(turn, now);
  if (!committed.ok()) return committed.status();
  // A repeat wrote nothing: it is not a turn to count or log (the first one was). The contact's
  // later messages in hand may be stale too (moved by an erasure): stop and load them again.
  if (*committed == ConversationStore::kTurnRepeated) {
    *stop = true;
    return Status::Ok();
  }
  if (change.open)
    metrics_.Add("rahnama_escalations_opened_total", "queue=\"" + change.queue + "\",priority=\"" + change.priority + "\"");
  if (out.erase) {  // erased with the turn (CommitTurn)
    *stop = true;
    metrics_.Add("rahnama_erasures_total", "by=\"person\"");
  }
  // Moved to a new number: the contact's messages in hand still carry the old one, and their
  // replies would be addressed to it. Load them again.
  if (!turn.new_address.empty()) *stop = true;
  metrics_.Add("rahnama_messages_classified_total",
               "intent=\"" + turn.intent + "\",language=\"" + (turn.language.empty() ? "none" : turn.language) + "\"");
  metrics_.Observe("rahnama_turn_seconds", "",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  log::Info("turn", {{"contact", log::Mask(p.contact.address)},
                     {"intent", turn.intent},
                     {"language", turn.language},
                     {"urgent", turn.urgent ? "true" : "false"},
                     {"case", std::to_string(*committed)},
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

channels::SendOutcome Sender::NotifyPartner(const OutboxItem& item) {
  channels::SendOutcome out;
  auto q = store_.QueueById(item.recipient);
  if (!q.ok() || q->webhook_url.empty()) {
    out.kind = channels::SendOutcome::Kind::kFailed;
    out.error = "queue " + item.recipient + " has no partner webhook any more";
    return out;
  }
  // The partner verifies X-Rahnama-Signature-256 exactly as we verify Meta's.
  HttpReply reply = GraphClient::PostUrl(q->webhook_url, item.payload,
                                         {{"X-Rahnama-Signature-256", channels::SignatureHeader(q->webhook_secret, item.payload)},
                                          {"X-Rahnama-Delivery", std::to_string(item.id)}},
                                         15);
  if (!reply.network_error && reply.status >= 200 && reply.status < 300) {
    out.kind = channels::SendOutcome::Kind::kSent;
    out.message_id = "partner-" + std::to_string(item.id);
    return out;
  }
  out.error = reply.network_error ? "network error: " + reply.error : "HTTP " + std::to_string(reply.status);
  out.kind = reply.network_error || reply.status >= 500 || reply.status == 429 || reply.status == 408
                 ? channels::SendOutcome::Kind::kRetry
                 : channels::SendOutcome::Kind::kFailed;
  return out;
}

void Sender::Throttle(const std::string& business_id) {
  if (options_.send_rate_per_number <= 0) return;
  while (running_) {
    int64_t wait_ms = 0;
    {
      std::lock_guard lock(throttle_mutex_);
      // The bucket holds at least one send, or a rate below 1 per second would never send.
      const double capacity = std::max(1.0, options_.send_rate_per_number);
      auto& [tokens, last] = buckets_.try_emplace(business_id, capacity, clock_.NowMillis()).first->second;
      const int64_t now = clock_.NowMillis();
      tokens = std::min(capacity,
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
    for (const OutboxItem& item : *items) {
      try {
        Deliver(client, item);
      } catch (const std::exception& e) {
        // Uncaught, it would stop the server, and the row (in flight, sent again at start) would
        // stop it again after every restart. This row fails for good instead.
        log::Error("send_threw", {{"outbox", std::to_string(item.id)}, {"error", e.what()}});
        metrics_.Add("rahnama_send_failures_total", "code=\"exception\"");
        Status s = store_.MarkFailed(item.id, std::string("sending threw: ") + e.what(), clock_.NowMillis());
        if (!s.ok()) log::Error("outbox_mark_failed", {{"outbox", std::to_string(item.id)}, {"error", s.ToString()}});
      }
    }
  }
}

void Sender::Deliver(GraphClient& client, const OutboxItem& item) {
  auto started = std::chrono::steady_clock::now();
  channels::SendOutcome outcome;
  if (item.channel == Channel::kPartner) {
    outcome = NotifyPartner(item);
  } else {
    Throttle(item.business_id);
    HttpReply reply = client.Send(item.channel, item.business_id, item.payload);
    outcome = channels::ClassifySendResponse(reply.network_error, reply.status, reply.body);
  }
  metrics_.Observe("rahnama_send_seconds", "", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  const int64_t now = clock_.NowMillis();
  // Counted and logged once; the store write may be repeated (below).
  std::function<Status()> write_outcome;
  switch (outcome.kind) {
    case channels::SendOutcome::Kind::kSent: {
      metrics_.Add("rahnama_messages_sent_total", "channel=\"" + std::string(ChannelName(item.channel)) + "\"");
      write_outcome = [&] { return store_.MarkSent(item.id, outcome.message_id, now); };
      const unsigned bit = 1u << static_cast<unsigned>(item.channel);
      if (account_refused_.fetch_and(~bit) & bit) {
        // The account works again (a new token): what waited for it goes now, not after its
        // backoff (up to retry_max_ms). Safety replies among them.
        log::Info("send_account_recovered", {{"channel", std::string(ChannelName(item.channel))}});
        Status due = store_.RetryNow(item.channel, now);
        if (!due.ok()) log::Error("retry_now_failed", {{"error", due.ToString()}});
        Wake();
      }
      break;
    }
    case channels::SendOutcome::Kind::kRetry: {
      metrics_.Add("rahnama_send_failures_total", "code=\"" + std::to_string(outcome.error_code) + "\"");
      if (now - item.created_at >= options_.give_up_after_ms) {
        const std::string why = "gave up after " + std::to_string(item.attempts) + " attempts: " + outcome.error;
        write_outcome = [&, why] { return store_.MarkFailed(item.id, why, now); };
        break;
      }
      if (outcome.account_problem) {
        account_refused_.fetch_or(1u << static_cast<unsigned>(item.channel));
        // Not this message's fault: every reply waits until an operator fixes the account.
        metrics_.Add("rahnama_send_account_errors_total", "code=\"" + std::to_string(outcome.error_code) + "\"");
        log::Error("send_account_refused", {{"outbox", std::to_string(item.id)}, {"error", outcome.error},
                                            {"action", "check the access token and the app's permissions; replies wait"}});
      }
      // Exponential backoff with ±25 % jitter, so a recovering Graph API is not hit in lockstep.
      thread_local std::mt19937_64 rng(std::random_device{}());
      double backoff = static_cast<double>(options_.retry_base_ms) * std::pow(2.0, item.attempts - 1);
      backoff = std::min(backoff, static_cast<double>(options_.retry_max_ms));
      backoff *= std::uniform_real_distribution<double>(0.75, 1.25)(rng);
      const int64_t next = now + static_cast<int64_t>(backoff);
      write_outcome = [&, next] { return store_.MarkRetry(item.id, next, outcome.error, now); };
      log::Warn("send_retry", {{"outbox", std::to_string(item.id)}, {"error", outcome.error},
                               {"attempt", std::to_string(item.attempts)}});
      break;
    }
    case channels::SendOutcome::Kind::kFailed:
      metrics_.Add("rahnama_send_failures_total", "code=\"" + std::to_string(outcome.error_code) + "\"");
      write_outcome = [&] { return store_.MarkFailed(item.id, outcome.error, now); };
      log::Warn("send_failed", {{"outbox", std::to_string(item.id)}, {"error", outcome.error}});
      break;
  }
  Status s = write_outcome();
  // The outcome must be written: a row left in_flight holds back every later reply to this person
  // until a restart, which would then send it again. Keep trying (the database may be locked or
  // the disk full for a while); only a shutdown leaves it to the restart.
  for (int attempt = 1; !s.ok(); ++attempt) {
    log::Error("outbox_update_failed", {{"outbox", std::to_string(item.id)}, {"error", s.ToString()},
                                        {"attempt", std::to_string(attempt)}});
    if (!running_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(200 * attempt, 5000)));
    s = write_outcome();
  }
}

}  // namespace bot::server
