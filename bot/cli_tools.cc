// classify, eval, backup and restore: thin shells over the intent engine and the store.
#include "bot/cli_tools.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "bot/content/content.h"
#include "bot/core/clock.h"
#include "bot/escalation/auth.h"
#include "intents/classifier.h"
#include "db/database_lock.h"
#include "db/sqlite_store.h"

namespace bot::cli {
namespace {

using json = nlohmann::json;

std::shared_ptr<const content::Snapshot> LoadSnapshot(const std::string& dir) {
  auto doc = content::LoadLocalesDirectory(dir);
  if (!doc.ok()) {
    std::cerr << "rahnama: " << doc.status().message() << "\n";
    return nullptr;
  }
  auto s = content::Snapshot::Build(std::move(*doc), 0);
  if (!s.ok()) {
    std::cerr << "rahnama: content in " << dir << " does not compile: " << s.status().message() << "\n";
    return nullptr;
  }
  return *s;
}

}  // namespace

int Classify(const ClassifyOptions& o) {
  auto snapshot = LoadSnapshot(o.locales_dir);
  if (!snapshot) return 2;
  const auto& c = snapshot->classifier();
  if (o.jsonl) {
    intents::Classifier::SetWordCacheLimitForThisThread(intents::Classifier::kBulkWordCacheLimit);
    std::string line;
    int bad = 0;
    while (std::getline(std::cin, line)) {
      if (line.empty()) continue;
      json in = json::parse(line, nullptr, false);
      if (!in.is_object() || !in.contains("text") || !in["text"].is_string()) {
        std::cout << json{{"error", "each line must be a JSON object with a string \"text\""},
                          {"id", in.is_object() && in.contains("id") ? in["id"] : json(nullptr)}}
                         .dump()
                  << "\n";
        ++bad;
        continue;
      }
      intents::Explanation ex;
      json out = intents::ToJson(c.Classify(in["text"].get<std::string>(), o.explain ? &ex : nullptr));
      out["id"] = in.contains("id") ? in["id"] : json(nullptr);
      if (o.explain) out["explanation"] = intents::ToJson(ex);
      std::cout << out.dump() << "\n";
    }
    return bad == 0 ? 0 : 1;
  }
  std::string text;
  for (const auto& w : o.words) text += (text.empty() ? "" : " ") + w;
  if (text.empty()) {
    std::cerr << "rahnama classify: give a message text, or --jsonl to read JSON lines on stdin\n";
    return 2;
  }
  intents::Explanation ex;
  auto d = c.Classify(text, o.explain ? &ex : nullptr);
  json out = intents::ToJson(d);
  if (o.explain) out["explanation"] = intents::ToJson(ex);
  std::cout << out.dump(o.explain ? 2 : -1) << "\n";
  return 0;
}

int Eval(const EvalOptions& o) {
  auto snapshot = LoadSnapshot(o.locales_dir);
  if (!snapshot) return 2;
  std::ifstream in(o.file);
  if (!in) {
    std::cerr << "rahnama eval: cannot read " << o.file << "\n";
    return 2;
  }
  struct Counts {
    int tp = 0, fp = 0, fn = 0;
  };
  std::map<std::string, Counts> per_intent;
  std::map<std::string, std::pair<int, int>> lang_acc;  // lang → (correct, total)
  std::map<std::pair<std::string, std::string>, int> confusions;
  int total = 0, correct = 0, urgent_tp = 0, urgent_fp = 0, urgent_fn = 0, line_no = 0;
  std::vector<std::string> errors;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string() || !j.contains("intent") || !j["intent"].is_string()) {
      std::cerr << "rahnama eval: " << o.file << ":" << line_no << ": need {\"text\", \"intent\"}\n";
      return 2;
    }
    const std::string text = j["text"], want = j["intent"];
    auto d = snapshot->classifier().Classify(text);
    ++total;
    if (d.intent == want) {
      ++correct;
      ++per_intent[want].tp;
    } else {
      ++per_intent[want].fn;
      ++per_intent[d.intent].fp;
      ++confusions[{want, d.intent}];
      if (o.show_errors) errors.push_back(want + " → " + d.intent + (d.urgent ? " (urgent)" : "") + "\t" + text);
    }
    const bool want_urgent = j.contains("urgent") && j["urgent"].is_boolean() ? j["urgent"].get<bool>() : false;
    if (want_urgent && d.urgent) ++urgent_tp;
    if (!want_urgent && d.urgent) ++urgent_fp;
    if (want_urgent && !d.urgent) ++urgent_fn;
    if (j.contains("language") && j["language"].is_string()) {
      auto& [ok, n] = lang_acc[j["language"].get<std::string>()];
      ++n;
      if (d.language == j["language"].get<std::string>()) ++ok;
    }
  }
  if (total == 0) {
    std::cerr << "rahnama eval: " << o.file << " has no examples\n";
    return 2;
  }
  auto pct = [](double a, double b) { return b == 0 ? 100.0 : 100.0 * a / b; };
  std::printf("%-26s %9s %9s %6s\n", "intent", "precision", "recall", "n");
  for (const auto& [intent, c] : per_intent) {
    if (c.tp + c.fn == 0 && c.fp == 0) continue;
    std::printf("%-26s %8.1f%% %8.1f%% %6d\n", intent.c_str(), pct(c.tp, c.tp + c.fp), pct(c.tp, c.tp + c.fn), c.tp + c.fn);
  }
  int lang_ok = 0, lang_n = 0;
  std::printf("\nlanguage accuracy:\n");
  for (const auto& [lang, v] : lang_acc) {
    std::printf("  %-4s %6.1f%% (%d/%d)\n", lang.c_str(), pct(v.first, v.second), v.first, v.second);
    lang_ok += v.first;
    lang_n += v.second;
  }
  const double intent_accuracy = pct(correct, total);
  const double urgent_recall = pct(urgent_tp, urgent_tp + urgent_fn);
  const double urgent_precision = pct(urgent_tp, urgent_tp + urgent_fp);
  const double language_accuracy = pct(lang_ok, lang_n);
  std::vector<std::pair<int, std::pair<std::string, std::string>>> top;
  for (const auto& [k, v] : confusions) top.push_back({v, k});
  std::sort(top.rbegin(), top.rend());
  std::printf("\nconfusions (expected → got):\n");
  for (size_t i = 0; i < top.size() && i < 15; ++i)
    std::printf("  %3d  %s → %s\n", top[i].first, top[i].second.first.c_str(), top[i].second.second.c_str());
  for (const auto& e : errors) std::printf("  ✗ %s\n", e.c_str());
  std::printf("\nmessages: %d\nintent accuracy: %.1f%%\nlanguage accuracy: %.1f%%\nurgent recall: %.1f%% (%d/%d)\n"
              "urgent precision: %.1f%% (%d/%d)\n",
              total, intent_accuracy, language_accuracy, urgent_recall, urgent_tp, urgent_tp + urgent_fn,
              urgent_precision, urgent_tp, urgent_tp + urgent_fp);
  int failed = 0;
  auto check = [&](const char* name, double got, double want) {
    if (want > 0 && got + 1e-9 < want) {
      std::printf("FAIL: %s %.1f%% is below the threshold %.1f%%\n", name, got, want);
      ++failed;
    }
  };
  check("intent accuracy", intent_accuracy, o.min_intent_accuracy);
  check("urgent recall", urgent_recall, o.min_urgent_recall);
  check("urgent precision", urgent_precision, o.min_urgent_precision);
  check("language accuracy", language_accuracy, o.min_language_accuracy);
  return failed == 0 ? 0 : 1;
}

