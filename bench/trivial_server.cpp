// The "trivial limit": a cpp-httplib server that parses the webhook JSON and answers 200, tuned
// like peer-bench's "A tuned" row (nodelay, backlog 1024, 128 threads, keep-alive 1000).
// Usage: trivial_server PORT
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "bench/tuned_httplib.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  httplib::Server svr;
  svr.Post("/webhooks/whatsapp", [](const httplib::Request& req, httplib::Response& res) {
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded()) {
      res.status = 400;
      res.set_content(R"({"error":"bad json"})", "application/json");
      return;
    }
    res.set_content(R"({"received":1})", "application/json");
  });
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  if (!bench::TuneAndBind(svr, "127.0.0.1", std::atoi(argv[1]))) return 1;
  // SIGTERM: stop cleanly.
  static httplib::Server* g = &svr;
  std::signal(SIGTERM, [](int) { g->stop(); });
  svr.listen_after_bind();
  return 0;
}
