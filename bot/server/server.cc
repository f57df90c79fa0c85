// Composition of the running server and its HTTP routes. Routes only authenticate, parse with a
// channel adapter, hand over to the pipeline and map the outcome to a status.
#include "bot/server/server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

#include <nlohmann/json.hpp>

#include "bot/channels/messenger/messenger.h"
#include "bot/channels/outbound.h"
#include "bot/channels/signature.h"
#include "bot/channels/whatsapp/whatsapp.h"
#include "bot/core/log.h"
#include "bot/escalation/routing.h"
#include "bot/server/admin_api.h"
#include "bot/server/content_api.h"
#include "bot/server/reports_api.h"
#include "bot/server/pipeline.h"
#include "db/database_lock.h"

namespace bot::server {

using json = nlohmann::json;

struct Server::Impl {
  std::unique_ptr<db::DatabaseLock> db_lock;  // first member: released last, after the database closes
  Config config;
  SystemClock system_clock;
  const Clock* clock_ptr = &system_clock;  // tests inject a FakeClock through Config
  const Clock& clock() const { return *clock_ptr; }
  Metrics metrics;
  std::unique_ptr<db::SqliteStore> store;
  ContentHolder content;
  DecisionCache decisions;  // ingest's classifications, for the worker
  std::unique_ptr<IngestPressure> ingest_pressure;  // webhooks queueing: the ordinary lane pauses
  std::unique_ptr<IngestWriter> ingest;
  std::unique_ptr<Processor> processor;
  std::unique_ptr<Sender> sender;
  std::unique_ptr<AdminApi> api;
  std::unique_ptr<ContentService> content_service;
  std::unique_ptr<ContentApi> content_api;
  std::unique_ptr<ReportsApi> reports_api;
  std::string graph_url;  // where sends and media lookups go (the local stand-in under --dev)
  httplib::Server public_http;
  httplib::Server admin_http;
  int public_port = 0, admin_port = 0;
  std::thread public_thread, admin_thread, retention_thread;
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopped = false;

  // --dev: the local stand-in for the Graph API.
  std::mutex dev_mutex;
  std::vector<json> dev_outbox;

  void Routes();
  void AdminRoutes();
  Result<json> RunRetention();
  void ClassifyAtIngest(WebhookBatch& batch);
  void HandleWebhook(Channel channel, const httplib::Request& req, httplib::Response& res);
  void HandleVerify(const httplib::Request& req, httplib::Response& res);
  Status Listen(httplib::Server& svr, const std::string& host, int port, int& bound_port, std::thread& thread,
                const char* name);
};

namespace {

// Media passes through the server's memory once per officer request: bounded (WhatsApp voice
// notes and photos are far smaller; a document past this is opened on the phone).
constexpr size_t kMaxMediaBytes = 32u << 20;

// https on a host of Meta's CDN: "https://scontent.xx.fbcdn.net/…", "https://cdn.fbsbx.com/…".
bool IsMetaCdnUrl(const std::string& url) {
  if (url.rfind("https://", 0) != 0) return false;
  const size_t end = url.find_first_of("/?#", 8);
  std::string host = url.substr(8, end == std::string::npos ? std::string::npos : end - 8);
  if (host.find_first_of("@:") != std::string::npos) return false;  // no user info, no odd port
  for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const std::string suffix : {".fbcdn.net", ".fbsbx.com"})
    if (host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
  return false;
}

// What the console may be handed: pictures, sound, video and PDFs as themselves, anything else
// as bytes to download (never HTML or script from someone else's server).
std::string ServableMediaType(const std::string& type) {
  std::string base = type.substr(0, type.find(';'));
  for (auto& ch : base) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (const char* prefix : {"image/", "audio/", "video/"})
    if (base.rfind(prefix, 0) == 0 && base != "image/svg+xml") return type;
  if (base == "application/pdf") return base;
  return "application/octet-stream";
}

void JsonError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump(), "application/json");
}

}  // namespace

