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
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  bench::FakeGraph graph;
  g_graph = &graph;
  std::signal(SIGTERM, [](int) { g_graph->server().stop(); });
  graph.Serve("127.0.0.1", std::atoi(argv[1]));
  std::fprintf(stderr, "fake_graph: %lld requests\n", static_cast<long long>(graph.requests()));
  return 0;
}
