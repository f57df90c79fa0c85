// A fake Graph API on 127.0.0.1: records every request and answers like Meta (or fails on
// purpose), so tests exercise the real HTTP client path.
#ifndef TESTS_SUPPORT_FAKE_GRAPH_H_
#define TESTS_SUPPORT_FAKE_GRAPH_H_

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace bot::testing {

struct RecordedRequest {
  std::string method;
  std::string path;
  std::string authorization;
  std::string body;
  nlohmann::json json;
  std::map<std::string, std::string> headers;
};

class FakeGraph {
 public:
  // A planned answer: HTTP status and body. With none planned, every send succeeds.
  struct Answer {
    int status;
    std::string body;
  };

  FakeGraph() {
    svr_.set_tcp_nodelay(true);
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      RecordedRequest r;
      r.method = req.method;
      r.path = req.path;
      r.authorization = req.get_header_value("Authorization");
      r.body = req.body;
      r.json = nlohmann::json::parse(req.body, nullptr, false);
      for (const auto& [k, v] : req.headers) r.headers[k] = v;
      Answer a{200, ""};
      {
        std::lock_guard lock(mutex_);
        ++attempts_;
        if (!planned_.empty()) {
          a = planned_.front();
          planned_.pop_front();
        }
        if (!refuse_containing_.empty() && req.body.find(refuse_containing_) != std::string::npos) a = refusal_;
        if (a.status >= 200 && a.status < 300) {
          requests_.push_back(r);
          if (a.body.empty())
            a.body = R"({"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],"messages":[{"id":"wamid.fake-)" +
                     std::to_string(requests_.size()) + R"("}]})";
        } else {
          failed_.push_back(r);
        }
      }
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
      res.status = a.status;
      res.set_content(a.body.empty() ? R"({"error":{"message":"fake failure","code":1}})" : a.body, "application/json");
    };
    svr_.Post(R"(.*)", handler);
    svr_.Get(R"(.*)", [this, handler](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mutex_);
        auto it = get_routes_.find(req.path);
        if (it != get_routes_.end()) {
          gets_.push_back(req.path + " " + req.get_header_value("Authorization"));
          res.set_content(it->second.second, it->second.first);
          return;
        }
      }
      handler(req, res);
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeGraph() {
    svr_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Plan(std::vector<Answer> answers) {
    std::lock_guard lock(mutex_);
    for (auto& a : answers) planned_.push_back(a);
  }
  void SetDelayMs(int ms) { delay_ms_ = ms; }
  // Every request whose body holds `needle` gets `answer`, however often it is tried.
  void AlwaysAnswer(const std::string& needle, Answer answer) {
    std::lock_guard lock(mutex_);
    refuse_containing_ = needle;
    refusal_ = std::move(answer);
  }
  // A fixed answer for GET `path` (media lookups and downloads).
  void OnGet(const std::string& path, const std::string& content_type, const std::string& body) {
    std::lock_guard lock(mutex_);
    get_routes_[path] = {content_type, body};
  }
  std::vector<std::string> Gets() const {
    std::lock_guard lock(mutex_);
    return gets_;
  }
  // Requests that were answered with success.
  std::vector<RecordedRequest> Requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<RecordedRequest> RequestsTo(const std::string& recipient) const {
    std::vector<RecordedRequest> out;
    for (const auto& r : Requests())
      if (r.json.is_object() &&
          ((r.json.contains("to") && r.json["to"] == recipient) ||
           (r.json.contains("recipient") && r.json["recipient"].is_object() && r.json["recipient"].value("id", "") == recipient) ||
           (r.json.contains("recipient") && r.json["recipient"] == recipient)))
        out.push_back(r);
    return out;
  }
  int Attempts() const {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  // Waits until at least `n` successful requests went to `recipient` (or any, when empty).
  bool WaitFor(size_t n, const std::string& recipient = "", int timeout_ms = 10000) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      size_t have = recipient.empty() ? Requests().size() : RequestsTo(recipient).size();
      if (have >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::deque<Answer> planned_;
  std::string refuse_containing_;
  Answer refusal_{200, ""};
  std::vector<RecordedRequest> requests_, failed_;
  std::map<std::string, std::pair<std::string, std::string>> get_routes_;
  std::vector<std::string> gets_;
  int attempts_ = 0;
  std::atomic<int> delay_ms_{0};
};

// Text of a WhatsApp send body (text, interactive body, or template name).
inline std::string TextOf(const nlohmann::json& body) {
  if (!body.is_object()) return "";
  if (body.contains("text") && body["text"].is_object()) return body["text"].value("body", "");
  if (body.contains("interactive")) return body["interactive"]["body"].value("text", "");
  if (body.contains("message")) return body["message"].value("text", "");
  return "";
}

}  // namespace bot::testing

#endif  // TESTS_SUPPORT_FAKE_GRAPH_H_
