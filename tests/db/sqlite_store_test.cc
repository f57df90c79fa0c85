// The statements rewritten without UPSERT/RETURNING (so they run on SQLCipher's SQLite 3.15 as well
// as on SQLite 3.40) keep their meaning: dedup on (channel, provider id) inside the group commit,
// one contact row per person brought up to date, and insert-or-replace of conversation state,
// settings and queues. The suite runs on both builds (make test; CI=true adds the SQLCipher one).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db/sqlite_store.h"
#include "tests/support/db_probe.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

using json = nlohmann::json;

constexpr int64_t kNow = 1767225600000;  // 2026-01-01

InboundMessage Message(const std::string& provider_id, const std::string& from, Channel channel = Channel::kWhatsApp) {
  InboundMessage m;
  m.channel = channel;
  m.provider_id = provider_id;
  m.sender = from;
  m.text = "text of " + provider_id;
  return m;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db::SqliteStore::Options o;
    o.path = dir_.File("s.db");
    o.synchronous = "NORMAL";
    auto s = db::SqliteStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  // Stores the batches as one group commit; each batch's "new" flags.
  std::vector<std::vector<bool>> Store(const std::vector<WebhookBatch>& batches, int64_t now = kNow) {
    std::vector<const WebhookBatch*> ptrs;
    for (const auto& b : batches) ptrs.push_back(&b);
    auto r = store_->StoreWebhooks(ptrs, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<std::vector<bool>>{};
  }
  std::vector<PendingInbound> Pending() {
    auto p = store_->LoadPending(1000);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : std::vector<PendingInbound>{};
  }

  TempDir dir_;
  std::unique_ptr<db::SqliteStore> store_;
};

TEST_F(SqliteStoreTest, AMessageDeliveredTwiceInOneGroupCommitOrLaterIsStoredOnce) {
  WebhookBatch first, again;
  first.messages = {Message("wamid.A", "923001")};
  again.messages = {Message("wamid.A", "923001"), Message("wamid.B", "923001")};
  EXPECT_EQ(Store({first, again}), (std::vector<std::vector<bool>>{{true}, {false, true}}));
  WebhookBatch retry;
  retry.messages = {Message("wamid.B", "923001"), Message("wamid.A", "923001")};
  EXPECT_EQ(Store({retry}), (std::vector<std::vector<bool>>{{false, false}}));
  // The same id on another channel is another message.
  WebhookBatch messenger;
  messenger.messages = {Message("wamid.A", "psid-1", Channel::kMessenger)};
  EXPECT_EQ(Store({messenger}), (std::vector<std::vector<bool>>{{true}}));
  auto pending = Pending();
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].message.provider_id, "wamid.A");
  EXPECT_EQ(pending[1].message.provider_id, "wamid.B");
  EXPECT_EQ(pending[0].contact.id, pending[1].contact.id);
  EXPECT_NE(pending[0].contact.id, pending[2].contact.id);
}

TEST_F(SqliteStoreTest, AContactIsCreatedOnceAndKeptUpToDate) {
  InboundMessage a = Message("wamid.1", "923002");
  a.sender_name = "Gul";
  a.business_id = "phone-1";
  a.timestamp = kNow / 1000;
  WebhookBatch b1;
  b1.messages = {a};
  Store({b1});
  // Older, without name or business id: nothing is overwritten, and the latest time stays.
  InboundMessage late = Message("wamid.2", "923002");
  late.timestamp = kNow / 1000 - 3600;
  WebhookBatch b2;
  b2.messages = {late};
  Store({b2});
  auto pending = Pending();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[1].contact.id, pending[0].contact.id);
  EXPECT_EQ(pending[1].contact.display_name, "Gul");
  EXPECT_EQ(pending[1].contact.business_id, "phone-1");
  EXPECT_EQ(pending[1].contact.last_inbound_ms, kNow);
  // Newer, with a new name and number: both taken, and the time moves on.
  InboundMessage newer = Message("wamid.3", "923002");
  newer.sender_name = "Gul Bibi";
  newer.business_id = "phone-2";
  newer.timestamp = kNow / 1000 + 60;
  WebhookBatch b3;
  b3.messages = {newer};
  Store({b3});
  pending = Pending();
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[2].contact.id, pending[0].contact.id);
  EXPECT_EQ(pending[2].contact.display_name, "Gul Bibi");
  EXPECT_EQ(pending[2].contact.business_id, "phone-2");
  EXPECT_EQ(pending[2].contact.last_inbound_ms, kNow + 60000);
  // A late redelivery of an older message to the first number does not move the contact back to
  // it: officers' replies keep going out from the number the person wrote to last.
  InboundMessage redelivered = Message("wamid.4", "923002");
  redelivered.business_id = "phone-1";
  redelivered.timestamp = kNow / 1000 - 7200;
  WebhookBatch b4;
  b4.messages = {redelivered};
  Store({b4});
  EXPECT_EQ(Pending().back().contact.business_id, "phone-2");
  // A timestamp from the future (a sender's clock years ahead, or a forged one) moves the reply
  // window no further than a few minutes of clock skew.
  InboundMessage future = Message("wamid.5", "923002");
  future.timestamp = kNow / 1000 + 5 * 365 * 24 * 3600;
  WebhookBatch b5;
  b5.messages = {future};
  Store({b5});
  EXPECT_EQ(Pending().back().contact.last_inbound_ms, kNow + 5 * 60 * 1000);
  InboundMessage absurd = Message("wamid.6", "923002");
  absurd.timestamp = INT64_MAX / 10;
  WebhookBatch b6;
  b6.messages = {absurd};
  Store({b6});
  EXPECT_EQ(Pending().back().contact.last_inbound_ms, kNow + 5 * 60 * 1000);
}

