// Every payload in shared/fixtures/meta/{whatsapp,messenger}/{inbound,status,edge,errors,
// other_fields}/ through the real webhook endpoint of one running server, checking what was
// stored against expectations this file computes from the payload itself: HTTP status, inbound
// messages (deduplicated by id) and their kinds, delivery statuses, and a queued bot reply for
// text. Files are listed at run time: adding a fixture adds a row.
//
// The fixtures come from several libraries that reuse placeholder ids across files
// ("wamid.xyzxyz" is an audio in one file and a sticker in the next), while one server serves
// the whole suite. So before posting, each message/status id the file carries is made unique to
// the file by a textual suffix on its quoted occurrences; nothing else in the bytes changes, and
// repeats inside one file stay repeats.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/channels/messenger/messenger.h"
#include "tests/channels/channel_testing.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kFixtures = std::string(RAHNAMA_SHARED_DIR) + "/fixtures/meta";
const char* const kNoFixtures = "(fixtures folder absent)";

std::vector<std::string> FixtureFiles() {
  std::vector<std::string> files;
  for (const char* channel : {"whatsapp", "messenger"})
    for (const char* folder : {"inbound", "status", "edge", "errors", "other_fields"}) {
      const fs::path dir = fs::path(kFixtures) / channel / folder;
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) continue;
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file()) files.push_back(std::string(channel) + "/" + folder + "/" + e.path().filename().string());
    }
  std::sort(files.begin(), files.end());
  if (files.empty()) files.push_back(kNoFixtures);
  return files;
}

