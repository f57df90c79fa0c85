// Issue #7, the crash test: the real server binary under a bounded load of signed webhooks is
// killed with SIGKILL at random moments and restarted. Afterwards every message that got a 200 is
// in the database and was answered at the fake Graph API, and the replies sent twice are no more
// than the sends that were in flight at the kills.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class ServerProcess {
 public:
  ServerProcess(std::string db, std::string graph_url, int port, int admin_port)
      : db_(std::move(db)), graph_url_(std::move(graph_url)), port_(port), admin_port_(admin_port) {}
  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      setenv("RAHNAMA_APP_SECRET", kAppSecret, 1);
      setenv("RAHNAMA_VERIFY_TOKEN", kVerifyToken, 1);
      setenv("RAHNAMA_WA_TOKEN", kWaToken, 1);
      setenv("RAHNAMA_GRAPH_URL", graph_url_.c_str(), 1);
      setenv("RAHNAMA_LOG_LEVEL", "error", 1);
      const std::string port = std::to_string(port_), admin = std::to_string(admin_port_);
      const std::string locales = std::string(RAHNAMA_SOURCE_DIR) + "/locales";
      execl(RAHNAMA_BINARY, RAHNAMA_BINARY, "serve", "--port", port.c_str(), "--admin-port", admin.c_str(), "--db",
            db_.c_str(), "--locales", locales.c_str(), "--console", "", "--synchronous", "FULL", "--send-rate", "2000",
            "--retry-base-ms", "50", static_cast<char*>(nullptr));
      _exit(127);
    }
    httplib::Client c("127.0.0.1", port_);
    for (int i = 0; i < 500; ++i) {
      if (auto r = c.Get("/healthz"); r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "server did not come up";
  }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  ~ServerProcess() { Kill(SIGKILL); }

 private:
  std::string db_, graph_url_;
  int port_, admin_port_;
  pid_t pid_ = -1;
};

TEST(CrashTest, EveryAcknowledgedMessageIsStoredAndAnsweredAcrossSigkills) {
  TempDir dir;
  FakeGraph graph;
  const int port = FreePort(), admin_port = FreePort();
  ServerProcess server(dir.File("crash.db"), graph.url(), port, admin_port);
  server.Start();

  std::atomic<bool> loading{true};
  std::mutex mu;
  std::map<std::string, std::string> acked;  // wamid → number
  std::atomic<int> attempted{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t)
    load.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(1, 0);
      c.set_read_timeout(5, 0);
      for (int i = 0; loading && i < 100000; ++i) {
        const std::string number = "9234" + std::to_string(10000000 + t * 1000000 + i);
        const std::string wamid = "wamid.crash-" + std::to_string(t) + "-" + std::to_string(i);
        const std::string body = WhatsAppText(number, wamid, "what is the PoR card?");
        httplib::Headers h = {{"X-Hub-Signature-256", channels::SignatureHeader(kAppSecret, body)}};
        ++attempted;
        auto r = c.Post("/webhooks/whatsapp", h, body, "application/json");
        if (r && r->status == 200) {
          std::lock_guard lock(mu);
          acked[wamid] = number;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the server is down: retry later
        }
      }
    });

  std::mt19937 rng(std::random_device{}());
  const int kKills = 6;
  for (int k = 0; k < kKills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(250, 900)(rng)));
    server.Kill(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.Start();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  loading = false;
  for (auto& t : load) t.join();

  // Let the last run finish everything it accepted.
  const std::string db = dir.File("crash.db");
  for (int i = 0; i < 3000; ++i) {
    if (QueryInt(db, "SELECT COUNT(*) FROM messages WHERE direction='in' AND status='pending'") == 0 &&
        QueryInt(db, "SELECT COUNT(*) FROM outbox WHERE state IN ('pending','in_flight')") == 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server.Kill(SIGTERM);

  std::set<std::string> stored;
  for (const auto& id : Query(db, "SELECT provider_id FROM messages WHERE direction='in' AND status='processed'")) stored.insert(id);
  std::map<std::string, int> replies_to;
  std::map<std::string, int> same_request;  // (to, body) → times sent
  for (const auto& r : graph.Requests()) {
    const std::string to = r.json.value("to", "");
    ++replies_to[to];
    ++same_request[to + "\n" + r.body];
  }
  int lost = 0, unanswered = 0;
  for (const auto& [wamid, number] : acked) {
    if (!stored.count(wamid)) ++lost;
    if (!replies_to.count(number)) ++unanswered;
  }
  int duplicates = 0;
  for (const auto& [key, n] : same_request) duplicates += n - 1;
  const long in_flight_at_kills = QueryInt(db, "SELECT COALESCE(SUM(requeued_after_crash), 0) FROM outbox");

  ::testing::Test::RecordProperty("kills", kKills);
  ::testing::Test::RecordProperty("acknowledged", static_cast<int>(acked.size()));
  ::testing::Test::RecordProperty("replies", static_cast<int>(graph.Requests().size()));
  ::testing::Test::RecordProperty("duplicates", duplicates);
  ::testing::Test::RecordProperty("in_flight_at_kills", static_cast<int>(in_flight_at_kills));
  std::printf("crash test: %d kills, %d webhooks attempted, %zu acknowledged, %zu replies, %d sent twice, %ld in flight at kills\n",
              kKills, attempted.load(), acked.size(), graph.Requests().size(), duplicates, in_flight_at_kills);
  EXPECT_GT(acked.size(), 100u) << "the load was too small to mean anything";
  EXPECT_EQ(lost, 0) << "acknowledged messages missing from the database";
  EXPECT_EQ(unanswered, 0) << "acknowledged messages never answered";
  EXPECT_LE(duplicates, in_flight_at_kills) << "more replies repeated than were in flight at the kills";
}

}  // namespace
}  // namespace bot::testing
