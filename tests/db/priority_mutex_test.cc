// The database connection's mutex: the urgent lane goes before everyone already waiting for it
// (BENCHMARKS.md run 18), and it is still a recursive mutex for everyone.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/database.h"

namespace bot::db {
namespace {

void WaitUntilWaiting(PriorityRecursiveMutex& m, int n) {
  for (int i = 0; i < 5000 && m.waiting() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(m.waiting(), n);  // not ASSERT: the threads must still be let go and joined
}

TEST(PriorityRecursiveMutexTest, TheUrgentLaneGoesBeforeThreadsThatWereWaitingLonger) {
  PriorityRecursiveMutex m;
  std::mutex order_mutex;
  std::vector<std::string> order;
  auto take = [&](const std::string& name, bool first_in_line) {
    if (first_in_line) PriorityRecursiveMutex::FirstInLineForThisThread();
    std::lock_guard lock(m);
    std::lock_guard o(order_mutex);
    order.push_back(name);
  };
  std::vector<std::thread> threads;
  {
    std::lock_guard held(m);  // an ingest commit in progress
    // The ingest writer, the sender, the ordinary lane, officers' requests… (without the priority,
    // the urgent lane would be first only by luck, about one time in nine).
    for (int i = 0; i < 8; ++i) threads.emplace_back(take, "other " + std::to_string(i), false);
    WaitUntilWaiting(m, 8);
    threads.emplace_back(take, "urgent lane", true);
    WaitUntilWaiting(m, 9);
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(order.size(), 9u);
  EXPECT_EQ(order[0], "urgent lane");
}

// Once the urgent lane has had its turn and waits no more, nothing is left keeping the others out.
TEST(PriorityRecursiveMutexTest, OthersTakeItWhenTheUrgentLaneIsNotWaiting) {
  PriorityRecursiveMutex m;
  std::thread urgent_lane([&] {
    PriorityRecursiveMutex::FirstInLineForThisThread();
    std::lock_guard lock(m);  // has its turn, and then waits no more
  });
  urgent_lane.join();
  bool took = false;
  std::thread other([&] {
    std::lock_guard lock(m);
    took = true;
  });
  other.join();
  EXPECT_TRUE(took);
}

TEST(PriorityRecursiveMutexTest, IsRecursiveAndExcludesOtherThreads) {
  PriorityRecursiveMutex m;
  long counter = 0;
  auto work = [&](bool first_in_line) {
    if (first_in_line) PriorityRecursiveMutex::FirstInLineForThisThread();
    for (int i = 0; i < 20000; ++i) {
      std::lock_guard outer(m);
      std::lock_guard inner(m);  // a turn inside a batch takes it again
      const long seen = counter;
      counter = seen + 1;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(work, t == 0);
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 4 * 20000);
  EXPECT_EQ(m.waiting(), 0);
}

}  // namespace
}  // namespace bot::db
