// The ordinary lane commits many turns in one transaction (Database::BeginBatch): each unit of work
// inside stays atomic on its own (a savepoint), and the batch commits or rolls back as a whole.
#include <gtest/gtest.h>

#include <cstdlib>

#include "db/database.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db::Database::Options o;
    o.path = dir_.File("b.db");
    o.synchronous = "NORMAL";
    if (const char* key = std::getenv("RAHNAMA_DB_KEY")) o.key = key;  // the SQLCipher build's tests
    auto d = db::Database::Open(o);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    db_ = std::move(*d);
    ASSERT_TRUE(db_->Exec("CREATE TABLE t(v INTEGER)").ok());
  }
  Status Insert(int v, bool commit) {
    db::Transaction tx(*db_);
    BOT_RETURN_IF_ERROR(tx.status());
    BOT_RETURN_IF_ERROR(db_->Exec("INSERT INTO t(v) VALUES (" + std::to_string(v) + ")"));
    return commit ? tx.Commit() : Status::Ok();  // not committed: rolled back when tx ends
  }
  long Count() { return QueryInt(dir_.File("b.db"), "SELECT COUNT(*) FROM t"); }

  TempDir dir_;
  std::unique_ptr<db::Database> db_;
};

TEST_F(BatchTest, UnitsInsideABatchAreVisibleToOthersOnlyWhenTheBatchCommits) {
  std::lock_guard lock(db_->mutex());
  ASSERT_TRUE(db_->BeginBatch().ok());
  ASSERT_TRUE(Insert(1, true).ok());
  ASSERT_TRUE(Insert(2, true).ok());
  EXPECT_EQ(Count(), 0) << "another connection sees nothing before the batch commits";
  ASSERT_TRUE(db_->EndBatch(true).ok());
  EXPECT_EQ(Count(), 2);
}

TEST_F(BatchTest, AUnitThatFailsRollsBackAloneAndTheBatchKeepsTheOthers) {
  std::lock_guard lock(db_->mutex());
  ASSERT_TRUE(db_->BeginBatch().ok());
  ASSERT_TRUE(Insert(1, true).ok());
  ASSERT_TRUE(Insert(2, false).ok());  // this unit gave up half way
  ASSERT_TRUE(Insert(3, true).ok());
  ASSERT_TRUE(db_->EndBatch(true).ok());
  EXPECT_EQ(Count(), 2);
  EXPECT_EQ(QueryInt(dir_.File("b.db"), "SELECT COUNT(*) FROM t WHERE v = 2"), 0);
}

TEST_F(BatchTest, ABatchThatFailsLeavesNothing) {
  std::lock_guard lock(db_->mutex());
  ASSERT_TRUE(db_->BeginBatch().ok());
  ASSERT_TRUE(Insert(1, true).ok());
  ASSERT_TRUE(db_->EndBatch(false).ok());
  EXPECT_EQ(Count(), 0);
  // And the connection works normally afterwards.
  ASSERT_TRUE(Insert(4, true).ok());
  EXPECT_EQ(Count(), 1);
}

}  // namespace
}  // namespace bot::testing
