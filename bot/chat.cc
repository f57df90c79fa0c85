// `rahnama chat`: talk to a running server as a WhatsApp user would — each line you type goes in
// as a signed webhook; the bot's replies, read back from the --dev server's local outbox, are
// printed (right-to-left lines reordered for terminals that do no bidi).
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bot/channels/signature.h"
#include "bot/cli_tools.h"
#include "intents/bidi.h"

namespace bot::cli {
namespace {

using json = nlohmann::json;

std::string Render(const json& body) {
  if (!body.is_object()) return "";
  const std::string type = body.value("type", "");
  if (type == "text" && body.contains("text") && body["text"].is_object()) return body["text"].value("body", "");
  if (type == "interactive" && body.contains("interactive")) {
    const json& in = body["interactive"];
    std::string out;
    if (in.contains("header")) out += in["header"].value("text", "") + "\n";
    if (in.contains("body")) out += in["body"].value("text", "");
    const json& action = in.value("action", json::object());
    int n = 0;
    if (action.contains("sections")) {
      for (const json& s : action["sections"])
        for (const json& r : s.value("rows", json::array())) {
          out += "\n  " + r.value("title", "");
          if (r.contains("description")) out += " — " + r.value("description", "");
        }
    }
    if (action.contains("buttons")) {
      for (const json& b : action["buttons"]) out += "\n  [" + std::to_string(++n) + "] " + b["reply"].value("title", "");
    }
    if (in.contains("footer")) out += "\n" + in["footer"].value("text", "");
    return out;
  }
  if (type == "template") return "[template " + body["template"].value("name", "") + "]";
  return body.dump();
}

}  // namespace

int Chat(const ChatOptions& o) {
  httplib::Client admin(o.host, o.admin_port);
  admin.set_tcp_nodelay(true);
  std::string secret = o.app_secret;
  if (secret.empty()) {
    auto r = admin.Get("/dev/config");
    if (!r || r->status != 200) {
      std::cerr << "rahnama chat: no --dev server answers on " << o.host << ":" << o.admin_port
                << " (start one with `make run`, or pass --app-secret for a server you configured)\n";
      return 2;
    }
    secret = json::parse(r->body).value("app_secret", "");
  }
  httplib::Client hooks(o.host, o.port);
  hooks.set_tcp_nodelay(true);
  const bool tty = isatty(STDIN_FILENO);
  size_t after = 0;
  {
    auto r = admin.Get(("/dev/outbox?to=" + o.as).c_str());
    if (r && r->status == 200)
      for (const json& e : json::parse(r->body)) after = std::max(after, e["seq"].get<size_t>());
  }
  if (tty) std::cout << "Chatting as +" << o.as << ". Type a message; Ctrl-D to quit.\n> " << std::flush;
  std::string line;
  int n = 0;
  const auto run_id = std::chrono::system_clock::now().time_since_epoch().count();
  while (std::getline(std::cin, line)) {
    if (line.empty()) {
      if (tty) std::cout << "> " << std::flush;
      continue;
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    json payload = {
        {"object", "whatsapp_business_account"},
        {"entry", json::array({{{"id", "0"},
                                {"changes", json::array({{{"field", "messages"},
                                                          {"value", {{"messaging_product", "whatsapp"},
                                                                     {"metadata", {{"display_phone_number", "0"}, {"phone_number_id", o.phone_number_id}}},
                                                                     {"contacts", json::array({{{"profile", {{"name", "chat"}}}, {"wa_id", o.as}}})},
                                                                     {"messages", json::array({{{"from", o.as},
                                                                                                {"id", "wamid.chat-" + std::to_string(run_id) + "-" + std::to_string(++n)},
                                                                                                {"timestamp", std::to_string(now)},
                                                                                                {"type", "text"},
                                                                                                {"text", {{"body", line}}}}})}}}}})}}})}};
    const std::string body = payload.dump();
    httplib::Headers headers = {{"X-Hub-Signature-256", channels::SignatureHeader(secret, body)}};
    auto r = hooks.Post("/webhooks/whatsapp", headers, body, "application/json");
    if (!r || r->status != 200) {
      std::cerr << "rahnama chat: the server did not take the message"
                << (r ? " (HTTP " + std::to_string(r->status) + ": " + r->body + ")" : " (no answer)") << "\n";
      return 1;
    }
    // Wait for replies: until some arrived and nothing more came for a moment, or the timeout.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.wait_ms);
    auto quiet_since = std::chrono::steady_clock::now();
    bool got = false;
    while (std::chrono::steady_clock::now() < deadline) {
      auto out = admin.Get(("/dev/outbox?to=" + o.as + "&after=" + std::to_string(after)).c_str());
      if (out && out->status == 200) {
        json list = json::parse(out->body, nullptr, false);
        if (list.is_array() && !list.empty()) {
          for (const json& e : list) {
            after = std::max(after, e["seq"].get<size_t>());
            std::string text = Render(e["body"]);
            std::cout << "bot: " << (intents::IsMostlyRtl(text) ? intents::VisualOrder(text) : text) << "\n\n";
          }
          got = true;
          quiet_since = std::chrono::steady_clock::now();
        }
      }
      if (got && std::chrono::steady_clock::now() - quiet_since > std::chrono::milliseconds(600)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!got) std::cout << "(no reply yet)\n";
    if (tty) std::cout << "> " << std::flush;
  }
  return 0;
}

}  // namespace bot::cli
