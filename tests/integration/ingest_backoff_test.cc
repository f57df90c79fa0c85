// Issue #8: while webhooks queue for the ingest writer, the ordinary lane pauses between its
// batches (bot/server/ingest_pressure.h). It must still answer every message exactly once, the
// urgent lane must not pause, and traffic that does not queue must not pause anything.
#include "bot/server/ingest_pressure.h"

#include <gtest/gtest.h>

#include <regex>

#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using server::IngestBackoff;
using server::IngestPressure;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

IngestBackoff Measured() {
  IngestBackoff b;
  b.saturated_batch = 8;  // the setting the benchmark measured; window 100 ms, pause 50 ms
  return b;
}

TEST(IngestPressureTest, OffUnlessConfigured) {
  IngestPressure p;
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 10; ++i) p.RecordBatch(128, t0);
  EXPECT_FALSE(p.Saturated(t0));
}

TEST(IngestPressureTest, OnlyCommitAfterCommitOfCrowdsIsABurst) {
  IngestPressure p(Measured());
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(p.Saturated(t0)) << "no commit yet";
  for (int i = 0; i < 50; ++i) p.RecordBatch(i % 2 + 1, t0 + milliseconds(i));
  EXPECT_FALSE(p.Saturated(t0 + milliseconds(50))) << "steady traffic: one or two requests per commit";
  p.RecordBatch(12, t0 + milliseconds(51));  // one commit that waited behind a checkpoint
  EXPECT_FALSE(p.Saturated(t0 + milliseconds(51)));
  for (int i = 0; i < 5; ++i) p.RecordBatch(32, t0 + milliseconds(60 + i));
  EXPECT_TRUE(p.Saturated(t0 + milliseconds(64)));
  EXPECT_TRUE(p.Saturated(t0 + milliseconds(164)));
  EXPECT_FALSE(p.Saturated(t0 + milliseconds(165))) << "no commit for longer than the window: the burst is over";
  for (int i = 0; i < 5; ++i) p.RecordBatch(1, t0 + milliseconds(200 + i));
  EXPECT_FALSE(p.Saturated(t0 + milliseconds(204))) << "small commits again";
}

class IngestBackoffTest : public ::testing::Test {
 protected:
  void Start(IngestBackoff backoff) {
    server::Config c = TestConfig(dir_.File("b.db"), graph_.url());
    c.ingest_backoff = backoff;
    auto s = server::Server::Start(c);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
  }
  std::string db() const { return dir_.File("b.db"); }
  void Post(const std::string& from, const std::string& wamid, const std::string& text) {
    auto r = hooks_->PostSigned(WhatsAppText(from, wamid, text));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  long Processed() { return QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE direction='in' AND status='processed'"); }
  bool WaitAllProcessed(long n) {
    for (int i = 0; i < 3000 && Processed() < n; ++i) std::this_thread::sleep_for(milliseconds(10));
    return Processed() == n;
  }
  double Pauses() {
    httplib::Client admin("127.0.0.1", server_->admin_port());
    auto r = admin.Get("/metrics");
    if (!r || r->status != 200) return -1;
    std::smatch m;
    static const std::regex kLine(R"(\nrahnama_ordinary_lane_pauses_total ([0-9.e+]+)\n)");
    return std::regex_search(r->body, m, kLine) ? std::stod(m[1]) : 0;
  }

  TempDir dir_;
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
};

TEST_F(IngestBackoffTest, UnderAnEndlessBurstEveryMessageIsStillAnsweredOnce) {
  // Every commit counts as crowded and the burst never ends while the test runs: the ordinary
  // lane pauses before every batch and must still get through, on its bounded pauses.
  IngestBackoff always;
  always.saturated_batch = 1;
  always.window_ms = 10 * 60 * 1000;
  always.max_pause_ms = 20;
  Start(always);
  constexpr int kContacts = 40;
  for (int i = 0; i < kContacts; ++i) Post("9234" + std::to_string(1000000 + i), "wamid.burst-" + std::to_string(i), "salam");
  Post("923499999999", "wamid.burst-urgent", "police arrested my brother right now, please help");
  ASSERT_TRUE(WaitProcessed(db(), "wamid.burst-urgent", 30000)) << "the urgent lane must not pause";
  ASSERT_TRUE(WaitAllProcessed(kContacts + 1)) << Processed() << " processed";
  EXPECT_GT(Pauses(), 0) << "the ordinary lane never paused: the test proves nothing";

  // Exactly once: every contact got the same replies as the others, none twice.
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(DISTINCT contact_id) FROM messages WHERE direction='out' AND contact_id IN "
                           "(SELECT contact_id FROM messages WHERE provider_id LIKE 'wamid.burst-%' AND provider_id != "
                           "'wamid.burst-urgent')"),
            kContacts);
  auto per_contact = Query(db(), "SELECT COUNT(*) FROM messages m JOIN contacts c ON c.id = m.contact_id "
                                 "WHERE m.direction='out' AND c.external_id LIKE '92341%' GROUP BY m.contact_id");
  ASSERT_EQ(per_contact.size(), static_cast<size_t>(kContacts));
  for (const auto& n : per_contact) EXPECT_EQ(n, per_contact.front()) << "a 'salam' answered a different number of times";
  EXPECT_GE(QueryInt(db(), "SELECT COUNT(*) FROM messages m JOIN contacts c ON c.id = m.contact_id "
                           "WHERE m.direction='out' AND c.external_id='923499999999'"),
            1);
}

TEST_F(IngestBackoffTest, WebhooksOneAtATimeNeverPauseTheOrdinaryLane) {
  Start(Measured());  // one request per commit is not a burst
  for (int i = 0; i < 20; ++i) Post("9235" + std::to_string(1000000 + i), "wamid.calm-" + std::to_string(i), "salam");
  ASSERT_TRUE(WaitAllProcessed(20));
  EXPECT_EQ(Pauses(), 0);
}

}  // namespace
}  // namespace bot::testing
