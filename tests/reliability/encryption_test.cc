// Issue #7, at-rest encryption: on a SQLCipher build (-DRAHNAMA_SQLCIPHER=ON) the database, its WAL
// and its backups cannot be read without the key, a wrong or missing key is refused with a clear
// message; a plain SQLite build refuses a key rather than store the database unencrypted.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "db/sqlite_store.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

constexpr const char* kKey = "correct horse battery staple 7";
constexpr const char* kBody = "ENCRYPTION-PROBE police took my brother from Tarnol";
constexpr const char* kSender = "923001112233";
constexpr const char* kWrongKey = "database key is wrong or the file is not a rahnama database";

#if defined(RAHNAMA_SQLCIPHER)
constexpr bool kCipherBuild = true;
#else
constexpr bool kCipherBuild = false;
#endif

#define SKIP_UNLESS_CIPHER_BUILD()                                                                   \
  if (!kCipherBuild) GTEST_SKIP() << "built without SQLCipher (cmake -DRAHNAMA_SQLCIPHER=OFF): this " \
                                     "case runs in the SQLCipher build (make test with CI=true)"

// Sets the key variables for one test and puts back what the environment had (ctest gives the
// SQLCipher build RAHNAMA_DB_KEY for every other test).
class KeyEnvironment {
 public:
  KeyEnvironment() {
    for (int i = 0; i < 2; ++i) {
      const char* v = std::getenv(kNames[i]);
      if (v != nullptr) saved_[i] = v;
    }
    Set(std::nullopt, std::nullopt);
  }
  ~KeyEnvironment() {
    for (int i = 0; i < 2; ++i) Put(kNames[i], saved_[i]);
  }
  void Set(const std::optional<std::string>& key, const std::optional<std::string>& key_file) {
    Put(kNames[0], key);
    Put(kNames[1], key_file);
  }

 private:
  static void Put(const char* name, const std::optional<std::string>& v) {
    if (v) setenv(name, v->c_str(), 1);
    else unsetenv(name);
  }
  static constexpr const char* kNames[2] = {"RAHNAMA_DB_KEY", "RAHNAMA_DB_KEY_FILE"};
  std::optional<std::string> saved_[2];
};

Result<std::unique_ptr<db::SqliteStore>> OpenStore(const std::string& path) {
  db::SqliteStore::Options o;
  o.path = path;
  o.synchronous = "NORMAL";
  return db::SqliteStore::Open(o);  // the key from the environment, as the server does
}

void StoreMessage(db::SqliteStore& store, const std::string& provider_id);

// Creates (or opens) the database at `path` with the key from the environment, stores one
// message and closes it again.
void WriteOneMessage(const std::string& path, const std::string& provider_id) {
  auto store = OpenStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  StoreMessage(**store, provider_id);
}

