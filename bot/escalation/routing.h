// Routing and service levels: which queue and priority a case gets, whether a queue is open now,
// and whether a case is overdue.
#ifndef BOT_ESCALATION_ROUTING_H_
#define BOT_ESCALATION_ROUTING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bot/core/escalation.h"

namespace bot::escalation {

struct Route {
  std::string queue;
  std::string priority;
};

// The first rule (by position) matching intent, urgency and present entity kinds.
std::optional<Route> RouteCase(const std::vector<RoutingRule>& rules, const std::string& intent, bool urgent,
                               const std::vector<std::string>& entity_kinds);

// Whether "D-D HH:MM-HH:MM ±HHMM" (days 1=Monday … 7=Sunday) includes `now_ms`; "" is always open.
// kInvalidArgument for a malformed spec.
Result<bool> IsOpen(const std::string& hours, int64_t now_ms);
Status CheckHoursSpec(const std::string& hours);

// SLA passed with no human response yet, in the queue the case is in now; or, in human mode, SLA
// passed since the person wrote again with no officer reply since.
bool IsOverdue(const Case& c, int sla_minutes, int64_t now_ms);
// Why it is overdue, for officers: "no_first_response", "no_reply_since_referred",
// "person_waiting" (human mode, the person wrote again), or "" when it is not.
std::string OverdueReason(const Case& c, int sla_minutes, int64_t now_ms);

// "15 minutes", "24 hours", "2 days" for people.
std::string DescribeMinutes(int minutes);

}  // namespace bot::escalation

#endif  // BOT_ESCALATION_ROUTING_H_