int Crossval(const CrossvalOptions& o) {
  auto doc = content::LoadLocalesDirectory(o.locales_dir);
  if (!doc.ok()) {
    std::cerr << "rahnama crossval: " << doc.status().message() << "\n";
    return 2;
  }
  const json examples = (*doc)["examples"];
  if (!examples.is_array() || examples.size() < static_cast<size_t>(o.folds) * 2) {
    std::cerr << "rahnama crossval: " << o.locales_dir << " has too few examples for " << o.folds << " folds\n";
    return 2;
  }
  struct Judged {
    bool want_urgent, rules_urgent, rules_judged_not_urgent;
    double urgency;  // the model's, when the rules did not find it urgent
    std::string want_intent, rules_intent, model_intent;
    double model_intent_probability;
    bool model_may_pick;
  };
  std::vector<Judged> judged;
  double overrule = o.overrule_threshold;
  if (overrule < 0) overrule = (*doc)["engine"].value("/example_model/overrule_threshold"_json_pointer, 2.0);
  for (int fold = 0; fold < o.folds; ++fold) {
    json train = *doc;
    train["examples"] = json::array();
    std::vector<const json*> held;
    for (size_t i = 0; i < examples.size(); ++i)
      (static_cast<int>(i % static_cast<size_t>(o.folds)) == fold ? held.push_back(&examples[i])
                                                                   : train["examples"].push_back(examples[i]));
    // The same content with the model switched off gives the rules' own decision.
    json rules_only = train;
    rules_only.erase("examples");
    auto with_model = intents::Classifier::Build(train);
    auto without = intents::Classifier::Build(rules_only);
    if (!with_model.ok() || !without.ok()) {
      std::cerr << "rahnama crossval: content does not compile: "
                << (with_model.ok() ? without.status() : with_model.status()).message() << "\n";
      return 2;
    }
    for (const json* e : held) {
      intents::Explanation x;
      const auto rules = (*without)->Classify(e->value("text", ""));
      (void)(*with_model)->Classify(e->value("text", ""), &x);
      const std::string want = e->value("intent", "");
      judged.push_back({e->contains("urgent") ? e->value("urgent", false) : want == "urgent_protection", rules.urgent,
                        x.rules_judged_not_urgent, x.model_urgency, want, rules.intent, x.model_intent, x.model_intent_probability,
                        x.model_intent_usable});
    }
  }
  int positives = 0, rules_tp = 0, rules_fp = 0;
  for (const auto& j : judged) {
    positives += j.want_urgent;
    rules_tp += j.want_urgent && j.rules_urgent;
    rules_fp += !j.want_urgent && j.rules_urgent;
  }
  auto pct = [](int a, int b) { return b ? 100.0 * a / b : 0.0; };
  std::printf("%zu examples, %d folds, %d urgent; overruling a hypothetical or long-past judgement needs %.2f\n",
              judged.size(), o.folds, positives, overrule);
  std::printf("urgency       threshold  recall            precision         false alarms added by the model\n");
  std::printf("rules alone   -          %5.1f%% (%d/%d)  %5.1f%%            -\n", pct(rules_tp, positives), rules_tp,
              positives, pct(rules_tp, rules_tp + rules_fp));
  double recommended = -1, best_cost = 0;
  for (int step = 0; step <= 10; ++step) {
    const double t = 0.5 + 0.05 * step;
    int tp = 0, fp = 0, model_tp = 0, model_fp = 0;
    for (const auto& j : judged) {
      const bool model = !j.rules_urgent && j.urgency >= (j.rules_judged_not_urgent ? std::max(t, overrule) : t);
      tp += j.want_urgent && (j.rules_urgent || model);
      fp += !j.want_urgent && (j.rules_urgent || model);
      model_tp += j.want_urgent && model;
      model_fp += !j.want_urgent && model;
    }
    std::printf("rules + model %.2f       %5.1f%% (%d/%d)  %5.1f%%            %d (and %d urgent found)\n", t, pct(tp, positives),
                tp, positives, pct(tp, tp + fp), model_fp, model_tp);
    const double cost = fp + o.miss_cost * (positives - tp);
    if (pct(tp, tp + fp) >= o.min_precision && (recommended < 0 || cost < best_cost)) {
      recommended = t;
      best_cost = cost;
    }
  }
  std::printf("intent where the rules said unknown (model's best guess, most words known)\n");
  for (int step = 0; step <= 8; ++step) {
    const double t = 0.3 + 0.05 * step;
    int fixed = 0, broken = 0, wrong = 0, unknown = 0;
    for (const auto& j : judged) {
      if (j.rules_urgent || j.rules_intent != "unknown") continue;
      ++unknown;
      if (!j.model_may_pick || j.model_intent_probability < t) continue;
      if (j.model_intent == j.want_intent) ++fixed;
      else if (j.want_intent == "unknown") ++broken;
      else ++wrong;
    }
    std::printf("  %.2f: of %d unknown, %d now right, %d wrong instead of unknown, %d wrong either way\n", t, unknown, fixed,
                broken, wrong);
  }
  if (recommended < 0) {
    std::printf("no urgent threshold keeps precision at %.1f%%\n", o.min_precision);
    return 1;
  }
  std::printf("recommended urgent_threshold: %.2f (the fewest false alarms + %g x missed urgent messages, "
              "precision >= %.1f%%)\n", recommended, o.miss_cost, o.min_precision);
  return 0;
}

