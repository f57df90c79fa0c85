// Meta's webhook signature: X-Hub-Signature-256 = "sha256=" + hex(HMAC-SHA256(app_secret, raw body)).
// Shared by WhatsApp and Messenger, and used to sign our partner notifications.
#ifndef BOT_CHANNELS_SIGNATURE_H_
#define BOT_CHANNELS_SIGNATURE_H_

#include <string>
#include <string_view>

namespace bot::channels {

// Lowercase hex HMAC-SHA256 of `body` keyed with `secret`.
std::string HmacSha256Hex(std::string_view secret, std::string_view body);

// The header value we would expect for `body`: "sha256=<hex>".
std::string SignatureHeader(std::string_view secret, std::string_view body);

// True when `header` is "sha256=<hex>" of the raw body; compared in constant time.
bool VerifySignature(std::string_view secret, std::string_view body, std::string_view header);

// Constant-time equality of two strings (length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// SHA-256 hex digest (tokens are stored hashed).
std::string Sha256Hex(std::string_view data);

// n random bytes from the OS CSPRNG, hex-encoded.
std::string RandomHex(size_t n_bytes);

}  // namespace bot::channels

#endif  // BOT_CHANNELS_SIGNATURE_H_
