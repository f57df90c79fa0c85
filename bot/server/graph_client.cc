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

Status CheckHttpUrl(const std::string& url, const std::string& what) {
  const bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0) return Status::InvalidArgument(what + " must start with http:// or https://");
  std::string origin, path;
  SplitUrl(url, origin, path);
  std::string host = origin.substr(https ? 8 : 7);
  if (host.find_first_of(" \t\r\n?#@") != std::string::npos) return Status::InvalidArgument(what + " has a malformed host");
  // A port after the last colon, unless that colon is inside an IPv6 literal ("[::1]").
  const size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    const std::string port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) < 1 || std::stoi(port) > 65535)
      return Status::InvalidArgument(what + " has an invalid port \"" + port + "\" (1-65535)");
  }
  if (host.empty()) return Status::InvalidArgument(what + " has no host");
  return Status::Ok();
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
  out.content_type = r->get_header_value("Content-Type");
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
                              int timeout_seconds, size_t max_bytes) {
  std::string origin, path;
  SplitUrl(url, origin, path);
  auto c = MakeClient(origin, timeout_seconds);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  std::string body;
  bool too_large = false;
  HttpReply out = ToReply(c->Get(path.empty() ? "/" : path.c_str(), h, [&](const char* data, size_t length) {
    too_large = max_bytes > 0 && body.size() + length > max_bytes;
    if (!too_large) body.append(data, length);
    return !too_large;
  }));
  if (too_large) {
    out.network_error = true;
    out.error = "larger than " + std::to_string(max_bytes) + " bytes";
  }
  out.body = std::move(body);
  return out;
}

}  // namespace bot::server