namespace {
// One line of standard input as a password for `username`: checked against the policy and hashed.
Result<std::string> PasswordHashFromStdin(const std::string& username) {
  std::string password;
  std::getline(std::cin, password);
  while (!password.empty() && (password.back() == '\r' || password.back() == '\n')) password.pop_back();
  BOT_RETURN_IF_ERROR(escalation::CheckPasswordPolicy(username, password));
  return escalation::HashPassword(password);
}
}  // namespace

int UserAdd(const UserAddOptions& o) {
  if (!o.password_stdin) {
    std::cerr << "rahnama user add: pass --password-stdin and write the password on standard input "
                 "(passwords never go on the command line, where other users can see them)\n";
    return 2;
  }
  if (o.role != "admin" && o.role != "operator" && o.role != "officer") {
    std::cerr << "rahnama user add: --role must be admin, operator or officer\n";
    return 2;
  }
  if (o.role == "officer" && o.queues.empty()) {
    std::cerr << "rahnama user add: an officer needs at least one --queue (unhcr_protection, iom, info_desk, …)\n";
    return 2;
  }
  Status name_ok = escalation::CheckUsername(o.name);
  if (!name_ok.ok()) {
    std::cerr << "rahnama user add: " << name_ok.message() << "\n";
    return 2;
  }
  auto hash = PasswordHashFromStdin(o.name);
  if (!hash.ok()) {
    std::cerr << "rahnama user add: " << hash.status().message() << "\n";
    return 1;
  }
  std::error_code ec;
  const auto dir = std::filesystem::path(o.db).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  db::SqliteStore::Options so;
  so.path = o.db;
  auto store = db::SqliteStore::Open(so);
  if (!store.ok()) {
    std::cerr << "rahnama user add: " << store.status().message() << "\n";
    return 1;
  }
  User u;
  u.username = o.name;
  u.role = o.role;
  u.queues = o.queues;
  u.languages = o.languages;
  u.password_hash = *hash;
  SystemClock clock;
  auto id = (*store)->AddUser(u, clock.NowMillis());
  if (!id.ok()) {
    std::cerr << "rahnama user add: " << id.status().message() << "\n";
    return 1;
  }
  (void)(*store)->Audit("cli", "user_add", "user:" + o.name, json{{"role", o.role}, {"queues", o.queues}}.dump(),
                        clock.NowMillis());
  std::cout << "added " << o.role << " " << o.name << "\n";
  return 0;
}