Result<json> Server::Impl::RunRetention() {
  const int64_t now = clock().NowMillis();
  auto r = store->RunRetention(now - static_cast<int64_t>(config.retention_days) * 86400000,
                               now - static_cast<int64_t>(config.resolved_case_days) * 86400000, now);
  if (!r.ok()) return r.status();
  metrics.Add("rahnama_retention_redacted_total", "kind=\"message\"", static_cast<double>(r->messages_redacted));
  metrics.Add("rahnama_retention_redacted_total", "kind=\"case\"", static_cast<double>(r->cases_redacted));
  log::Info("retention_run", {{"messages_redacted", std::to_string(r->messages_redacted)},
                              {"cases_redacted", std::to_string(r->cases_redacted)}});
  return json{{"messages_redacted", r->messages_redacted}, {"cases_redacted", r->cases_redacted},
              {"outbox_deleted", r->outbox_deleted}, {"retention_days", config.retention_days},
              {"resolved_case_days", config.resolved_case_days}};
}

void Server::Impl::HandleVerify(const httplib::Request& req, httplib::Response& res) {
  const std::string mode = req.get_param_value("hub.mode");
  const std::string token = req.get_param_value("hub.verify_token");
  const std::string challenge = req.get_param_value("hub.challenge");
  if (mode == "subscribe" && !config.verify_token.empty() &&
      channels::ConstantTimeEquals(token, config.verify_token)) {
    res.set_content(challenge, "text/plain");
    return;
  }
  metrics.Add("rahnama_webhooks_rejected_total", "reason=\"verify_token\"");
  JsonError(res, 403, "verification failed: wrong hub.verify_token or hub.mode");
}

// On the ingest writer's thread, for each webhook batch before it is stored: the urgent lane needs
// to know at once which messages may be urgent. One thread with a word cache that holds a burst's
// vocabulary, rather than dozens of request threads each starting its own (BENCHMARKS.md run 17).
// Storing never depends on classifying: a message whose classification fails (memory) is stored
// with an urgent hint, so the urgent lane takes it first and the worker decides it; the others in
// the group commit are not refused with it.
void Server::Impl::ClassifyAtIngest(WebhookBatch& batch) {
  intents::Classifier::SetWordCacheLimitForThisThread(intents::Classifier::kBulkWordCacheLimit);
  auto snapshot = content.Get();
  for (InboundMessage& m : batch.messages) {
    if (m.text.empty()) continue;
    try {
      intents::Decision d = snapshot->classifier().Classify(m.text);
      m.urgent_hint = d.urgent;
      decisions.Put(m.channel, m.provider_id, snapshot->version(), d);  // the worker reuses it
    } catch (const std::exception& e) {
      m.urgent_hint = true;
      metrics.Add("rahnama_ingest_classification_failures_total", "");
      log::Error("ingest_classification_failed", {{"error", e.what()}});
    }
  }
}

void Server::Impl::HandleWebhook(Channel channel, const httplib::Request& req, httplib::Response& res) {
  auto started = std::chrono::steady_clock::now();
  const std::string channel_label = "channel=\"" + std::string(ChannelName(channel)) + "\"";
  const std::string signature = req.get_header_value("X-Hub-Signature-256");
  if (!channels::VerifySignature(config.app_secret, req.body, signature)) {
    metrics.Add("rahnama_webhooks_rejected_total", "reason=\"signature\"");
    log::Warn("webhook_rejected", {{"reason", signature.empty() ? "missing signature" : "bad signature"},
                                   {"remote", req.remote_addr}});
    return JsonError(res, 401, signature.empty() ? "missing X-Hub-Signature-256" : "invalid X-Hub-Signature-256");
  }
  if (channels::JsonDepthExceeds(req.body, config.max_json_depth)) {
    metrics.Add("rahnama_webhooks_rejected_total", "reason=\"depth\"");
    return JsonError(res, 400, "JSON nested deeper than " + std::to_string(config.max_json_depth) + " levels");
  }
  auto batch = channel == Channel::kMessenger ? channels::messenger::ParseWebhook(req.body)
                                              : channels::whatsapp::ParseWebhook(req.body);
  if (!batch.ok()) {
    metrics.Add("rahnama_webhooks_rejected_total", "reason=\"malformed\"");
    return JsonError(res, 400, batch.status().message());
  }
  // The ingest writer classifies the messages before storing them (ClassifyAtIngest).
  auto stored = ingest->Store(*batch);
  if (!stored.ok()) {
    metrics.Add("rahnama_webhooks_rejected_total", "reason=\"storage\"");
    return JsonError(res, 503, "could not store the webhook; Meta will retry");
  }
  int fresh = 0;
  for (bool b : *stored) fresh += b ? 1 : 0;
  metrics.Add("rahnama_webhooks_received_total", channel_label);
  metrics.Add("rahnama_inbound_messages_total", channel_label, fresh);
  metrics.Add("rahnama_inbound_duplicates_total", channel_label, static_cast<double>(stored->size()) - fresh);
  metrics.Add("rahnama_statuses_received_total", channel_label, static_cast<double>(batch->statuses.size()));
  for (const auto& note : batch->notes) log::Debug("webhook_note", {{"note", note}});
  res.set_content(json{{"received", batch->messages.size()}, {"new", fresh}, {"statuses", batch->statuses.size()}}.dump(),
                  "application/json");
  metrics.Observe("rahnama_webhook_seconds", channel_label,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void Server::Impl::Routes() {
  auto& svr = public_http;
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  svr.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto v = store->SchemaVersion();
    if (!v.ok()) return JsonError(res, 503, "database unavailable: " + v.status().message());
    res.set_content(json{{"status", "ready"}, {"schema_version", *v}, {"content_version", content.Get()->version()}}.dump(),
                    "application/json");
  });
  svr.Get("/webhooks/whatsapp", [this](const httplib::Request& req, httplib::Response& res) { HandleVerify(req, res); });
  svr.Get("/webhooks/messenger", [this](const httplib::Request& req, httplib::Response& res) { HandleVerify(req, res); });
  svr.Post("/webhooks/whatsapp", [this](const httplib::Request& req, httplib::Response& res) {
    HandleWebhook(Channel::kWhatsApp, req, res);
  });
  svr.Post("/webhooks/messenger", [this](const httplib::Request& req, httplib::Response& res) {
    HandleWebhook(Channel::kMessenger, req, res);
  });
}

