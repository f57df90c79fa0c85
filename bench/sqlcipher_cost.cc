// The cost of SQLCipher (bench/SQLCIPHER.md): one storage workload, timed on whichever SQLite this
// driver is linked with (SQLite 3.40, or SQLCipher 3.4.1 with RAHNAMA_DB_KEY set). Built twice
// and run by bench/sqlcipher_cost.sh; prints one JSON line.
//   ingest    webhooks stored as the ingest writer does: group commits of 16, synchronous=FULL
//   turns     every message processed with one reply queued (CommitTurn), every 10th opens a case
//   case list the officers' queue query (ListCases, one queue, 50 rows), repeated
//   case view one case with its conversation (CaseById), repeated
//   open      SqliteStore::Open of the finished database (key derivation, integrity check)
//   size      the database file after close
//   retention RunRetention over everything (about 45% of the rows are redactable), in one window
//             (as before CR-8) on a backup copy and in the default windows on the original, while
//             another thread stores a webhook every millisecond or so: its longest wait
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <atomic>
#include <climits>
#include <string>
#include <thread>
#include <vector>

#include "db/sqlite_store.h"

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
void Check(const bot::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <variant> <scratch dir> [messages=20000]\n", argv[0]);
    return 2;
  }
  const std::string variant = argv[1];
  const std::string dir = argv[2];
  const int messages = argc > 3 ? std::atoi(argv[3]) : 20000;
  const int contacts = std::max(1, messages / 10);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/cost.db";
  const int64_t t0 = 1767225600000;

  bot::db::SqliteStore::Options o;
  o.path = path;
  o.synchronous = "FULL";  // the server's default: the ingest commit is fsynced before the 200
  auto opened = bot::db::SqliteStore::Open(o);
  Check(opened.status(), "open");
  auto store = std::move(*opened);

  // Ingest.
  constexpr int kGroup = 16;
  std::vector<bot::WebhookBatch> webhooks(kGroup);
  std::vector<const bot::WebhookBatch*> group;
  const auto ingest_start = Clock::now();
  int stored = 0;
  while (stored < messages) {
    group.clear();
    for (int g = 0; g < kGroup && stored < messages; ++g, ++stored) {
      bot::InboundMessage m;
      m.provider_id = "wamid.cost-" + std::to_string(stored);
      m.sender = "92300" + std::to_string(1000000 + stored % contacts);
      m.sender_name = "Person " + std::to_string(stored % contacts);
      m.business_id = "106540352242922";
      m.text = "salam, my PoR card expired and police stopped me near Tarnol, what should I do? #" +
               std::to_string(stored);
      webhooks[g].messages = {m};
      group.push_back(&webhooks[g]);
    }
    auto r = store->StoreWebhooks(group, t0 + stored);
    Check(r.status(), "StoreWebhooks");
  }
  const double ingest_ms = Ms(Clock::now() - ingest_start);

  // Turns.
  const auto turns_start = Clock::now();
  int processed = 0;
  while (true) {
    auto pending = store->LoadPending(500);
    Check(pending.status(), "LoadPending");
    if (pending->empty()) break;
    for (const auto& p : *pending) {
      bot::Turn t;
      t.message_id = p.message_id;
      t.contact_id = p.contact.id;
      t.intent = "por_card";
      t.language = "en";
      bot::OutboundRecord reply;
      reply.message.text = "The PoR card answer, with its source and the date it was checked.";
      reply.payloads = {"{\"messaging_product\":\"whatsapp\",\"to\":\"" + p.contact.address + "\"}"};
      t.replies.push_back(reply);
      if (processed % 10 == 0) {
        bot::CaseChange c;
        c.open = true;
        c.queue = processed % 20 == 0 ? "unhcr_protection" : "info_desk";
        c.priority = processed % 30 == 0 ? "urgent" : "normal";
        c.intent = "arrest_detention";
        c.language = "en";
        t.case_change = c;
      }
      Check(store->CommitTurn(t, t0 + messages + processed).status(), "CommitTurn");
      ++processed;
    }
  }
  const double turns_ms = Ms(Clock::now() - turns_start);

  // Case list and case view.
  std::vector<double> list_us, view_us;
  bot::CaseFilter filter;
  filter.queues = {"info_desk"};
  filter.limit = 50;
  int64_t some_case = 0;
  for (int i = 0; i < 300; ++i) {
    const auto s = Clock::now();
    auto cases = store->ListCases(filter);
    list_us.push_back(Ms(Clock::now() - s) * 1000);
    Check(cases.status(), "ListCases");
    if (!cases->empty()) some_case = (*cases)[static_cast<size_t>(i) % cases->size()].id;
    const auto v = Clock::now();
    auto one = store->CaseById(some_case);
    view_us.push_back(Ms(Clock::now() - v) * 1000);
    Check(one.status(), "CaseById");
  }
  store.reset();  // checkpoints and removes the WAL

  const auto size = std::filesystem::file_size(path);
  std::vector<double> open_ms;
  for (int i = 0; i < 5; ++i) {
    const auto s = Clock::now();
    auto again = bot::db::SqliteStore::Open(o);
    open_ms.push_back(Ms(Clock::now() - s));
    Check(again.status(), "reopen");
  }

  // Retention, with webhooks arriving meanwhile.
  Check(bot::db::SqliteStore::BackupFile(path, path + ".copy"), "backup");
  struct RetentionRun {
    double ms = 0, webhook_max_ms = 0;
    int64_t redacted = 0;
  };
  auto retention = [&](const std::string& file, int batch_rows) {
    bot::db::SqliteStore::Options ro = o;
    ro.path = file;
    auto st = bot::db::SqliteStore::Open(ro);
    Check(st.status(), "open for retention");
    RetentionRun run;
    std::atomic<bool> done{false};
    const int64_t now = t0 + 4LL * messages + 1000;
    std::thread t([&] {
      const auto s = Clock::now();
      auto r = (*st)->RunRetention(now, now, now, batch_rows);
      run.ms = Ms(Clock::now() - s);
      Check(r.status(), "RunRetention");
      run.redacted = r->messages_redacted;
      done = true;
    });
    for (int i = 0; !done; ++i) {
      bot::WebhookBatch b;
      bot::InboundMessage m;
      m.provider_id = "wamid.during-" + std::to_string(i);
      m.sender = "92399" + std::to_string(i);
      m.text = "a webhook during retention";
      b.messages = {m};
      const bot::WebhookBatch* one[] = {&b};
      const auto s = Clock::now();
      Check((*st)->StoreWebhooks(one, now).status(), "StoreWebhooks during retention");
      run.webhook_max_ms = std::max(run.webhook_max_ms, Ms(Clock::now() - s));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // traffic, not a tight loop
    }
    t.join();
    return run;
  };
  const RetentionRun whole = retention(path + ".copy", INT_MAX);
  const RetentionRun windows = retention(path, bot::db::SqliteStore::kRetentionBatchRows);

  std::printf(
      "{\"variant\":\"%s\",\"messages\":%d,\"ingest_ms\":%.1f,\"ingest_msgs_per_s\":%.0f,\"turns_ms\":%.1f,"
      "\"turns_per_s\":%.0f,\"case_list_p50_us\":%.0f,\"case_view_p50_us\":%.0f,\"open_p50_ms\":%.1f,"
      "\"file_bytes\":%llu,\"retention_redacted\":%lld,\"retention_one_window_ms\":%.1f,"
      "\"webhook_max_wait_one_window_ms\":%.1f,\"retention_windows_ms\":%.1f,\"webhook_max_wait_windows_ms\":%.1f}\n",
      variant.c_str(), messages, ingest_ms, messages / ingest_ms * 1000, turns_ms, processed / turns_ms * 1000,
      Median(list_us), Median(view_us), Median(open_ms), static_cast<unsigned long long>(size),
      static_cast<long long>(windows.redacted), whole.ms, whole.webhook_max_ms, windows.ms, windows.webhook_max_ms);
  std::filesystem::remove_all(dir);
  return 0;
}
