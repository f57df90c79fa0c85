// deploy/rahnama-backup.sh against a real server's database while webhooks keep writing to it:
// every copy is a complete, consistent database, exactly the newest N are kept, a failed run
// prunes nothing, and a copy restored with `rahnama restore` serves again (the restore drill).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/deploy/deploy_support.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

namespace fs = std::filesystem;

class BackupScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = server::Server::Start(TestConfig(db(), graph_.url()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    hooks_ = std::make_unique<Webhooks>(server_->port());
    // Something to back up before the first copy.
    ASSERT_EQ(hooks_->PostSigned(WhatsAppText("923002220000", "wamid.backup-seed", "salam"))->status, 200);
    ASSERT_TRUE(graph_.WaitFor(1, "923002220000"));
    fs::create_directories(backups());
  }
  void TearDown() override {
    StopWriter();
    if (server_) server_->Stop();
  }

  // Posts a new signed message every few milliseconds until StopWriter().
  void StartWriter() {
    writer_ = std::thread([this] {
      Webhooks hooks(server_->port());
      for (int i = 0; !stop_writer_; ++i) {
        auto r = hooks.PostSigned(WhatsAppText("92300222" + std::to_string(1000 + i % 50), "wamid.backup-w" + std::to_string(i),
                                               "salam"));
        if (r && r->status == 200) ++written_;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  void StopWriter() {
    stop_writer_ = true;
    if (writer_.joinable()) writer_.join();
  }

  CommandResult RunScript(const std::string& keep, const std::string& db_path = "") {
    return RunCommand("RAHNAMA_BIN=" + ShellQuote(RAHNAMA_BINARY) + " RAHNAMA_DB=" + ShellQuote(db_path.empty() ? db() : db_path) +
                      " RAHNAMA_BACKUP_DIR=" + ShellQuote(backups()) + " RAHNAMA_BACKUP_KEEP=" + ShellQuote(keep) + " sh " +
                      ShellQuote(DeployPath("rahnama-backup.sh")));
  }

  // File names in the backup directory, sorted.
  std::vector<std::string> Listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(backups()))
      if (e.path().filename().string()[0] != '.') names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  // Timestamped backups the script made (not the planted old ones).
  std::vector<std::string> FreshBackups() const {
    std::vector<std::string> out;
    for (const auto& n : Listing())
      if (n.rfind("rahnama-20", 0) == 0 && n.rfind("rahnama-2020", 0) != 0) out.push_back(n);
    return out;
  }
  // Old-looking backups and files that are not backups at all, which retention must tell apart.
  void PlantOldFiles() {
    for (int d = 1; d <= 5; ++d) WriteFile(backups() + "/rahnama-2020010" + std::to_string(d) + "T000000Z.db", "old");
    WriteFile(backups() + "/notes.txt", "keep me");
    WriteFile(backups() + "/rahnama-before-upgrade.db", "keep me too");
  }

  std::string db() const { return dir_.File("rahnama.db"); }
  std::string backups() const { return dir_.File("backups"); }

  TempDir dir_;
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Webhooks> hooks_;
  std::thread writer_;
  std::atomic<bool> stop_writer_{false};
  std::atomic<int> written_{0};
};

TEST_F(BackupScriptTest, KeepsExactlyTheNewestNConsistentCopiesWhileTheServerWrites) {
  PlantOldFiles();
  StartWriter();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CommandResult first = RunScript("3");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // names have one-second resolution
  CommandResult second = RunScript("3");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  StopWriter();
  ASSERT_GT(written_.load(), 20) << "the server was not under writes";

  const auto fresh = FreshBackups();
  ASSERT_EQ(fresh.size(), 2u) << first.output << second.output;
  // Newest 3 of the timestamped names: the two new copies and the newest planted one.
  const std::vector<std::string> expected = {"notes.txt", "rahnama-20200105T000000Z.db", fresh[0], fresh[1],
                                             "rahnama-before-upgrade.db"};
  EXPECT_EQ(Listing(), expected);
  EXPECT_NE(first.output.find("removed rahnama-20200101T000000Z.db"), std::string::npos) << first.output;

  long previous = 0;
  for (const auto& name : fresh) {
    const std::string copy = backups() + "/" + name;
    EXPECT_EQ(Query(copy, "PRAGMA integrity_check"), std::vector<std::string>{"ok"}) << name;
    EXPECT_EQ(Query(copy, "PRAGMA journal_mode"), std::vector<std::string>{"delete"}) << name << " is not one self-contained file";
    const long messages = QueryInt(copy, "SELECT COUNT(*) FROM messages");
    EXPECT_GE(messages, previous) << name;
    EXPECT_GT(messages, 0) << name;
    previous = messages;
    struct stat st{};
    ASSERT_EQ(stat(copy.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0007, 0u) << name << " is readable by everyone: it holds every conversation";
  }
  EXPECT_TRUE(Query(db(), "SELECT 1").size() == 1);
}

TEST_F(BackupScriptTest, AFailedBackupPrunesNothing) {
  PlantOldFiles();
  const auto before = Listing();
  CommandResult r = RunScript("1", dir_.File("no-such.db"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no database"), std::string::npos) << r.output;
  EXPECT_EQ(Listing(), before);
}

TEST_F(BackupScriptTest, RefusesAKeepCountThatIsNotAPositiveWholeNumber) {
  PlantOldFiles();
  const auto before = Listing();
  for (const char* keep : {"0", "-1", "abc", "3x", "07", "1.5"}) {
    CommandResult r = RunScript(keep);
    EXPECT_EQ(r.exit_code, 2) << "RAHNAMA_BACKUP_KEEP='" << keep << "': " << r.output;
    EXPECT_NE(r.output.find("RAHNAMA_BACKUP_KEEP"), std::string::npos) << r.output;
  }
  EXPECT_EQ(Listing(), before);
}

TEST_F(BackupScriptTest, DefaultsKeepFourteen) {
  for (int d = 1; d <= 20; ++d) {
    char name[64];
    std::snprintf(name, sizeof name, "/rahnama-202001%02dT000000Z.db", d);
    WriteFile(backups() + name, "old");
  }
  CommandResult r = RunCommand("RAHNAMA_BIN=" + ShellQuote(RAHNAMA_BINARY) + " RAHNAMA_DB=" + ShellQuote(db()) +
                               " RAHNAMA_BACKUP_DIR=" + ShellQuote(backups()) + " sh " + ShellQuote(DeployPath("rahnama-backup.sh")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Listing().size(), 14u);
  EXPECT_EQ(FreshBackups().size(), 1u);
  EXPECT_EQ(Listing().front(), "rahnama-20200108T000000Z.db");
}

// deploy/README.md's restore drill, step by step: back up, stop, restore into place, start.
TEST_F(BackupScriptTest, RestoreDrillBringsBackEveryConversationInTheBackup) {
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(hooks_->PostSigned(WhatsAppText("923002230000", "wamid.drill-" + std::to_string(i), "salam"))->status, 200);
  ASSERT_TRUE(graph_.WaitFor(2, "923002230000"));
  // Every message's turn first: between two turns the outbox can be empty for a moment, and the
  // wait below then ended before the last turn queued its reply (seen once in CI).
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(WaitProcessed(db(), "wamid.drill-" + std::to_string(i)));
  // Let every queued reply go out first: a reply still queued in a backup is sent again after a
  // restore (deploy/README.md says so), which this test does not want to count.
  for (int i = 0; i < 500 && QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state != 'sent'") != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM outbox WHERE state != 'sent'"), 0);
  CommandResult b = RunScript("14");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const auto fresh = FreshBackups();
  ASSERT_EQ(fresh.size(), 1u);
  const std::string copy = backups() + "/" + fresh[0];
  const long in_backup = QueryInt(copy, "SELECT COUNT(*) FROM messages");
  const long contacts = QueryInt(copy, "SELECT COUNT(*) FROM contacts");
  ASSERT_GT(in_backup, 0);

  // A message after the backup is lost by the restore: that is what restoring means.
  ASSERT_EQ(hooks_->PostSigned(WhatsAppText("923002230001", "wamid.drill-after", "salam"))->status, 200);
  // Not under the running server, though: it would lose what the server committed since.
  CommandResult refused = RunCommand(std::string(RAHNAMA_BINARY) + " restore --from " + ShellQuote(copy) + " --db " + ShellQuote(db()));
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_NE(refused.output.find("stop it first"), std::string::npos) << refused.output;
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages WHERE provider_id = 'wamid.drill-after'"), 1);
  // A fresh machine: the database's folder does not exist yet.
  const std::string elsewhere = dir_.File("new-machine/var/lib/rahnama/rahnama.db");
  CommandResult fresh_machine = RunCommand(std::string(RAHNAMA_BINARY) + " restore --from " + ShellQuote(copy) + " --db " + ShellQuote(elsewhere));
  EXPECT_EQ(fresh_machine.exit_code, 0) << fresh_machine.output;
  EXPECT_EQ(QueryInt(elsewhere, "SELECT COUNT(*) FROM messages"), in_backup);
  server_->Stop();
  server_.reset();
  CommandResult r = RunCommand(std::string(RAHNAMA_BINARY) + " restore --from " + ShellQuote(copy) + " --db " + ShellQuote(db()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages"), in_backup);
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contacts"), contacts);

  auto s = server::Server::Start(TestConfig(db(), graph_.url()));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(*s);
  Webhooks hooks(server_->port());
  auto ready = hooks.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  // The restored server still knows what it already answered: a redelivery is not answered twice.
  const size_t replies_before = graph_.RequestsTo("923002230000").size();
  ASSERT_EQ(hooks.PostSigned(WhatsAppText("923002230000", "wamid.drill-0", "salam"))->status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(graph_.RequestsTo("923002230000").size(), replies_before);
}

// Found by an exploratory tester: `restore --from` an empty file (a failed transfer) or another
// program's SQLite file said "restored" and left an empty database in place of 21,000 messages,
// and it migrated the --from file itself into a rahnama database.
TEST_F(BackupScriptTest, RestoreRefusesAnEmptyOrForeignFileAndNeverWritesToTheBackup) {
  server_->Stop();
  server_.reset();
  const long messages = QueryInt(db(), "SELECT COUNT(*) FROM messages");
  ASSERT_GT(messages, 0);
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string empty = dir_.File("empty.db"), foreign = dir_.File("foreign.db");
  std::ofstream(empty).close();
  ASSERT_TRUE(ExecBehindTheServer(foreign, "CREATE TABLE x(a); INSERT INTO x VALUES (1)"));
  const std::string foreign_before = bytes(foreign);
  for (const std::string& from : {empty, foreign}) {
    CommandResult r = RunCommand(std::string(RAHNAMA_BINARY) + " restore --from " + ShellQuote(from) + " --db " + ShellQuote(db()));
    EXPECT_NE(r.exit_code, 0) << from << ": " << r.output;
    EXPECT_NE(r.output.find("not a rahnama database"), std::string::npos) << r.output;
    EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages"), messages) << from;
    EXPECT_FALSE(fs::exists(db() + ".restoring")) << "the rejected copy is cleaned up";
  }
  EXPECT_EQ(fs::file_size(empty), 0u);
  EXPECT_EQ(bytes(foreign), foreign_before) << "the file restored from is never written to";

  // A real backup restores, and stays as it was.
  CommandResult b = RunScript("14");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const std::string copy = backups() + "/" + FreshBackups().at(0);
  const std::string copy_before = bytes(copy);
  CommandResult r = RunCommand(std::string(RAHNAMA_BINARY) + " restore --from " + ShellQuote(copy) + " --db " + ShellQuote(db()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM messages"), messages);
  EXPECT_EQ(bytes(copy), copy_before);

  // A file-level copy of a database in use: its last commits are in the -wal beside it, and the
  // restore keeps them (it copied only the main file, so they were lost).
  sqlite3* live = OpenBehindTheServer(db());
  ASSERT_NE(live, nullptr);
  ASSERT_EQ(sqlite3_exec(live, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; "
                               "UPDATE contacts SET display_name = 'only in the wal'", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::string file_copy = dir_.File("file-copy.db");
  fs::copy_file(db(), file_copy);
  ASSERT_TRUE(fs::exists(db() + "-wal"));
  fs::copy_file(db() + "-wal", file_copy + "-wal");
  sqlite3_close(live);
  ASSERT_TRUE(ExecBehindTheServer(db(), "UPDATE contacts SET display_name = 'after the copy'"));
  r = RunCommand(std::string(RAHNAMA_BINARY) + " restore --from " + ShellQuote(file_copy) + " --db " + ShellQuote(db()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db(), "SELECT COUNT(*) FROM contacts WHERE display_name = 'only in the wal'"),
            QueryInt(db(), "SELECT COUNT(*) FROM contacts"));
}

}  // namespace
}  // namespace bot::testing
