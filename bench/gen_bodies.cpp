// Pre-generates signed WhatsApp Cloud API webhook bodies for wrk (wrk's Lua has no HMAC-SHA256).
// Each line is "sha256=<hex HMAC of body>\t<body>"; every body has a unique wamid, and texts cycle
// through the labelled corpus (locales/examples/eval.jsonl + extra.jsonl: en, prs, ps, romanized).
// One file per wrk thread, so threads never send the same message.
// Usage: gen_bodies --secret S --out PREFIX [--threads T] [--per-thread N] [--tag TAG] [--senders K] CORPUS.jsonl...
//        writes PREFIX_1.txt .. PREFIX_T.txt
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/webhook_body.h"

int main(int argc, char** argv) {
  std::string secret, out, tag = "b";
  int threads = 2, senders = 20000;
  long per_thread = 1000;
  std::vector<std::string> corpus_files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(argv[++i]); };
    if (a == "--secret") secret = next();
    else if (a == "--out") out = next();
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--per-thread") per_thread = std::stol(next());
    else if (a == "--tag") tag = next();
    else if (a == "--senders") senders = std::stoi(next());
    else corpus_files.push_back(a);
  }
  auto corpus = bench::ReadCorpus(corpus_files);
  if (secret.empty() || out.empty() || corpus.empty()) {
    std::cerr << "usage: gen_bodies --secret S --out PREFIX [--threads T] [--per-thread N] [--tag TAG] CORPUS...\n";
    return 2;
  }
  long n = 0;
  for (int t = 1; t <= threads; ++t) {
    std::ofstream o(out + "_" + std::to_string(t) + ".txt");
    for (long i = 0; i < per_thread; ++i, ++n) {
      const std::string from = "93" + std::to_string(700000000 + (n * 7919) % senders);
      const std::string wamid = "wamid.BENCH-" + tag + "-" + std::to_string(t) + "-" + std::to_string(i);
      const std::string body = bench::WebhookBody(from, wamid, corpus[n % corpus.size()].text, 1764000000 + n / 1000);
      o << bench::HmacSha256Header(secret, body) << '\t' << body << '\n';
    }
  }
  std::cerr << "gen_bodies: " << n << " bodies from " << corpus.size() << " texts, " << senders << " senders\n";
  return 0;
}
