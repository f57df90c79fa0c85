// A fake Graph API: answers every POST .../messages like WhatsApp Cloud API does and records, per
// recipient ("to"), when the first and the last reply arrived (CLOCK_MONOTONIC, shared by all
// processes on the machine) and how many arrived. Tuned cpp-httplib (see tuned_httplib.h).
#ifndef BENCH_FAKE_GRAPH_LIB_H_
#define BENCH_FAKE_GRAPH_LIB_H_

#include <time.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "bench/tuned_httplib.h"

namespace bench {

inline int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// "to":"..." of a compact JSON body ("" if absent).
inline std::string RecipientOf(const std::string& body) {
  static const std::string key = "\"to\":\"";
  size_t p = body.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  size_t e = body.find('"', p);
  return e == std::string::npos ? "" : body.substr(p, e - p);
}

class FakeGraph {
 public:
  struct Rec {
    int64_t first_ns = 0, last_ns = 0;
    int count = 0;
  };

  FakeGraph() {
    svr_.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      const int64_t now = MonoNs();
      const std::string to = RecipientOf(req.body);
      {
        std::lock_guard lock(mu_);
        Rec& r = recs_[to];
        if (r.count++ == 0) r.first_ns = now;
        r.last_ns = now;
        ++requests_;
      }
      res.set_content(R"({"messaging_product":"whatsapp","contacts":[{"input":")" + to + R"(","wa_id":")" + to +
                          R"("}],"messages":[{"id":"wamid.x"}]})",
                      "application/json");
    });
    svr_.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      res.set_content("{\"requests\":" + std::to_string(requests_) + ",\"recipients\":" + std::to_string(recs_.size()) + "}",
                      "application/json");
    });
  }
  ~FakeGraph() { Stop(); }

  bool Start(const std::string& host, int port, int threads = 128) {
    if (!TuneAndBind(svr_, host, port, threads)) return false;
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    for (int i = 0; i < 500 && !svr_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return svr_.is_running();
  }
  void Serve(const std::string& host, int port, int threads = 128) {  // blocking
    if (!TuneAndBind(svr_, host, port, threads)) std::exit(1);
    svr_.listen_after_bind();
  }
  void Stop() {
    if (svr_.is_running()) svr_.stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Server& server() { return svr_; }

  bool Get(const std::string& to, Rec& out) {
    std::lock_guard lock(mu_);
    auto it = recs_.find(to);
    if (it == recs_.end()) return false;
    out = it->second;
    return true;
  }
  int64_t requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::unordered_map<std::string, Rec> Snapshot() {
    std::lock_guard lock(mu_);
    return recs_;
  }

 private:
  httplib::Server svr_;
  std::thread thread_;
  std::mutex mu_;
  std::unordered_map<std::string, Rec> recs_;
  int64_t requests_ = 0;
};

}  // namespace bench

#endif  // BENCH_FAKE_GRAPH_LIB_H_
