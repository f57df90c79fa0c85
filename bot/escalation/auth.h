// Officer authentication: Argon2id password hashes (libargon2, the reference implementation
// Debian ships), the password policy, and login back-off.
#ifndef BOT_ESCALATION_AUTH_H_
#define BOT_ESCALATION_AUTH_H_

#include <cstdint>
#include <string>

#include "bot/core/status.h"

namespace bot::escalation {

struct HashCost {
  uint32_t time_cost = 2;
  uint32_t memory_kib = 19 * 1024;  // OWASP's Argon2id baseline: 19 MiB, 2 passes
  uint32_t parallelism = 1;
};

// kInvalidArgument naming what is wrong when the password does not meet the policy:
// at least 12 characters, not all one character class, not the username.
Status CheckPasswordPolicy(const std::string& username, const std::string& password);

// kInvalidArgument unless 1–100 of: letters, digits, _ . @ - (usernames appear in URLs, notes and
// the audit log; a space or a slash would make the account unmanageable through the API).
Status CheckUsername(const std::string& username);

// Encoded "$argon2id$v=19$m=…,t=…,p=…$salt$hash" with a fresh random salt.
Result<std::string> HashPassword(const std::string& password, const HashCost& cost = {});
bool VerifyPassword(const std::string& encoded, const std::string& password);

// After `failures` consecutive failed logins: how long the account stays locked (0 = not).
// 5 failures → 1 minute, doubling up to an hour.
int64_t LockoutMillis(int failures);

inline constexpr int64_t kSessionLifetimeMs = 12LL * 3600 * 1000;

}  // namespace bot::escalation

#endif  // BOT_ESCALATION_AUTH_H_
