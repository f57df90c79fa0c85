// Intent-engine throughput (Google Benchmark) on the labelled tuning sets locales/examples/eval.jsonl +
// extra.jsonl (NOT heldout.jsonl): a realistic mix of English, Dari and Pashto in Arabic script,
// and romanized Dari/Pashto. One benchmark iteration classifies one message; items_per_second is
// messages/s on one thread (one core when pinned with taskset). Peak RSS is printed at the end.
//
// Environment: BENCH_LOCALES (default <repo>/locales), BENCH_DATA (default <repo>/locales/examples).
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "bot/content/content.h"

#ifndef RAHNAMA_REPO
#define RAHNAMA_REPO "."
#endif

namespace {

using json = nlohmann::json;

struct Line {
  std::string text, group;
};

std::string Env(const char* n, const std::string& d) {
  const char* v = std::getenv(n);
  return v && *v ? v : d;
}

long VmKb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string k;
  long v = -1;
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) v = std::atol(line.c_str() + std::string(key).size());
  return v;
}

const std::vector<Line>& Corpus() {
  static std::vector<Line> lines = [] {
    std::vector<Line> out;
    const std::string dir = Env("BENCH_DATA", RAHNAMA_REPO "/locales/examples");
    for (const char* f : {"eval.jsonl", "extra.jsonl"}) {  // never heldout.jsonl
      std::ifstream in(dir + "/" + f);
      if (!in) {
        std::fprintf(stderr, "cannot read %s/%s\n", dir.c_str(), f);
        std::exit(2);
      }
      std::string s;
      while (std::getline(in, s)) {
        if (s.empty()) continue;
        json j = json::parse(s);
        const std::string lang = j["language"].is_string() ? j["language"].get<std::string>() : "none";
        out.push_back({j["text"], lang + "/" + j.value("script", "")});
      }
    }
    return out;
  }();
  return lines;
}

long g_rss_before_kb = 0, g_rss_after_build_kb = 0;

std::shared_ptr<const bot::content::Snapshot> Snapshot() {
  static std::shared_ptr<const bot::content::Snapshot> snap = [] {
    g_rss_before_kb = VmKb("VmRSS:");
    auto doc = bot::content::LoadLocalesDirectory(Env("BENCH_LOCALES", RAHNAMA_REPO "/locales"));
    if (!doc.ok()) {
      std::fprintf(stderr, "%s\n", doc.status().message().c_str());
      std::exit(2);
    }
    auto s = bot::content::Snapshot::Build(std::move(*doc), 0);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().message().c_str());
      std::exit(2);
    }
    g_rss_after_build_kb = VmKb("VmRSS:");
    return *s;
  }();
  return snap;
}

// Classifies as the server does: its ingest writer classifies the traffic (and the processor's
// lanes what it did not), both with the bulk word cache; other threads keep the default, smaller
// one (BM_ClassifyMixHttpThread).
void Run(benchmark::State& state, const std::vector<const Line*>& lines,
         size_t word_cache = bot::intents::Classifier::kBulkWordCacheLimit) {
  bot::intents::Classifier::SetWordCacheLimitForThisThread(word_cache);
  const auto& c = Snapshot()->classifier();
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const Line* l = lines[i];
    bytes += l->text.size();
    benchmark::DoNotOptimize(c.Classify(l->text));
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["messages"] = static_cast<double>(lines.size());
}

// The whole tuning mix, in file order.
void BM_ClassifyMix(benchmark::State& state) {
  std::vector<const Line*> all;
  for (const auto& l : Corpus()) all.push_back(&l);
  Run(state, all);
}

// The mix with the default word cache (before run 17 the HTTP threads classified for the urgent
// hint with it): the tuning sets hold ~2,400 distinct words, more than it keeps, so it keeps
// starting over.
void BM_ClassifyMixHttpThread(benchmark::State& state) {
  std::vector<const Line*> all;
  for (const auto& l : Corpus()) all.push_back(&l);
  Run(state, all, bot::intents::Classifier::kDefaultWordCacheLimit);
}

// The same mix, each message with one word never seen before appended ("qx" + a base-26 counter),
// so any per-word or per-text cache in the engine misses at least once per message: the cost of
// a message with a new spelling in it.
void BM_ClassifyMixNewWord(benchmark::State& state) {
  bot::intents::Classifier::SetWordCacheLimitForThisThread(bot::intents::Classifier::kBulkWordCacheLimit);
  const auto& c = Snapshot()->classifier();
  const auto& corpus = Corpus();
  size_t i = 0;
  uint64_t n = 0;
  std::string text;
  for (auto _ : state) {
    text = corpus[i].text;  // building the text costs ~50 ns, left inside the timing
    text += " qx";
    for (uint64_t k = n++; k; k /= 26) text += static_cast<char>('a' + k % 26);
    if (++i == corpus.size()) i = 0;
    benchmark::DoNotOptimize(c.Classify(text));
  }
  state.SetItemsProcessed(state.iterations());
}

// One language/script at a time.
void BM_ClassifyGroup(benchmark::State& state, std::string group) {
  std::vector<const Line*> sel;
  for (const auto& l : Corpus())
    if (l.group == group) sel.push_back(&l);
  if (sel.empty()) {
    state.SkipWithError("no messages in group");
    return;
  }
  Run(state, sel);
}

// Compiling the shipped rules (what a publish or a start costs).
void BM_BuildSnapshot(benchmark::State& state) {
  auto doc = bot::content::LoadLocalesDirectory(Env("BENCH_LOCALES", RAHNAMA_REPO "/locales"));
  for (auto _ : state) {
    auto s = bot::content::Snapshot::Build(*doc, 0);
    benchmark::DoNotOptimize(s);
  }
}

}  // namespace

BENCHMARK(BM_ClassifyMix)->MinTime(1.0);
BENCHMARK(BM_ClassifyMix)->MinTime(1.0)->Threads(2)->UseRealTime();
BENCHMARK(BM_ClassifyMixHttpThread)->MinTime(1.0);
BENCHMARK(BM_ClassifyMixNewWord)->MinTime(1.0);
BENCHMARK_CAPTURE(BM_ClassifyGroup, en, std::string("en/latn"))->MinTime(0.5);
BENCHMARK_CAPTURE(BM_ClassifyGroup, prs_arab, std::string("prs/arab"))->MinTime(0.5);
BENCHMARK_CAPTURE(BM_ClassifyGroup, prs_latn, std::string("prs/latn"))->MinTime(0.5);
BENCHMARK_CAPTURE(BM_ClassifyGroup, ps_arab, std::string("ps/arab"))->MinTime(0.5);
BENCHMARK_CAPTURE(BM_ClassifyGroup, ps_latn, std::string("ps/latn"))->MinTime(0.5);
BENCHMARK(BM_BuildSnapshot)->Unit(benchmark::kMillisecond)->MinTime(1.0);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Snapshot();  // load once, outside the timings
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fprintf(stderr, "MEMORY rss_before_load_kb=%ld rss_after_build_kb=%ld peak_rss_kb=%ld corpus_messages=%zu\n",
               g_rss_before_kb, g_rss_after_build_kb, VmKb("VmHWM:"), Corpus().size());
  return 0;
}
