// The ingest writer (bot/server/pipeline.h): the server classifies every message on the writer's
// thread, through its annotate hook, before the group commit stores it. Here with a real SQLite
// file and no processor, so nothing else can write the stored urgent column afterwards.
#include <gtest/gtest.h>

#include <thread>

#include "bot/server/pipeline.h"
#include "db/sqlite_store.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

WebhookBatch OneText(const std::string& id, const std::string& text) {
  WebhookBatch b;
  InboundMessage m;
  m.channel = Channel::kWhatsApp;
  m.provider_id = id;
  m.sender = "923001112233";
  m.kind = InboundKind::kText;
  m.text = text;
  b.messages.push_back(m);
  return b;
}

TEST(IngestWriterTest, EveryMessageIsAnnotatedOnTheWriterThreadBeforeItIsStored) {
  TempDir dir;
  db::SqliteStore::Options o;
  o.path = dir.File("w.db");
  auto store = db::SqliteStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  SystemClock clock;
  std::thread::id annotated_on;
  server::IngestWriter writer(**store, clock, [](bool) {}, nullptr, [&](WebhookBatch& b) {
    annotated_on = std::this_thread::get_id();
    for (InboundMessage& m : b.messages) m.urgent_hint = m.text.find("arrested") != std::string::npos;
  });
  // Requests from several threads at once, as the HTTP pool sends them: one group commit or a few.
  std::vector<std::thread> posts;
  std::vector<Result<std::vector<bool>>> results(6, Status::Internal("not stored"));
  for (int i = 0; i < 6; ++i)
    posts.emplace_back([&, i] {
      WebhookBatch b = OneText("wamid.w" + std::to_string(i), i % 2 ? "police arrested my son" : "when does my PoR card expire");
      results[i] = writer.Store(b);
    });
  for (auto& t : posts) t.join();
  writer.Stop();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ(QueryInt(o.path, "SELECT urgent FROM messages WHERE provider_id='wamid.w" + std::to_string(i) + "'"), i % 2)
        << "message " << i;
  }
  EXPECT_NE(annotated_on, std::thread::id());
  EXPECT_NE(annotated_on, std::this_thread::get_id());
  EXPECT_EQ(QueryInt(o.path, "SELECT COUNT(*) FROM messages WHERE status='pending'"), 6) << "nothing processed them";
}

}  // namespace
}  // namespace bot::testing
