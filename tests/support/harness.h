// Test harness: a real rahnama server on ephemeral ports with a temporary SQLite file and a fake
// Graph API, plus helpers to build and sign WhatsApp webhooks.
#ifndef TESTS_SUPPORT_HARNESS_H_
#define TESTS_SUPPORT_HARNESS_H_

#include <httplib.h>

#include <filesystem>
#include <memory>
#include <ctime>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "bot/channels/signature.h"
#include "bot/server/server.h"
#include "tests/support/fake_graph.h"

namespace bot::testing {

inline const char* kAppSecret = "test-app-secret";
inline const char* kVerifyToken = "test-verify-token";
inline const char* kWaToken = "test-wa-token";
inline const char* kPhoneNumberId = "106540352242922";

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("rahnama-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline server::Config TestConfig(const std::string& db_path, const std::string& graph_url) {
  server::Config c;
  c.port = 0;
  c.admin_port = 0;
  c.db_path = db_path;
  c.locales_dir = std::string(RAHNAMA_SOURCE_DIR) + "/locales";
  c.console_dir = std::string(RAHNAMA_SOURCE_DIR) + "/bot/console";
  c.app_secret = kAppSecret;
  c.verify_token = kVerifyToken;
  c.whatsapp_token = kWaToken;
  c.page_token = "test-page-token";
  c.graph_url = graph_url;
  c.retry_base_ms = 50;
  c.http_threads = 16;
  c.synchronous = "NORMAL";  // tests do not need power-loss durability; crash tests set FULL
  return c;
}

inline std::string WhatsAppText(const std::string& from, const std::string& wamid, const std::string& body,
                                const std::string& phone_number_id = kPhoneNumberId) {
  nlohmann::json j = {
      {"object", "whatsapp_business_account"},
      {"entry",
       {{{"id", "102290129340398"},
         {"changes",
          {{{"field", "messages"},
            {"value",
             {{"messaging_product", "whatsapp"},
              {"metadata", {{"display_phone_number", "15550783881"}, {"phone_number_id", phone_number_id}}},
              {"contacts", {{{"profile", {{"name", "Test Person"}}}, {"wa_id", from}}}},
              {"messages",
               {{{"from", from}, {"id", wamid}, {"timestamp", std::to_string(std::time(nullptr))}, {"type", "text"}, {"text", {{"body", body}}}}}}}}}}}}}}};
  return j.dump();
}

class Webhooks {
 public:
  explicit Webhooks(int port) : client_("127.0.0.1", port) {
    client_.set_tcp_nodelay(true);
    client_.set_read_timeout(30, 0);
  }
  httplib::Result PostSigned(const std::string& body, const std::string& path = "/webhooks/whatsapp",
                             const std::string& secret = kAppSecret) {
    httplib::Headers h = {{"X-Hub-Signature-256", channels::SignatureHeader(secret, body)}};
    return client_.Post(path.c_str(), h, body, "application/json");
  }
  httplib::Result PostRaw(const std::string& body, const httplib::Headers& h, const std::string& path = "/webhooks/whatsapp") {
    return client_.Post(path.c_str(), h, body, "application/json");
  }
  httplib::Result Get(const std::string& path) { return client_.Get(path.c_str()); }
  httplib::Client& client() { return client_; }

 private:
  httplib::Client client_;
};

}  // namespace bot::testing

#endif  // TESTS_SUPPORT_HARNESS_H_
