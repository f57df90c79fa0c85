// Standalone fake Graph API for the ingest benchmark: rahnama's sender delivers its replies here
// (RAHNAMA_GRAPH_URL=http://127.0.0.1:PORT). Answers
// {"messaging_product":"whatsapp","messages":[{"id":"wamid.x"}]}; GET /stats counts requests.
// Usage: fake_graph PORT
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "bench/fake_graph_lib.h"

static bench::FakeGraph* g_graph = nullptr;

int main(int argc, char** argv) {
  // "--help" or anything but a port number: the usage (atoi("--help") was port 0, a random one).
  const int port = argc == 2 ? std::atoi(argv[1]) : 0;
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "usage: %s PORT   (a fake Graph API on 127.0.0.1:PORT; SIGTERM stops it)\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  bench::FakeGraph graph;
  g_graph = &graph;
  std::signal(SIGTERM, [](int) { g_graph->server().stop(); });
  graph.Serve("127.0.0.1", port);
  std::fprintf(stderr, "fake_graph: %lld requests\n", static_cast<long long>(graph.requests()));
  return 0;
}
