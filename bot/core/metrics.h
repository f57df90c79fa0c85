// Counters, gauges and latency histograms, rendered in Prometheus text format on /metrics.
#ifndef BOT_CORE_METRICS_H_
#define BOT_CORE_METRICS_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace bot {

class Metrics {
 public:
  // name{labels} += by. `labels` is the inside of the braces: kind="text",queue="iom".
  void Add(const std::string& name, const std::string& labels = "", double by = 1);
  void Observe(const std::string& name, const std::string& labels, double seconds);
  double Get(const std::string& name, const std::string& labels = "") const;
  // A gauge computed when scraped (outbox backlog, overdue cases).
  void Gauge(const std::string& name, std::function<std::vector<std::pair<std::string, double>>()> read);
  void Describe(const std::string& name, const std::string& type, const std::string& help);
  std::string Render() const;

 private:
  struct Histogram {
    std::vector<double> counts;
    double sum = 0;
    double count = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, double>> counters_;
  std::map<std::string, std::map<std::string, Histogram>> histograms_;
  std::map<std::string, std::function<std::vector<std::pair<std::string, double>>()>> gauges_;
  std::map<std::string, std::pair<std::string, std::string>> help_;
};

}  // namespace bot

#endif  // BOT_CORE_METRICS_H_
