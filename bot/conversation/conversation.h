// The conversation: one inbound message and where the conversation stood → the replies, the new
// state, and what must reach a human. Pure logic over a content snapshot: it never touches storage
// or a network, and it does not know which channel the message came from.
#ifndef BOT_CONVERSATION_CONVERSATION_H_
#define BOT_CONVERSATION_CONVERSATION_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bot/content/content.h"
#include "bot/core/message.h"
#include "bot/core/ports.h"
#include "intents/classifier.h"

namespace bot::conversation {

// A case the turn asks to open (or to join, when one is open for that person and queue).
struct CaseRequest {
  std::string queue;
  std::string priority;  // "urgent" or "normal"
  std::string intent;
};

// The person's open case this turn belongs to, as far as the conversation needs to know.
struct ActiveCase {
  int64_t id = 0;
  std::string queue;
  std::string partner;
  std::string consent;          // unknown | asked | yes | no
  bool partner_webhook = false; // details would go to the partner: ask consent first
  bool human_mode = false;      // an officer is answering: the bot stays quiet
};

struct TurnInput {
  ConversationState state;
  InboundMessage message;
  std::optional<ActiveCase> active_case;
  // One of the person's open cases (any queue) had the full safety reply: a later threat gets a
  // line that the officers have it, not the same reply again.
  bool safety_reply_sent = false;
  // The classification of message.text made at ingest with the same rules, when there is one:
  // used instead of classifying the text again.
  std::optional<intents::Decision> text_decision;
};

struct TurnOutput {
  intents::Decision decision;
  // The topic answered when the person picked it from the menu ("2", a tapped row) rather than
  // asking in words: what the turn is counted as (the decision says "unknown" for "2").
  std::string answered_intent;
  std::string language;  // the language the replies are in
  ConversationState state;
  std::vector<OutboundMessage> replies;
  std::optional<CaseRequest> open_case;
  std::vector<std::pair<std::string, std::string>> case_fields;  // intake answers for the case
  std::string consent;    // "" unchanged, or asked | yes | no
  bool bot_back = false;  // the person asked for the bot: human mode ends
  bool erase = false;     // the person confirmed deletion of their data
  bool safety_reply = false;  // the full safety reply is among the replies (recorded on the case)
};

TurnOutput Converse(const content::Snapshot& content, const TurnInput& input);

// The main menu as a list message (WhatsApp renders rows; other channels number them).
OutboundMessage MenuMessage(const content::Snapshot& content, const std::string& language);
// The main menu as numbered text: "1. Deportation\n2. …".
std::string MenuText(const content::Snapshot& content, const std::string& language);

// The number a message means, if it is only a number (1, ۱, ١, " 2 "); else -1.
int ParseNumber(const std::string& text);

// The conversation is waiting for the person's answer to a question the bot asked on a case
// (intake, IOM's questions, consent to share).
bool AwaitsAnswer(const std::string& stage);

}  // namespace bot::conversation

#endif  // BOT_CONVERSATION_CONVERSATION_H_
