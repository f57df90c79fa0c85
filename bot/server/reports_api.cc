// /api/v1/reports and /api/v1/reports.csv.
#include "bot/server/reports_api.h"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "bot/escalation/routing.h"

namespace bot::server {

using json = nlohmann::json;

namespace {

Result<int64_t> DayStartMillis(const std::string& day) {
  int y, m, d;
  if (day.size() != 10 || std::sscanf(day.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
    return Status::InvalidArgument("dates must be YYYY-MM-DD, got \"" + day + "\"");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string DayOf(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

double Round1(double x) { return static_cast<double>(static_cast<int64_t>(x * 10 + 0.5)) / 10; }

}  // namespace

Result<json> BuildReport(db::SqliteStore& store, const std::string& from, const std::string& to, int64_t now_ms) {
  auto from_ms = DayStartMillis(from);
  if (!from_ms.ok()) return from_ms.status();
  auto to_ms = DayStartMillis(to);
  if (!to_ms.ok()) return to_ms.status();
  if (*to_ms < *from_ms) return Status::InvalidArgument("\"to\" is before \"from\"");
  if (*to_ms - *from_ms > 366LL * 86400000) return Status::InvalidArgument("a report covers at most 366 days");
  auto data = store.Report(*from_ms, *to_ms + 86400000);
  if (!data.ok()) return data.status();
  auto queues = store.Queues();
  if (!queues.ok()) return queues.status();

  json per_day = json::array();
  std::map<std::string, int64_t> by_language, by_channel;
  int64_t total = 0;
  for (const auto& d : data->inbound_per_day) {
    per_day.push_back({{"day", d.day}, {"language", d.language.empty() ? "unknown" : d.language}, {"channel", d.channel},
                       {"messages", d.count}});
    by_language[d.language.empty() ? "unknown" : d.language] += d.count;
    by_channel[d.channel] += d.count;
    total += d.count;
  }
  json intents = json::array();
  int64_t classified = 0, unknown = 0;
  for (const auto& [intent, n] : data->intents) {
    intents.push_back({{"intent", intent}, {"messages", n}});
    classified += n;
    if (intent == "unknown") unknown += n;
  }
  std::map<std::string, int64_t> urgent_per_day;
  std::map<std::string, std::vector<double>> response_minutes;
  std::map<std::string, std::pair<int64_t, int64_t>> opened_responded;
  std::map<std::string, int64_t> within_sla;
  for (const auto& c : data->cases_opened) {
    if (c.priority == "urgent") ++urgent_per_day[c.day];
    auto& [opened, responded] = opened_responded[c.queue];
    ++opened;
    if (c.first_response_at > 0) {
      ++responded;
      const double minutes = static_cast<double>(c.first_response_at - c.opened_at) / 60000.0;
      response_minutes[c.queue].push_back(minutes);
      for (const auto& q : *queues)
        if (q.id == c.queue && minutes <= q.sla_minutes) ++within_sla[c.queue];
    }
  }
  json urgent = json::array();
  for (int64_t t = *from_ms; t <= *to_ms; t += 86400000) {
    const std::string day = DayOf(t);
    urgent.push_back({{"day", day}, {"cases", urgent_per_day.count(day) ? urgent_per_day[day] : 0}});
  }
  json response = json::array();
  json open_now = json::array();
  for (const auto& q : *queues) {
    const auto& mins = response_minutes[q.id];
    const auto [opened, responded] = opened_responded[q.id];
    response.push_back({{"queue", q.id},
                        {"sla_minutes", q.sla_minutes},
                        {"cases_opened", opened},
                        {"responded", responded},
                        {"median_minutes", Round1(Percentile(mins, 0.5))},
                        {"p90_minutes", Round1(Percentile(mins, 0.9))},
                        {"within_sla", within_sla[q.id]}});
    CaseFilter f;
    f.queues = {q.id};
    f.limit = 1000;
    auto cases = store.ListCases(f);
    if (!cases.ok()) return cases.status();
    int64_t overdue = 0;
    for (const auto& c : *cases) overdue += escalation::IsOverdue(c, q.sla_minutes, now_ms);
    open_now.push_back({{"queue", q.id}, {"open", cases->size()}, {"overdue", overdue}});
  }
  return json{{"from", from},
              {"to", to},
              {"messages", total},
              {"messages_per_day", per_day},
              {"by_language", by_language},
              {"by_channel", by_channel},
              {"top_intents", intents},
              {"unknown_rate", classified == 0 ? 0.0 : Round1(100.0 * static_cast<double>(unknown) / static_cast<double>(classified))},
              {"urgent_cases_per_day", urgent},
              {"first_response", response},
              {"open_cases", open_now}};
}

std::string ReportCsv(const json& r) {
  std::string out = "section,day,dimension,value\n";
  auto row = [&out](const std::string& a, const std::string& b, const std::string& c, const std::string& d) {
    out += a + "," + b + "," + c + "," + d + "\n";
  };
  for (const auto& d : r["messages_per_day"])
    row("messages", d["day"], d["language"].get<std::string>() + "/" + d["channel"].get<std::string>(), d["messages"].dump());
  for (const auto& [lang, n] : r["by_language"].items()) row("messages_by_language", "", lang, n.dump());
  for (const auto& [ch, n] : r["by_channel"].items()) row("messages_by_channel", "", ch, n.dump());
  for (const auto& i : r["top_intents"]) row("intent", "", i["intent"], i["messages"].dump());
  row("unknown_rate_percent", "", "", r["unknown_rate"].dump());
  for (const auto& u : r["urgent_cases_per_day"]) row("urgent_cases", u["day"], "", u["cases"].dump());
  for (const auto& f : r["first_response"]) {
    const std::string q = f["queue"];
    row("first_response_median_minutes", "", q, f["median_minutes"].dump());
    row("first_response_p90_minutes", "", q, f["p90_minutes"].dump());
    row("cases_opened", "", q, f["cases_opened"].dump());
    row("cases_within_sla", "", q, f["within_sla"].dump());
    row("sla_minutes", "", q, f["sla_minutes"].dump());
  }
  for (const auto& o : r["open_cases"]) {
    row("open_cases", "", o["queue"], o["open"].dump());
    row("overdue_cases", "", o["queue"], o["overdue"].dump());
  }
  return out;
}

void ReportsApi::Register(httplib::Server& svr) {
  auto handler = [this](bool csv) {
    return [this, csv](const httplib::Request& req, httplib::Response& res) {
      auto s = auth_.Authenticate(req);
      if (!s.ok()) return SendError(res, s.status());
      const std::string today = DayOf(clock_.NowMillis());
      const std::string from = req.has_param("from") ? req.get_param_value("from") : DayOf(clock_.NowMillis() - 29LL * 86400000);
      const std::string to = req.has_param("to") ? req.get_param_value("to") : today;
      auto report = BuildReport(store_, from, to, clock_.NowMillis());
      if (!report.ok()) return SendError(res, report.status());
      if (csv) {
        res.set_header("Content-Disposition", "attachment; filename=\"rahnama-report-" + from + "-" + to + ".csv\"");
        res.set_content(ReportCsv(*report), "text/csv; charset=utf-8");
      } else {
        res.set_content(report->dump(), "application/json");
      }
    };
  };
  svr.Get("/api/v1/reports", handler(false));
  svr.Get("/api/v1/reports.csv", handler(true));
}

}  // namespace bot::server
