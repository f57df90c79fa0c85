// Whether webhooks are queueing for the ingest writer (BENCHMARKS.md, issue #8). Under a burst the
// ordinary lane's turns take the same cores as the webhook threads; it pauses briefly between its
// batches while this says so, and catches up afterwards: every message is stored before its 200,
// so answering ordinary ones a little later loses nothing. The urgent lane never pauses.
#ifndef BOT_SERVER_INGEST_PRESSURE_H_
#define BOT_SERVER_INGEST_PRESSURE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace bot::server {

// Off by default: in the A/B runs it doubled ingest at 32 connections but made urgent replies
// slower during the catch-up after a burst (BENCHMARKS.md, run 8). `serve --ingest-backoff-batch 8`.
struct IngestBackoff {
  // Group commits averaging this many webhook requests mean webhooks are waiting for each other
  // (at a steady few hundred per second a commit holds one or two); 8 is what was measured.
  // 0 turns the back-off off.
  size_t saturated_batch = 0;
  // How long the last group commit counts: once webhooks stop, the lane resumes after this.
  int64_t window_ms = 100;
  // The longest the ordinary lane pauses before it runs one more batch anyway, so it always
  // makes progress, however long the burst.
  int64_t max_pause_ms = 50;
};

class IngestPressure {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit IngestPressure(IngestBackoff options = {}) : options_(options) {}

  const IngestBackoff& options() const { return options_; }

  // The ingest writer, after each group commit: how many requests it stored together.
  void RecordBatch(size_t requests, TimePoint now) {
    // A moving average over the last few commits: one commit that waited behind a checkpoint
    // gathers a crowd once, a burst does so commit after commit.
    const int64_t milli = static_cast<int64_t>(requests) * 1000;
    const int64_t old = average_milli_.load(std::memory_order_relaxed);
    average_milli_.store(old == 0 ? milli : (3 * old + milli) / 4, std::memory_order_relaxed);
    last_batch_ns_.store(Nanos(now), std::memory_order_relaxed);
  }

  bool Saturated(TimePoint now) const {
    if (options_.saturated_batch == 0) return false;
    const int64_t last = last_batch_ns_.load(std::memory_order_relaxed);
    if (last == 0 || Nanos(now) - last > options_.window_ms * 1000000) return false;
    return average_milli_.load(std::memory_order_relaxed) >= static_cast<int64_t>(options_.saturated_batch) * 1000;
  }

 private:
  static int64_t Nanos(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

  const IngestBackoff options_;
  std::atomic<int64_t> average_milli_{0};  // requests per commit × 1000
  std::atomic<int64_t> last_batch_ns_{0};  // steady clock; 0 = no commit yet
};

}  // namespace bot::server

#endif  // BOT_SERVER_INGEST_PRESSURE_H_