// A number change whose new number already wrote to us leaves both contacts as they are (merging
// two histories is for an officer); an erased contact is never given an address again.
TEST_F(SqliteStoreTest, ANumberChangeToANumberWeKnowOrOfAnErasedContactChangesNothing) {
  WebhookBatch b;
  b.messages = {Message("wamid.n1", "923101"), Message("wamid.n2", "923102")};
  Store({b});
  auto pending = Pending();
  ASSERT_EQ(pending.size(), 2u);
  Turn t;
  t.message_id = pending[0].message_id;
  t.contact_id = pending[0].contact.id;
  t.new_address = "923102";
  ASSERT_TRUE(store_->CommitTurn(t, kNow).ok());
  WebhookBatch again;
  again.messages = {Message("wamid.n3", "923101")};
  Store({again});
  EXPECT_EQ(Pending().back().contact.id, pending[0].contact.id) << "923101 is still that contact";
  ASSERT_TRUE(store_->EraseContact(pending[1].contact.id, "test", kNow).ok());
  Turn erased;
  erased.message_id = 0;
  erased.contact_id = pending[1].contact.id;
  erased.new_address = "923199";
  ASSERT_TRUE(store_->CommitTurn(erased, kNow).ok());
  WebhookBatch from_new;
  from_new.messages = {Message("wamid.n4", "923199")};
  Store({from_new});
  EXPECT_NE(Pending().back().contact.id, pending[1].contact.id);
}

// Someone who writes to two of the helpline's numbers is answered on each from the number each
// message came to (replies went out from the number they wrote to last).
TEST_F(SqliteStoreTest, AReplyLeavesFromTheNumberItsMessageCameTo) {
  InboundMessage to_a = Message("wamid.a", "923009");
  to_a.business_id = "phone-A";
  to_a.timestamp = kNow / 1000;
  InboundMessage to_b = Message("wamid.b", "923009");
  to_b.business_id = "phone-B";
  to_b.timestamp = kNow / 1000 + 1;
  WebhookBatch batch;
  batch.messages = {to_a, to_b};
  Store({batch});
  auto pending = Pending();
  ASSERT_EQ(pending.size(), 2u);
  for (const auto& p : pending) {
    Turn turn;
    turn.message_id = p.message_id;
    turn.contact_id = p.contact.id;
    turn.business_id = p.message.business_id;
    OutboundRecord r;
    r.message.text = "reply to " + p.message.provider_id;
    r.payloads = {R"({"text":"reply"})"};
    turn.replies = {r};
    ASSERT_TRUE(store_->CommitTurn(turn, kNow).ok());
  }
  auto due = store_->ClaimDue(kNow + 1, 10);
  ASSERT_TRUE(due.ok());
  std::vector<std::string> from;
  for (const auto& it : *due) from.push_back(it.business_id);
  // One at a time per person: the second waits for the first to be sent.
  ASSERT_EQ(from.size(), 1u);
  EXPECT_EQ(from[0], "phone-A");
  ASSERT_TRUE(store_->MarkSent((*due)[0].id, "wamid.out-1", kNow + 2).ok());
  due = store_->ClaimDue(kNow + 3, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].business_id, "phone-B");
}