std::string TestName(const std::string& file) {
  std::string n = file;
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

// --- Reading the payload independently of the adapters --------------------------------------

std::string S(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return {};
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return {};
}
const json& O(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}
std::vector<json> A(const json& j, const char* key) {
  const json& v = O(j, key);
  return v.is_array() ? v.get<std::vector<json>>() : std::vector<json>{};
}

std::string WhatsAppKind(const json& m) {
  const std::string t = S(m, "type");
  if (t == "text") return "text";
  if (t == "button") return "choice";
  if (t == "interactive") {
    const json& in = O(m, "interactive");
    for (const char* k : {"button_reply", "list_reply", "nfm_reply"})
      if (O(in, k).is_object()) return "choice";
    return "unsupported";
  }
  for (const char* media : {"image", "video", "document", "audio", "sticker", "location", "contacts", "reaction", "system"})
    if (t == media) return t;
  if (t == "voice") return "audio";
  if (t == "revoke") return "system";
  if (t == "edit" && O(O(m, "edit"), "message").is_object()) return WhatsAppKind(O(O(m, "edit"), "message"));
  return "unsupported";
}

std::string MessengerKind(const json& msg) {
  if (O(msg, "quick_reply").is_object()) return "choice";
  auto atts = A(msg, "attachments");
  if (!atts.empty()) {
    const std::string t = S(atts[0], "type");
    if (t == "image") return O(atts[0], "payload").contains("sticker_id") ? "sticker" : "image";
    if (t == "audio" || t == "video" || t == "location") return t;
    if (t == "file") return "document";
    return "unsupported";
  }
  return S(msg, "text").empty() ? "unsupported" : "text";
}

struct Expected {
  int http_status = 200;
  std::map<std::string, std::string> kinds;           // provider id → kind
  std::set<std::pair<std::string, std::string>> statuses;  // (provider message id, status)
  std::set<std::string> own_numbers;                  // phone_number_ids: never a sender
};

Expected ExpectWhatsApp(const json& doc) {
  Expected e;
  for (const json& entry : A(doc, "entry"))
    for (const json& change : A(entry, "changes")) {
      const json& value = O(change, "value");
      const std::string field = S(change, "field");
      if (!value.is_object() || (!field.empty() && field != "messages")) continue;
      const std::string own = S(O(value, "metadata"), "phone_number_id");
      if (!own.empty()) e.own_numbers.insert(own);
      auto contacts = A(value, "contacts");
      for (const json& m : A(value, "messages")) {
        const std::string id = S(m, "id");
        bool has_sender = false;
        for (const std::string& s : {S(m, "from"), S(m, "from_user_id")})
          has_sender = has_sender || (!s.empty() && s != own);
        if (contacts.size() == 1)
          for (const std::string& s : {S(contacts[0], "wa_id"), S(contacts[0], "user_id")})
            has_sender = has_sender || (!s.empty() && s != own);
        if (!id.empty() && has_sender && !e.kinds.count(id)) e.kinds[id] = WhatsAppKind(m);
      }
      for (const json& s : A(value, "statuses"))
        if (!S(s, "id").empty() && !S(s, "status").empty()) e.statuses.insert({S(s, "id"), S(s, "status")});
    }
  return e;
}

Expected ExpectMessenger(const json& doc) {
  Expected e;
  for (const json& entry : A(doc, "entry"))
    for (const json& ev : A(entry, "messaging")) {  // standby[] belongs to another app
      const std::string psid = S(O(ev, "sender"), "id");
      if (O(ev, "delivery").is_object()) {
        for (const json& mid : A(O(ev, "delivery"), "mids"))
          if (mid.is_string()) e.statuses.insert({mid.get<std::string>(), "delivered"});
        continue;
      }
      if (O(ev, "read").is_object()) {
        const std::string watermark = S(O(ev, "read"), "watermark");
        if (!psid.empty() && !watermark.empty())
          e.statuses.insert({channels::messenger::ReadStatusId(psid, watermark), "read"});
        continue;
      }
      if (psid.empty()) continue;
      std::string id, kind;
      if (const json& msg = O(ev, "message"); msg.is_object()) {
        const bool echo = (O(msg, "is_echo").is_boolean() && O(msg, "is_echo").get<bool>()) || psid == S(entry, "id");
        if (echo) continue;
        id = S(msg, "mid");
        kind = MessengerKind(msg);
      } else if (const json& pb = O(ev, "postback"); pb.is_object()) {
        id = S(pb, "mid");
        if (id.empty()) id = channels::messenger::PostbackId(psid, S(ev, "timestamp"));
        kind = "choice";
      }
      if (!id.empty() && !e.kinds.count(id)) e.kinds[id] = kind;
    }
  return e;
}

// Every message/status id `doc` carries, to be made unique to one file.
void CollectIds(const json& doc, std::set<std::string>& ids) {
  for (const json& entry : A(doc, "entry")) {
    for (const json& change : A(entry, "changes")) {
      for (const json& m : A(O(change, "value"), "messages")) ids.insert(S(m, "id"));
      for (const json& s : A(O(change, "value"), "statuses")) ids.insert(S(s, "id"));
    }
    for (const char* list : {"messaging", "standby"})
      for (const json& ev : A(entry, list)) {
        ids.insert(S(O(ev, "message"), "mid"));
        ids.insert(S(O(ev, "postback"), "mid"));
        for (const json& mid : A(O(ev, "delivery"), "mids"))
          if (mid.is_string()) ids.insert(mid.get<std::string>());
      }
  }
}

std::string MakeIdsUnique(std::string body, const json& doc, const std::string& tag) {
  std::set<std::string> ids;
  CollectIds(doc, ids);
  for (const std::string& id : ids) {
    // Short or escaped ids could match other values; those stay as they are.
    if (id.size() < 6 || id.find_first_of("\"\\") != std::string::npos) continue;
    const std::string from = "\"" + id + "\"", to = "\"" + id + "~" + tag + "\"";
    for (size_t at = body.find(from); at != std::string::npos; at = body.find(from, at + to.size()))
      body.replace(at, from.size(), to);
  }
  return body;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

std::string InList(const std::set<std::string>& values) {
  std::string out = "(";
  for (const auto& v : values) out += (out.size() > 1 ? "," : "") + Quote(v);
  return out + ")";
}

// --- The suite ------------------------------------------------------------------------------

class MetaFixtureTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (!fs::is_directory(kFixtures)) return;
    dir_ = new TempDir();
    graph_ = new FakeGraph();
    auto s = server::Server::Start(TestConfig(dir_->File("rahnama.db"), graph_->url()));
    if (!s.ok()) {
      start_error_ = new std::string(s.status().ToString());
      return;
    }
    server_ = s->release();
    hooks_ = new Webhooks(server_->port());
  }
  static void TearDownTestSuite() {
    delete hooks_;
    delete server_;  // stops it
    delete graph_;
    delete dir_;
    delete start_error_;
    hooks_ = nullptr;
    server_ = nullptr;
    graph_ = nullptr;
    dir_ = nullptr;
    start_error_ = nullptr;
  }

  static std::string db() { return dir_->File("rahnama.db"); }
  static std::vector<std::string> Rows(const std::string& sql) { return Query(db(), sql); }
  static long Count(const std::string& sql) { return QueryInt(db(), sql); }

  // Polls `sql` (a count) until it reaches `want`; the last value read.
  static long WaitForCount(const std::string& sql, long want, int timeout_ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    long got = Count(sql);
    while (got != want && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      got = Count(sql);
    }
    return got;
  }

  static inline TempDir* dir_ = nullptr;
  static inline FakeGraph* graph_ = nullptr;
  static inline server::Server* server_ = nullptr;
  static inline Webhooks* hooks_ = nullptr;
  static inline std::string* start_error_ = nullptr;
};

