// Routing rules, working hours and SLAs.
#include "bot/escalation/routing.h"

#include <algorithm>
#include <cstdio>

namespace bot::escalation {

std::optional<Route> RouteCase(const std::vector<RoutingRule>& rules, const std::string& intent, bool urgent,
                               const std::vector<std::string>& entity_kinds) {
  std::vector<RoutingRule> sorted = rules;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.position < b.position; });
  for (const auto& r : sorted) {
    if (!r.intent.empty() && r.intent != intent) continue;
    if (r.urgent && *r.urgent != urgent) continue;
    if (!r.entity.empty() && std::find(entity_kinds.begin(), entity_kinds.end(), r.entity) == entity_kinds.end()) continue;
    return Route{r.queue, r.priority};
  }
  return std::nullopt;
}

namespace {

struct Hours {
  int day_from, day_to, start_min, end_min, offset_min;
};

Result<Hours> Parse(const std::string& s) {
  Hours h{};
  int sh, sm, eh, em, off;
  char sign;
  if (std::sscanf(s.c_str(), "%d-%d %d:%d-%d:%d %c%4d", &h.day_from, &h.day_to, &sh, &sm, &eh, &em, &sign, &off) != 8 ||
      (sign != '+' && sign != '-') || h.day_from < 1 || h.day_to > 7 || h.day_from > h.day_to || sh > 23 || eh > 24 ||
      sm > 59 || em > 59)
    return Status::InvalidArgument("working hours \"" + s + "\" must look like \"1-5 08:00-17:00 +0500\" (days 1=Monday)");
  h.start_min = sh * 60 + sm;
  h.end_min = eh * 60 + em;
  h.offset_min = (off / 100 * 60 + off % 100) * (sign == '-' ? -1 : 1);
  return h;
}

}  // namespace

Status CheckHoursSpec(const std::string& hours) {
  if (hours.empty()) return Status::Ok();
  auto h = Parse(hours);
  return h.ok() ? Status::Ok() : h.status();
}

Result<bool> IsOpen(const std::string& hours, int64_t now_ms) {
  if (hours.empty()) return true;
  auto h = Parse(hours);
  if (!h.ok()) return h.status();
  const int64_t local_min = now_ms / 60000 + h->offset_min;
  const int64_t days = local_min >= 0 ? local_min / 1440 : (local_min - 1439) / 1440;
  const int minute_of_day = static_cast<int>(local_min - days * 1440);
  const int weekday = static_cast<int>(((days + 3) % 7 + 7) % 7) + 1;  // 1970-01-01 was a Thursday (4)
  return weekday >= h->day_from && weekday <= h->day_to && minute_of_day >= h->start_min && minute_of_day < h->end_min;
}

std::string OverdueReason(const Case& c, int sla_minutes, int64_t now_ms) {
  if (c.status == "resolved" || sla_minutes <= 0) return "";
  const int64_t sla_ms = static_cast<int64_t>(sla_minutes) * 60000;
  // After the first reply, the same clock runs on each message the person sends while only an
  // officer can answer it (an officer gone off shift must not leave an urgent case silent).
  if (c.awaiting_reply_since != 0 && now_ms - c.awaiting_reply_since > sla_ms) return "person_waiting";
  // Measured in the queue the case is in now: a referred case is new to its officers.
  const bool in_queue = c.queue_since != 0;
  const bool answered = in_queue ? c.queue_response_at != 0 : c.first_response_at != 0;
  if (answered || now_ms - (in_queue ? c.queue_since : c.opened_at) <= sla_ms) return "";
  return c.referred_from.empty() ? "no_first_response" : "no_reply_since_referred";
}

bool IsOverdue(const Case& c, int sla_minutes, int64_t now_ms) { return !OverdueReason(c, sla_minutes, now_ms).empty(); }

std::string DescribeMinutes(int minutes) {
  if (minutes < 120) return std::to_string(minutes) + " minutes";
  if (minutes < 48 * 60) return std::to_string(minutes / 60) + " hours";
  return std::to_string(minutes / 1440) + " days";
}

}  // namespace bot::escalation
