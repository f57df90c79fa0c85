// Prometheus text exposition (version 0.0.4).
#include "bot/core/metrics.h"

#include <cstdio>

namespace bot {
namespace {

const std::vector<double> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string Series(const std::string& name, const std::string& labels) {
  return labels.empty() ? name : name + "{" + labels + "}";
}

}  // namespace

void Metrics::Add(const std::string& name, const std::string& labels, double by) {
  std::lock_guard lock(mutex_);
  counters_[name][labels] += by;
}

void Metrics::Observe(const std::string& name, const std::string& labels, double seconds) {
  std::lock_guard lock(mutex_);
  Histogram& h = histograms_[name][labels];
  if (h.counts.empty()) h.counts.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) h.counts[i] += 1;
  h.sum += seconds;
  h.count += 1;
}

double Metrics::Get(const std::string& name, const std::string& labels) const {
  std::lock_guard lock(mutex_);
  auto it = counters_.find(name);
  if (it == counters_.end()) return 0;
  auto jt = it->second.find(labels);
  return jt == it->second.end() ? 0 : jt->second;
}

void Metrics::Gauge(const std::string& name, std::function<std::vector<std::pair<std::string, double>>()> read) {
  std::lock_guard lock(mutex_);
  gauges_[name] = std::move(read);
}

void Metrics::Describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(mutex_);
  help_[name] = {type, help};
}

std::string Metrics::Render() const {
  std::map<std::string, std::function<std::vector<std::pair<std::string, double>>()>> gauges;
  std::string out;
  {
    std::lock_guard lock(mutex_);
    gauges = gauges_;
    auto header = [&](const std::string& name, const char* fallback_type) {
      auto it = help_.find(name);
      if (it != help_.end()) out += "# HELP " + name + " " + it->second.second + "\n";
      out += "# TYPE " + name + " " + (it != help_.end() ? it->second.first : fallback_type) + "\n";
    };
    for (const auto& [name, series] : counters_) {
      header(name, "counter");
      for (const auto& [labels, v] : series) out += Series(name, labels) + " " + Num(v) + "\n";
    }
    for (const auto& [name, series] : histograms_) {
      header(name, "histogram");
      for (const auto& [labels, h] : series) {
        const std::string sep = labels.empty() ? "" : ",";
        for (size_t i = 0; i < kBuckets.size(); ++i)
          out += name + "_bucket{" + labels + sep + "le=\"" + Num(kBuckets[i]) + "\"} " + Num(h.counts[i]) + "\n";
        out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + Num(h.count) + "\n";
        out += Series(name + "_sum", labels) + " " + Num(h.sum) + "\n";
        out += Series(name + "_count", labels) + " " + Num(h.count) + "\n";
      }
    }
  }
  for (const auto& [name, read] : gauges) {
    out += "# TYPE " + name + " gauge\n";
    for (const auto& [labels, v] : read()) out += Series(name, labels) + " " + Num(v) + "\n";
  }
  return out;
}

}  // namespace bot
