// The command-line tools other than the server: classify, eval, backup/restore, chat.
#ifndef BOT_CLI_TOOLS_H_
#define BOT_CLI_TOOLS_H_

#include <optional>
#include <string>
#include <vector>

namespace bot::cli {

struct ClassifyOptions {
  std::string locales_dir = "locales";
  bool explain = false;
  bool jsonl = false;
  std::vector<std::string> words;  // the text, when not --jsonl
};
int Classify(const ClassifyOptions& o);

struct EvalOptions {
  std::string locales_dir = "locales";
  std::string file;
  double min_intent_accuracy = 0;
  double min_urgent_recall = 0;
  double min_urgent_precision = 0;
  double min_language_accuracy = 0;
  bool show_errors = false;
};
int Eval(const EvalOptions& o);

// k-fold cross-validation of the example model on the content's own examples: the model is
// trained without each fold and judged on it, beside the rules' decisions. This is how the
// thresholds in engine.json "example_model" are chosen (never on a held-out set).
struct CrossvalOptions {
  std::string locales_dir = "locales";
  int folds = 5;
  // The threshold recommended is the one with the fewest false alarms + miss_cost × missed urgent
  // messages (ties: the lower, which finds more), among those keeping rules+model precision at
  // min_precision or above. A missed arrest can cost a person their safety; a false alarm costs an
  // officer a minute and the person one safety message they did not need.
  double miss_cost = 20;
  double min_precision = 80;
  double overrule_threshold = -1;  // for look-alikes the rules judged not urgent; -1: engine.json's
};
int Crossval(const CrossvalOptions& o);

struct UserAddOptions {
  std::string db;
  std::string name;
  std::string role;
  std::vector<std::string> queues;
  std::string languages;
  bool password_stdin = false;
};
// Reads the password from stdin (one line), checks the policy, stores an Argon2id hash.
int UserAdd(const UserAddOptions& o);

// The way back in when no admin can log in (forgotten password, locked out), and for scripts:
// list, disable, enable, reset-password (stdin). Same rules as the API: the last enabled admin
// stays, a disabled account's sessions end and its claimed cases go back to their queues.
struct UserChangeOptions {
  std::string db;
  std::string action;  // list | disable | enable | reset-password
  std::string name;
  bool password_stdin = false;
};
int UserChange(const UserChangeOptions& o);

int Backup(const std::string& db, const std::string& to);
int Restore(const std::string& from, const std::string& db);

struct ChatOptions {
  std::string as = "923001234567";
  std::string host = "127.0.0.1";
  int port = 8080;
  int admin_port = 8081;
  std::string app_secret;  // default: asked from a --dev server
  std::string phone_number_id = "100000000000001";
  int wait_ms = 3000;      // how long to wait for replies after each line
};
int Chat(const ChatOptions& o);

}  // namespace bot::cli

#endif  // BOT_CLI_TOOLS_H_
