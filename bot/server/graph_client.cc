// Graph API client on cpp-httplib.
#include "bot/server/graph_client.h"

#include <httplib.h>

namespace bot::server {

void SplitUrl(const std::string& url, std::string& origin, std::string& path_prefix) {
  const size_t scheme_end = url.find("://");
  const size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const size_t path_start = url.find('/', host_start);
  origin = path_start == std::string::npos ? url : url.substr(0, path_start);
  path_prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!path_prefix.empty() && path_prefix.back() == '/') path_prefix.pop_back();
}

namespace {

std::unique_ptr<httplib::Client> MakeClient(const std::string& origin, int timeout_seconds) {
  auto c = std::make_unique<httplib::Client>(origin);
  c->set_tcp_nodelay(true);
  c->set_keep_alive(true);
  c->set_connection_timeout(timeout_seconds, 0);
  c->set_read_timeout(timeout_seconds, 0);
  c->set_write_timeout(timeout_seconds, 0);
  return c;
}

HttpReply ToReply(const httplib::Result& r) {
  HttpReply out;
  if (!r) {
    out.network_error = true;
    out.error = httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.body = r->body;
  return out;
}

}  // namespace

GraphClient::GraphClient(GraphConfig config) : config_(std::move(config)) {
  std::string origin, prefix;
  SplitUrl(config_.base_url, origin, prefix);
  client_ = MakeClient(origin, config_.timeout_seconds);
}

GraphClient::~GraphClient() = default;

HttpReply GraphClient::Send(Channel channel, const std::string& business_id, const std::string& payload) {
  std::string origin, prefix;
  SplitUrl(config_.base_url, origin, prefix);
  std::string path;
  std::string token;
  if (channel == Channel::kMessenger) {
    path = prefix + "/" + config_.version + "/me/messages";
    token = config_.page_token;
  } else {
    path = prefix + "/" + config_.version + "/" + business_id + "/messages";
    token = config_.whatsapp_token;
  }
  httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  return ToReply(client_->Post(path.c_str(), headers, payload, "application/json"));
}

HttpReply GraphClient::Get(const std::string& path, Channel channel) {
  std::string origin, prefix;
  SplitUrl(config_.base_url, origin, prefix);
  const std::string& token = channel == Channel::kMessenger ? config_.page_token : config_.whatsapp_token;
  httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  std::string full = prefix + "/" + config_.version + "/" + path;
  return ToReply(client_->Get(full.c_str(), headers));
}

HttpReply GraphClient::PostUrl(const std::string& url, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers, int timeout_seconds) {
  std::string origin, prefix;
  SplitUrl(url, origin, prefix);
  auto c = MakeClient(origin, timeout_seconds);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  return ToReply(c->Post(prefix.empty() ? "/" : prefix.c_str(), h, body, "application/json"));
}

HttpReply GraphClient::GetUrl(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                              int timeout_seconds) {
  std::string origin, path;
  SplitUrl(url, origin, path);
  auto c = MakeClient(origin, timeout_seconds);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  return ToReply(c->Get(path.empty() ? "/" : path.c_str(), h));
}

}  // namespace bot::server
