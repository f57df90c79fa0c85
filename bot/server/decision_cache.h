// Decisions made at ingest, kept for the worker (BENCHMARKS.md CR-4). The ingest writer classifies
// each text to find urgent messages at once; without this, the worker classifies the same text again.
// Bounded and best effort: a miss (a restart, an eviction, a publish in between) costs one more
// classification and changes nothing else.
#ifndef BOT_SERVER_DECISION_CACHE_H_
#define BOT_SERVER_DECISION_CACHE_H_

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "bot/core/message.h"
#include "intents/classifier.h"

namespace bot::server {

class DecisionCache {
 public:
  explicit DecisionCache(size_t capacity = 20000) : capacity_(capacity) {}

  // The decision for one message's text, made with the rules of content version `version`.
  void Put(Channel channel, const std::string& provider_id, int64_t version, const intents::Decision& d) {
    std::string key = Key(channel, provider_id);
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.insert_or_assign(key, Entry{version, d}).second) order_.push_back(std::move(key));
    while (entries_.size() > capacity_ && !order_.empty()) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    // Taken entries leave their key behind in order_; past twice the capacity the oldest go,
    // taken or not, so both containers stay bounded.
    while (order_.size() > 2 * capacity_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }

  // Removes and returns the decision when it was made with the same content version.
  std::optional<intents::Decision> Take(Channel channel, const std::string& provider_id, int64_t version) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(Key(channel, provider_id));
    if (it == entries_.end()) return std::nullopt;
    Entry e = std::move(it->second);
    entries_.erase(it);
    if (e.version != version) return std::nullopt;
    return std::move(e.decision);
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  struct Entry {
    int64_t version;
    intents::Decision decision;
  };
  static std::string Key(Channel channel, const std::string& provider_id) {
    return std::to_string(static_cast<int>(channel)) + ":" + provider_id;
  }

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // insertion order, for eviction
};

}  // namespace bot::server

#endif  // BOT_SERVER_DECISION_CACHE_H_