void StoreMessage(db::SqliteStore& store, const std::string& provider_id) {
  InboundMessage m;
  m.provider_id = provider_id;
  m.sender = kSender;
  m.sender_name = "Probe Person";
  m.business_id = "106540352242922";
  m.text = kBody;
  WebhookBatch batch;
  batch.messages.push_back(m);
  const WebhookBatch* batches[] = {&batch};
  auto r = store.StoreWebhooks(batches, 1767225600000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  ASSERT_TRUE((*r)[0][0]) << "stored as new";
}

// The database file and its -wal/-shm, byte for byte.
std::string BytesOf(const std::string& path) {
  std::string all;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::ifstream in(path + suffix, std::ios::binary);
    if (in) all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

bool ContainsPlaintext(const std::string& path) {
  const std::string bytes = BytesOf(path);
  return bytes.find(kBody) != std::string::npos || bytes.find(kSender) != std::string::npos ||
         bytes.find("CREATE TABLE") != std::string::npos || bytes.find("SQLite format 3") != std::string::npos;
}

// Opens `path` with the SQLite API directly (no rahnama code) and reads the schema; returns the
// SQLite result code and, on success, the number of messages.
struct RawRead {
  int rc = SQLITE_ERROR;
  long messages = -1;
};
RawRead ReadRaw(const std::string& path, const std::optional<std::string>& key) {
  RawRead r;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return r;
  }
#if defined(RAHNAMA_SQLCIPHER)
  if (key) sqlite3_key(db, key->data(), static_cast<int>(key->size()));
#else
  (void)key;
#endif
  r.rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (r.rc == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      r.messages = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return r;
}

struct CommandRun {
  int exit_code = -1;
  std::string out;
};
CommandRun Sh(const std::string& cmd) {
  CommandRun r;
  FILE* p = popen(("( " + cmd + " ) 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// `rahnama serve --dev` on `db` with the environment as it is; `timeout` in case it starts.
CommandRun Serve(const std::string& db) {
  return Sh(std::string("timeout 30 ") + RAHNAMA_BINARY + " serve --dev --port 0 --admin-port 0 --db " + db +
            " --locales " + RAHNAMA_SOURCE_DIR + "/locales --console " + RAHNAMA_SOURCE_DIR + "/bot/console");
}

bool HaveCommand(const std::string& name) { return Sh("command -v " + name + " >/dev/null").exit_code == 0; }

TEST(EncryptionTest, PlainBuildRefusesADatabaseKeyRatherThanStorePlaintext) {
  if (kCipherBuild) GTEST_SKIP() << "SQLCipher build: a key is required here (see the cases below)";
  TempDir dir;
  KeyEnvironment env;
  const std::string path = dir.File("k.db");
  env.Set(kKey, std::nullopt);
  auto store = OpenStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("RAHNAMA_DB_KEY is set, but this rahnama was built without SQLCipher"),
            std::string::npos)
      << store.status().message();
  EXPECT_EQ(store.status().message().find(kKey), std::string::npos) << "the key must never be shown";
  EXPECT_FALSE(std::filesystem::exists(path)) << "nothing written before refusing";

  env.Set(std::nullopt, dir.File("key"));
  store = OpenStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("RAHNAMA_DB_KEY_FILE is set"), std::string::npos);

  env.Set(kKey, std::nullopt);
  CommandRun serve = Serve(path);
  EXPECT_EQ(serve.exit_code, 1) << serve.out;
  EXPECT_NE(serve.out.find("built without SQLCipher"), std::string::npos) << serve.out;
  EXPECT_EQ(serve.out.find(kKey), std::string::npos) << serve.out;
  EXPECT_FALSE(std::filesystem::exists(path));
}

// The probe the cipher cases rely on, shown to work: a database stored without a key has the
// body in its bytes and opens with the plain SQLite API (on either build).
TEST(EncryptionTest, ProbeFindsTheBodyInAnUnencryptedDatabase) {
  TempDir dir;
  const std::string path = dir.File("plain.db");
  {
    db::SqliteStore::Options o;
    o.path = path;
    o.key = "";  // explicitly unencrypted
    auto store = db::SqliteStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    StoreMessage(**store, "wamid.plain-1");
  }
  EXPECT_TRUE(ContainsPlaintext(path));
  RawRead raw = ReadRaw(path, std::nullopt);
  EXPECT_EQ(raw.rc, SQLITE_OK);
  EXPECT_EQ(raw.messages, 1);
}

TEST(EncryptionTest, CipherBuildRefusesToStartWithoutAKey) {
  SKIP_UNLESS_CIPHER_BUILD();
  TempDir dir;
  KeyEnvironment env;
  const std::string path = dir.File("nokey.db");
  auto store = OpenStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("needs the database key: set RAHNAMA_DB_KEY or RAHNAMA_DB_KEY_FILE"),
            std::string::npos)
      << store.status().message();
  EXPECT_FALSE(std::filesystem::exists(path));

  CommandRun serve = Serve(path);
  EXPECT_EQ(serve.exit_code, 1) << serve.out;
  EXPECT_NE(serve.out.find("RAHNAMA_DB_KEY or RAHNAMA_DB_KEY_FILE"), std::string::npos) << serve.out;
  EXPECT_FALSE(std::filesystem::exists(path));

  env.Set(kKey, dir.File("key"));
  store = OpenStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("both RAHNAMA_DB_KEY and RAHNAMA_DB_KEY_FILE are set"), std::string::npos)
      << store.status().message();
}

TEST(EncryptionTest, StoredMessagesCannotBeReadWithoutTheKeyAndReadBackWithIt) {
  SKIP_UNLESS_CIPHER_BUILD();
  TempDir dir;
  KeyEnvironment env;
  env.Set(kKey, std::nullopt);
  const std::string path = dir.File("enc.db");
  {
    auto store = OpenStore(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    StoreMessage(**store, "wamid.enc-1");
    // While the server runs, the message lives in the WAL: encrypted there too.
    ASSERT_TRUE(std::filesystem::exists(path + "-wal"));
    EXPECT_FALSE(ContainsPlaintext(path)) << "plaintext in the database or its WAL while open";
  }
  EXPECT_FALSE(ContainsPlaintext(path)) << "plaintext in the database after close";

  RawRead nokey = ReadRaw(path, std::nullopt);
  EXPECT_EQ(nokey.rc, SQLITE_NOTADB) << "the plain SQLite API must not read it";
  if (HaveCommand("sqlite3")) {  // Debian's own sqlite3 shell, not linked with SQLCipher
    CommandRun shell = Sh("sqlite3 " + path + " 'SELECT count(*) FROM sqlite_master'");
    EXPECT_NE(shell.exit_code, 0) << shell.out;
    EXPECT_NE(shell.out.find("not a database"), std::string::npos) << shell.out;
  }
  EXPECT_EQ(ReadRaw(path, std::string(kKey)).messages, 1);

  auto again = OpenStore(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto pending = (*again)->LoadPending(10);
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].message.text, kBody);
  EXPECT_EQ((*pending)[0].contact.address, kSender);
}

TEST(EncryptionTest, WrongKeyIsRefusedWithAClearError) {
  SKIP_UNLESS_CIPHER_BUILD();
  TempDir dir;
  KeyEnvironment env;
  env.Set(kKey, std::nullopt);
  const std::string path = dir.File("enc.db");
  WriteOneMessage(path, "wamid.enc-2");
  env.Set("not the key", std::nullopt);
  auto store = OpenStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(kWrongKey), std::string::npos) << store.status().message();
  EXPECT_EQ(store.status().message().find("not the key"), std::string::npos) << "the key must never be shown";

  CommandRun serve = Serve(path);
  EXPECT_EQ(serve.exit_code, 1) << serve.out;
  EXPECT_NE(serve.out.find(kWrongKey), std::string::npos) << serve.out;
  EXPECT_EQ(serve.out.find("not the key"), std::string::npos) << serve.out;

  // A database stored without a key is no more readable with one.
  const std::string plain = dir.File("plain.db");
  {
    db::SqliteStore::Options o;
    o.path = plain;
    o.key = "";
    ASSERT_TRUE(db::SqliteStore::Open(o).ok());
  }
  env.Set(kKey, std::nullopt);
  store = OpenStore(plain);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(kWrongKey), std::string::npos) << store.status().message();

  // Unchanged by the refusals: the right key still reads it.
  EXPECT_EQ(ReadRaw(path, std::string(kKey)).messages, 1);
}

