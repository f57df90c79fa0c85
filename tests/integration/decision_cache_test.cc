// The ingest → worker hand-over of classifications (bot/server/decision_cache.h): a decision is
// reused only with the rules it was made with, once, and the cache stays bounded.
#include "bot/server/decision_cache.h"

#include <gtest/gtest.h>

namespace bot::server {
namespace {

intents::Decision Urgent() {
  intents::Decision d;
  d.intent = "urgent_protection";
  d.urgent = true;
  d.queue = "unhcr_protection";
  return d;
}

TEST(DecisionCacheTest, ADecisionIsTakenOnceAndOnlyWithTheSameContentVersion) {
  DecisionCache cache;
  cache.Put(Channel::kWhatsApp, "wamid.1", 7, Urgent());
  auto taken = cache.Take(Channel::kWhatsApp, "wamid.1", 7);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->intent, "urgent_protection");
  EXPECT_TRUE(taken->urgent);
  EXPECT_FALSE(cache.Take(Channel::kWhatsApp, "wamid.1", 7)) << "taken twice";

  cache.Put(Channel::kWhatsApp, "wamid.2", 7, Urgent());
  EXPECT_FALSE(cache.Take(Channel::kWhatsApp, "wamid.2", 8)) << "rules were published in between";
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DecisionCacheTest, ChannelsDoNotShareIds) {
  DecisionCache cache;
  cache.Put(Channel::kMessenger, "m.1", 1, Urgent());
  EXPECT_FALSE(cache.Take(Channel::kWhatsApp, "m.1", 1));
  EXPECT_TRUE(cache.Take(Channel::kMessenger, "m.1", 1));
}

TEST(DecisionCacheTest, StaysBoundedAndForgetsTheOldestFirst) {
  DecisionCache cache(100);
  for (int i = 0; i < 1000; ++i) cache.Put(Channel::kWhatsApp, "w" + std::to_string(i), 1, Urgent());
  EXPECT_EQ(cache.size(), 100u);
  EXPECT_FALSE(cache.Take(Channel::kWhatsApp, "w0", 1));
  EXPECT_TRUE(cache.Take(Channel::kWhatsApp, "w999", 1));
  // Entries that are taken at once (the normal case) leave nothing behind either.
  for (int i = 0; i < 10000; ++i) {
    cache.Put(Channel::kWhatsApp, "t" + std::to_string(i), 1, Urgent());
    ASSERT_TRUE(cache.Take(Channel::kWhatsApp, "t" + std::to_string(i), 1));
  }
  EXPECT_LE(cache.size(), 100u);
}

}  // namespace
}  // namespace bot::server