// An urgent reply overtakes an ordinary one that failed and is backing off, but two replies to
// one person are never in flight at once (they would arrive in any order).
TEST_F(SqliteStoreTest, AnUrgentReplyOvertakesAFailedOneButNeverRacesIt) {
  WebhookBatch b;
  b.messages = {Message("wamid.u1", "923010"), Message("wamid.u2", "923010")};
  Store({b});
  auto pending = Pending();
  ASSERT_EQ(pending.size(), 2u);
  auto reply = [&](const PendingInbound& p, bool urgent, int64_t at) {
    Turn turn;
    turn.message_id = p.message_id;
    turn.contact_id = p.contact.id;
    OutboundRecord r;
    r.message.text = urgent ? "safety" : "ordinary";
    r.message.urgent = urgent;
    r.payloads = {urgent ? R"({"text":"safety"})" : R"({"text":"ordinary"})"};
    turn.replies = {r};
    ASSERT_TRUE(store_->CommitTurn(turn, at).ok());
  };
  reply(pending[0], false, kNow);
  auto first = store_->ClaimDue(kNow + 1, 10);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  const int64_t ordinary = (*first)[0].id;
  ASSERT_TRUE(store_->MarkRetry(ordinary, kNow + 600000, "500", kNow + 2).ok());  // backing off for 10 minutes
  reply(pending[1], true, kNow + 3);  // makes the ordinary one due again, too
  auto next = store_->ClaimDue(kNow + 4, 10);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u) << "two replies to one person in flight at once";
  EXPECT_EQ((*next)[0].payload, R"({"text":"safety"})") << "the safety reply goes first";
  auto during = store_->ClaimDue(kNow + 5, 10);
  ASSERT_TRUE(during.ok());
  EXPECT_TRUE(during->empty()) << "the failed reply was claimed while the safety reply was in flight";
  ASSERT_TRUE(store_->MarkSent((*next)[0].id, "wamid.safety", kNow + 6).ok());
  auto after = store_->ClaimDue(kNow + 7, 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].id, ordinary);
}

// Contacts whose reply window a forged or wrong timestamp had moved years ahead before the clamp
// are brought back by migration 0012 to when their last message reached us.
TEST_F(SqliteStoreTest, AReplyWindowStoredYearsAheadIsBroughtBackByTheMigration) {
  WebhookBatch b;
  b.messages = {Message("wamid.f1", "923004")};
  Store({b});
  const std::string path = dir_.File("s.db");
  const long received = QueryInt(path, "SELECT MAX(created_at) FROM messages WHERE direction = 'in'");
  store_.reset();
  ASSERT_TRUE(ExecBehindTheServer(path, "UPDATE contacts SET last_inbound_at = 4102444800000; "  // 2100
                                        "DELETE FROM schema_migrations WHERE version >= 12"));
  db::SqliteStore::Options o;
  o.path = path;
  auto reopened = db::SqliteStore::Open(o);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(QueryInt(path, "SELECT last_inbound_at FROM contacts"), received);
}

TEST_F(SqliteStoreTest, ConversationStateIsCreatedByTheFirstTurnAndReplacedByTheNext) {
  WebhookBatch b;
  b.messages = {Message("wamid.c1", "923003"), Message("wamid.c2", "923003")};
  Store({b});
  auto pending = Pending();
  ASSERT_EQ(pending.size(), 2u);
  const int64_t contact = pending[0].contact.id;
  auto empty = store_->LoadConversation(contact);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->stage, "idle");
  for (int i = 0; i < 2; ++i) {
    Turn t;
    t.message_id = pending[static_cast<size_t>(i)].message_id;
    t.contact_id = contact;
    t.state.language = i == 0 ? "ps" : "prs";
    t.state.stage = i == 0 ? "awaiting_language" : "offered_human";
    t.state.misses = i + 1;
    ASSERT_TRUE(store_->CommitTurn(t, kNow + i).ok());
    auto state = store_->LoadConversation(contact);
    ASSERT_TRUE(state.ok());
    EXPECT_EQ(state->language, t.state.language);
    EXPECT_EQ(state->stage, t.state.stage);
    EXPECT_EQ(state->misses, i + 1);
  }
  // The fields added in session 11 are kept; a state written before them reads as "language only
  // guessed" (so a safety reply goes in every language) and "no erasure offered".
  WebhookBatch more;
  more.messages = {Message("wamid.c3", "923003")};
  Store({more});
  auto third = Pending();
  ASSERT_EQ(third.size(), 1u);
  Turn t;
  t.message_id = third[0].message_id;
  t.contact_id = contact;
  t.state.language = "prs";
  t.state.language_known = true;
  t.state.erasure_offered = true;
  t.state.menu_shown = "1=deportation_info,2=por_card";
  ASSERT_TRUE(store_->CommitTurn(t, kNow + 5).ok());
  auto kept = store_->LoadConversation(contact);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->language_known);
  EXPECT_TRUE(kept->erasure_offered);
  EXPECT_EQ(kept->menu_shown, "1=deportation_info,2=por_card");
  ASSERT_TRUE(ExecBehindTheServer(dir_.File("s.db"), "UPDATE conversations SET state = '{\"language\":\"en\",\"welcomed\":true}'"));
  auto old = store_->LoadConversation(contact);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->language, "en");
  EXPECT_FALSE(old->language_known);
  EXPECT_FALSE(old->erasure_offered);
}