TEST(EncryptionTest, KeyFileIsReadAndItsTrailingNewlineIgnored) {
  SKIP_UNLESS_CIPHER_BUILD();
  TempDir dir;
  KeyEnvironment env;
  const std::string path = dir.File("enc.db");
  const std::string key_file = dir.File("db_key");
  std::ofstream(key_file) << kKey << "\n";
  env.Set(std::nullopt, key_file);
  WriteOneMessage(path, "wamid.enc-3");
  EXPECT_EQ(ReadRaw(path, std::string(kKey)).messages, 1) << "the key is the file without its newline";
  env.Set(kKey, std::nullopt);
  EXPECT_TRUE(OpenStore(path).ok());

  env.Set(std::nullopt, dir.File("missing"));
  auto missing = OpenStore(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read RAHNAMA_DB_KEY_FILE"), std::string::npos);
  std::ofstream(dir.File("empty")) << "\n";
  env.Set(std::nullopt, dir.File("empty"));
  auto empty = OpenStore(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("is empty"), std::string::npos) << empty.status().message();
}

TEST(EncryptionTest, BackupIsEncryptedWithTheSameKey) {
  SKIP_UNLESS_CIPHER_BUILD();
  TempDir dir;
  KeyEnvironment env;
  env.Set(kKey, std::nullopt);
  const std::string path = dir.File("enc.db");
  auto store = OpenStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  StoreMessage(**store, "wamid.enc-4");

  // Through the library, and through `rahnama backup` while the store is still open (as the
  // timer does while the server runs).
  const std::string lib_copy = dir.File("lib-backup.db");
  Status s = db::SqliteStore::BackupFile(path, lib_copy);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const std::string cli_copy = dir.File("cli-backup.db");
  CommandRun backup = Sh(std::string(RAHNAMA_BINARY) + " backup --db " + path + " --to " + cli_copy);
  ASSERT_EQ(backup.exit_code, 0) << backup.out;

  for (const std::string& copy : {lib_copy, cli_copy}) {
    SCOPED_TRACE(copy);
    EXPECT_FALSE(ContainsPlaintext(copy));
    EXPECT_EQ(ReadRaw(copy, std::nullopt).rc, SQLITE_NOTADB);
    EXPECT_EQ(ReadRaw(copy, std::string("not the key")).rc, SQLITE_NOTADB);
    EXPECT_EQ(ReadRaw(copy, std::string(kKey)).messages, 1);
  }

  // Without the key, no backup at all (and no plaintext copy left behind).
  env.Set(std::nullopt, std::nullopt);
  const std::string refused = dir.File("refused.db");
  CommandRun nokey = Sh(std::string(RAHNAMA_BINARY) + " backup --db " + path + " --to " + refused);
  EXPECT_NE(nokey.exit_code, 0) << nokey.out;
  EXPECT_NE(nokey.out.find("RAHNAMA_DB_KEY"), std::string::npos) << nokey.out;
  EXPECT_FALSE(std::filesystem::exists(refused));
  EXPECT_FALSE(std::filesystem::exists(refused + ".partial"));

  // And `rahnama restore` of the copy gives a database the server opens with the key.
  env.Set(kKey, std::nullopt);
  const std::string restored = dir.File("restored.db");
  CommandRun restore = Sh(std::string(RAHNAMA_BINARY) + " restore --from " + cli_copy + " --db " + restored);
  ASSERT_EQ(restore.exit_code, 0) << restore.out;
  auto reopened = OpenStore(restored);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto pending = (*reopened)->LoadPending(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].message.text, kBody);
}