void Server::Impl::AdminRoutes() {
  auto& svr = admin_http;
  api = std::make_unique<AdminApi>(*store, clock(), content, metrics, [this] {
    if (sender) sender->Wake();
  });
  api->Register(svr);
  api->SetRetention([this]() -> Result<json> { return RunRetention(); });
  api->SetMediaFetcher([this](Channel channel, const std::string& media_id) -> Result<std::pair<std::string, std::string>> {
    // Messenger: the attachment's own URL, on Meta's CDN, needs no token. A person can put any
    // link in a shared post, so only Meta's CDN hosts are fetched (and the configured Graph URL,
    // which tests point at 127.0.0.1): never a host of the sender's choosing.
    if (channel == Channel::kMessenger) {
      if (!IsMetaCdnUrl(media_id) && media_id.rfind(graph_url + "/", 0) != 0)
        return Status::InvalidArgument("only attachments on Meta's CDN (https, fbcdn.net or fbsbx.com) are fetched");
      HttpReply bytes = GraphClient::GetUrl(media_id, {}, 30, kMaxMediaBytes);
      if (bytes.network_error || bytes.status != 200)
        return Status::Unavailable("the attachment could not be downloaded (" +
                                   (bytes.network_error ? bytes.error : "HTTP " + std::to_string(bytes.status)) +
                                   "; Messenger's links expire after some days)");
      return std::make_pair(ServableMediaType(bytes.content_type), bytes.body);
    }
    // WhatsApp: GET /{version}/{media-id} gives a short-lived URL, fetched with the same token.
    if (channel != Channel::kWhatsApp) return Status::InvalidArgument("media fetching is for WhatsApp media ids");
    GraphConfig g;
    g.base_url = graph_url;
    g.version = config.graph_version;
    g.whatsapp_token = config.whatsapp_token;
    GraphClient client(g);
    HttpReply meta = client.Get(media_id, channel);
    if (meta.network_error || meta.status != 200) return Status::Unavailable("the Graph API did not give the media URL");
    json j = json::parse(meta.body, nullptr, false);
    if (!j.is_object() || !j.contains("url") || !j["url"].is_string()) return Status::Unavailable("no media URL in the answer");
    HttpReply bytes =
        GraphClient::GetUrl(j["url"].get<std::string>(), {{"Authorization", "Bearer " + config.whatsapp_token}}, 30, kMaxMediaBytes);
    if (bytes.network_error || bytes.status != 200) return Status::Unavailable("the media download failed");
    return std::make_pair(ServableMediaType(j.value("mime_type", "")), bytes.body);
  });
  content_api = std::make_unique<ContentApi>(*content_service, *api, *store, content, clock());
  content_api->Register(svr);
  reports_api = std::make_unique<ReportsApi>(*api, *store, clock());
  reports_api->Register(svr);
  // The web console: static files, no build step, nothing from a CDN. Strict CSP: no inline
  // script, so hostile message text can never run even if escaping were missed somewhere.
  if (!config.console_dir.empty()) svr.set_mount_point("/console", config.console_dir);
  svr.set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/console", 0) == 0 || req.path.rfind("/api/", 0) == 0) {
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                     "media-src 'self' blob:; "
                     "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("X-Frame-Options", "DENY");
      if (req.path.rfind("/api/", 0) == 0) res.set_header("Cache-Control", "no-store");
    }
  });
  svr.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/console/"); });
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.Render(), "text/plain; version=0.0.4");
  });
  if (!config.dev) return;
  // --dev only: a stand-in Graph API that keeps what it is sent, and what the chat needs.
  svr.Post(R"(/dev/graph/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    std::lock_guard lock(dev_mutex);
    const size_t seq = dev_outbox.size() + 1;
    dev_outbox.push_back({{"seq", seq}, {"path", req.path}, {"body", body}});
    res.set_content(json{{"messaging_product", "whatsapp"},
                         {"messages", json::array({{{"id", "wamid.dev-" + std::to_string(seq)}}})}}
                        .dump(),
                    "application/json");
  });
  svr.Get("/dev/outbox", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string to = req.get_param_value("to");
    size_t after = req.has_param("after") ? std::stoul(req.get_param_value("after")) : 0;
    json out = json::array();
    std::lock_guard lock(dev_mutex);
    for (const json& e : dev_outbox) {
      if (e["seq"].get<size_t>() <= after) continue;
      const json& b = e["body"];
      if (!to.empty() && (!b.is_object() || !b.contains("to") || b["to"] != to)) continue;
      out.push_back(e);
    }
    res.set_content(out.dump(), "application/json");
  });
  svr.Get("/dev/config", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json{{"app_secret", config.app_secret}, {"port", public_port}}.dump(), "application/json");
  });
}

