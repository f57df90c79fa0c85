// deploy/prometheus/: promtool accepts the rules and the example config, the alert unit tests
// (alerts_test.yml) pass, and every rahnama_* metric an alert names is one the real server
// exports, so a renamed metric cannot silently disarm an alert.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "tests/deploy/deploy_support.h"
#include "tests/support/harness.h"

namespace bot::testing {
namespace {

// Metrics an alert names before the server exports them, with who is adding them. An alert on a
// name not yet exported is silent, so this list should be empty once that work lands.
const std::set<std::string> kNotYetExported = {
    "rahnama_cases_overdue",  // escalation work in progress (the lead's issue list)
};

std::string Promtool() { return Which("promtool"); }

TEST(PrometheusRulesTest, PromtoolAcceptsTheAlertRules) {
  if (Promtool().empty()) {
    // Without promtool, at least check that the file is YAML of the expected shape.
    CommandResult yaml = RunCommand("python3 -c 'import yaml'");
    if (yaml.exit_code != 0)
      GTEST_SKIP() << "neither promtool (Debian package: prometheus) nor python3-yaml is installed: alerts.yml NOT checked";
    CommandResult r = RunCommand(
        "python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); "
        "rules = [r for g in d[\"groups\"] for r in g[\"rules\"]]; "
        "assert rules and all(\"alert\" in r and \"expr\" in r and \"severity\" in r[\"labels\"] for r in rules); "
        "print(len(rules))' " + ShellQuote(DeployPath("prometheus/alerts.yml")));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    GTEST_SKIP() << "promtool is not installed (Debian package: prometheus): alerts.yml was only parsed as YAML, "
                    "its PromQL was NOT checked";
  }
  CommandResult r = RunCommand("promtool check rules " + ShellQuote(DeployPath("prometheus/alerts.yml")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
}

TEST(PrometheusRulesTest, EachAlertFiresWhenItShouldAndOnlyThen) {
  if (Promtool().empty()) GTEST_SKIP() << "promtool is not installed (Debian package: prometheus): alert unit tests NOT run";
  CommandResult r = RunCommand("promtool test rules " + ShellQuote(DeployPath("prometheus/alerts_test.yml")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Every alert in alerts.yml has at least one unit test.
  const std::string alerts = ReadFile(DeployPath("prometheus/alerts.yml"));
  const std::string tests = ReadFile(DeployPath("prometheus/alerts_test.yml"));
  const std::regex alert(R"(- alert: (\w+))");
  int n = 0;
  for (std::sregex_iterator it(alerts.begin(), alerts.end(), alert), end; it != end; ++it, ++n)
    EXPECT_NE(tests.find("alertname: " + (*it)[1].str()), std::string::npos) << (*it)[1] << " has no unit test";
  EXPECT_GE(n, 5);
}

TEST(PrometheusRulesTest, TheExampleConfigLoadsTheRules) {
  if (Promtool().empty()) GTEST_SKIP() << "promtool is not installed (Debian package: prometheus): prometheus.yml NOT checked";
  TempDir dir;
  // As installed: prometheus.yml with the rules beside it under the name it refers to.
  WriteFile(dir.File("prometheus.yml"), ReadFile(DeployPath("prometheus/prometheus.yml")));
  WriteFile(dir.File("rahnama-alerts.yml"), ReadFile(DeployPath("prometheus/alerts.yml")));
  CommandResult r = RunCommand("promtool check config " + ShellQuote(dir.File("prometheus.yml")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 rule files found"), std::string::npos) << r.output;
  EXPECT_NE(ReadFile(DeployPath("prometheus/prometheus.yml")).find("job_name: rahnama"), std::string::npos)
      << "the alerts select job=\"rahnama\"";
}

TEST(PrometheusRulesTest, EveryMetricTheAlertsNameIsExportedByTheServer) {
  TempDir dir;
  FakeGraph graph;
  // One failed send and one refused for the account (so the failure counters exist), then success.
  graph.Plan({{500, R"({"error":{"message":"boom","code":1}})"},
              {401, R"({"error":{"message":"Session has expired","code":190,"error_subcode":463}})"}});
  auto s = server::Server::Start(TestConfig(dir.File("rahnama.db"), graph.url()));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Webhooks hooks((*s)->port());
  ASSERT_EQ(hooks.PostSigned(WhatsAppText("923004440001", "wamid.prom-1", "salam"))->status, 200);
  ASSERT_EQ(hooks.PostSigned(WhatsAppText("923004440001", "wamid.prom-2", "salam"), "/webhooks/whatsapp", "bad")->status,
            401);
  ASSERT_TRUE(graph.WaitFor(1, "923004440001"));
  httplib::Client admin("127.0.0.1", (*s)->admin_port());
  auto metrics = admin.Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  const std::string exported = "\n" + metrics->body;

  const std::string alerts = ReadFile(DeployPath("prometheus/alerts.yml"));
  const std::regex name(R"(\b(rahnama_[a-z_]+)\b)");
  std::set<std::string> named;
  for (std::sregex_iterator it(alerts.begin(), alerts.end(), name), end; it != end; ++it) named.insert((*it)[1]);
  ASSERT_GE(named.size(), 4u);
  for (const auto& n : named) {
    const bool present = exported.find("\n" + n + " ") != std::string::npos || exported.find("\n" + n + "{") != std::string::npos;
    if (kNotYetExported.count(n)) {
      if (!present) std::cout << "[   NOTE   ] alerts.yml names " << n << ", which the server does not export yet\n";
      continue;
    }
    EXPECT_TRUE(present) << "alerts.yml names " << n << ", but the server does not export it:\n" << metrics->body;
  }
  // The label values the alerts select on are the ones the server uses.
  EXPECT_NE(exported.find("rahnama_webhooks_rejected_total{reason=\"signature\"}"), std::string::npos) << metrics->body;
  if (exported.find("\nrahnama_cases_overdue{") != std::string::npos) {
    EXPECT_NE(exported.find("priority=\"urgent\""), std::string::npos) << metrics->body;
  }
  (*s)->Stop();
}

}  // namespace
}  // namespace bot::testing
