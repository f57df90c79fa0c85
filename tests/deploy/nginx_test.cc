// deploy/nginx/rahnama.conf run by Debian's nginx in front of a real rahnama server: a signed
// WhatsApp webhook over HTTPS is answered at the (fake) Graph API, and nothing but /webhooks/
// and /healthz gets through. The test runs the real file with only the host-specific values
// (ports, certificate paths, ACME webroot) replaced, each replacement checked to apply.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/deploy/deploy_support.h"
#include "tests/support/harness.h"

extern char** environ;

namespace bot::testing {
namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kHost = "helpline.example.org";

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string headers;
  std::string http_version;
  std::string error;  // curl's complaint, when status is 0
};

class NginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kNginx, X_OK) != 0)
      GTEST_SKIP() << "Debian's nginx is not installed at " << kNginx
                   << " (apt-get install nginx): deploy/nginx/rahnama.conf was NOT exercised";
    for (const char* tool : {"openssl", "curl"})
      if (Which(tool).empty()) GTEST_SKIP() << tool << " is not installed (Debian package: " << tool << ")";

    auto s = server::Server::Start(TestConfig(dir_.File("rahnama.db"), graph_.url()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);

    CommandResult cert = RunCommand("cd " + ShellQuote(dir_.path().string()) +
                                    " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
                                    " -subj /CN=" + kHost + " -keyout key.pem -out cert.pem");
    ASSERT_EQ(cert.exit_code, 0) << cert.output;

    https_port_ = FreeLoopbackPort();
    http_port_ = FreeLoopbackPort();
    std::string site = ReadFile(DeployPath("nginx/rahnama.conf"));
    ASSERT_FALSE(site.empty());
    const std::pair<std::string, std::string> replacements[] = {
        {"server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(server_->port()) + ";"},
        {"listen 443 ssl http2;", "listen 127.0.0.1:" + std::to_string(https_port_) + " ssl http2;"},
        {"listen [::]:443 ssl http2;", "listen 127.0.0.1:" + std::to_string(FreeLoopbackPort()) + " ssl http2;"},
        {"listen 80;", "listen 127.0.0.1:" + std::to_string(http_port_) + ";"},
        {"listen [::]:80;", "listen 127.0.0.1:" + std::to_string(FreeLoopbackPort()) + ";"},
        {"/etc/letsencrypt/live/helpline.example.org/fullchain.pem", dir_.File("cert.pem")},
        {"/etc/letsencrypt/live/helpline.example.org/privkey.pem", dir_.File("key.pem")},
        {"/var/www/letsencrypt", dir_.File("www")},
    };
    for (const auto& [from, to] : replacements)
      ASSERT_GT(ReplaceAll(site, from, to), 0) << "deploy/nginx/rahnama.conf no longer contains '" << from
                                               << "': update this test's substitutions";
    WriteFile(dir_.File("site.conf"), site);

    // The parts of Debian's /etc/nginx/nginx.conf that a site file relies on, with every path
    // moved into the temp dir so nginx runs without touching the system's.
    std::string main_conf = geteuid() == 0 ? "user root;\n" : "";
    main_conf += "daemon off;\nworker_processes 1;\npid " + dir_.File("nginx.pid") + ";\nerror_log " +
                 dir_.File("error.log") + " info;\nevents { worker_connections 128; }\nhttp {\n"
                 "  access_log " + dir_.File("access.log") + ";\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
      main_conf += std::string("  ") + temp + "_temp_path " + dir_.File(std::string("tmp_") + temp) + ";\n";
    main_conf += "  include " + dir_.File("site.conf") + ";\n}\n";
    WriteFile(dir_.File("nginx.conf"), main_conf);

    const std::string args = " -p " + ShellQuote(dir_.path().string() + "/") + " -e " + ShellQuote(dir_.File("error.log")) +
                             " -c " + ShellQuote(dir_.File("nginx.conf"));
    CommandResult check = RunCommand(std::string(kNginx) + " -t" + args);
    ASSERT_EQ(check.exit_code, 0) << "nginx -t rejects the config:\n" << check.output << "\n" << main_conf << site;

    std::vector<std::string> argv = {kNginx, "-p", dir_.path().string() + "/", "-e", dir_.File("error.log"), "-c",
                                     dir_.File("nginx.conf")};
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&nginx_pid_, kNginx, nullptr, nullptr, cargv.data(), environ), 0);
    bool up = false;
    for (int i = 0; i < 250 && !up; ++i) {
      up = Https("GET", "/healthz").status == 200;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(up) << "nginx did not proxy /healthz:\n" << ReadFile(dir_.File("error.log"));
  }

  void TearDown() override {
    if (nginx_pid_ > 0) {
      kill(nginx_pid_, SIGTERM);
      int status = 0;
      waitpid(nginx_pid_, &status, 0);
    }
    if (server_) server_->Stop();
  }

  // One request through nginx with curl (-k: the certificate is self-signed). `host_port` is
  // resolved to 127.0.0.1, so the request carries the production host name (SNI and Host).
  HttpAnswer Request(const std::string& scheme, int port, const std::string& method, const std::string& path,
                     const std::string& extra = "") {
    const std::string body_file = dir_.File("answer.body"), header_file = dir_.File("answer.headers");
    std::filesystem::remove(body_file);
    std::filesystem::remove(header_file);
    CommandResult r = RunCommand("curl -sS -k --max-time 10 --resolve " + std::string(kHost) + ":" + std::to_string(port) +
                                 ":127.0.0.1 -X " + method + " -o " + ShellQuote(body_file) + " -D " + ShellQuote(header_file) +
                                 " -w '%{http_code} %{http_version}' " + extra + " " +
                                 ShellQuote(scheme + "://" + kHost + ":" + std::to_string(port) + path));
    HttpAnswer a;
    if (r.exit_code != 0) {
      a.error = r.output;
      return a;
    }
    std::sscanf(r.output.c_str(), "%d", &a.status);
    a.http_version = r.output.substr(r.output.find(' ') + 1);
    a.body = ReadFile(body_file);
    a.headers = ReadFile(header_file);
    return a;
  }
  HttpAnswer Https(const std::string& method, const std::string& path, const std::string& extra = "") {
    return Request("https", https_port_, method, path, extra);
  }

  TempDir dir_;
  FakeGraph graph_;
  std::unique_ptr<server::Server> server_;
  pid_t nginx_pid_ = 0;
  int https_port_ = 0, http_port_ = 0;
};

