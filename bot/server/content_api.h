// Operators' content management: the draft, validation, preview, publish (with the regression set
// and the optional four-eyes rule), versions and restore, translator import/export, and upgrades of
// the shipped content that never overwrite operators' edits. Publishing swaps the snapshot the
// pipeline reads, atomically; turns in flight finish on the version they started with.
#ifndef BOT_SERVER_CONTENT_API_H_
#define BOT_SERVER_CONTENT_API_H_

#include <functional>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "bot/content/editor.h"
#include "bot/core/clock.h"
#include "bot/server/admin_api.h"
#include "bot/server/pipeline.h"
#include "db/sqlite_store.h"

namespace bot::server {

class ContentService {
 public:
  ContentService(db::SqliteStore& store, ContentHolder& holder, const Clock& clock, std::string locales_dir);

  // At start: the newest published version, or the shipped content on a new database; a new
  // shipped release is merged in (untouched items updated, edited ones reported as conflicts).
  Status LoadAtStart();

  Result<nlohmann::json> Draft();
  // Reads the draft, lets `change` edit it and saves it, with no other edit in between (two
  // operators saving at once each kept only their own change). Nothing is saved if `change` fails.
  Status EditDraft(const std::function<Status(nlohmann::json& draft)>& change);

  struct PublishOutcome {
    int64_t version = 0;         // 0 when it waits for approval
    int64_t request_id = 0;      // four-eyes request
    std::vector<content::Problem> problems;
    std::vector<content::RegressionFailure> regressions;
  };
  // kInvalidArgument when validation blocks (outcome.problems), kConflict when regression examples
  // would flip and no override was given (outcome.regressions).
  Status Publish(const std::string& author, const std::string& message, bool override_regressions,
                 PublishOutcome& outcome);
  // kConflict when the request is no longer pending, or when another version was published
  // after it was made (approving it would undo that publish: its author must publish again).
  // It is validated and checked against the regression examples again; examples that would flip
  // need `confirm_override` (outcome.regressions lists them).
  Status Approve(int64_t request_id, const std::string& approver, bool confirm_override, PublishOutcome& outcome);
  // A second operator rejects a request, or its author withdraws it; `reason` is required.
  Status Reject(int64_t request_id, const std::string& who, const std::string& reason);
  // The version becomes the draft and is published, or with four-eyes on, requested
  // (outcome.request_id).
  Status Restore(int64_t version_id, const std::string& author, const std::string& message, PublishOutcome& outcome);
  bool FourEyes();  // every publish and restore waits for a second operator
  Status CheckQueuesExist(const nlohmann::json& doc);
  Status CheckBlockingProblems(const nlohmann::json& doc, PublishOutcome& outcome);
  Status CheckRegressionExamples(const nlohmann::json& doc, PublishOutcome& outcome);
  // Pending (or all) requests, each with the items it changes against the published content.
  Result<nlohmann::json> PublishRequests(const std::string& status);
  nlohmann::json Conflicts();
  std::string Today() const;

 private:
  Status PublishDocument(const nlohmann::json& doc, const std::string& author, const std::string& message,
                         int64_t& version);
  Status RequestPublish(const nlohmann::json& doc, const std::string& author, const std::string& message,
                        const std::string& kind, const nlohmann::json& overrides, PublishOutcome& outcome);
  // Every item `doc` changes against the live content, with before and after.
  nlohmann::json ChangesAgainstLive(const nlohmann::json& doc) const;
  db::SqliteStore& store_;
  ContentHolder& holder_;
  const Clock& clock_;
  std::string locales_dir_;
  Status SaveDraft(const nlohmann::json& document);
  std::mutex mutex_;        // publish, approve, reject, restore
  std::mutex draft_mutex_;  // every write of the draft; taken after mutex_ when both are held
};

class ContentApi {
 public:
  ContentApi(ContentService& service, AdminApi& auth, db::SqliteStore& store, ContentHolder& holder, const Clock& clock);
  void Register(httplib::Server& svr);

 private:
  ContentService& service_;
  AdminApi& auth_;
  db::SqliteStore& store_;
  ContentHolder& holder_;
  const Clock& clock_;
};

}  // namespace bot::server

#endif  // BOT_SERVER_CONTENT_API_H_