int UserChange(const UserChangeOptions& o) {
  const std::string cmd = "rahnama user " + o.action;
  if (o.action == "reset-password" && !o.password_stdin) {
    std::cerr << cmd << ": pass --password-stdin and write the new password on standard input\n";
    return 2;
  }
  if (!std::filesystem::exists(o.db)) {
    std::cerr << cmd << ": no database at " << o.db << "\n";
    return 2;
  }
  db::SqliteStore::Options so;
  so.path = o.db;
  auto store = db::SqliteStore::Open(so);
  if (!store.ok()) {
    std::cerr << cmd << ": " << store.status().message() << "\n";
    return 1;
  }
  SystemClock clock;
  if (o.action == "list") {
    auto users = (*store)->Users();
    if (!users.ok()) {
      std::cerr << cmd << ": " << users.status().message() << "\n";
      return 1;
    }
    for (const auto& u : *users) {
      std::string queues;
      for (const auto& q : u.queues) queues += (queues.empty() ? "" : ",") + q;
      std::cout << u.username << "\t" << u.role << "\t" << (queues.empty() ? "-" : queues) << "\t"
                << (u.disabled ? "disabled" : u.locked_until > clock.NowMillis() ? "locked" : "enabled") << "\n";
    }
    return 0;
  }
  db::SqliteStore::AccountChange change;
  change.actor = "cli";
  if (o.action == "disable" || o.action == "enable") {
    change.disabled = o.action == "disable";
  } else {
    auto hash = PasswordHashFromStdin(o.name);
    if (!hash.ok()) {
      std::cerr << cmd << ": " << hash.status().message() << "\n";
      return 1;
    }
    change.password_hash = *hash;
    change.revoke_sessions = true;
  }
  auto released = (*store)->ChangeAccount(o.name, change, clock.NowMillis());
  if (!released.ok()) {
    std::cerr << cmd << ": " << released.status().message() << "\n";
    return 1;
  }
  (void)(*store)->Audit("cli", "user_change", "user:" + o.name,
                        json{{o.action == "reset-password" ? "password" : "disabled",
                              o.action == "reset-password" ? json("reset") : json(*change.disabled)},
                             {"released_cases", *released}}.dump(),
                        clock.NowMillis());
  std::cout << o.name << ": " << (o.action == "reset-password" ? "password reset, sessions ended, lockout cleared"
                                  : o.action == "disable"      ? "disabled, sessions ended"
                                                               : "enabled");
  if (!released->empty()) std::cout << "; " << released->size() << " claimed case(s) back in their queue";
  std::cout << "\n";
  return 0;
}