TEST_F(NginxTest, ASignedWhatsAppWebhookOverHttpsIsAnsweredAtTheGraphApi) {
  const std::string body = WhatsAppText("923003330001", "wamid.nginx-1", "salam");
  WriteFile(dir_.File("webhook.json"), body);
  HttpAnswer a = Https("POST", "/webhooks/whatsapp",
                       "-H 'Content-Type: application/json' -H " +
                           ShellQuote("X-Hub-Signature-256: " + channels::SignatureHeader(kAppSecret, body)) +
                           " --data-binary @" + ShellQuote(dir_.File("webhook.json")));
  ASSERT_EQ(a.status, 200) << a.error << a.body;
  EXPECT_EQ(a.http_version, "2") << "HTTP/2 was not negotiated";
  ASSERT_TRUE(graph_.WaitFor(1, "923003330001")) << "the reply never reached the Graph API";
  EXPECT_FALSE(TextOf(graph_.RequestsTo("923003330001")[0].json).empty());

  // The body reaches rahnama byte for byte: a signature over other bytes is still refused.
  HttpAnswer forged = Https("POST", "/webhooks/whatsapp",
                            "-H 'Content-Type: application/json' -H " +
                                ShellQuote("X-Hub-Signature-256: " + channels::SignatureHeader("wrong-secret", body)) +
                                " --data-binary @" + ShellQuote(dir_.File("webhook.json")));
  EXPECT_EQ(forged.status, 401) << forged.error << forged.body;
}

TEST_F(NginxTest, MetasVerificationHandshakeGetsTheChallengeBack) {
  HttpAnswer ok = Https("GET", std::string("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=") + kVerifyToken +
                                   "&hub.challenge=1158201444");
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.body, "1158201444");
  HttpAnswer messenger = Https("GET", std::string("/webhooks/messenger?hub.mode=subscribe&hub.verify_token=") +
                                          kVerifyToken + "&hub.challenge=77");
  EXPECT_EQ(messenger.status, 200) << messenger.error;
  EXPECT_EQ(messenger.body, "77");
}

TEST_F(NginxTest, OnlyWebhooksAndHealthzAreReachableFromOutside) {
  EXPECT_EQ(Https("GET", "/healthz").status, 200);
  EXPECT_NE(Https("GET", "/healthz").headers.find("strict-transport-security"), std::string::npos);
  // The admin listener really serves /metrics; through nginx it does not exist.
  httplib::Client admin("127.0.0.1", server_->admin_port());
  auto direct = admin.Get("/metrics");
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->status, 200);
  for (const char* path : {"/metrics", "/readyz", "/", "/admin", "/api/cases", "/webhooksx", "/healthz/x"})
    EXPECT_EQ(Https("GET", path).status, 404) << path;
  EXPECT_EQ(Https("DELETE", "/webhooks/whatsapp").status, 403);
  EXPECT_EQ(Https("POST", "/healthz").status, 403);
  EXPECT_EQ(Https("GET", "/healthz").headers.find("nginx/"), std::string::npos) << "server_tokens leak the version";
}

TEST_F(NginxTest, ABodyOverThreeMegabytesIsRefusedBeforeItReachesRahnama) {
  WriteFile(dir_.File("big.json"), WhatsAppText("923003330002", "wamid.nginx-big", std::string(3 * 1024 * 1024 + 1, 'a')));
  HttpAnswer a = Https("POST", "/webhooks/whatsapp",
                       "-H 'Content-Type: application/json' -H 'X-Hub-Signature-256: sha256=00' --data-binary @" +
                           ShellQuote(dir_.File("big.json")));
  EXPECT_EQ(a.status, 413) << a.error;
  // nginx itself refused it (rahnama's own limit would also answer 413).
  EXPECT_NE(ReadFile(dir_.File("error.log")).find("client intended to send too large body"), std::string::npos)
      << ReadFile(dir_.File("error.log"));
}

TEST_F(NginxTest, PlainHttpRedirectsToHttpsExceptLetsEncryptChallenges) {
  HttpAnswer redirect = Request("http", http_port_, "GET", "/webhooks/whatsapp");
  EXPECT_EQ(redirect.status, 301) << redirect.error;
  EXPECT_NE(redirect.headers.find(std::string("Location: https://") + kHost + "/webhooks/whatsapp\r\n"), std::string::npos)
      << redirect.headers;
  std::filesystem::create_directories(dir_.File("www/.well-known/acme-challenge"));
  WriteFile(dir_.File("www/.well-known/acme-challenge/tok3n"), "tok3n.key");
  HttpAnswer acme = Request("http", http_port_, "GET", "/.well-known/acme-challenge/tok3n");
  EXPECT_EQ(acme.status, 200) << acme.error;
  EXPECT_EQ(acme.body, "tok3n.key");
}

}  // namespace
}  // namespace bot::testing
