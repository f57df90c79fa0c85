// Content service and /api/v1/content routes.
#include "bot/server/content_api.h"

#include <httplib.h>

#include <algorithm>
#include <ctime>
#include <iterator>
#include <set>

#include "bot/conversation/conversation.h"
#include "bot/core/log.h"

namespace bot::server {

using json = nlohmann::json;

namespace {

constexpr const char* kDraftKey = "content_draft";
constexpr const char* kShippedKey = "shipped_content";
constexpr const char* kConflictsKey = "content_conflicts";
constexpr const char* kFourEyesKey = "four_eyes";

json ProblemsJson(const std::vector<content::Problem>& problems) {
  json out = json::array();
  for (const auto& p : problems) out.push_back({{"item", p.item}, {"message", p.message}, {"blocking", p.blocking}});
  return out;
}

json RegressionsJson(const std::vector<content::RegressionFailure>& f) {
  json out = json::array();
  for (const auto& r : f)
    out.push_back({{"id", r.example.id}, {"text", r.example.text}, {"expected_intent", r.example.intent},
                   {"expected_urgent", r.example.urgent}, {"got_intent", r.got_intent}, {"got_urgent", r.got_urgent}});
  return out;
}

}  // namespace

ContentService::ContentService(db::SqliteStore& store, ContentHolder& holder, const Clock& clock, std::string locales_dir)
    : store_(store), holder_(holder), clock_(clock), locales_dir_(std::move(locales_dir)) {}

std::string ContentService::Today() const {
  std::time_t t = static_cast<std::time_t>(clock_.NowMillis() / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

namespace {

// The problems in `after` that `before` does not have: what a change brings.
std::vector<content::Problem> Introduced(const std::vector<content::Problem>& before,
                                         const std::vector<content::Problem>& after) {
  std::set<std::string> known;
  for (const auto& p : before) known.insert(p.item + "|" + p.message);
  std::vector<content::Problem> out;
  for (const auto& p : after)
    if (!known.count(p.item + "|" + p.message)) out.push_back(p);
  return out;
}

std::vector<content::Problem> Blocking(std::vector<content::Problem> problems) {
  problems.erase(std::remove_if(problems.begin(), problems.end(), [](const content::Problem& p) { return !p.blocking; }),
                 problems.end());
  return problems;
}

}  // namespace

Status ContentService::LoadAtStart() {
  std::lock_guard lock(mutex_);
  auto shipped_now = content::LoadLocalesDirectory(locales_dir_);
  auto latest = store_.LatestContent();
  json document;
  int64_t version = 0;
  if (latest.status().code() == StatusCode::kNotFound) {
    if (!shipped_now.ok())
      return Status::InvalidArgument("cannot load shipped content from " + locales_dir_ + ": " + shipped_now.status().message());
    document = *shipped_now;
    auto id = store_.PublishContent("system", "shipped content from locales/", document.dump(), clock_.NowMillis());
    if (!id.ok()) return id.status();
    BOT_RETURN_IF_ERROR(store_.PutSetting(kShippedKey, document.dump()));
    version = *id;
    log::Info("content_loaded_from_locales", {{"dir", locales_dir_}, {"version", std::to_string(version)}});
  } else if (!latest.ok()) {
    return latest.status();
  } else {
    document = json::parse(latest->document, nullptr, false);
    if (document.is_discarded()) return Status::Internal("published content version " + std::to_string(latest->id) + " is not JSON");
    version = latest->id;
    // A new release may ship changed content: merge it without overwriting operators' edits.
    auto before_text = store_.GetSetting(kShippedKey);
    if (shipped_now.ok() && before_text.ok()) {
      json before = json::parse(*before_text, nullptr, false);
      if (!before.is_discarded() && before != *shipped_now) {
        auto merged = content::MergeShippedUpgrade(before, *shipped_now, document);
        json conflicts = json::array();
        for (const auto& c : merged.conflicts)
          conflicts.push_back({{"key", c.key}, {"shipped_before", c.shipped_before}, {"shipped_now", c.shipped_now},
                               {"current", c.current}});
        bool refused = false;
        if (!merged.applied.empty()) {
          // The merge of a release and operators' edits is published only if it passes what any
          // publish must (validation, the safety canaries, the queues).
          // Only what the release brings counts: a problem the running content already has (an
          // old long menu title) must not hold back every later release.
          PublishOutcome now_checked, merged_checked;
          const Status now_ok = CheckBlockingProblems(document, now_checked);
          const Status merged_ok = CheckBlockingProblems(merged.document, merged_checked);
          const auto brought = Introduced(now_checked.problems, merged_checked.problems);
          std::string introduced = brought.empty() ? "" : brought[0].item + ": " + brought[0].message;
          if (introduced.empty() && !merged_ok.ok() && now_ok.ok()) introduced = merged_ok.message();
          const Status publishable = introduced.empty() ? Status::Ok() : Status::InvalidArgument(introduced);
          if (publishable.ok()) {
            auto id = store_.PublishContent("system", "shipped content upgrade: " + std::to_string(merged.applied.size()) +
                                                          " items updated, " + std::to_string(merged.conflicts.size()) +
                                                          " conflicts kept for review",
                                            merged.document.dump(), clock_.NowMillis());
            if (!id.ok()) return id.status();
            document = merged.document;
            version = *id;
          } else {
            // Refused: nothing of this release is taken, and it is tried again at the next start
            // (the release it came from stays the one operators' edits are compared with).
            conflicts.push_back({{"key", "release"}, {"error", publishable.message()}});
            BOT_RETURN_IF_ERROR(store_.PutSetting(kConflictsKey, conflicts.dump()));
            (void)store_.Audit("system", "content_upgrade_refused", "", json{{"error", publishable.message()}}.dump(),
                               clock_.NowMillis());
            log::Error("content_upgrade_refused", {{"error", publishable.message()}});
            refused = true;
          }
        }
        // An unpublished draft gets the same merge, so it does not resurrect the old release.
        if (auto draft_text = store_.GetSetting(kDraftKey); !refused && draft_text.ok()) {
          json draft = json::parse(*draft_text, nullptr, false);
          if (!draft.is_discarded()) {
            auto merged_draft = content::MergeShippedUpgrade(before, *shipped_now, draft);
            BOT_RETURN_IF_ERROR(store_.PutSetting(kDraftKey, merged_draft.document.dump()));
          }
        }
        if (!refused) {
          BOT_RETURN_IF_ERROR(store_.PutSetting(kConflictsKey, conflicts.dump()));
          BOT_RETURN_IF_ERROR(store_.PutSetting(kShippedKey, shipped_now->dump()));
          (void)store_.Audit("system", "content_upgrade", "",
                             json{{"applied", merged.applied}, {"conflicts", conflicts.size()}}.dump(), clock_.NowMillis());
          log::Warn("content_upgrade", {{"applied", std::to_string(merged.applied.size())},
                                        {"conflicts", std::to_string(merged.conflicts.size())}});
        }
      }
    }
  }
  auto snapshot = content::Snapshot::Build(std::move(document), version);
  if (!snapshot.ok()) return Status::InvalidArgument("published content does not compile: " + snapshot.status().message());
  for (const auto& id : (*snapshot)->PlaceholderFacts())
    log::Warn("placeholder_contact", {{"fact", id}, {"action", "operators must fill this in before it is shown to people"}});
  holder_.Set(*snapshot);
  return Status::Ok();
}

Result<json> ContentService::Draft() {
  auto d = store_.GetSetting(kDraftKey);
  if (d.ok()) {
    json j = json::parse(*d, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return holder_.Get()->document();  // no draft yet: it starts as the published content
}

Status ContentService::EditDraft(const std::function<Status(json& draft)>& change) {
  std::lock_guard lock(draft_mutex_);
  auto draft = Draft();
  if (!draft.ok()) return draft.status();
  json doc = std::move(*draft);
  BOT_RETURN_IF_ERROR(change(doc));
  return SaveDraft(doc);
}

Status ContentService::SaveDraft(const json& document) {
  if (!document.is_object() || !document.contains("intents"))
    return Status::InvalidArgument("a content document must be an object with \"intents\"");
  if (content::NestingDepth(document) > content::kMaxNesting)
    return Status::InvalidArgument("the document is nested more than " + std::to_string(content::kMaxNesting) + " levels deep");
  try {
    return store_.PutSetting(kDraftKey, document.dump());
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("the draft cannot be saved: ") + e.what());
  }
}

Status ContentService::PublishDocument(const json& doc, const std::string& author, const std::string& message,
                                       int64_t& version) {
  auto snapshot = content::Snapshot::Build(doc, 0);
  if (!snapshot.ok()) return snapshot.status();
  auto id = store_.PublishContent(author, message, doc.dump(), clock_.NowMillis());
  if (!id.ok()) return id.status();
  auto versioned = content::Snapshot::Build(doc, *id);
  if (!versioned.ok()) return versioned.status();
  holder_.Set(*versioned);  // new messages use it from now on
  version = *id;
  return Status::Ok();
}

Status ContentService::Publish(const std::string& author, const std::string& message, bool override_regressions,
                               PublishOutcome& outcome) {
  std::lock_guard lock(mutex_);
  auto draft = Draft();
  if (!draft.ok()) return draft.status();
  BOT_RETURN_IF_ERROR(CheckBlockingProblems(*draft, outcome));
  BOT_RETURN_IF_ERROR(CheckRegressionExamples(*draft, outcome));
  if (!outcome.regressions.empty()) {
    if (!override_regressions)
      return Status::Conflict(std::to_string(outcome.regressions.size()) +
                              " saved example(s) would change intent or lose urgency; fix the draft or publish with "
                              "\"override_regressions\": true");
    (void)store_.Audit(author, "content_publish_override", "", json{{"regressions", RegressionsJson(outcome.regressions)}}.dump(),
                       clock_.NowMillis());
  }
  if (FourEyes()) return RequestPublish(*draft, author, message, "publish", RegressionsJson(outcome.regressions), outcome);
  BOT_RETURN_IF_ERROR(PublishDocument(*draft, author, message, outcome.version));
  (void)store_.Audit(author, "content_publish", "version:" + std::to_string(outcome.version), json{{"message", message}}.dump(),
                     clock_.NowMillis());
  return Status::Ok();
}

// What blocks any publish, the author's or an approver's: validation's blocking problems (into
// outcome.problems) and queues that do not exist.
Status ContentService::CheckBlockingProblems(const json& doc, PublishOutcome& outcome) {
  for (auto& p : content::Validate(doc, Today()))
    if (p.blocking) outcome.problems.push_back(p);
  // The canaries run whatever else is wrong: a release merged into content with an old problem
  // must still not switch urgency off.
  if (auto snapshot = content::Snapshot::Build(doc, 0); snapshot.ok()) {
    for (auto& p : content::SafetyProblems(**snapshot)) outcome.problems.push_back(p);
  } else if (outcome.problems.empty()) {
    return snapshot.status();
  }
  if (!outcome.problems.empty()) return Status::InvalidArgument(outcome.problems[0].item + ": " + outcome.problems[0].message);
  return CheckQueuesExist(doc);
}

// The saved regression examples `doc` would flip, into outcome.regressions; the caller decides
// whether an override allows them.
Status ContentService::CheckRegressionExamples(const json& doc, PublishOutcome& outcome) {
  auto snapshot = content::Snapshot::Build(doc, 0);
  if (!snapshot.ok()) return snapshot.status();
  auto examples = store_.RegressionExamples();
  if (!examples.ok()) return examples.status();
  std::vector<content::RegressionExample> ex;
  for (const auto& r : *examples) ex.push_back({r.id, r.text, r.intent, r.urgent});
  outcome.regressions = content::CheckRegressions(**snapshot, ex);
  return Status::Ok();
}

// An intent routed to a queue that does not exist would open no case (the turn fails on the
// database's foreign key and is retried forever): every queue named must be one of the queues.
Status ContentService::CheckQueuesExist(const json& doc) {
  auto queues = store_.Queues();
  if (!queues.ok()) return queues.status();
  if (!doc.contains("intents") || !doc["intents"].is_array()) return Status::Ok();
  for (const auto& it : doc["intents"]) {
    if (!it.is_object() || !it.contains("queue") || !it["queue"].is_string()) continue;
    const std::string q = it["queue"];
    bool found = false;
    for (const auto& x : *queues) found = found || x.id == q;
    if (!found)
      return Status::InvalidArgument("intent " + (it.contains("id") && it["id"].is_string() ? it["id"].get<std::string>() : "?") +
                                     ": queue " + q + " does not exist (queues are managed by admins)");
  }
  return Status::Ok();
}

bool ContentService::FourEyes() {
  auto four_eyes = store_.GetSetting(kFourEyesKey);
  return four_eyes.ok() && *four_eyes == "true";
}

Status ContentService::RequestPublish(const json& doc, const std::string& author, const std::string& message,
                                      const std::string& kind, const json& overrides, PublishOutcome& outcome) {
  db::SqliteStore::PublishRequest r;
  r.author = author;
  r.message = message;
  r.document = doc.dump();
  r.base_version = holder_.Get()->version();
  r.kind = kind;
  r.overrides = overrides.dump();
  r.created_at = clock_.NowMillis();
  auto id = store_.AddPublishRequest(r);
  if (!id.ok()) return id.status();
  outcome.request_id = *id;
  (void)store_.Audit(author, "content_publish_requested", "request:" + std::to_string(*id),
                     json{{"message", message}, {"kind", kind}, {"overrides", overrides.size()}}.dump(), clock_.NowMillis());
  return Status::Ok();
}

namespace {

// A change small enough to read in the review list as a whole (a tenth of it for a list); larger
// objects and arrays are compared inside.
constexpr size_t kShownBytes = 4000;

// What approving would change under `key`: the value itself, or inside a large object (a
// language's lexicon, a long rule) each key, inside a large array (the examples, a rule's patterns)
// each entry added or removed. Values are compared as JSON text, type included: 10 and 10.0 are
// equal to nlohmann's ==, but the bot ignores a menu position that is not an integer.
// One change: the values, and the same values as the server writes them (the browser's JSON
// parser turns 10.0 into 10; the text keeps the difference the bot sees).
json Change(const std::string& key, const char* kind, const json* before, const json* after) {
  return {{"item", key}, {"change", kind}, {"before", before ? *before : json(nullptr)},
          {"after", after ? *after : json(nullptr)},
          {"before_text", before ? json(before->dump(1, ' ', false, json::error_handler_t::replace)) : json(nullptr)},
          {"after_text", after ? json(after->dump(1, ' ', false, json::error_handler_t::replace)) : json(nullptr)}};
}

// A nested key as part of an item label: "/" inside it is escaped as in a JSON pointer, so
// {"a": {"b": …}} and {"a/b": …} do not get the same label.
std::string LabelPart(const std::string& k) {
  std::string out;
  for (char c : k) out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
  return out;
}

void AddChanges(json& changes, const std::string& key, const json* before, const json* after, int depth = 0) {
  const std::string b = before ? before->dump() : "", a = after ? after->dump() : "";
  if (before && after && a == b) return;
  const char* kind = !before ? "added" : !after ? "removed" : "changed";
  const bool objects = (!before || before->is_object()) && (!after || after->is_object());
  const bool arrays = (!before || before->is_array()) && (!after || after->is_array());
  // Two long lists side by side hide the one entry that changed: lists are compared entry by entry
  // sooner than objects are. Content nests a few levels: deeper than that a value is shown whole.
  const size_t whole = arrays ? kShownBytes / 10 : kShownBytes;
  constexpr int kDeepest = 6;
  if (a.size() + b.size() <= whole || (!objects && !arrays) || depth >= kDeepest) {
    changes.push_back(Change(key, kind, before, after));
    return;
  }
  if (objects) {
    static const json kEmpty = json::object();
    const json& bo = before ? *before : kEmpty;
    const json& ao = after ? *after : kEmpty;
    for (const auto& [k, v] : bo.items())
      AddChanges(changes, key + "/" + LabelPart(k), &v, ao.contains(k) ? &ao[k] : nullptr, depth + 1);
    for (const auto& [k, v] : ao.items())
      if (!bo.contains(k)) AddChanges(changes, key + "/" + LabelPart(k), nullptr, &v, depth + 1);
    return;
  }
  if (!after) {  // all of it goes: nothing to read entry by entry
    changes.push_back({{"item", key}, {"change", "removed"}, {"entries", before->size()}});
    return;
  }
  std::multiset<std::string> old_entries, new_entries;
  if (before) for (const auto& e : *before) old_entries.insert(e.dump());
  for (const auto& e : *after) new_entries.insert(e.dump());
  std::vector<std::string> added, removed;
  std::set_difference(new_entries.begin(), new_entries.end(), old_entries.begin(), old_entries.end(), std::back_inserter(added));
  std::set_difference(old_entries.begin(), old_entries.end(), new_entries.begin(), new_entries.end(), std::back_inserter(removed));
  constexpr size_t kMostEntries = 300;  // beyond this nobody really reads them: split the change
  if (added.size() + removed.size() > kMostEntries) {
    changes.push_back({{"item", key}, {"change", kind}, {"too_large_to_show", true},
                       {"entries_added", added.size()}, {"entries_removed", removed.size()}});
    return;
  }
  for (const auto& e : removed) {
    const json v = json::parse(e);
    changes.push_back(Change(key, "removed", &v, nullptr));
  }
  for (const auto& e : added) {
    const json v = json::parse(e);
    changes.push_back(Change(key, "added", nullptr, &v));
  }
  if (added.empty() && removed.empty())  // the same entries in another order
    changes.push_back({{"item", key}, {"change", "reordered"}, {"before", nullptr}, {"after", nullptr}});
}

// What the items do not show: the order of intents, facts, sources and rules (and an id that
// appears twice: the bot uses the first, an item view would show one), and any other top-level key.
json Structure(const json& doc) {
  if (!doc.is_object()) return doc;
  json s = doc;
  for (const char* key : {"answers", "messages", "lexicon", "engine", "examples", "templates"}) s.erase(key);
  for (const char* arr : {"intents", "facts", "sources", "rules"}) {
    if (!s.contains(arr) || !s[arr].is_array()) continue;
    json ids = json::array();
    for (const auto& e : s[arr])
      ids.push_back(e.is_object() && e.contains("id") && e["id"].is_string() ? e["id"] : json("(entry without an id)"));
    s[arr] = ids;
  }
  return s;
}

}  // namespace

json ContentService::ChangesAgainstLive(const json& doc) const {
  const json& live = holder_.Get()->document();
  const auto published = content::Flatten(live);
  const auto requested = doc.is_object() ? content::Flatten(doc) : std::map<std::string, json>{};
  json changes = json::array();
  for (const auto& [key, value] : requested) {
    auto it = published.find(key);
    AddChanges(changes, key, it == published.end() ? nullptr : &it->second, &value);
  }
  for (const auto& [key, value] : published)
    if (!requested.count(key)) AddChanges(changes, key, &value, nullptr);
  // Ids are short: the lists are always shown whole, however long.
  const json before = Structure(live), after = Structure(doc);
  if (before.is_object() && after.is_object()) {
    for (const auto& [k, v] : before.items())
      if (!after.contains(k) || after[k].dump() != v.dump())
        changes.push_back(Change("structure/" + LabelPart(k), after.contains(k) ? "changed" : "removed", &v,
                                 after.contains(k) ? &after[k] : nullptr));
    for (const auto& [k, v] : after.items())
      if (!before.contains(k)) changes.push_back(Change("structure/" + LabelPart(k), "added", nullptr, &v));
  } else if (before.dump() != after.dump()) {
    changes.push_back(Change("structure", "changed", &before, &after));
  }
  constexpr size_t kMostChanges = 500;  // nobody reviews more in one go: split the change
  if (changes.size() > kMostChanges) {
    const size_t n = changes.size();
    changes = json::array({{{"item", "(the whole request)"}, {"change", "changed"}, {"too_large_to_show", true}, {"changes", n}}});
  }
  return changes;
}

Status ContentService::Approve(int64_t request_id, const std::string& approver, bool confirm_override,
                               PublishOutcome& outcome) {
  std::lock_guard lock(mutex_);
  auto req = store_.PublishRequestById(request_id);
  if (!req.ok()) return req.status();
  if (req->status != "pending") return Status::Conflict("publish request " + std::to_string(request_id) + " is " + req->status);
  if (req->author == approver) return Status::PermissionDenied("a second operator must approve; you wrote this one");
  const int64_t live = holder_.Get()->version();
  if (req->base_version != live)
    return Status::Conflict("version " + std::to_string(live) + " was published after request " + std::to_string(request_id) +
                            " was made (against version " + std::to_string(req->base_version) +
                            "); approving it would undo that change. Reject it and ask " + req->author +
                            " to publish again from the current draft");
  json doc = json::parse(req->document, nullptr, false);
  if (doc.is_discarded()) return Status::Internal("publish request " + std::to_string(request_id) + " holds no valid document");
  BOT_RETURN_IF_ERROR(CheckBlockingProblems(doc, outcome));
  // The reviewer approves what they could read: nothing hidden behind "too large to show". A
  // restore goes back to a version people were already told (reviewed when it was published), so
  // a long way back may be approved from its summary.
  for (const auto& c : req->kind == "restore" ? json::array() : ChangesAgainstLive(doc))
    if (c.value("too_large_to_show", false))
      return Status::Conflict("request " + std::to_string(request_id) + " changes " + c["item"].get<std::string>() +
                              " in a way too large to show for review; ask " + req->author + " to split the change");
  // The regression examples are checked again now (they may have changed since the request), and an
  // override needs the approver's own confirmation as well as the author's.
  BOT_RETURN_IF_ERROR(CheckRegressionExamples(doc, outcome));
  if (!outcome.regressions.empty()) {
    if (!confirm_override)
      return Status::Conflict(std::to_string(outcome.regressions.size()) +
                              " saved example(s) would change intent or lose urgency; approve with \"confirm_override\": "
                              "true only if you checked each one");
    (void)store_.Audit(approver, "content_publish_override", "request:" + std::to_string(request_id),
                       json{{"regressions", RegressionsJson(outcome.regressions)}}.dump(), clock_.NowMillis());
  }
  auto version = store_.PublishApprovedRequest(request_id, approver, req->message + " (approved by " + approver + ")",
                                               clock_.NowMillis());
  if (!version.ok()) return version.status();
  outcome.version = *version;
  auto versioned = content::Snapshot::Build(std::move(doc), *version);
  if (!versioned.ok()) return versioned.status();
  holder_.Set(*versioned);  // new messages use it from now on
  if (req->kind == "restore") {  // edits go on from it
    std::lock_guard draft_lock(draft_mutex_);
    BOT_RETURN_IF_ERROR(store_.PutSetting(kDraftKey, req->document));
  }
  (void)store_.Audit(approver, "content_publish_approved", "version:" + std::to_string(outcome.version),
                     json{{"request", request_id}, {"author", req->author}, {"kind", req->kind}}.dump(), clock_.NowMillis());
  return Status::Ok();
}

Status ContentService::Reject(int64_t request_id, const std::string& who, const std::string& reason) {
  std::lock_guard lock(mutex_);
  auto req = store_.PublishRequestById(request_id);
  if (!req.ok()) return req.status();
  if (req->status != "pending") return Status::Conflict("publish request " + std::to_string(request_id) + " is " + req->status);
  BOT_RETURN_IF_ERROR(store_.DecidePublishRequest(request_id, "rejected", who, 0, reason, clock_.NowMillis()));
  (void)store_.Audit(who, req->author == who ? "content_publish_withdrawn" : "content_publish_rejected",
                     "request:" + std::to_string(request_id), json{{"author", req->author}, {"reason", reason}}.dump(),
                     clock_.NowMillis());
  return Status::Ok();
}

Status ContentService::Restore(int64_t version_id, const std::string& author, const std::string& message,
                               PublishOutcome& outcome) {
  std::lock_guard lock(mutex_);
  auto v = store_.ContentVersionById(version_id);
  if (!v.ok()) return v.status();
  json doc = json::parse(v->document, nullptr, false);
  const std::string what = message.empty() ? "restore version " + std::to_string(version_id) : message;
  // An old version is checked like any publish: it may predate a check, or the queues have changed.
  BOT_RETURN_IF_ERROR(CheckBlockingProblems(doc, outcome));
  // Four-eyes covers a restore too: going back to an old version changes what people are told. The
  // draft (others' unpublished edits) stays until it is approved.
  if (FourEyes()) return RequestPublish(doc, author, what, "restore", json::array(), outcome);
  BOT_RETURN_IF_ERROR(PublishDocument(doc, author, what, outcome.version));
  (void)store_.Audit(author, "content_restore", "version:" + std::to_string(outcome.version),
                     json{{"restored_from", version_id}}.dump(), clock_.NowMillis());
  std::lock_guard draft_lock(draft_mutex_);
  return store_.PutSetting(kDraftKey, doc.dump());  // edits go on from the restored content
}

Result<json> ContentService::PublishRequests(const std::string& status) {
  auto requests = store_.PublishRequests(status, 50);
  if (!requests.ok()) return requests.status();
  const int64_t live = holder_.Get()->version();
  json out = json::array();
  for (const auto& r : *requests) {
    json j = {{"id", r.id}, {"author", r.author}, {"message", r.message}, {"status", r.status}, {"kind", r.kind},
              {"created_at", r.created_at}, {"base_version", r.base_version},
              {"stale", r.status == "pending" && r.base_version != live},
              {"overrides", json::parse(r.overrides, nullptr, false)},
              {"decided_by", r.decided_by.empty() ? json(nullptr) : json(r.decided_by)},
              {"decided_at", r.decided_at ? json(r.decided_at) : json(nullptr)},
              {"version", r.version_id ? json(r.version_id) : json(nullptr)},
              {"reason", r.reason.empty() ? json(nullptr) : json(r.reason)}};
    if (r.status == "pending") {
      json changes = ChangesAgainstLive(json::parse(r.document, nullptr, false));
      bool reviewable = true;
      for (const auto& c : changes) reviewable = reviewable && !c.value("too_large_to_show", false);
      reviewable = reviewable || r.kind == "restore";  // see Approve
      j["changes"] = std::move(changes);
      j["reviewable"] = reviewable;
    }
    out.push_back(std::move(j));
  }
  return out;
}

json ContentService::Conflicts() {
  auto c = store_.GetSetting(kConflictsKey);
  if (!c.ok()) return json::array();
  json j = json::parse(*c, nullptr, false);
  return j.is_array() ? j : json::array();
}

// ---------------------------------------------------------------------------------------------

ContentApi::ContentApi(ContentService& service, AdminApi& auth, db::SqliteStore& store, ContentHolder& holder,
                       const Clock& clock)
    : service_(service), auth_(auth), store_(store), holder_(holder), clock_(clock) {}

namespace {

void Send(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

// A refused publish or approval: the error, and what caused it (blocking problems, flipped examples).
void SendPublishError(httplib::Response& res, const Status& st, const ContentService::PublishOutcome& out) {
  res.status = HttpStatusOf(st);
  res.set_content(json{{"error", st.message()}, {"problems", ProblemsJson(out.problems)},
                       {"regressions", RegressionsJson(out.regressions)}}.dump(),
                  "application/json");
}

// What the bot would decide and answer for `text` under one content version.
json PreviewWith(const content::Snapshot& c, const std::string& text, const std::string& language) {
  intents::Explanation ex;
  auto d = c.classifier().Classify(text, &ex);
  conversation::TurnInput in;
  in.state.welcomed = true;
  in.state.language = language;
  in.state.language_chosen = !language.empty();
  in.message.text = text;
  auto out = conversation::Converse(c, in);
  json replies = json::array();
  for (const auto& r : out.replies) replies.push_back(r.text);
  json j = intents::ToJson(d);
  j["reply_language"] = out.language;
  j["replies"] = replies;
  j["opens_case"] = out.open_case ? json(out.open_case->queue) : json(nullptr);
  j["explanation"] = intents::ToJson(ex);
  j["version"] = c.version();
  return j;
}

std::string ValidateItemName(const std::string& key) {
  // "answer/prs/por_card" → "answer prs/por_card"; "rule/x" → "rule x"
  auto slash = key.find('/');
  return slash == std::string::npos ? key : key.substr(0, slash) + " " + key.substr(slash + 1);
}

}  // namespace

void ContentApi::Register(httplib::Server& svr) {
  // Every route: operator or admin.
  auto guard = [this](const httplib::Request& req, httplib::Response& res) -> std::optional<Session> {
    auto s = auth_.Authenticate(req);
    if (!s.ok()) {
      SendError(res, s.status());
      return std::nullopt;
    }
    if (s->user.role != "operator" && s->user.role != "admin") {
      SendError(res, Status::PermissionDenied("only operators and admins edit content"));
      return std::nullopt;
    }
    return *s;
  };

  svr.Get("/api/v1/content/draft", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto d = service_.Draft();
    if (!d.ok()) return SendError(res, d.status());
    Send(res, *d);
  });
  svr.Get("/api/v1/content/items", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto d = service_.Draft();
    if (!d.ok()) return SendError(res, d.status());
    const std::string prefix = req.get_param_value("prefix");
    json out = json::object();
    for (const auto& [k, v] : content::Flatten(*d))
      if (k.rfind(prefix, 0) == 0) out[k] = v;
    Send(res, out);
  });
  svr.Get(R"(/api/v1/content/items/(.+))", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto d = service_.Draft();
    if (!d.ok()) return SendError(res, d.status());
    json v = content::GetItem(*d, req.matches[1]);
    if (v.is_null()) return SendError(res, Status::NotFound("no item " + std::string(req.matches[1])));
    Send(res, {{"key", std::string(req.matches[1])}, {"value", v}});
  });
  auto put_item = [this, guard](const httplib::Request& req, httplib::Response& res, bool remove) {
    auto s = guard(req, res);
    if (!s) return;
    const std::string key = req.matches[1];
    json value = nullptr;
    if (!remove) {
      json body = ParseRequestJson(req.body);
      if (body.is_discarded() || !body.is_object() || !body.contains("value"))
        return SendError(res, Status::InvalidArgument("the body must be {\"value\": …}"));
      value = body["value"];
      if (value.is_null()) return SendError(res, Status::InvalidArgument("use DELETE to remove an item"));
    }
    json fresh = json::array();
    std::string first;
    Status st = service_.EditDraft([&](json& updated) -> Status {
      if (remove && content::GetItem(updated, key).is_null()) return Status::NotFound("no item " + key);
      // Refuse what this change breaks: new blocking problems, or rules that stop compiling.
      const std::string today = service_.Today();
      const auto before = Blocking(content::Validate(updated, today));
      BOT_RETURN_IF_ERROR(content::SetItem(updated, key, value));
      for (const auto& p : Introduced(before, Blocking(content::Validate(updated, today)))) {
        fresh.push_back({{"item", p.item}, {"message", p.message}});
        if (first.empty()) first = p.item + ": " + p.message;
      }
      return fresh.empty() ? Status::Ok() : Status::InvalidArgument(first);
    });
    if (!fresh.empty()) {
      res.status = 400;
      res.set_content(json{{"error", first}, {"problems", fresh}}.dump(), "application/json");
      return;
    }
    if (!st.ok()) return SendError(res, st);
    (void)store_.Audit(s->user.username, remove ? "content_item_delete" : "content_item_put", key,
                       remove ? "{}" : json{{"value", value}}.dump(), clock_.NowMillis());
    Send(res, {{"key", key}, {"status", remove ? "deleted" : "saved"}, {"item", ValidateItemName(key)}});
  };
  svr.Put(R"(/api/v1/content/items/(.+))", [put_item](const httplib::Request& req, httplib::Response& res) {
    put_item(req, res, false);
  });
  svr.Delete(R"(/api/v1/content/items/(.+))", [put_item](const httplib::Request& req, httplib::Response& res) {
    put_item(req, res, true);
  });
  svr.Get("/api/v1/content/problems", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto d = service_.Draft();
    if (!d.ok()) return SendError(res, d.status());
    Send(res, ProblemsJson(content::Validate(*d, service_.Today())));
  });
  svr.Post("/api/v1/content/preview", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    json body = ParseRequestJson(req.body);
    if (body.is_discarded() || !body.is_object() || !body.contains("text") || !body["text"].is_string())
      return SendError(res, Status::InvalidArgument("\"text\" (a string) is required"));
    if (body.contains("language") && !body["language"].is_string())
      return SendError(res, Status::InvalidArgument("\"language\" is en, prs, ps or empty"));
    const std::string text = body["text"], language = body.value("language", "");
    auto d = service_.Draft();
    if (!d.ok()) return SendError(res, d.status());
    auto draft = content::Snapshot::Build(*d, 0);
    if (!draft.ok()) return SendError(res, draft.status());
    Send(res, {{"draft", PreviewWith(**draft, text, language)}, {"published", PreviewWith(*holder_.Get(), text, language)}});
  });
  svr.Post("/api/v1/content/publish", [this, guard](const httplib::Request& req, httplib::Response& res) {
    auto s = guard(req, res);
    if (!s) return;
    json body = ParseRequestJson(req.body);
    if (body.is_discarded() || !body.is_object() || !body.contains("message") || !body["message"].is_string() ||
        body["message"].get<std::string>().empty())
      return SendError(res, Status::InvalidArgument("\"message\" (what changed and why) is required"));
    if (body.contains("override_regressions") && !body["override_regressions"].is_boolean())
      return SendError(res, Status::InvalidArgument("\"override_regressions\" is true or false"));
    ContentService::PublishOutcome out;
    Status st = service_.Publish(s->user.username, body["message"], body.value("override_regressions", false), out);
    if (!st.ok()) return SendPublishError(res, st, out);
    if (out.request_id != 0)
      return Send(res, {{"status", "awaiting approval"}, {"request_id", out.request_id}}, 202);
    Send(res, {{"status", "published"}, {"version", out.version}, {"overridden", RegressionsJson(out.regressions)}});
  });
  svr.Get("/api/v1/content/publish-requests", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    const std::string status = req.has_param("status") ? req.get_param_value("status") : "pending";
    if (status != "pending" && status != "approved" && status != "rejected" && status != "all")
      return SendError(res, Status::InvalidArgument("status must be pending, approved, rejected or all"));
    auto list = service_.PublishRequests(status == "all" ? "" : status);
    if (!list.ok()) return SendError(res, list.status());
    Send(res, *list);
  });
  svr.Post(R"(/api/v1/content/publish-requests/(\d{1,18})/approve)", [this, guard](const httplib::Request& req, httplib::Response& res) {
    auto s = guard(req, res);
    if (!s) return;
    json body = req.body.empty() ? json::object() : ParseRequestJson(req.body);
    if (!body.is_object() || (body.contains("confirm_override") && !body["confirm_override"].is_boolean()))
      return SendError(res, Status::InvalidArgument("the body is {} or {\"confirm_override\": true}"));
    ContentService::PublishOutcome out;
    Status st = service_.Approve(std::stoll(req.matches[1]), s->user.username, body.value("confirm_override", false), out);
    if (!st.ok()) return SendPublishError(res, st, out);
    Send(res, {{"status", "published"}, {"version", out.version}});
  });
  svr.Post(R"(/api/v1/content/publish-requests/(\d{1,18})/reject)", [this, guard](const httplib::Request& req, httplib::Response& res) {
    auto s = guard(req, res);
    if (!s) return;
    json body = ParseRequestJson(req.body);
    if (body.is_discarded() || !body.is_object() || !body.contains("reason") || !body["reason"].is_string() ||
        body["reason"].get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos)
      return SendError(res, Status::InvalidArgument("\"reason\" (why it should not be published) is required"));
    if (body["reason"].get<std::string>().size() > 2000) return SendError(res, Status::InvalidArgument("\"reason\" is too long"));
    Status st = service_.Reject(std::stoll(req.matches[1]), s->user.username, body["reason"]);
    if (!st.ok()) return SendError(res, st);
    Send(res, {{"status", "rejected"}});
  });
  svr.Get("/api/v1/content/settings", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    Send(res, {{"four_eyes", service_.FourEyes()}});
  });
  svr.Put("/api/v1/content/settings", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = auth_.Authenticate(req);
    if (!s.ok()) return SendError(res, s.status());
    if (s->user.role != "admin") return SendError(res, Status::PermissionDenied("only admins change content settings"));
    json body = ParseRequestJson(req.body);
    if (body.is_discarded() || !body.is_object() || !body.contains("four_eyes") || !body["four_eyes"].is_boolean())
      return SendError(res, Status::InvalidArgument("{\"four_eyes\": true|false} expected"));
    Status st = store_.PutSetting(kFourEyesKey, body["four_eyes"].get<bool>() ? "true" : "false");
    if (!st.ok()) return SendError(res, st);
    (void)store_.Audit(s->user.username, "content_settings", "", body.dump(), clock_.NowMillis());
    Send(res, {{"four_eyes", body["four_eyes"]}});
  });
  svr.Get("/api/v1/content/versions", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto v = store_.ContentVersions(200);
    if (!v.ok()) return SendError(res, v.status());
    json out = json::array();
    const int64_t current = holder_.Get()->version();
    for (const auto& x : *v)
      out.push_back({{"version", x.id}, {"author", x.author}, {"message", x.message}, {"at", x.created_at},
                     {"current", x.id == current}});
    Send(res, out);
  });
  svr.Get(R"(/api/v1/content/versions/(\d{1,18}))", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto v = store_.ContentVersionById(std::stoll(req.matches[1]));
    if (!v.ok()) return SendError(res, v.status());
    Send(res, json::parse(v->document, nullptr, false));
  });
  svr.Post(R"(/api/v1/content/versions/(\d{1,18})/restore)", [this, guard](const httplib::Request& req, httplib::Response& res) {
    auto s = guard(req, res);
    if (!s) return;
    json body = ParseRequestJson(req.body.empty() ? "{}" : req.body);
    ContentService::PublishOutcome out;
    if (!body.is_object() || (body.contains("message") && !body["message"].is_string()))
      return SendError(res, Status::InvalidArgument("the body is {\"message\": \"why\"} (optional)"));
    Status st = service_.Restore(std::stoll(req.matches[1]), s->user.username, body.value("message", ""), out);
    if (!st.ok()) {
      res.status = HttpStatusOf(st);
      res.set_content(json{{"error", st.message()}, {"problems", ProblemsJson(out.problems)}}.dump(), "application/json");
      return;
    }
    if (out.request_id != 0)
      return Send(res, {{"status", "awaiting approval"}, {"request_id", out.request_id},
                        {"restored_from", std::stoll(req.matches[1])}}, 202);
    Send(res, {{"status", "published"}, {"version", out.version}, {"restored_from", std::stoll(req.matches[1])}});
  });
  svr.Get("/api/v1/content/export", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto d = service_.Draft();
    if (!d.ok()) return SendError(res, d.status());
    if (req.get_param_value("format") == "csv") {
      res.set_header("Content-Disposition", "attachment; filename=\"rahnama-content.csv\"");
      res.set_content(content::ExportCsv(*d), "text/csv; charset=utf-8");
    } else {
      res.set_header("Content-Disposition", "attachment; filename=\"rahnama-content.json\"");
      res.set_content(d->dump(1), "application/json");
    }
  });
  svr.Post("/api/v1/content/import", [this, guard](const httplib::Request& req, httplib::Response& res) {
    auto s = guard(req, res);
    if (!s) return;
    json doc;
    Status st = service_.EditDraft([&](json& draft) -> Status {
      if (req.get_param_value("format") == "csv") {
        auto imported = content::ImportCsv(draft, req.body);
        if (!imported.ok()) return imported.status();
        doc = *imported;
      } else {
        doc = ParseRequestJson(req.body);
        if (doc.is_discarded()) return Status::InvalidArgument("the file is not valid JSON");
      }
      draft = doc;
      return Status::Ok();
    });
    if (!st.ok()) return SendError(res, st);
    (void)store_.Audit(s->user.username, "content_import", "", json{{"format", req.get_param_value("format")}}.dump(),
                       clock_.NowMillis());
    Send(res, {{"status", "imported into the draft"}, {"problems", ProblemsJson(content::Validate(doc, service_.Today()))}});
  });
  svr.Get("/api/v1/content/regressions", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    auto r = store_.RegressionExamples();
    if (!r.ok()) return SendError(res, r.status());
    json out = json::array();
    for (const auto& e : *r)
      out.push_back({{"id", e.id}, {"text", e.text}, {"intent", e.intent}, {"urgent", e.urgent}, {"by", e.created_by}});
    Send(res, out);
  });
  svr.Post("/api/v1/content/regressions", [this, guard](const httplib::Request& req, httplib::Response& res) {
    auto s = guard(req, res);
    if (!s) return;
    json body = ParseRequestJson(req.body);
    if (body.is_discarded() || !body.is_object() || !body.contains("text") || !body["text"].is_string() ||
        !body.contains("intent") || !body["intent"].is_string() || (body.contains("urgent") && !body["urgent"].is_boolean()))
      return SendError(res, Status::InvalidArgument("{\"text\", \"intent\", \"urgent\": true|false?} expected"));
    db::SqliteStore::Regression r;
    r.text = body["text"];
    r.intent = body["intent"];
    r.urgent = body.value("urgent", false);
    r.created_by = s->user.username;
    bool known = false;
    for (const auto& it : holder_.Get()->document()["intents"]) known = known || (it.contains("id") && it["id"] == r.intent);
    if (!known) return SendError(res, Status::InvalidArgument("unknown intent " + r.intent));
    auto id = store_.AddRegressionExample(r, clock_.NowMillis());
    if (!id.ok()) return SendError(res, id.status());
    (void)store_.Audit(s->user.username, "regression_add", "regression:" + std::to_string(*id), body.dump(), clock_.NowMillis());
    Send(res, {{"id", *id}}, 201);
  });
  svr.Delete(R"(/api/v1/content/regressions/(\d{1,18}))", [this, guard](const httplib::Request& req, httplib::Response& res) {
    auto s = guard(req, res);
    if (!s) return;
    Status st = store_.DeleteRegressionExample(std::stoll(req.matches[1]));
    if (!st.ok()) return SendError(res, st);
    (void)store_.Audit(s->user.username, "regression_delete", "regression:" + std::string(req.matches[1]), "{}", clock_.NowMillis());
    Send(res, {{"status", "deleted"}});
  });
  svr.Get("/api/v1/content/conflicts", [this, guard](const httplib::Request& req, httplib::Response& res) {
    if (!guard(req, res)) return;
    Send(res, service_.Conflicts());
  });
}

}  // namespace bot::server