Status Server::Impl::Listen(httplib::Server& svr, const std::string& host, int port, int& bound_port,
                            std::thread& thread, const char* name) {
  // cpp-httplib 0.11.4 traps (shared/research/peer-bench.md §4): Nagle on every response, a
  // listen backlog of 5, 8 threads with keep-alive of 5, and SO_REUSEPORT, which lets a stale
  // server silently share the port. Our socket options leave SO_REUSEPORT off, so a taken port
  // fails to bind; we raise the backlog on the bound socket ourselves.
  int listen_fd = -1;
  svr.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  svr.set_tcp_nodelay(true);
  // cpp-httplib gives each connection a pool thread for as long as it stays open, so more open
  // connections than threads starve (the benchmark saw 5 s timeouts at 128 connections with 64
  // threads and 1,000 requests per connection). Connections give their thread back after 100
  // requests or 5 idle seconds, so every connection is served in turn and idle sockets cannot
  // hold the pool.
  svr.set_keep_alive_max_count(100);
  svr.set_keep_alive_timeout(5);
  svr.set_read_timeout(10, 0);
  svr.set_write_timeout(10, 0);
  svr.set_payload_max_length(config.max_body_bytes);
  const int threads = config.http_threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // Errors httplib answers itself (no route: "/cases/abc/claim", a body over the limit) get the
  // same JSON {"error"} as the handlers' own; a handler's answer is left as it is.
  svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    JsonError(res, res.status,
              res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                : "request refused (HTTP " + std::to_string(res.status) + ")");
    return httplib::Server::HandlerResponse::Handled;
  }));
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log::Error("http_handler_exception", {{"error", what}});
    JsonError(res, 500, "internal error");
  });
  if (port == 0) {
    bound_port = svr.bind_to_any_port(host);
    if (bound_port <= 0) return Status::Unavailable(std::string("cannot bind the ") + name + " listener on " + host);
  } else {
    if (!svr.bind_to_port(host.c_str(), port))
      return Status::Unavailable(std::string("cannot listen on ") + host + ":" + std::to_string(port) + " (" + name +
                                 "): the port is taken — is another rahnama still running? Stop it or choose another port");
    bound_port = port;
  }
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  thread = std::thread([&svr] { svr.listen_after_bind(); });
  for (int i = 0; i < 500 && !svr.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return Status::Ok();
}

