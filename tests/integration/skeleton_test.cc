// Issue #2, end to end: a signed WhatsApp message in, a reply out at a fake Graph API, through the
// real server on 127.0.0.1 with a real SQLite file.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

class SkeletonTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(graph_.url()); }
  void Start(const std::string& graph_url) {
    auto s = server::Server::Start(TestConfig(db(), graph_url));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
  }
  std::string db() const { return dir_.File("rahnama.db"); }
  long Count(const std::string& sql) const { return QueryInt(db(), sql); }

  TempDir dir_;
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
};

TEST_F(SkeletonTest, SignedTextIsRepliedToTheRightNumberViaItsPhoneNumberIdWithTheBearerToken) {
  auto r = hooks_->PostSigned(WhatsAppText("923001112233", "wamid.skeleton-1", "salam"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(graph_.WaitFor(1, "923001112233"));
  auto sent = graph_.RequestsTo("923001112233");
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent[0].path, std::string("/v21.0/") + kPhoneNumberId + "/messages");
  EXPECT_EQ(sent[0].authorization, std::string("Bearer ") + kWaToken);
  EXPECT_EQ(sent[0].json["messaging_product"], "whatsapp");
  EXPECT_FALSE(TextOf(sent[0].json).empty());
}

// The ingest writer classifies each text for the urgent lane; the worker uses that decision instead of
// classifying the same text again (BENCHMARKS.md CR-4).
TEST_F(SkeletonTest, TheWorkerReusesTheClassificationMadeAtIngest) {
  ASSERT_EQ(hooks_->PostSigned(WhatsAppText("923001112240", "wamid.reuse-1", "what is a PoR card?"))->status, 200);
  ASSERT_TRUE(graph_.WaitFor(1, "923001112240"));
  httplib::Client admin("127.0.0.1", server_->admin_port());
  auto m = admin.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("rahnama_ingest_classifications_total{reused=\"yes\"} 1"), std::string::npos) << m->body;
  EXPECT_EQ(m->body.find("reused=\"no\""), std::string::npos) << m->body;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM messages WHERE direction='in' AND intent='por_card'"), 1);
}

TEST_F(SkeletonTest, TheSamePayloadPostedTwiceIsAnsweredOnce) {
  const std::string body = WhatsAppText("923001112234", "wamid.skeleton-dup", "salam");
  ASSERT_EQ(hooks_->PostSigned(body)->status, 200);
  ASSERT_EQ(hooks_->PostSigned(body)->status, 200);
  ASSERT_TRUE(graph_.WaitFor(1, "923001112234"));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // room for a wrong second answer
  const long replies = Count("SELECT COUNT(*) FROM messages WHERE direction='out'");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM messages WHERE direction='in'"), 1);
  EXPECT_EQ(static_cast<long>(graph_.RequestsTo("923001112234").size()), Count("SELECT COUNT(*) FROM outbox"));
  EXPECT_GE(replies, 1);
  // One turn's worth of replies: a second turn would have doubled them.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM messages WHERE direction='in' AND status='processed'"), 1);
}

TEST_F(SkeletonTest, BadRequestsAreRefusedAndNothingIsStored) {
  const std::string body = WhatsAppText("923001112235", "wamid.skeleton-bad", "salam");
  auto wrong = hooks_->PostSigned(body, "/webhooks/whatsapp", "not-the-secret");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_NE(wrong->body.find("\"error\""), std::string::npos);
  auto unsigned_ = hooks_->PostRaw(body, {});
  ASSERT_TRUE(unsigned_);
  EXPECT_EQ(unsigned_->status, 401);
  auto malformed = hooks_->PostSigned("{\"object\": \"whatsapp_business_account\", \"entry\": [");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_NE(malformed->body.find("\"error\""), std::string::npos);
  std::string huge = WhatsAppText("923001112235", "wamid.skeleton-huge", std::string(4 * 1024 * 1024, 'a'));
  auto oversized = hooks_->PostSigned(huge);
  ASSERT_TRUE(oversized);
  EXPECT_EQ(oversized->status, 413);
  auto deep = hooks_->PostSigned(std::string(200, '[') + std::string(200, ']'));
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->status, 400);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM messages"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 0);
}