TEST_P(MetaFixtureTest, IsStoredAsItsPayloadSays) {
  const std::string& file = GetParam();
  if (file == kNoFixtures || !fs::is_directory(kFixtures))
    GTEST_SKIP() << "no Meta fixtures at " << kFixtures << " (shared/fixtures/meta is not part of this checkout)";
  ASSERT_EQ(start_error_, nullptr) << "server did not start: " << *start_error_;
  ASSERT_NE(hooks_, nullptr);

  const std::string channel = file.substr(0, file.find('/'));
  const std::string object = channel == "whatsapp" ? "whatsapp_business_account" : "page";
  std::string body = ReadFile(kFixtures + "/" + file);
  ASSERT_FALSE(body.empty()) << file;

  json doc = json::parse(body, nullptr, false);
  if (!doc.is_discarded()) {
    body = MakeIdsUnique(body, doc, TestName(file));
    doc = json::parse(body, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << "rewriting ids broke the JSON";
  }
  Expected want;
  if (doc.is_discarded() || !doc.is_object() || S(doc, "object") != object) {
    want.http_status = 400;
  } else {
    want = channel == "whatsapp" ? ExpectWhatsApp(doc) : ExpectMessenger(doc);
  }
  std::set<std::string> ids;
  CollectIds(doc, ids);
  for (const auto& [id, kind] : want.kinds) ids.insert(id);
  for (const auto& [id, status] : want.statuses) ids.insert(id);
  ids.erase("");
  const std::string in_ids = InList(ids.empty() ? std::set<std::string>{"-none-"} : ids);
  const std::string this_channel = "channel = " + Quote(channel);
  const long outbox_before = Count("SELECT COALESCE(MAX(id), 0) FROM outbox");
  // Only a postback without a mid keeps an id shared with other files (one derived from sender
  // and time): the same tap, captured by two libraries, is rightly stored once.
  const long stored_before = Count("SELECT COUNT(*) FROM messages WHERE direction = 'in' AND " + this_channel +
                                   " AND provider_id IN " + in_ids);

  auto res = hooks_->PostSigned(body, "/webhooks/" + channel);
  ASSERT_TRUE(res) << "no answer from the server";
  ASSERT_EQ(res->status, want.http_status) << res->body;

  if (want.http_status != 200) {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM messages WHERE provider_id IN " + in_ids), 0);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM delivery_statuses WHERE provider_message_id IN " + in_ids), 0);
    return;
  }
  const json answer = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << res->body;
  EXPECT_EQ(answer.value("received", -1), static_cast<int>(want.kinds.size())) << res->body;
  EXPECT_EQ(answer.value("new", -1), static_cast<long>(want.kinds.size()) - stored_before) << res->body;
  EXPECT_EQ(answer.value("statuses", -1), static_cast<int>(want.statuses.size())) << res->body;

  // Messages: exactly the expected ids, each with its kind.
  std::map<std::string, std::string> stored;
  for (const std::string& row : Rows("SELECT provider_id || char(9) || kind FROM messages WHERE direction = 'in' AND " +
                                     this_channel + " AND provider_id IN " + in_ids)) {
    const size_t tab = row.find('\t');
    stored[row.substr(0, tab)] = row.substr(tab + 1);
  }
  EXPECT_EQ(stored, want.kinds);

  // Statuses: exactly the expected (id, status) pairs.
  std::set<std::pair<std::string, std::string>> statuses;
  for (const std::string& row : Rows("SELECT provider_message_id || char(9) || status FROM delivery_statuses WHERE " +
                                     this_channel + " AND provider_message_id IN " + in_ids)) {
    const size_t tab = row.find('\t');
    statuses.insert({row.substr(0, tab), row.substr(tab + 1)});
  }
  EXPECT_EQ(statuses, want.statuses);

  if (want.kinds.empty()) return;
  // Nobody is stored under our own number.
  if (!want.own_numbers.empty()) {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE m.provider_id IN " +
                    in_ids + " AND c.external_id IN " + InList(want.own_numbers)),
              0);
  }

  // Every message gets its turn; text is answered (the reply is queued in the outbox).
  const long n = static_cast<long>(want.kinds.size());
  ASSERT_EQ(WaitForCount("SELECT COUNT(*) FROM messages WHERE direction = 'in' AND status = 'processed' AND " +
                             this_channel + " AND provider_id IN " + in_ids,
                         n),
            n)
      << "messages not processed within 10 s";
  const bool has_text = std::any_of(want.kinds.begin(), want.kinds.end(), [](const auto& k) { return k.second == "text"; });
  if (has_text) {
    EXPECT_GE(Count("SELECT COUNT(*) FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.id > " +
                    std::to_string(outbox_before) +
                    " AND m.contact_id IN (SELECT contact_id FROM messages WHERE direction = 'in' AND kind = 'text' AND "
                    "provider_id IN " + in_ids + ")"),
              1)
        << "no reply queued for the text";
  }
}

INSTANTIATE_TEST_SUITE_P(SharedMetaFixtures, MetaFixtureTest, ::testing::ValuesIn(FixtureFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return TestName(info.param); });

}  // namespace
}  // namespace bot::testing