int Backup(const std::string& db_path, const std::string& to) {
  if (!std::filesystem::exists(db_path)) {
    std::cerr << "rahnama backup: no database at " << db_path << "\n";
    return 2;
  }
  const std::string tmp = to + ".partial";
  std::filesystem::remove(tmp);
  Status s = db::SqliteStore::BackupFile(db_path, tmp);
  if (!s.ok()) {
    std::cerr << "rahnama backup: " << s.message() << "\n";
    std::filesystem::remove(tmp);
    return 1;
  }
  std::filesystem::rename(tmp, to);  // a backup file is complete or absent
  std::cout << "backed up " << db_path << " to " << to << "\n";
  return 0;
}

int Restore(const std::string& from, const std::string& db_path) {
  if (!std::filesystem::exists(from)) {
    std::cerr << "rahnama restore: no backup at " << from << "\n";
    return 2;
  }
  // Refuse to restore under a running server: what it committed since would be thrown away, and
  // its WAL would be out of step with the new file. The lock is held until the restore is done.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(db_path).parent_path(), ec);  // a fresh machine
  auto lock = db::DatabaseLock::Take(db_path);
  if (!lock.ok()) {
    std::cerr << "rahnama restore: " << lock.status().message() << "\n";
    return 1;
  }
  // Checked and migrated on a copy: the backup itself is never written to (it migrated in place,
  // and an empty or foreign file became an empty rahnama database that then replaced the data).
  const std::string restoring = db_path + ".restoring";
  auto remove_restoring = [&] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(restoring + suffix, ec);
  };
  remove_restoring();
  std::filesystem::copy_file(from, restoring, std::filesystem::copy_options::overwrite_existing, ec);
  // A file-level copy of a live database keeps its latest commits in the -wal beside it: copied
  // too, SQLite replays them when the copy is opened (`rahnama backup` writes no -wal).
  if (!ec && std::filesystem::exists(from + "-wal"))
    std::filesystem::copy_file(from + "-wal", restoring + "-wal", std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) {
    std::cerr << "rahnama restore: " << ec.message() << "\n";
    remove_restoring();
    return 1;
  }
  {
    db::SqliteStore::Options so;
    so.path = restoring;
    so.require_existing_schema = true;
    auto check = db::SqliteStore::Open(so);  // integrity check + migrations, on the copy
    if (!check.ok()) {
      std::cerr << "rahnama restore: " << from << " is not a usable backup: " << check.status().message() << "\n";
      remove_restoring();
      return 1;
    }
  }  // closed: its WAL is checkpointed into the file
  for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(db_path + suffix);
  std::filesystem::rename(restoring, db_path);
  std::cout << "restored " << from << " to " << db_path << "\n";
  return 0;
}

}  // namespace bot::cli