// A turn for `p` that queues one reply.
Turn TurnWithOneReply(const PendingInbound& p, const std::string& text, const std::string& payload) {
  Turn t;
  t.message_id = p.message_id;
  t.contact_id = p.contact.id;
  OutboundRecord r;
  r.message.text = text;
  r.payloads = {payload};
  t.replies = {r};
  return t;
}

// Replies queued before a number change (held back by an outage, say) go to the new number: the
// row's recipient and the "to" inside the request body it is sent as.
TEST_F(SqliteStoreTest, RepliesQueuedBeforeANumberChangeGoToTheNewNumber) {
  WebhookBatch b;
  b.messages = {Message("wamid.q1", "923201"), Message("wamid.q2", "923201")};
  Store({b});
  auto pending = Pending();
  ASSERT_EQ(pending.size(), 2u);
  Turn reply = TurnWithOneReply(pending[0], "stay safe", R"({"messaging_product":"whatsapp","to":"923201","type":"text"})");
  ASSERT_TRUE(store_->CommitTurn(reply, kNow).ok());
  Turn change;
  change.message_id = pending[1].message_id;
  change.contact_id = pending[1].contact.id;
  change.new_address = "923202";
  ASSERT_TRUE(store_->CommitTurn(change, kNow + 1).ok());
  auto due = store_->ClaimDue(kNow + 2, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].recipient, "923202");
  EXPECT_EQ(json::parse((*due)[0].payload)["to"], "923202");
}

// A message another lane (or a retried batch) already answered: the second turn writes nothing
// and says so, so it is neither sent nor counted again.
TEST_F(SqliteStoreTest, ASecondTurnForTheSameMessageWritesNothingAndSaysItIsARepeat) {
  WebhookBatch b;
  b.messages = {Message("wamid.r1", "923004")};
  Store({b});
  auto pending = Pending();
  ASSERT_EQ(pending.size(), 1u);
  Turn t = TurnWithOneReply(pending[0], "hello", R"({"text":"hello"})");
  auto first = store_->CommitTurn(t, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 0);
  auto second = store_->CommitTurn(t, kNow + 1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, ConversationStore::kTurnRepeated);
  EXPECT_EQ(QueryInt(dir_.File("s.db"), "SELECT COUNT(*) FROM outbox"), 1);
}

// An operator erases a contact while a lane holds a copy of its pending message: the lane's turn
// is refused (the message moved to a fresh contact), so it is answered there, at the real address.
TEST_F(SqliteStoreTest, ATurnForAMessageAnErasureMovedIsRefusedAndTheMessageWaitsOnTheFreshContact) {
  WebhookBatch b;
  b.messages = {Message("wamid.e1", "923005")};
  Store({b});
  auto held = Pending();
  ASSERT_EQ(held.size(), 1u);
  ASSERT_TRUE(store_->EraseContact(held[0].contact.id, "admin", kNow).ok());
  Turn t = TurnWithOneReply(held[0], "hello", R"({"text":"hello"})");
  auto stale = store_->CommitTurn(t, kNow + 1);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(*stale, ConversationStore::kTurnRepeated);
  EXPECT_EQ(QueryInt(dir_.File("s.db"), "SELECT COUNT(*) FROM outbox"), 0);
  auto again = Pending();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].contact.id, held[0].contact.id);
  EXPECT_EQ(again[0].contact.address, "923005");
}

