// Status formatting for logs.
#include "bot/core/status.h"

namespace bot {

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: name = "INVALID_ARGUMENT"; break;
    case StatusCode::kUnauthenticated: name = "UNAUTHENTICATED"; break;
    case StatusCode::kPermissionDenied: name = "PERMISSION_DENIED"; break;
    case StatusCode::kNotFound: name = "NOT_FOUND"; break;
    case StatusCode::kConflict: name = "CONFLICT"; break;
    case StatusCode::kUnavailable: name = "UNAVAILABLE"; break;
    case StatusCode::kInternal: name = "INTERNAL"; break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace bot
