// Time as a port, so tests can move it (retention, SLAs, the 24-hour window).
#ifndef BOT_CORE_CLOCK_H_
#define BOT_CORE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace bot {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() const = 0;  // Unix epoch, milliseconds
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms) : now_(start_ms) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace bot

#endif  // BOT_CORE_CLOCK_H_
