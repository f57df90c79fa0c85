// Issue #3's command-line contract: classify, classify --jsonl, eval with thresholds; and the
// CLI's refusals (a clear message and a non-zero exit).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "bot/escalation/auth.h"
#include "db/sqlite_store.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;

struct Run {
  int exit_code;
  std::string out;
};

Run Sh(const std::string& cmd) {
  Run r{-1, ""};
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Bin() { return std::string(RAHNAMA_BINARY) + " "; }
std::string Locales() { return std::string(" --locales ") + RAHNAMA_SOURCE_DIR + "/locales"; }

TEST(CliTest, ClassifyPrintsTheDecision) {
  auto r = Sh(Bin() + "classify" + Locales() + " 'police arrested my brother right now, please help'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["intent"], "urgent_protection");
  EXPECT_EQ(j["urgent"], true);
  EXPECT_EQ(j["queue"], "unhcr_protection");
  EXPECT_EQ(j["language"], "en");
}

TEST(CliTest, ClassifyExplainShowsNormalisedTextTokensScoresAndRules) {
  auto r = Sh(Bin() + "classify --explain" + Locales() + " 'كارت پي او آر'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(r.out);
  const json& e = j["explanation"];
  EXPECT_EQ(e["key"], "کارت پی او ار");
  EXPECT_TRUE(e["tokens"].is_array());
  EXPECT_TRUE(e["language_scores"].contains("prs"));
  EXPECT_FALSE(e["rules_fired"].empty());
}

TEST(CliTest, ClassifyJsonlWritesOneDecisionPerLineWithTheContractFields) {
  auto r = Sh("printf '%s\\n' '{\"id\": 1, \"text\": \"salam\"}' '{\"id\": \"b\", \"text\": \"I moved to Canada, update IOM with my US case\"}' "
              "'not json' | " + Bin() + "classify --jsonl" + Locales());
  EXPECT_EQ(r.exit_code, 1) << "a bad line is reported and makes the exit non-zero";
  std::vector<json> lines;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  for (const char* k : {"id", "intent", "language", "urgent", "queue", "score"}) EXPECT_TRUE(lines[0].contains(k)) << k;
  EXPECT_EQ(lines[0]["id"], 1);
  EXPECT_EQ(lines[1]["id"], "b");
  EXPECT_EQ(lines[1]["queue"], "iom");
  EXPECT_TRUE(lines[2].contains("error"));
}

TEST(CliTest, EvalReportsAndFailsBelowTheThresholds) {
  TempDir dir;
  std::ofstream(dir.File("set.jsonl")) << R"({"text": "salam", "intent": "greeting", "language": "en"})" << "\n"
                                       << R"({"text": "what is the PoR card?", "intent": "por_card"})" << "\n"
                                       << R"({"text": "asdf", "intent": "visa_extension"})" << "\n";
  auto ok = Sh(Bin() + "eval " + dir.File("set.jsonl") + Locales() + " --min-intent-accuracy 60");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("intent accuracy: 66.7%"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("precision"), std::string::npos);
  EXPECT_NE(ok.out.find("visa_extension → unknown"), std::string::npos);
  auto fail = Sh(Bin() + "eval " + dir.File("set.jsonl") + Locales() + " --min-intent-accuracy 90");
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_NE(fail.out.find("FAIL: intent accuracy"), std::string::npos);
  auto missing = Sh(Bin() + "eval /no/such/file.jsonl" + Locales());
  EXPECT_EQ(missing.exit_code, 2);
}

TEST(CliTest, CrossvalRecommendsTheUrgentThresholdTheShippedContentUses) {
  auto r = Sh(Bin() + "crossval --folds 5" + Locales());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("rules alone"), std::string::npos) << r.out;
  const auto at = r.out.find("recommended urgent_threshold: ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const double recommended = std::stod(r.out.substr(at + 30));
  std::ifstream engine(std::string(RAHNAMA_SOURCE_DIR) + "/locales/engine.json");
  const json shipped = json::parse(engine);
  // Changing the examples means running crossval again and writing its answer into engine.json.
  EXPECT_DOUBLE_EQ(shipped["example_model"]["urgent_threshold"].get<double>(), recommended);

  // Missing an urgent message weighs less: a higher threshold, fewer false alarms.
  auto cheap_misses = Sh(Bin() + "crossval --folds 5 --miss-cost 0.1" + Locales());
  ASSERT_EQ(cheap_misses.exit_code, 0) << cheap_misses.out;
  const auto cheap_at = cheap_misses.out.find("recommended urgent_threshold: ");
  ASSERT_NE(cheap_at, std::string::npos) << cheap_misses.out;
  EXPECT_GT(std::stod(cheap_misses.out.substr(cheap_at + 30)), recommended);

  auto impossible = Sh(Bin() + "crossval --min-precision 100.1" + Locales());
  EXPECT_EQ(impossible.exit_code, 1) << impossible.out;
  EXPECT_NE(impossible.out.find("no urgent threshold"), std::string::npos);
  TempDir dir;
  std::ofstream(dir.File("intents.json")) << R"({"intents": [{"id": "unknown"}]})";
  auto none = Sh(Bin() + "crossval --locales " + dir.path().string());
  EXPECT_EQ(none.exit_code, 2) << none.out;
  EXPECT_NE(none.out.find("too few examples"), std::string::npos) << none.out;
  auto bad = Sh(Bin() + "crossval --folds 1" + Locales());
  EXPECT_NE(bad.exit_code, 0);
}

TEST(CliTest, UserAddRefusesAWeakPasswordAndAcceptsAGoodOne) {
  TempDir dir;
  const std::string db = dir.File("u.db");
  auto weak = Sh("echo short | " + Bin() + "user add --db " + db + " --name amina --role officer --queue info_desk --password-stdin");
  EXPECT_NE(weak.exit_code, 0);
  EXPECT_NE(weak.out.find("at least 12 characters"), std::string::npos) << weak.out;
  auto spaced = Sh("echo 'correct horse 42 battery' | " + Bin() + "user add --db " + db +
                   " --name 'amina khan' --role officer --queue info_desk --password-stdin");
  EXPECT_EQ(spaced.exit_code, 2);
  EXPECT_NE(spaced.out.find("no spaces"), std::string::npos) << spaced.out;
  auto no_stdin = Sh(Bin() + "user add --db " + db + " --name amina --role officer --queue info_desk");
  EXPECT_NE(no_stdin.exit_code, 0);
  auto good = Sh("echo 'correct horse 42 battery' | " + Bin() + "user add --db " + db +
                 " --name amina --role officer --queue info_desk --password-stdin");
  EXPECT_EQ(good.exit_code, 0) << good.out;
  auto again = Sh("echo 'correct horse 42 battery' | " + Bin() + "user add --db " + db +
                  " --name amina --role officer --queue info_desk --password-stdin");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.out.find("already exists"), std::string::npos);
}

// The way back in when the only admin forgot the password or is locked out.
TEST(CliTest, UserResetPasswordDisableEnableAndListWorkOnTheDatabase) {
  TempDir dir;
  const std::string db = dir.File("u.db");
  ASSERT_EQ(Sh("echo 'correct horse 42 battery' | " + Bin() + "user add --db " + db + " --name boss --role admin --password-stdin").exit_code, 0);
  ASSERT_EQ(Sh("echo 'correct horse 42 battery' | " + Bin() + "user add --db " + db +
               " --name amina --role officer --queue info_desk --password-stdin").exit_code, 0);
  auto weak = Sh("echo short | " + Bin() + "user reset-password --db " + db + " --name boss --password-stdin");
  EXPECT_EQ(weak.exit_code, 1);
  EXPECT_NE(weak.out.find("at least 12 characters"), std::string::npos) << weak.out;
  EXPECT_EQ(Sh(Bin() + "user reset-password --db " + db + " --name boss").exit_code, 2);
  auto reset = Sh("echo 'a brand new password 9' | " + Bin() + "user reset-password --db " + db + " --name boss --password-stdin");
  ASSERT_EQ(reset.exit_code, 0) << reset.out;
  {
    db::SqliteStore::Options so;
    so.path = db;
    auto store = db::SqliteStore::Open(so);
    ASSERT_TRUE(store.ok());
    auto boss = (*store)->UserByName("boss");
    ASSERT_TRUE(boss.ok());
    EXPECT_TRUE(escalation::VerifyPassword(boss->password_hash, "a brand new password 9"));
    EXPECT_FALSE(escalation::VerifyPassword(boss->password_hash, "correct horse 42 battery"));
  }
  auto last = Sh(Bin() + "user disable --db " + db + " --name boss");
  EXPECT_EQ(last.exit_code, 1);
  EXPECT_NE(last.out.find("last enabled admin"), std::string::npos) << last.out;
  EXPECT_EQ(Sh(Bin() + "user disable --db " + db + " --name amina").exit_code, 0);
  auto list = Sh(Bin() + "user list --db " + db);
  ASSERT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find("amina\tofficer\tinfo_desk\tdisabled"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("boss\tadmin\t-\tenabled"), std::string::npos) << list.out;
  EXPECT_EQ(Sh(Bin() + "user enable --db " + db + " --name amina").exit_code, 0);
  EXPECT_NE(Sh(Bin() + "user list --db " + db).out.find("amina\tofficer\tinfo_desk\tenabled"), std::string::npos);
  auto nobody = Sh(Bin() + "user disable --db " + db + " --name nobody");
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.out.find("nobody"), std::string::npos);
  EXPECT_EQ(Sh(Bin() + "user list --db " + dir.File("missing.db")).exit_code, 2);
}

TEST(CliTest, ADatabaseNewerThanTheBinaryIsRefusedAtStart) {
  TempDir dir;
  const std::string db = dir.File("n.db");
  ASSERT_EQ(Sh("echo 'correct horse 42 battery' | " + Bin() + "user add --db " + db + " --name a --role admin --password-stdin").exit_code, 0);
#ifdef RAHNAMA_SQLCIPHER  // an encrypted database: the sqlcipher shell with the suite's key (tests/CMakeLists.txt)
  const std::string shell = "sqlcipher -cmd \"PRAGMA key='$RAHNAMA_DB_KEY'\" ";
#else
  const std::string shell = "sqlite3 ";
#endif
  ASSERT_EQ(Sh(shell + db + " \"INSERT INTO schema_migrations VALUES (999, 'from_the_future', 0)\"").exit_code, 0);
  auto r = Sh(Bin() + "serve --dev --port 0 --admin-port 0 --db " + db + Locales());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("newer than this binary"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace bot::testing
