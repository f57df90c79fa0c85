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
