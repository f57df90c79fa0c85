// Signed WhatsApp Cloud API text-message webhooks, shaped like Meta's (see tests/testdata/whatsapp/text.json).
#ifndef BENCH_WEBHOOK_BODY_H_
#define BENCH_WEBHOOK_BODY_H_

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

inline std::string HmacSha256Header(const std::string& secret, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), md, &len);
  static const char* d = "0123456789abcdef";
  std::string s = "sha256=";
  for (unsigned i = 0; i < len; ++i) s += d[md[i] >> 4], s += d[md[i] & 15];
  return s;
}

inline std::string WebhookBody(const std::string& from, const std::string& wamid, const std::string& text,
                               long timestamp = 1764000000) {
  using json = nlohmann::json;
  json msg = {{"from", from}, {"id", wamid}, {"timestamp", std::to_string(timestamp)}, {"type", "text"}, {"text", {{"body", text}}}};
  json value = {{"messaging_product", "whatsapp"},
                {"metadata", {{"display_phone_number", "15550783881"}, {"phone_number_id", "106540352242922"}}},
                {"contacts", json::array({{{"profile", {{"name", "Bench Person"}}}, {"wa_id", from}}})},
                {"messages", json::array({msg})}};
  json body = {{"object", "whatsapp_business_account"},
               {"entry", json::array({{{"id", "102290129340398"},
                                       {"changes", json::array({{{"field", "messages"}, {"value", value}}})}}})}};
  return body.dump();
}

struct CorpusLine {
  std::string text, intent, language;
  bool urgent = false;
};

inline std::vector<CorpusLine> ReadCorpus(const std::vector<std::string>& files) {
  std::vector<CorpusLine> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line);
      CorpusLine c;
      c.text = j.value("text", "");
      c.intent = j.value("intent", "");
      c.language = j["language"].is_string() ? j["language"].get<std::string>() : "";
      c.urgent = j.value("urgent", false);
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace bench

#endif  // BENCH_WEBHOOK_BODY_H_