TEST_F(SkeletonTest, AReplyRefusedTwiceWith500ArrivesOnce) {
  graph_.Plan({{500, R"({"error":{"message":"boom","code":1}})"}, {500, R"({"error":{"message":"boom","code":1}})"}});
  ASSERT_EQ(hooks_->PostSigned(WhatsAppText("923001112236", "wamid.skeleton-retry", "salam"))->status, 200);
  ASSERT_TRUE(graph_.WaitFor(1, "923001112236"));
  // Every queued reply eventually reaches the fake exactly once.
  const long parts = Count("SELECT COUNT(*) FROM outbox");
  ASSERT_TRUE(graph_.WaitFor(static_cast<size_t>(parts), "923001112236"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto sent = graph_.RequestsTo("923001112236");
  EXPECT_EQ(static_cast<long>(sent.size()), parts);
  std::set<std::string> bodies;
  for (const auto& r : sent) EXPECT_TRUE(bodies.insert(r.body).second) << "sent twice: " << r.body;
  EXPECT_GE(graph_.Attempts(), parts + 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE state='sent'"), parts);
}

TEST_F(SkeletonTest, RepliesPendingAtStopAreDeliveredOnceAfterRestart) {
  std::vector<FakeGraph::Answer> failures(1000, {503, R"({"error":{"message":"down","code":2}})"});
  graph_.Plan(failures);
  ASSERT_EQ(hooks_->PostSigned(WhatsAppText("923001112237", "wamid.skeleton-restart", "salam"))->status, 200);
  // Wait until the reply is queued and has failed at least once.
  for (int i = 0; i < 500 && graph_.Attempts() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GT(graph_.Attempts(), 0);
  server_->Stop();
  server_.reset();
  const long parts = Count("SELECT COUNT(*) FROM outbox WHERE state != 'sent'");
  ASSERT_GT(parts, 0);
  EXPECT_EQ(graph_.Requests().size(), 0u);

  FakeGraph healthy;
  Start(healthy.url());
  ASSERT_TRUE(healthy.WaitFor(static_cast<size_t>(parts), "923001112237"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto sent = healthy.RequestsTo("923001112237");
  EXPECT_EQ(static_cast<long>(sent.size()), parts);
  std::set<std::string> bodies;
  for (const auto& r : sent) EXPECT_TRUE(bodies.insert(r.body).second) << "sent twice: " << r.body;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE state='sent'"), parts);
}

TEST_F(SkeletonTest, VerificationHandshakeEchoesTheChallengeOnlyForTheRightToken) {
  auto ok = hooks_->Get(std::string("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=") + kVerifyToken +
                        "&hub.challenge=1158201444");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "1158201444");
  auto wrong = hooks_->Get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  EXPECT_EQ(wrong->body.find("1158201444"), std::string::npos);
}

TEST_F(SkeletonTest, HealthAndReadinessAnswer) {
  auto h = hooks_->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto r = hooks_->Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("schema_version"), std::string::npos);
}

// cpp-httplib holds a pool thread per open connection. Busy keep-alive connections (a sender that
// never stops) must give their thread back now and then, or a newcomer waits until they stop.
TEST(ServerStartTest, ANewConnectionIsServedWhileMoreBusyConnectionsThanThreadsAreOpen) {
  TempDir dir;
  server::Config c = TestConfig(dir.File("threads.db"), "http://127.0.0.1:9");
  c.http_threads = 4;
  auto s = server::Server::Start(c);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const int port = (*s)->port();
  std::atomic<bool> stop{false};
  std::vector<std::thread> hogs;
  for (int i = 0; i < 4; ++i) {
    hogs.emplace_back([&] {  // one keep-alive connection each, ~200 requests a second
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      while (!stop) {
        cli.Get("/healthz");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // every thread is taken now
  httplib::Client late("127.0.0.1", port);
  late.set_read_timeout(10, 0);
  const auto started = std::chrono::steady_clock::now();
  auto r = late.Get("/healthz");
  const auto waited = std::chrono::steady_clock::now() - started;
  stop = true;
  for (auto& t : hogs) t.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // 100 requests per connection at ~200/s: a thread frees within about half a second.
  EXPECT_LT(waited, std::chrono::seconds(3));
}

TEST(ServerStartTest, RefusesToStartWithoutSecretsOutsideDevMode) {
  TempDir dir;
  server::Config c = TestConfig(dir.File("x.db"), "http://127.0.0.1:9");
  c.app_secret.clear();
  auto s = server::Server::Start(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("RAHNAMA_APP_SECRET"), std::string::npos);
  EXPECT_NE(s.status().message().find("--dev"), std::string::npos);
}

// A Graph API URL the client cannot be built for used to kill every sender thread at start with
// only "terminate called … stoi" in the log: the start is refused, naming the variable.
TEST(ServerStartTest, RefusesAGraphUrlItCannotSendTo) {
  for (const char* url : {"http://127.0.0.1:99999999999", "ftp://graph.example", "graph.facebook.com", "https://"}) {
    TempDir dir;
    auto s = server::Server::Start(TestConfig(dir.File("x.db"), url));
    ASSERT_FALSE(s.ok()) << url;
    EXPECT_NE(s.status().message().find("RAHNAMA_GRAPH_URL"), std::string::npos) << s.status().ToString();
  }
}

TEST(ServerStartTest, RefusesAPortAnotherServerHolds) {
  TempDir dir;
  FakeGraph graph;
  auto first = server::Server::Start(TestConfig(dir.File("a.db"), graph.url()));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  server::Config c = TestConfig(dir.File("b.db"), graph.url());
  c.port = (*first)->port();
  auto second = server::Server::Start(c);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("port is taken"), std::string::npos);
}

std::string RunCapture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(ChatTest, AGreetingInTheTerminalChatGetsTheWelcomeFromADevServer) {
  TempDir dir;
  server::Config c = TestConfig(dir.File("dev.db"), "");
  c.dev = true;
  c.app_secret.clear();
  auto s = server::Server::Start(c);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const std::string cmd = "printf 'salam\\n' | " + std::string(RAHNAMA_BINARY) + " chat --as 923009998877 --port " +
                          std::to_string((*s)->port()) + " --admin-port " + std::to_string((*s)->admin_port()) +
                          " --wait-ms 8000 2>&1";
  const std::string out = RunCapture(cmd);
  EXPECT_NE(out.find("bot: "), std::string::npos) << out;
  EXPECT_NE(out.find("Rahnama"), std::string::npos) << out;   // the English part of the welcome
  EXPECT_NE(out.find("English"), std::string::npos) << out;   // the language choice
}

TEST(ProcessTest, SigtermStopsTheServerWithExitCodeZero) {
  TempDir dir;
  const std::string pid_file = dir.File("pid");
  const std::string cmd = std::string(RAHNAMA_BINARY) + " serve --dev --port 0 --admin-port 0 --db " + dir.File("p.db") +
                          " --locales " + RAHNAMA_SOURCE_DIR + "/locales > " + dir.File("out") + " 2>&1 & echo $! > " +
                          pid_file + "; sleep 1.5; kill -TERM $(cat " + pid_file + "); wait $(cat " + pid_file +
                          "); echo exit=$?";
  const std::string out = RunCapture("bash -c '" + cmd + "'");
  EXPECT_NE(out.find("exit=0"), std::string::npos) << out;
}

}  // namespace
}  // namespace bot::testing
