// Operations on a content document as operators see it: items with stable keys ("answer/prs/por_card",
// "rule/prs.deportation", "fact/unhcr_kp_helpline"), translator files (JSON, CSV with one column per
// language), regression checks, and merging a new shipped release without overwriting edits.
#ifndef BOT_CONTENT_EDITOR_H_
#define BOT_CONTENT_EDITOR_H_

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/content/content.h"
#include "bot/core/status.h"

namespace bot::content {

// Every editable item of a document by key. Values are the JSON the item holds.
std::map<std::string, nlohmann::json> Flatten(const nlohmann::json& document);
// Sets (or, with a null value, deletes) one item. kInvalidArgument for an unknown key shape.
Status SetItem(nlohmann::json& document, const std::string& key, const nlohmann::json& value);
nlohmann::json GetItem(const nlohmann::json& document, const std::string& key);

// Translator CSV: header "key,en,prs,ps"; one row per translatable text (answers, messages, menu
// titles and descriptions). Import applies the rows onto `base` (other items stay as they are).
std::string ExportCsv(const nlohmann::json& document);
Result<nlohmann::json> ImportCsv(const nlohmann::json& base, const std::string& csv);

struct RegressionExample {
  int64_t id = 0;
  std::string text;
  std::string intent;
  bool urgent = false;
};
struct RegressionFailure {
  RegressionExample example;
  std::string got_intent;
  bool got_urgent = false;
};
// Examples whose intent changes or that lose urgency under `snapshot`.
std::vector<RegressionFailure> CheckRegressions(const Snapshot& snapshot, const std::vector<RegressionExample>& examples);

struct UpgradeConflict {
  std::string key;
  nlohmann::json shipped_before, shipped_now, current;
};
struct UpgradeResult {
  nlohmann::json document;               // current with every untouched item updated
  std::vector<std::string> applied;      // keys taken from the new release
  std::vector<UpgradeConflict> conflicts;  // keys the operators changed and the release changed too
};
// Three-way merge: `shipped_before` was the release the current content started from.
UpgradeResult MergeShippedUpgrade(const nlohmann::json& shipped_before, const nlohmann::json& shipped_now,
                                  const nlohmann::json& current);

}  // namespace bot::content

#endif  // BOT_CONTENT_EDITOR_H_
