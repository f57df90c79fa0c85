// Routing rules, working hours and SLAs as data.
#include "bot/escalation/routing.h"

#include <gtest/gtest.h>

#include "bot/conversation/conversation.h"
#include "bot/content/content.h"
#include "bot/escalation/auth.h"

namespace bot::escalation {
namespace {

// 2026-11-23 was a Monday. Pakistan is UTC+5.
constexpr int64_t kMonday0900Karachi = 1795406400000;  // 2026-11-23T04:00:00Z

TEST(WorkingHoursTest, OpenInsideTheHoursOfTheDaysGivenInTheQueuesTimeZone) {
  EXPECT_TRUE(*IsOpen("1-5 09:00-17:00 +0500", kMonday0900Karachi));
  EXPECT_FALSE(*IsOpen("1-5 09:00-17:00 +0500", kMonday0900Karachi - 60000));         // 08:59
  EXPECT_FALSE(*IsOpen("1-5 09:00-17:00 +0500", kMonday0900Karachi + 8 * 3600000));   // 17:00
  EXPECT_FALSE(*IsOpen("1-5 09:00-17:00 +0500", kMonday0900Karachi + 5 * 86400000));  // Saturday
  EXPECT_TRUE(*IsOpen("1-6 09:00-17:00 +0500", kMonday0900Karachi + 5 * 86400000));
  EXPECT_TRUE(*IsOpen("", kMonday0900Karachi + 5 * 86400000)) << "no hours: always open";
}

TEST(WorkingHoursTest, AMalformedSpecIsRefusedWithTheExpectedShape) {
  for (const char* bad : {"weekdays", "1-8 09:00-17:00 +0500", "5-1 09:00-17:00 +0500", "1-5 9-17"}) {
    Status s = CheckHoursSpec(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("1-5 08:00-17:00 +0500"), std::string::npos);
  }
}

TEST(RoutingTest, FirstMatchingRuleByPositionWins) {
  std::vector<RoutingRule> rules = {
      {1, 30, "human_agent", std::nullopt, "", "info_desk", "normal"},
      {2, 10, "", true, "", "unhcr_protection", "urgent"},
      {3, 20, "relocated_case_transfer", std::nullopt, "", "iom", "normal"},
      {4, 15, "usrap_case", std::nullopt, "case_number", "iom", "high"},
  };
  EXPECT_EQ(RouteCase(rules, "urgent_protection", true, {})->queue, "unhcr_protection");
  EXPECT_EQ(RouteCase(rules, "relocated_case_transfer", false, {})->queue, "iom");
  EXPECT_EQ(RouteCase(rules, "usrap_case", false, {"case_number"})->priority, "high");
  EXPECT_FALSE(RouteCase(rules, "usrap_case", false, {}).has_value());
  EXPECT_EQ(RouteCase(rules, "human_agent", false, {})->queue, "info_desk");
}

TEST(SlaTest, ACaseIsOverdueWhileNoHumanHasAnsweredItsFirstMessage) {
  Case c;
  c.status = "open";
  c.opened_at = 0;
  EXPECT_FALSE(IsOverdue(c, 15, 15 * 60000));
  EXPECT_TRUE(IsOverdue(c, 15, 15 * 60000 + 1));
  EXPECT_EQ(OverdueReason(c, 15, 15 * 60000 + 1), "no_first_response");
  c.first_response_at = 60000;
  EXPECT_FALSE(IsOverdue(c, 15, 3600000));
  EXPECT_EQ(DescribeMinutes(15), "15 minutes");
  EXPECT_EQ(DescribeMinutes(1440), "24 hours");
}

// After the first reply, the clock runs again on the person's unanswered message (human mode),
// and a resolved case is never overdue.
TEST(SlaTest, AnAnsweredCaseIsOverdueWhenThePersonsNextMessageWaitsPastTheSla) {
  Case c;
  c.status = "claimed";
  c.opened_at = 0;
  c.first_response_at = 60000;
  c.awaiting_reply_since = 600000;
  EXPECT_FALSE(IsOverdue(c, 15, 600000 + 15 * 60000));
  EXPECT_TRUE(IsOverdue(c, 15, 600000 + 15 * 60000 + 1));
  EXPECT_EQ(OverdueReason(c, 15, 600000 + 15 * 60000 + 1), "person_waiting");
  c.status = "resolved";
  EXPECT_FALSE(IsOverdue(c, 15, 3600000));
}

TEST(PasswordTest, PolicyLockoutAndArgon2id) {
  EXPECT_FALSE(CheckPasswordPolicy("amina", "short").ok());
  EXPECT_FALSE(CheckPasswordPolicy("amina", "aaaaaaaaaaaaaaaa").ok());
  EXPECT_FALSE(CheckPasswordPolicy("aminaamina12", "aminaamina12").ok());
  EXPECT_TRUE(CheckPasswordPolicy("amina", "correct horse 42 battery").ok());
  HashCost cheap;
  cheap.memory_kib = 8 * 1024;
  auto h = HashPassword("correct horse 42 battery", cheap);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword(*h, "correct horse 42 battery"));
  EXPECT_FALSE(VerifyPassword(*h, "correct horse 42 batterY"));
  EXPECT_NE(*h, *HashPassword("correct horse 42 battery", cheap)) << "salted";
  EXPECT_EQ(LockoutMillis(4), 0);
  EXPECT_EQ(LockoutMillis(5), 60000);
  EXPECT_EQ(LockoutMillis(6), 120000);
  EXPECT_EQ(LockoutMillis(40), 3600000);
}

TEST(ContentValidationTest, ExpiredFactsAndPlaceholdersAreFlaggedButDoNotBlock) {
  auto doc = content::LoadLocalesDirectory(std::string(RAHNAMA_SOURCE_DIR) + "/locales");
  ASSERT_TRUE(doc.ok());
  nlohmann::json d = *doc;
  d["facts"].push_back({{"id", "test_deadline"}, {"kind", "fact"}, {"value", "2025-03-31"}, {"source", "x"},
                        {"checked_on", "2025-01-01"}, {"valid_until", "2025-03-31"}});
  bool expired = false, placeholder = false;
  for (const auto& p : content::Validate(d, "2026-11-23")) {
    if (p.item == "fact test_deadline") expired = !p.blocking && p.message.find("expired") != std::string::npos;
    if (p.item == "fact unhcr_protection_helpline") placeholder = !p.blocking;
  }
  EXPECT_TRUE(expired);
  EXPECT_TRUE(placeholder);
}

// An operator filled the number in but left "placeholder": true: people are still told it is not
// confirmed, and the console must say which step is missing (it said "still holds a placeholder").
TEST(ContentValidationTest, AFilledInFactStillMarkedPlaceholderSaysToClearTheFlag) {
  auto doc = content::LoadLocalesDirectory(std::string(RAHNAMA_SOURCE_DIR) + "/locales");
  ASSERT_TRUE(doc.ok());
  nlohmann::json d = *doc;
  d["facts"].push_back({{"id", "test_filled"}, {"kind", "contact"}, {"value", "0800-12345"}, {"placeholder", true},
                        {"source", "x"}, {"checked_on", "2026-11-20"}});
  d["facts"].push_back({{"id", "test_empty"}, {"kind", "contact"}, {"value", "[[ask the UNHCR office]]"}, {"placeholder", true},
                        {"source", "x"}, {"checked_on", "2026-11-20"}});
  std::string filled, empty;
  for (const auto& p : content::Validate(d, "2026-11-23")) {
    if (p.item == "fact test_filled") filled = p.message;
    if (p.item == "fact test_empty") empty = p.message;
  }
  EXPECT_NE(filled.find("set placeholder to false"), std::string::npos) << filled;
  EXPECT_NE(empty.find("fill it in"), std::string::npos) << empty;
}

}  // namespace
}  // namespace bot::escalation
