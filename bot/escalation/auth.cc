// Argon2id via libargon2.
#include "bot/escalation/auth.h"

#include <argon2.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <vector>

namespace bot::escalation {

Status CheckUsername(const std::string& username) {
  if (username.empty() || username.size() > 100)
    return Status::InvalidArgument("a username has 1 to 100 characters");
  for (char c : username)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' || c == '-'))
      return Status::InvalidArgument("a username may hold only letters, digits and _ . @ - (no spaces)");
  return Status::Ok();
}

Status CheckPasswordPolicy(const std::string& username, const std::string& password) {
  if (password.size() < 12) return Status::InvalidArgument("password must be at least 12 characters");
  if (password.size() > 256) return Status::InvalidArgument("password must be at most 256 characters");
  if (password == username) return Status::InvalidArgument("password must not be the username");
  bool lower = false, upper = false, digit = false, other = false;
  for (unsigned char c : password) {
    if (std::islower(c)) lower = true;
    else if (std::isupper(c)) upper = true;
    else if (std::isdigit(c)) digit = true;
    else other = true;
  }
  if (static_cast<int>(lower) + upper + digit + other < 2)
    return Status::InvalidArgument("password must mix at least two kinds of characters (letters, digits, symbols)");
  if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password[0]; }))
    return Status::InvalidArgument("password must not repeat one character");
  return Status::Ok();
}

Result<std::string> HashPassword(const std::string& password, const HashCost& cost) {
  std::vector<uint8_t> salt(16);
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(salt.data()), static_cast<std::streamsize>(salt.size())))
    return Status::Internal("cannot read /dev/urandom");
  const size_t len = argon2_encodedlen(cost.time_cost, cost.memory_kib, cost.parallelism,
                                       static_cast<uint32_t>(salt.size()), 32, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(cost.time_cost, cost.memory_kib, cost.parallelism, password.data(), password.size(),
                                 salt.data(), salt.size(), 32, encoded.data(), len);
  if (rc != ARGON2_OK) return Status::Internal(std::string("argon2: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0') == std::string::npos ? encoded.size() : encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(const std::string& encoded, const std::string& password) {
  if (encoded.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

int64_t LockoutMillis(int failures) {
  if (failures < 5) return 0;
  int64_t ms = 60 * 1000;
  for (int i = 5; i < failures && ms < 3600 * 1000; ++i) ms *= 2;
  return std::min<int64_t>(ms, 3600 * 1000);
}

}  // namespace bot::escalation
