// HTTP client for Meta's Graph API (or the local fake in tests and --dev): one request per call,
// bearer token auth, TCP_NODELAY on (cpp-httplib 0.11.4's client otherwise waits ~40 ms for a
// delayed ACK on every small POST). Not thread-safe: one per sender thread.
#ifndef BOT_SERVER_GRAPH_CLIENT_H_
#define BOT_SERVER_GRAPH_CLIENT_H_

#include <memory>
#include <string>

#include "bot/core/message.h"
#include "bot/core/status.h"

namespace httplib {
class Client;
}

namespace bot::server {

struct GraphConfig {
  std::string base_url = "https://graph.facebook.com";
  std::string version = "v21.0";
  std::string whatsapp_token;
  std::string page_token;
  int timeout_seconds = 15;
};

struct HttpReply {
  bool network_error = false;  // no HTTP answer at all (refused, reset, timed out)
  int status = 0;
  std::string body;
  std::string error;           // network error text
  std::string content_type;    // the answer's Content-Type header
};

class GraphClient {
 public:
  explicit GraphClient(GraphConfig config);
  ~GraphClient();
  // POST the payload for a message on `channel` from our `business_id`.
  HttpReply Send(Channel channel, const std::string& business_id, const std::string& payload);
  // Any POST to a full URL (partner webhooks), with extra headers.
  static HttpReply PostUrl(const std::string& url, const std::string& body,
                           const std::vector<std::pair<std::string, std::string>>& headers, int timeout_seconds);
  // max_bytes > 0: a longer body is cut off and answered as a network error ("too large").
  static HttpReply GetUrl(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                          int timeout_seconds, size_t max_bytes = 0);
  // GET path on the Graph API (media lookups for officers).
  HttpReply Get(const std::string& path, Channel channel);

 private:
  GraphConfig config_;
  std::unique_ptr<httplib::Client> client_;
};

// Splits "https://host:port/prefix" into scheme://host:port and a path prefix.
void SplitUrl(const std::string& url, std::string& origin, std::string& path_prefix);

// Whether `url` is one the HTTP client can be built for: http:// or https://, a host, and a port
// (if given) of 1–65535. httplib's client throws on a port it cannot read, and a sender thread
// that throws would stop the server. The message names `what` and the problem.
Status CheckHttpUrl(const std::string& url, const std::string& what);

}  // namespace bot::server

#endif  // BOT_SERVER_GRAPH_CLIENT_H_