// "delete": the confirmation is queued and the data erased in one transaction, so a failed
// erasure leaves the message pending (tried again) and tells the person nothing yet.
TEST_F(SqliteStoreTest, AnErasureThatFailsLeavesTheDeleteRequestPendingAndUnanswered) {
  WebhookBatch b;
  b.messages = {Message("wamid.e2", "923006")};
  Store({b});
  auto held = Pending();
  ASSERT_EQ(held.size(), 1u);
  ASSERT_TRUE(ExecBehindTheServer(dir_.File("s.db"), "CREATE TRIGGER erase_fails BEFORE INSERT ON audit_log "
                                                     "BEGIN SELECT RAISE(ABORT, 'disk full'); END"));
  Turn t = TurnWithOneReply(held[0], "Your data has been deleted.", R"({"text":"deleted"})");
  t.erase = true;
  EXPECT_FALSE(store_->CommitTurn(t, kNow).ok());
  EXPECT_EQ(QueryInt(dir_.File("s.db"), "SELECT COUNT(*) FROM outbox"), 0);
  EXPECT_EQ(Pending().size(), 1u);
  ASSERT_TRUE(ExecBehindTheServer(dir_.File("s.db"), "DROP TRIGGER erase_fails"));
  auto done = store_->CommitTurn(t, kNow + 1);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(QueryInt(dir_.File("s.db"), "SELECT COUNT(*) FROM outbox WHERE recipient = '923006'"), 1);
  EXPECT_EQ(QueryInt(dir_.File("s.db"), "SELECT COUNT(*) FROM contacts WHERE external_id = '923006'"), 0);
}

TEST_F(SqliteStoreTest, PutSettingAddsThenReplaces) {
  EXPECT_EQ(store_->GetSetting("content_draft").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->PutSetting("content_draft", "one").ok());
  EXPECT_EQ(*store_->GetSetting("content_draft"), "one");
  ASSERT_TRUE(store_->PutSetting("content_draft", "two").ok());
  EXPECT_EQ(*store_->GetSetting("content_draft"), "two");
}

TEST_F(SqliteStoreTest, PutQueueAddsANewQueueThenUpdatesIt) {
  Queue q{"legal_aid", "a legal aid partner", "legal_aid_contact", 60, "https://partner.example/hook", "s3cret", ""};
  ASSERT_TRUE(store_->PutQueue(q, kNow).ok());
  auto added = store_->QueueById("legal_aid");
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->partner, "a legal aid partner");
  EXPECT_EQ(added->webhook_url, "https://partner.example/hook");
  q.partner = "the legal aid partner";
  q.sla_minutes = 30;
  q.webhook_url = "";
  q.webhook_secret = "";
  q.hours = "1-5 09:00-17:00 +0500";
  ASSERT_TRUE(store_->PutQueue(q, kNow + 1).ok());
  auto updated = store_->QueueById("legal_aid");
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->partner, "the legal aid partner");
  EXPECT_EQ(updated->sla_minutes, 30);
  EXPECT_EQ(updated->webhook_url, "");
  EXPECT_EQ(updated->hours, "1-5 09:00-17:00 +0500");
  auto all = store_->Queues();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u) << "the three shipped queues and this one, once";
  // Updating a shipped queue keeps the routing rules that point at it.
  auto rules = store_->RoutingRules();
  ASSERT_TRUE(rules.ok());
  Queue unhcr = *store_->QueueById("unhcr_protection");
  unhcr.sla_minutes = 10;
  ASSERT_TRUE(store_->PutQueue(unhcr, kNow).ok());
  EXPECT_EQ(store_->RoutingRules()->size(), rules->size());
  EXPECT_EQ(store_->QueueById("unhcr_protection")->sla_minutes, 10);
}

// The case view, erasure and MarkSent find outbox rows by their message; without an index each
// lookup scanned the whole outbox (140 ms per case view at 200,000 messages, bench/SQLCIPHER.md).
TEST_F(SqliteStoreTest, OutboxRowsAreFoundByTheirMessageThroughAnIndex) {
  std::string plan;
  for (const auto& row : Query(dir_.File("s.db"), "EXPLAIN QUERY PLAN SELECT state FROM outbox WHERE message_id = 42", 3))
    plan += row + "\n";
  EXPECT_NE(plan.find("USING INDEX outbox_message"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN"), std::string::npos) << plan;
}

}  // namespace
}  // namespace bot::testing
