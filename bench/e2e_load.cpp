// End-to-end load generator: posts signed WhatsApp webhooks to rahnama and embeds the fake Graph
// API that rahnama sends its replies to, so "message in → reply received" is timed on one clock
// (CLOCK_MONOTONIC). Every message comes from a new number, so a reply is matched by recipient.
//
//   steady:  open loop at --rate messages/s for --warmup + --duration seconds; each message is
//            scheduled at t0 + i/rate and timed from its scheduled instant (no coordinated
//            omission); the first --warmup seconds are not reported.
//   backlog: posts --backlog ordinary messages as fast as --workers connections allow, then,
//            while that backlog drains, posts an urgent message (each from a new number) every
//            --urgent-interval-ms, and times each one's first reply. Reports the drain time.
//
// Start it before rahnama (it serves the fake Graph API on --graph-port and waits for the
// webhook port to answer /healthz). Prints one JSON object on stdout.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/fake_graph_lib.h"
#include "bench/webhook_body.h"

using json = nlohmann::json;
using bench::MonoNs;

namespace {

struct Msg {
  std::string to, body, sig;
  int64_t scheduled_ns = 0, sent_ns = 0, acked_ns = 0;
  int status = 0;
  bool urgent = false, measured = true;
};

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) ;
  if (i > 0) --i;
  return v[std::min(i, v.size() - 1)];
}

json Summary(const std::vector<double>& ms) {
  json j = {{"n", ms.size()}};
  if (ms.empty()) return j;
  j["p50_ms"] = Pct(ms, 50);
  j["p90_ms"] = Pct(ms, 90);
  j["p99_ms"] = Pct(ms, 99);
  j["max_ms"] = Pct(ms, 100);
  return j;
}

std::unique_ptr<httplib::Client> MakeClient(int port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_tcp_nodelay(true);  // the client side has the Nagle trap too (peer-bench §5)
  c->set_keep_alive(true);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(30, 0);
  c->set_write_timeout(30, 0);
  return c;
}

bool Post(httplib::Client& c, Msg& m) {
  m.sent_ns = MonoNs();
  httplib::Headers h = {{"X-Hub-Signature-256", m.sig}};
  auto r = c.Post("/webhooks/whatsapp", h, m.body, "application/json");
  m.acked_ns = MonoNs();
  m.status = r ? r->status : -1;
  return r && r->status == 200;
}

