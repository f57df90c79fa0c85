// Status and Result<T>: expected failures as values, shaped like absl::StatusOr / std::expected.
#ifndef BOT_CORE_STATUS_H_
#define BOT_CORE_STATUS_H_

#include <cassert>
#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace bot {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kUnauthenticated,
  kPermissionDenied,
  kNotFound,
  kConflict,
  kUnavailable,
  kInternal
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;  // "NOT_FOUND: contact 42" (logs only)

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A T, or a non-OK Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }  // REQUIRES: ok()
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

// Runs `f` (returning Status or Result<T>); an exception becomes kInternal "<what> threw: …".
// For the loops of background threads, where an uncaught exception would stop the server.
template <typename F>
auto CatchExceptions(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::Internal(what + " threw: " + e.what());
  } catch (...) {
    return Status::Internal(what + " threw an unknown exception");
  }
}

}  // namespace bot

#define BOT_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::bot::Status bot_status_ = (expr);      \
    if (!bot_status_.ok()) return bot_status_; \
  } while (0)

#endif  // BOT_CORE_STATUS_H_
