// The running helpline: storage, content, pipeline and two HTTP listeners — the public one for
// Meta's webhooks and a private admin one (API, console, metrics) — wired together.
#ifndef BOT_SERVER_SERVER_H_
#define BOT_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "bot/core/clock.h"
#include "bot/core/status.h"
#include "bot/server/ingest_pressure.h"

namespace bot::server {

struct Config {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  std::string admin_host = "127.0.0.1";
  int admin_port = 8081;
  std::string db_path = "data/rahnama.db";
  std::string locales_dir = "locales";
  std::string console_dir = "bot/console";  // static files of the web console ("" = none)
  std::string app_secret;
  std::string verify_token;
  std::string graph_url = "https://graph.facebook.com";
  std::string graph_version = "v21.0";
  std::string whatsapp_token;
  std::string page_token;
  bool dev = false;
  std::string synchronous = "FULL";
  size_t max_body_bytes = 3 * 1024 * 1024;  // Meta's documented webhook maximum
  int max_json_depth = 64;
  int http_threads = 128;  // per listener; a connection holds one while open (see Listen)
  int sender_threads = 4;
  double send_rate_per_number = 80;
  int64_t retry_base_ms = 1000;
  int64_t give_up_after_ms = 24LL * 3600 * 1000;  // a reply still unsent this long after queueing fails
  int retention_days = 90;           // message bodies of people with no open case
  int resolved_case_days = 180;      // personal fields of resolved cases
  IngestBackoff ingest_backoff;      // when the ordinary lane gives webhooks the cores
  const Clock* clock = nullptr;      // tests only: a FakeClock; must outlive the server
};

class Server {
 public:
  // Opens the database (creating, checking and migrating it), loads content, and binds both
  // listeners. Fails with a message a person can act on: missing secrets outside --dev, a port
  // already in use, a database newer than this binary, content that does not compile.
  static Result<std::unique_ptr<Server>> Start(Config config);
  ~Server();

  int port() const;
  int admin_port() const;
  // Blocks until Stop() (or a signal handler calling it).
  void Wait();
  // Stops accepting, finishes messages and sends in hand, closes the database. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bot::server

#endif  // BOT_SERVER_SERVER_H_