// deploy/README.md §9, key rotation: with the server stopped, the sqlcipher shell re-encrypts the
// file under a new key (PRAGMA rekey).
TEST(EncryptionTest, RekeyWithTheSqlcipherShellRotatesTheKey) {
  SKIP_UNLESS_CIPHER_BUILD();
  if (!HaveCommand("sqlcipher")) GTEST_SKIP() << "the sqlcipher shell (Debian package sqlcipher) is not installed";
  TempDir dir;
  KeyEnvironment env;
  env.Set(kKey, std::nullopt);
  const std::string path = dir.File("enc.db");
  WriteOneMessage(path, "wamid.enc-5");
  const std::string new_key = "a new key after the old one leaked";
  std::ofstream(dir.File("rekey.sql")) << "PRAGMA key = '" << kKey << "';\nPRAGMA rekey = '" << new_key << "';\n";
  CommandRun rekey = Sh("sqlcipher " + path + " < " + dir.File("rekey.sql"));
  ASSERT_EQ(rekey.exit_code, 0) << rekey.out;

  auto old_key = OpenStore(path);
  ASSERT_FALSE(old_key.ok());
  EXPECT_NE(old_key.status().message().find(kWrongKey), std::string::npos);
  env.Set(new_key, std::nullopt);
  auto store = OpenStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto pending = (*store)->LoadPending(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].message.text, kBody);
  EXPECT_FALSE(ContainsPlaintext(path));
}

// deploy/README.md §9, moving an existing deployment to the SQLCipher build: the sqlcipher shell
// copies the plaintext database into an encrypted one (sqlcipher_export), which the server opens.
TEST(EncryptionTest, APlainDatabaseIsConvertedWithSqlcipherExport) {
  SKIP_UNLESS_CIPHER_BUILD();
  if (!HaveCommand("sqlcipher")) GTEST_SKIP() << "the sqlcipher shell (Debian package sqlcipher) is not installed";
  TempDir dir;
  KeyEnvironment env;
  const std::string plain = dir.File("plain.db");
  {
    db::SqliteStore::Options o;
    o.path = plain;
    o.key = "";
    auto store = db::SqliteStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    StoreMessage(**store, "wamid.plain-2");
  }
  // Written last by Debian's SQLite 3.40, as a database of the plain build would be.
  if (HaveCommand("sqlite3")) {
    ASSERT_EQ(Sh("sqlite3 " + plain + " VACUUM").exit_code, 0);
  }
  const std::string encrypted = dir.File("encrypted.db");
  std::ofstream(dir.File("export.sql")) << "ATTACH DATABASE '" << encrypted << "' AS encrypted KEY '" << kKey
                                        << "';\nSELECT sqlcipher_export('encrypted');\nDETACH DATABASE encrypted;\n";
  CommandRun convert = Sh("sqlcipher " + plain + " < " + dir.File("export.sql"));
  ASSERT_EQ(convert.exit_code, 0) << convert.out;

  EXPECT_FALSE(ContainsPlaintext(encrypted));
  env.Set(kKey, std::nullopt);
  auto store = OpenStore(encrypted);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto version = (*store)->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_GE(*version, 5);
  auto pending = (*store)->LoadPending(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].message.text, kBody);
}

}  // namespace
}  // namespace bot::testing
