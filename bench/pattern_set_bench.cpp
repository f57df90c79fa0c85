// Evidence for a change request (BENCHMARKS.md §7): the intent engine runs every rule pattern
// (364 in the shipped rules) as its own RE2::PartialMatch on every message. This benchmark runs
// the same patterns, folded and compiled the way intents/classifier.cc compiles them, on the
// same key form of the tuning messages, (a) one PartialMatch per pattern and (b) as one RE2::Set,
// and checks that both find exactly the same patterns for every message.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>
#include <re2/set.h>

#include "bot/content/content.h"
#include "intents/normalizer.h"

#ifndef RAHNAMA_REPO
#define RAHNAMA_REPO "."
#endif

namespace {
using json = nlohmann::json;

std::string Env(const char* n, const std::string& d) {
  const char* v = std::getenv(n);
  return v && *v ? v : d;
}

// The folding in Classifier::Build: non-ASCII letters through Normalize's key form, ASCII lower-cased.
std::string Fold(const std::string& p) {
  std::string folded;
  size_t i = 0;
  while (i < p.size()) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    std::string one = p.substr(i, len);
    if (c >= 0x80) {
      auto n = bot::intents::Normalize(one);
      folded += n.ok() && !n->tokens.empty() ? n->tokens[0].key : one;
    } else {
      folded += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    i += len;
  }
  return folded;
}

struct Fixture {
  std::vector<std::unique_ptr<RE2>> res;
  std::unique_ptr<RE2::Set> set;
  std::vector<std::string> padded;  // " " + key + " ", as Classify matches
  Fixture() {
    auto doc = bot::content::LoadLocalesDirectory(Env("BENCH_LOCALES", RAHNAMA_REPO "/locales"));
    if (!doc.ok()) std::exit(2);
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_max_mem(1 << 20);
    RE2::Options set_opts = opts;
    set_opts.set_max_mem(64 << 20);
    set = std::make_unique<RE2::Set>(set_opts, RE2::UNANCHORED);
    for (const json& r : (*doc)["rules"])
      if (r.contains("patterns"))
        for (const json& p : r["patterns"]) {
          std::string f = Fold(p.get<std::string>());
          res.push_back(std::make_unique<RE2>(f, opts));
          std::string err;
          if (set->Add(f, &err) < 0) std::fprintf(stderr, "set add: %s\n", err.c_str());
        }
    if (!set->Compile()) std::fprintf(stderr, "set compile failed\n");
    const std::string dir = Env("BENCH_DATA", RAHNAMA_REPO "/locales/examples");
    for (const char* f : {"eval.jsonl", "extra.jsonl"}) {
      std::ifstream in(dir + "/" + f);
      std::string s;
      while (std::getline(in, s))
        if (!s.empty()) {
          auto n = bot::intents::Normalize(json::parse(s)["text"].get<std::string>());
          if (n.ok()) padded.push_back(" " + n->key + " ");
        }
    }
    // Same answers?
    int mismatches = 0, hits = 0;
    for (const auto& t : padded) {
      std::vector<int> a, b;
      for (size_t i = 0; i < res.size(); ++i)
        if (RE2::PartialMatch(t, *res[i])) a.push_back(static_cast<int>(i));
      set->Match(t, &b);
      std::sort(b.begin(), b.end());
      hits += static_cast<int>(a.size());
      if (a != b) ++mismatches;
    }
    std::fprintf(stderr, "PATTERNS n=%zu messages=%zu pattern_hits=%d messages_with_different_matches=%d\n", res.size(),
                 padded.size(), hits, mismatches);
  }
};

Fixture& F() {
  static Fixture f;
  return f;
}

void BM_PatternsOneByOne(benchmark::State& state) {
  auto& f = F();
  size_t i = 0;
  for (auto _ : state) {
    int n = 0;
    for (const auto& re : f.res) n += RE2::PartialMatch(f.padded[i], *re);
    benchmark::DoNotOptimize(n);
    if (++i == f.padded.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PatternsAsOneSet(benchmark::State& state) {
  auto& f = F();
  size_t i = 0;
  std::vector<int> m;
  for (auto _ : state) {
    m.clear();
    f.set->Match(f.padded[i], &m);
    benchmark::DoNotOptimize(m.data());
    if (++i == f.padded.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_PatternsOneByOne)->MinTime(1.0);
BENCHMARK(BM_PatternsAsOneSet)->MinTime(1.0);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  F();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
