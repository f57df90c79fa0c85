// rahnama: the composition root. Reads flags and environment, then runs one subcommand:
// serve, chat, classify, eval, backup, restore.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "bot/cli_tools.h"
#include "bot/core/log.h"
#include "bot/server/server.h"

namespace {

std::string Env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// Secrets may also come from files (RAHNAMA_APP_SECRET_FILE=/run/secrets/app_secret).
std::string Secret(const char* name) {
  std::string v = Env(name);
  if (!v.empty()) return v;
  const std::string file = Env((std::string(name) + "_FILE").c_str());
  if (file.empty()) return "";
  std::FILE* f = std::fopen(file.c_str(), "r");
  if (f == nullptr) return "";
  char buf[4096];
  size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

int Serve(bot::server::Config config) {
  // Block the signals in every thread; one thread waits for them and stops the server.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::error_code ec;
  const auto dir = std::filesystem::path(config.db_path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  auto server = bot::server::Server::Start(config);
  if (!server.ok()) {
    std::cerr << "rahnama: " << server.status().message() << "\n";
    return 1;
  }
  if (config.dev) {
    std::cout << "\nrahnama is running in --dev mode (replies go to a local outbox, not to Meta).\n"
              << "  webhooks: http://" << config.host << ":" << (*server)->port() << "/webhooks/whatsapp\n"
              << "  admin:    http://" << config.admin_host << ":" << (*server)->admin_port() << "/metrics\n"
              << "  database: " << config.db_path << "\n\n"
              << "Next: in another terminal, talk to it as a WhatsApp user would:\n"
              << "    build/rahnama chat --as 923001234567\n"
              << "Type 'salam', then a number from the menu. Ctrl-C here stops the server.\n\n"
              << std::flush;
  }
  std::thread waiter([&set, s = server->get()] {
    int sig = 0;
    sigwait(&set, &sig);
    bot::log::Info("signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    s->Stop();
  });
  (*server)->Wait();
  // Wake the waiter if Stop came from elsewhere.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  server->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rahnama — a messaging helpline backend (WhatsApp, Messenger) in Dari, Pashto and English"};
  app.require_subcommand(1);

  bot::server::Config config;
  config.port = std::atoi(Env("RAHNAMA_PORT", "8080").c_str());
  config.admin_port = std::atoi(Env("RAHNAMA_ADMIN_PORT", "8081").c_str());
  config.db_path = Env("RAHNAMA_DB", "data/rahnama.db");
  config.locales_dir = Env("RAHNAMA_LOCALES", "locales");
  config.console_dir = Env("RAHNAMA_CONSOLE", "bot/console");
  config.graph_url = Env("RAHNAMA_GRAPH_URL", config.graph_url);
  config.graph_version = Env("RAHNAMA_GRAPH_VERSION", config.graph_version);
  config.host = Env("RAHNAMA_HOST", config.host);
  config.admin_host = Env("RAHNAMA_ADMIN_HOST", config.admin_host);
  std::string log_level = Env("RAHNAMA_LOG_LEVEL", "info");
  auto* serve = app.add_subcommand("serve", "run the helpline server");
  serve->add_option("--port", config.port, "webhook listener port (RAHNAMA_PORT; 0 = any free port)");
  serve->add_option("--host", config.host, "webhook listener address (RAHNAMA_HOST)");
  serve->add_option("--admin-port", config.admin_port, "admin/API/console port (RAHNAMA_ADMIN_PORT)");
  serve->add_option("--admin-host", config.admin_host, "admin listener address; keep it private (RAHNAMA_ADMIN_HOST)");
  serve->add_option("--db", config.db_path, "SQLite database file (RAHNAMA_DB)");
  serve->add_option("--locales", config.locales_dir, "shipped content directory (RAHNAMA_LOCALES)");
  serve->add_option("--console", config.console_dir, "web console files (RAHNAMA_CONSOLE)");
  serve->add_flag("--dev", config.dev, "try the bot without a Meta account: local secret, replies to a local outbox");
  serve->add_option("--send-rate", config.send_rate_per_number, "messages per second per sending number");
  serve->add_option("--retry-base-ms", config.retry_base_ms, "first retry delay for failed sends");
  serve->add_option("--retention-days", config.retention_days,
                    "redact message bodies of people with no open case after this many days")
      ->check(CLI::Range(1, 3650));
  serve->add_option("--resolved-case-days", config.resolved_case_days,
                    "redact personal fields of resolved cases after this many days")
      ->check(CLI::Range(1, 3650));
  serve->add_option("--synchronous", config.synchronous, "SQLite synchronous mode (FULL or NORMAL)")
      ->check(CLI::IsMember({"FULL", "NORMAL"}));
  serve->add_option("--ingest-backoff-batch", config.ingest_backoff.saturated_batch,
                    "pause ordinary answers while group commits average this many webhook requests (e.g. 8; default 0 = never)");
  serve->add_option("--log-level", log_level, "debug, info, warn or error (RAHNAMA_LOG_LEVEL)");

  bot::cli::ChatOptions chat;
  auto* chat_cmd = app.add_subcommand("chat", "talk to a running --dev server as a WhatsApp user");
  chat_cmd->add_option("--as", chat.as, "your (pretend) WhatsApp number");
  chat_cmd->add_option("--port", chat.port, "the server's webhook port");
  chat_cmd->add_option("--admin-port", chat.admin_port, "the server's admin port");
  chat_cmd->add_option("--app-secret", chat.app_secret, "sign with this secret instead of asking a --dev server");
  chat_cmd->add_option("--wait-ms", chat.wait_ms, "how long to wait for the bot's replies to each line");

  bot::cli::ClassifyOptions classify;
  classify.locales_dir = config.locales_dir;
  auto* classify_cmd = app.add_subcommand("classify", "classify a message: language, intent, urgency, queue");
  classify_cmd->add_flag("--explain", classify.explain, "show normalised text, tokens, language scores, rules fired");
  classify_cmd->add_flag("--jsonl", classify.jsonl, "read {\"id\",\"text\"} lines on stdin, write one decision per line");
  classify_cmd->add_option("--locales", classify.locales_dir, "content directory");
  classify_cmd->add_option("text", classify.words, "the message");

  bot::cli::EvalOptions eval;
  eval.locales_dir = config.locales_dir;
  auto* eval_cmd = app.add_subcommand("eval", "score the intent engine on a labelled JSONL file");
  eval_cmd->add_option("file", eval.file, "labelled lines {\"text\", \"intent\", \"language\"?, \"urgent\"?}")->required();
  eval_cmd->add_option("--locales", eval.locales_dir, "content directory");
  eval_cmd->add_option("--min-intent-accuracy", eval.min_intent_accuracy, "fail below this percentage");
  eval_cmd->add_option("--min-urgent-recall", eval.min_urgent_recall, "fail below this percentage");
  eval_cmd->add_option("--min-urgent-precision", eval.min_urgent_precision, "fail below this percentage");
  eval_cmd->add_option("--min-language-accuracy", eval.min_language_accuracy, "fail below this percentage");
  eval_cmd->add_flag("--errors", eval.show_errors, "list every misclassified message");
  bot::cli::CrossvalOptions crossval;
  crossval.locales_dir = config.locales_dir;
  auto* crossval_cmd = app.add_subcommand("crossval", "cross-validate the example model on the content's examples");
  crossval_cmd->add_option("--locales", crossval.locales_dir, "content directory");
  crossval_cmd->add_option("--folds", crossval.folds, "number of folds (2-20)")->check(CLI::Range(2, 20));
  crossval_cmd->add_option("--miss-cost", crossval.miss_cost,
                           "how many false alarms one missed urgent message weighs, choosing the threshold")
      ->check(CLI::Range(0.0, 1000.0));
  crossval_cmd->add_option("--min-precision", crossval.min_precision,
                           "urgent precision (rules + model) the recommended threshold keeps, in percent");
  crossval_cmd->add_option("--overrule-threshold", crossval.overrule_threshold,
                           "urgency the model needs against a hypothetical/long-past judgement (default: engine.json)");

  std::string backup_db = config.db_path, backup_to;
  auto* backup_cmd = app.add_subcommand("backup", "online, consistent copy of the database (safe while serving)");
  backup_cmd->add_option("--db", backup_db, "database file");
  backup_cmd->add_option("--to", backup_to, "backup file to write")->required();

  std::string restore_from, restore_db = config.db_path;
  auto* restore_cmd = app.add_subcommand("restore", "replace the database with a backup (server stopped)");
  restore_cmd->add_option("--from", restore_from, "backup file")->required();
  restore_cmd->add_option("--db", restore_db, "database file to replace");

  bot::cli::UserAddOptions user_add;
  user_add.db = config.db_path;
  auto* user_cmd = app.add_subcommand("user", "manage officer, operator and admin accounts");
  user_cmd->require_subcommand(1);
  auto* user_add_cmd = user_cmd->add_subcommand("add", "add an account");
  user_add_cmd->add_option("--db", user_add.db, "database file");
  user_add_cmd->add_option("--name", user_add.name, "username")->required();
  user_add_cmd->add_option("--role", user_add.role, "admin, operator or officer")->required();
  user_add_cmd->add_option("--queue", user_add.queues, "a queue the officer works (repeat for several)");
  user_add_cmd->add_option("--languages", user_add.languages, "languages the person reads: prs,ps,en");
  user_add_cmd->add_flag("--password-stdin", user_add.password_stdin, "read the password from standard input");
  bot::cli::UserChangeOptions user_change;
  user_change.db = config.db_path;
  std::vector<CLI::App*> user_change_cmds;
  for (const auto& [action, help] : std::vector<std::pair<std::string, std::string>>{
           {"list", "list accounts with their role, queues and state"},
           {"disable", "disable an account: its sessions end, its claimed cases go back to the queue"},
           {"enable", "enable a disabled account"},
           {"reset-password", "set a new password (stdin); also clears a lockout and ends its sessions"}}) {
    auto* c = user_cmd->add_subcommand(action, help);
    c->add_option("--db", user_change.db, "database file");
    if (action != "list") c->add_option("--name", user_change.name, "username")->required();
    if (action == "reset-password")
      c->add_flag("--password-stdin", user_change.password_stdin, "read the new password from standard input");
    user_change_cmds.push_back(c);
  }

  CLI11_PARSE(app, argc, argv);

  if (log_level == "debug") bot::log::SetLevel(bot::log::Level::kDebug);
  else if (log_level == "warn") bot::log::SetLevel(bot::log::Level::kWarn);
  else if (log_level == "error") bot::log::SetLevel(bot::log::Level::kError);

  if (*serve) {
    config.app_secret = Secret("RAHNAMA_APP_SECRET");
    config.verify_token = Secret("RAHNAMA_VERIFY_TOKEN");
    config.whatsapp_token = Secret("RAHNAMA_WA_TOKEN");
    config.page_token = Secret("RAHNAMA_PAGE_TOKEN");
    return Serve(config);
  }
  if (*chat_cmd) return bot::cli::Chat(chat);
  if (*classify_cmd) return bot::cli::Classify(classify);
  if (*eval_cmd) return bot::cli::Eval(eval);
  if (*crossval_cmd) return bot::cli::Crossval(crossval);
  if (*backup_cmd) return bot::cli::Backup(backup_db, backup_to);
  if (*restore_cmd) return bot::cli::Restore(restore_from, restore_db);
  if (*user_add_cmd) return bot::cli::UserAdd(user_add);
  for (auto* c : user_change_cmds)
    if (*c) {
      user_change.action = c->get_name();
      return bot::cli::UserChange(user_change);
    }
  return 2;
}
