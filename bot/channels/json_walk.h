// Type-checked reads of untrusted provider JSON, shared by the channel parsers (internal to
// bot/channels: only its .cc files include it). Every helper accepts any json value and answers
// "absent" instead of throwing: nlohmann's value()/operator[] throw on non-objects.
#ifndef BOT_CHANNELS_JSON_WALK_H_
#define BOT_CHANNELS_JSON_WALK_H_

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bot/core/message.h"
#include "bot/core/status.h"

namespace bot::channels::detail {

using json = nlohmann::json;

// The member `key` of `j`, or nullptr when `j` is not an object or has no such member.
inline const json* Member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

inline const json* Obj(const json& j, const char* key) {
  const json* v = Member(j, key);
  return v != nullptr && v->is_object() ? v : nullptr;
}

inline const json* Arr(const json& j, const char* key) {
  const json* v = Member(j, key);
  return v != nullptr && v->is_array() ? v : nullptr;
}

// A string member; integers are accepted and written in decimal (ids and timestamps arrive as
// either, depending on who produced the payload). Anything else reads as "".
inline std::string Str(const json& j, const char* key) {
  const json* v = Member(j, key);
  if (v == nullptr) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_unsigned()) return std::to_string(v->get<uint64_t>());
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  return {};
}

// An integer member given as a number or as a string of decimal digits (an optional leading
// '-'); nullopt for anything else, including digits too many to fit.
inline std::optional<int64_t> Int(const json& j, const char* key) {
  const json* v = Member(j, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 9.0e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  if (!v->is_string()) return std::nullopt;
  const std::string& s = v->get_ref<const std::string&>();
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i == s.size() || s.size() - i > 18) return std::nullopt;
  int64_t n = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    n = n * 10 + (s[i] - '0');
  }
  return s[0] == '-' ? -n : n;
}

// A finite number given as a number or a numeric string ("12.25"); nullopt otherwise.
inline std::optional<double> Number(const json& j, const char* key) {
  const json* v = Member(j, key);
  if (v == nullptr) return std::nullopt;
  double d = 0;
  if (v->is_number()) {
    d = v->get<double>();
  } else if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    if (s.empty() || s.size() > 64) return std::nullopt;
    char* end = nullptr;
    d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

// True only for a JSON `true` (or the string "true", which some producers send).
inline bool Flag(const json& j, const char* key) {
  const json* v = Member(j, key);
  if (v == nullptr) return false;
  if (v->is_boolean()) return v->get<bool>();
  return v->is_string() && v->get_ref<const std::string&>() == "true";
}

// `j` as compact JSON text. Invalid UTF-8 cannot come out of parse(), but dump() would throw on
// it, so it is replaced rather than trusted.
inline std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The one way a webhook body becomes a batch: parse without throwing, require an object whose
// "object" is `expected` (named `product` in errors), then walk it inside a fence for whatever
// the type-checked walk still misses (the fuzzers' job to find).
template <typename WalkFn>
Result<WebhookBatch> ParseEnvelope(std::string_view body, const char* expected, const char* product, WalkFn walk) {
  json root = json::parse(body, nullptr, false);
  if (root.is_discarded()) return Status::InvalidArgument("body is not valid JSON");
  if (!root.is_object()) return Status::InvalidArgument("body is not a JSON object");
  if (Str(root, "object") != expected)
    return Status::InvalidArgument(std::string("not a ") + product + " webhook (object=\"" + Str(root, "object") + "\")");
  try {
    return walk(root);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("unreadable ") + product + " webhook: " + e.what());
  }
}

}  // namespace bot::channels::detail

#endif  // BOT_CHANNELS_JSON_WALK_H_