// A pool of keep-alive connections working through a queue of messages.
class Poster {
 public:
  Poster(int port, int workers) {
    for (int i = 0; i < workers; ++i)
      threads_.emplace_back([this, port] {
        auto c = MakeClient(port);
        while (true) {
          Msg* m;
          {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return done_ || !q_.empty(); });
            if (q_.empty()) return;
            m = q_.front();
            q_.pop_front();
          }
          if (!Post(*c, *m)) failed_++;
          acked_++;
        }
      });
  }
  void Push(Msg* m) {
    {
      std::lock_guard lock(mu_);
      q_.push_back(m);
    }
    cv_.notify_one();
  }
  void Finish() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  std::atomic<long> acked_{0}, failed_{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Msg*> q_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string mode = "steady", secret, tag = "1";
  int port = 0, graph_port = 0, workers = 64;
  double rate = 500, duration = 10, warmup = 2, wait_s = 60;
  long backlog = 10000;
  int urgent_interval_ms = 100, urgent_max = 200;
  std::string urgent_text = "police arrested my brother right now, please help";
  std::vector<std::string> corpus_files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(argv[++i]); };
    if (a == "--mode") mode = next();
    else if (a == "--port") port = std::stoi(next());
    else if (a == "--graph-port") graph_port = std::stoi(next());
    else if (a == "--secret") secret = next();
    else if (a == "--tag") tag = next();
    else if (a == "--workers") workers = std::stoi(next());
    else if (a == "--rate") rate = std::stod(next());
    else if (a == "--duration") duration = std::stod(next());
    else if (a == "--warmup") warmup = std::stod(next());
    else if (a == "--wait") wait_s = std::stod(next());
    else if (a == "--backlog") backlog = std::stol(next());
    else if (a == "--urgent-interval-ms") urgent_interval_ms = std::stoi(next());
    else if (a == "--urgent-max") urgent_max = std::stoi(next());
    else if (a == "--urgent-text") urgent_text = next();
    else corpus_files.push_back(a);
  }
  if (port == 0 || graph_port == 0 || secret.empty() || corpus_files.empty()) {
    std::cerr << "usage: e2e_load --mode steady|backlog --port P --graph-port G --secret S CORPUS.jsonl...\n";
    return 2;
  }
  std::vector<std::string> ordinary;
  for (const auto& c : bench::ReadCorpus(corpus_files))
    if (!c.urgent) ordinary.push_back(c.text);

  bench::FakeGraph graph;
  if (!graph.Start("127.0.0.1", graph_port)) return 1;
  {  // wait for rahnama
    httplib::Client probe("127.0.0.1", port);
    probe.set_connection_timeout(0, 200000);
    bool up = false;
    for (int i = 0; i < 300 && !up; ++i) {
      auto r = probe.Get("/healthz");
      up = r && r->status == 200;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!up) {
      std::cerr << "e2e_load: rahnama did not answer /healthz on port " << port << "\n";
      return 1;
    }
  }
  const std::string prefix = "93" + tag;  // numbers unique per run tag
  auto number = [&](int kind, long i) {  // kind 1 ordinary, 9 urgent
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%d%07ld", prefix.c_str(), kind, i);
    return std::string(buf);
  };
  auto make = [&](int kind, long i, const std::string& text) {
    auto m = std::make_unique<Msg>();
    m->to = number(kind, i);
    m->body = bench::WebhookBody(m->to, "wamid.E2E-" + tag + "-" + std::to_string(kind) + "-" + std::to_string(i), text);
    m->sig = bench::HmacSha256Header(secret, m->body);
    m->urgent = kind == 9;
    return m;
  };
  auto first_reply = [&](const std::unordered_map<std::string, bench::FakeGraph::Rec>& recs, const Msg& m) -> int64_t {
    auto it = recs.find(m.to);
    return it == recs.end() ? 0 : it->second.first_ns;
  };

  json out = {{"mode", mode}, {"tag", tag}};
  if (mode == "steady") {
    const long n = static_cast<long>(rate * (warmup + duration));
    const long n_warm = static_cast<long>(rate * warmup);
    std::vector<std::unique_ptr<Msg>> msgs;
    for (long i = 0; i < n; ++i) msgs.push_back(make(1, i, ordinary[i % ordinary.size()]));
    for (long i = 0; i < n_warm; ++i) msgs[i]->measured = false;
    Poster poster(port, workers);
    const int64_t t0 = MonoNs() + 50'000'000;
    for (long i = 0; i < n; ++i) {
      msgs[i]->scheduled_ns = t0 + static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate);
      while (true) {
        int64_t d = msgs[i]->scheduled_ns - MonoNs();
        if (d <= 0) break;
        std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(d, 2'000'000)));
      }
      poster.Push(msgs[i].get());
    }
    const int64_t last_sched = MonoNs();
    poster.Finish();
    // wait for every reply (or the deadline)
    const int64_t deadline = last_sched + static_cast<int64_t>(wait_s * 1e9);
    std::unordered_map<std::string, bench::FakeGraph::Rec> recs;
    while (true) {
      recs = graph.Snapshot();
      long got = 0;
      for (auto& m : msgs) got += first_reply(recs, *m) != 0;
      if (got == n || MonoNs() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::vector<double> e2e, ack, lag;
    long missing = 0, measured = 0, non200 = 0;
    for (auto& m : msgs) {
      if (!m->measured) continue;
      ++measured;
      non200 += m->status != 200;
      ack.push_back((m->acked_ns - m->sent_ns) / 1e6);
      lag.push_back((m->sent_ns - m->scheduled_ns) / 1e6);
      int64_t f = first_reply(recs, *m);
      if (f == 0) ++missing;
      else e2e.push_back((f - m->scheduled_ns) / 1e6);
    }
    out["rate"] = rate;
    out["duration_s"] = duration;
    out["warmup_s"] = warmup;
    out["measured"] = measured;
    out["non200"] = non200;
    out["no_reply"] = missing;
    out["e2e"] = Summary(e2e);
    out["webhook_ack"] = Summary(ack);
    out["send_lag"] = Summary(lag);
    out["achieved_rate"] = static_cast<double>(n) / ((last_sched - t0) / 1e9);
  } else {
    std::vector<std::unique_ptr<Msg>> msgs;
    for (long i = 0; i < backlog; ++i) msgs.push_back(make(1, i, ordinary[i % ordinary.size()]));
    Poster poster(port, workers);
    const int64_t t0 = MonoNs();
    for (auto& m : msgs) {
      m->scheduled_ns = t0;
      poster.Push(m.get());
    }
    poster.Finish();
    const int64_t t_acked = MonoNs();
    // Urgent messages at intervals while the backlog drains.
    std::vector<std::unique_ptr<Msg>> urgent;
    auto client = MakeClient(port);
    const int64_t deadline = t_acked + static_cast<int64_t>(wait_s * 1e9);
    int64_t next_urgent = t_acked;
    long replied = 0;
    int64_t drained_ns = 0;
    std::unordered_map<std::string, bench::FakeGraph::Rec> recs;
    std::vector<long> backlog_left_at_urgent;
    while (MonoNs() < deadline) {
      recs = graph.Snapshot();
      replied = 0;
      int64_t last = 0;
      for (auto& m : msgs) {
        int64_t f = first_reply(recs, *m);
        if (f != 0) ++replied, last = std::max(last, f);
      }
      if (replied == backlog) {
        drained_ns = last;
        break;
      }
      if (static_cast<int>(urgent.size()) < urgent_max && MonoNs() >= next_urgent) {
        auto u = make(9, static_cast<long>(urgent.size()), urgent_text);
        u->scheduled_ns = MonoNs();
        Post(*client, *u);
        backlog_left_at_urgent.push_back(backlog - replied);
        urgent.push_back(std::move(u));
        next_urgent += static_cast<int64_t>(urgent_interval_ms) * 1'000'000;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Let the last urgent replies arrive.
    for (int i = 0; i < 400; ++i) {
      recs = graph.Snapshot();
      bool all = true;
      for (auto& u : urgent) all = all && first_reply(recs, *u) != 0;
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Total replies settle: wait until the fake API has had nothing new for 1 s.
    int64_t quiet_start = MonoNs();
    int64_t last_count = graph.requests();
    while (MonoNs() - quiet_start < 1'000'000'000 && MonoNs() < deadline + 10'000'000'000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      int64_t c = graph.requests();
      if (c != last_count) last_count = c, quiet_start = MonoNs();
    }
    recs = graph.Snapshot();
    int64_t last_any = 0;
    for (auto& m : msgs) {
      auto it = recs.find(m->to);
      if (it != recs.end()) last_any = std::max(last_any, it->second.last_ns);
    }
    std::vector<double> ulat, uack;
    long u_missing = 0;
    for (auto& u : urgent) {
      int64_t f = first_reply(recs, *u);
      uack.push_back((u->acked_ns - u->sent_ns) / 1e6);
      if (f == 0) ++u_missing;
      else ulat.push_back((f - u->sent_ns) / 1e6);
    }
    long non200 = 0;
    for (auto& m : msgs) non200 += m->status != 200;
    out["backlog"] = backlog;
    out["workers"] = workers;
    out["post_s"] = (t_acked - t0) / 1e9;
    out["post_rate"] = backlog / ((t_acked - t0) / 1e9);
    out["non200"] = non200;
    out["replied"] = replied;
    out["drained"] = drained_ns != 0;
    out["drain_s_from_first_post"] = drained_ns ? (drained_ns - t0) / 1e9 : NAN;
    out["drain_s_from_all_acked"] = drained_ns ? (drained_ns - t_acked) / 1e9 : NAN;
    out["all_replies_s_from_first_post"] = last_any ? (last_any - t0) / 1e9 : NAN;
    out["graph_requests"] = graph.requests();
    out["urgent"] = Summary(ulat);
    out["urgent_ack"] = Summary(uack);
    out["urgent_sent"] = urgent.size();
    out["urgent_no_reply"] = u_missing;
    out["urgent_interval_ms"] = urgent_interval_ms;
    if (!backlog_left_at_urgent.empty()) {
      out["backlog_left_at_first_urgent"] = backlog_left_at_urgent.front();
      out["backlog_left_at_last_urgent"] = backlog_left_at_urgent.back();
    }
    json lat = json::array();
    for (auto v : ulat) lat.push_back(std::round(v * 100) / 100);
    out["urgent_latencies_ms"] = lat;
  }
  graph.Stop();
  std::cout << out.dump() << std::endl;
  return 0;
}