Result<std::unique_ptr<Server>> Server::Start(Config config) {
  if (config.dev) {
    if (config.app_secret.empty()) config.app_secret = channels::RandomHex(16);
    if (config.verify_token.empty()) config.verify_token = "dev-verify-token";
    if (config.whatsapp_token.empty()) config.whatsapp_token = "dev-token";
    if (config.page_token.empty()) config.page_token = "dev-page-token";
  } else {
    std::vector<std::string> missing;
    if (config.app_secret.empty()) missing.push_back("RAHNAMA_APP_SECRET");
    if (config.verify_token.empty()) missing.push_back("RAHNAMA_VERIFY_TOKEN");
    if (config.whatsapp_token.empty() && config.page_token.empty()) missing.push_back("RAHNAMA_WA_TOKEN or RAHNAMA_PAGE_TOKEN");
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      return Status::InvalidArgument("missing secrets: " + list +
                                     ". Set them in the environment (see deploy/rahnama.env.example), or run with --dev "
                                     "to try the bot locally without a Meta account");
    }
  }
  if (!config.dev) BOT_RETURN_IF_ERROR(CheckHttpUrl(config.graph_url, "RAHNAMA_GRAPH_URL"));
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (config.clock != nullptr) impl->clock_ptr = config.clock;
  if (config.db_path != ":memory:") {
    auto lock = db::DatabaseLock::Take(config.db_path);
    if (!lock.ok()) return lock.status();
    impl->db_lock = std::move(*lock);
  }
  db::SqliteStore::Options so;
  so.path = config.db_path;
  so.synchronous = config.synchronous;
  auto store = db::SqliteStore::Open(so);
  if (!store.ok()) return store.status();
  impl->store = std::move(*store);
  impl->content_service = std::make_unique<ContentService>(*impl->store, impl->content, impl->clock(), config.locales_dir);
  BOT_RETURN_IF_ERROR(impl->content_service->LoadAtStart());
  auto requeued = impl->store->RequeueInFlight(impl->clock().NowMillis());
  if (!requeued.ok()) return requeued.status();
  if (*requeued > 0) log::Warn("outbox_requeued_after_crash", {{"count", std::to_string(*requeued)}});
  impl->metrics.Add("rahnama_outbox_requeued_after_crash_total", "", *requeued);

  Impl* p = impl.get();
  impl->AdminRoutes();
  BOT_RETURN_IF_ERROR(impl->Listen(impl->admin_http, config.admin_host, config.admin_port, impl->admin_port,
                                   impl->admin_thread, "admin"));

  GraphConfig graph;
  graph.base_url = config.dev ? "http://127.0.0.1:" + std::to_string(impl->admin_port) + "/dev/graph" : config.graph_url;
  impl->graph_url = graph.base_url;
  graph.version = config.graph_version;
  graph.whatsapp_token = config.whatsapp_token;
  graph.page_token = config.page_token;
  PipelineOptions po;
  po.sender_threads = config.sender_threads;
  po.send_rate_per_number = config.send_rate_per_number;
  po.retry_base_ms = config.retry_base_ms;
  po.give_up_after_ms = config.give_up_after_ms;
  po.dev = config.dev;
  impl->sender = std::make_unique<Sender>(*impl->store, graph, po, impl->clock(), impl->metrics);
  impl->ingest_pressure = std::make_unique<IngestPressure>(config.ingest_backoff);
  impl->processor = std::make_unique<Processor>(*impl->store, impl->content, impl->clock(), impl->metrics,
                                                [p] { p->sender->Wake(); }, &impl->decisions,
                                                impl->ingest_pressure.get());
  impl->ingest = std::make_unique<IngestWriter>(*impl->store, impl->clock(),
                                                [p](bool urgent) {
                                                  if (urgent) p->processor->UrgentStored();
                                                  else p->processor->Wake();
                                                },
                                                impl->ingest_pressure.get(),
                                                [p](WebhookBatch& batch) { p->ClassifyAtIngest(batch); });
  impl->metrics.Gauge("rahnama_outbox_backlog", [p] {
    auto n = p->store->OutboxBacklog();
    return std::vector<std::pair<std::string, double>>{{"", n.ok() ? static_cast<double>(*n) : -1}};
  });
  // An age in milliseconds from the store, as seconds; -1 when it could not be read.
  auto seconds = [](const Result<int64_t>& ms) {
    return std::vector<std::pair<std::string, double>>{{"", ms.ok() ? static_cast<double>(*ms) / 1000.0 : -1}};
  };
  impl->metrics.Gauge("rahnama_outbox_oldest_age_seconds",
                      [p, seconds] { return seconds(p->store->OldestPendingOutboxMillis(p->clock().NowMillis())); });
  // Messages stored but not answered: the symptom when turns keep failing (RahnamaMessagesWaiting).
  impl->metrics.Gauge("rahnama_inbound_oldest_pending_age_seconds",
                      [p, seconds] { return seconds(p->store->OldestPendingInboundMillis(p->clock().NowMillis())); });
  // Possibly urgent messages not yet answered: should be milliseconds (RahnamaUrgentMessagesWaiting).
  impl->metrics.Gauge("rahnama_inbound_oldest_pending_urgent_age_seconds", [p, seconds] {
    return seconds(p->store->OldestPendingUrgentInboundMillis(p->clock().NowMillis()));
  });
  impl->metrics.Gauge("rahnama_cases_overdue", [p] {
    std::vector<std::pair<std::string, double>> out;
    auto queues = p->store->QueuesForMetrics();
    if (!queues.ok()) return out;
    const int64_t now = p->clock().NowMillis();
    for (const auto& q : *queues) {
      CaseFilter f;
      f.queues = {q.id};
      f.limit = 1000;
      auto cases = p->store->ListCasesForMetrics(f);
      if (!cases.ok()) continue;
      std::map<std::string, double> by_priority = {{"urgent", 0}, {"high", 0}, {"normal", 0}};
      for (const auto& c : *cases)
        if (escalation::IsOverdue(c, q.sla_minutes, now)) by_priority[c.priority] += 1;
      for (const auto& [prio, n] : by_priority)
        out.push_back({"queue=\"" + q.id + "\",priority=\"" + prio + "\"", n});
    }
    return out;
  });
  impl->sender->Start();
  // The retention job: once a day (first run an hour after start, so a restart loop cannot
  // hammer the database), and on demand through POST /api/v1/retention/run.
  impl->retention_thread = std::thread([p] {
    auto next = std::chrono::steady_clock::now() + std::chrono::hours(1);
    std::unique_lock lock(p->stop_mutex);
    while (!p->stopped) {
      if (p->stop_cv.wait_until(lock, next, [p] { return p->stopped; })) break;
      lock.unlock();
      try {  // a throw here would stop the server an hour after every restart
        auto r = p->RunRetention();
        if (!r.ok()) log::Error("retention_failed", {{"error", r.status().ToString()}});
      } catch (const std::exception& e) {
        log::Error("retention_failed", {{"error", e.what()}});
      }
      lock.lock();
      next = std::chrono::steady_clock::now() + std::chrono::hours(24);
    }
  });
  impl->processor->Start();

  impl->Routes();
  Status s = impl->Listen(impl->public_http, config.host, config.port, impl->public_port, impl->public_thread, "webhook");
  if (!s.ok()) {
    std::unique_ptr<Server> partial(new Server(std::move(impl)));
    partial->Stop();
    return s;
  }
  log::Info("server_started", {{"webhook", config.host + ":" + std::to_string(impl->public_port)},
                               {"admin", config.admin_host + ":" + std::to_string(impl->admin_port)},
                               {"db", config.db_path},
                               {"dev", config.dev ? "true" : "false"}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

int Server::port() const { return impl_->public_port; }
int Server::admin_port() const { return impl_->admin_port; }

void Server::Wait() {
  std::unique_lock lock(impl_->stop_mutex);
  impl_->stop_cv.wait(lock, [this] { return impl_->stopped; });
}

void Server::Stop() {
  {
    std::lock_guard lock(impl_->stop_mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  // Order matters: no new webhooks, then everything accepted is stored, processed as far as it
  // goes, and sends in flight complete. Whatever is still pending is sent after the next start.
  if (impl_->public_http.is_running()) impl_->public_http.stop();
  if (impl_->public_thread.joinable()) impl_->public_thread.join();
  if (impl_->ingest) impl_->ingest->Stop();
  if (impl_->processor) impl_->processor->Stop();
  if (impl_->sender) impl_->sender->Stop();
  if (impl_->admin_http.is_running()) impl_->admin_http.stop();
  if (impl_->admin_thread.joinable()) impl_->admin_thread.join();
  impl_->stop_cv.notify_all();
  if (impl_->retention_thread.joinable()) impl_->retention_thread.join();
  log::Info("server_stopped");
}

}  // namespace bot::server
