// Conversation rules. Order of precedence for one message:
//   1. urgent threats always get the safety reply first (even opted out, even in human mode), once
//      per case: later ones get a line that the officers have them;
//   2. structured answers: language choice, menu picks, intake questions, offered hand-off;
//   3. human mode: an officer has the case, the bot stays quiet unless asked for the menu;
//   4. first contact: welcome, unless the first message is already a question we understand;
//   5. intents: answer, hand off, opt out; two misses in a row offer a person.
#include "bot/conversation/conversation.h"

#include <cstdio>
#include <cstdlib>

#include "intents/normalizer.h"

namespace bot::conversation {
namespace {

using content::Snapshot;

const std::vector<std::pair<std::string, std::string>> kLanguageChoices = {{"1", "en"}, {"2", "prs"}, {"3", "ps"}};

// Whether a message with this intent says something to answer: not a greeting, thanks, a language
// pick or nothing we understood.
bool Substantive(const std::string& intent) {
  return intent != "unknown" && intent != "greeting" && intent != "thanks" && intent != "language_choice";
}

OutboundMessage Text(std::string text, bool urgent = false) {
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kText;
  m.text = std::move(text);
  m.urgent = urgent;
  return m;
}

// The script of the text decides when nothing else does: Latin → English, Arabic → Dari
// (the language most people writing to the desk share).
std::string LanguageByScript(const std::string& text) {
  auto n = intents::Normalize(text);
  if (!n.ok()) return "en";
  return n->arabic_letters > n->latin_letters ? "prs" : "en";
}

std::string JoinLanguages(const Snapshot& c, const std::string& key) {
  std::string out;
  for (const auto& lang : content::kLanguages) {
    std::string m = c.Message(key, lang);
    if (m.empty()) continue;
    if (!out.empty()) out += "\n\n";
    out += m;
  }
  return out;
}

std::string PartnerName(const Snapshot& c, const std::string& lang, const TurnInput& in, const std::string& queue) {
  std::string localized = c.Message("partner_" + queue, lang);
  if (!localized.empty()) return localized;
  if (in.active_case && in.active_case->queue == queue && !in.active_case->partner.empty()) return in.active_case->partner;
  if (queue == "unhcr_protection") return "UNHCR";
  if (queue == "iom") return "IOM";
  return "";
}

}  // namespace

bool AwaitsAnswer(const std::string& stage) {
  return stage.rfind("intake_", 0) == 0 || stage.rfind("iom_", 0) == 0 || stage == "consent";
}

int ParseNumber(const std::string& text) {
  auto n = intents::Normalize(text);
  if (!n.ok() || n->tokens.size() != 1 || !n->tokens[0].digits) return -1;
  const std::string& d = n->tokens[0].key;
  if (d.size() > 3) return -1;
  return std::stoi(d);
}

std::string MenuText(const Snapshot& c, const std::string& language) {
  std::string out;
  for (const auto& item : c.Menu(language)) {
    if (!out.empty()) out += "\n";
    out += std::to_string(item.number) + ". " + item.title;
  }
  return out;
}

// "1=por_card,2=acc_card": what each number of a menu meant when it was shown.
std::string MenuNumbers(const std::vector<content::MenuItem>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + std::to_string(item.number) + "=" + item.intent;
  return out;
}

std::string IntentShownAs(const std::string& menu_numbers, int number) {
  const std::string key = std::to_string(number) + "=";
  for (size_t at = 0; at < menu_numbers.size();) {
    size_t end = menu_numbers.find(',', at);
    if (end == std::string::npos) end = menu_numbers.size();
    if (menu_numbers.compare(at, key.size(), key) == 0) return menu_numbers.substr(at + key.size(), end - at - key.size());
    at = end + 1;
  }
  return "";
}

OutboundMessage MenuMessage(const Snapshot& c, const std::string& language) {
  OutboundMessage m;
  m.kind = OutboundMessage::Kind::kList;
  m.header = c.Message("menu_title", language);
  m.text = c.Message("menu_body", language);
  m.footer = c.Message("menu_footer", language);
  m.list_button = c.Message("menu_button", language);
  for (const auto& item : c.Menu(language))
    m.rows.push_back({"menu:" + item.intent, item.title, item.description, item.number});
  return m;
}

TurnOutput Converse(const Snapshot& c, const TurnInput& in) {
  TurnOutput out;
  out.state = in.state;
  ConversationState& st = out.state;
  const InboundMessage& msg = in.message;
  // IOM's questions interrupted by an urgent report are asked again once its intake questions
  // are done (st.pending = "<iom stage> <IOM case id>"). Dropped when that flow was left some other
  // way (a menu, "stop", asking for a person): a question weeks later out of nowhere would confuse.
  if (st.stage.rfind("intake_", 0) != 0 && st.stage != "consent") st.pending.clear();

  const bool textual = msg.kind == InboundKind::kText || msg.kind == InboundKind::kChoice;
  std::string text = msg.text;
  if (msg.kind == InboundKind::kChoice && !msg.payload_id.empty()) text = msg.payload_id;
  auto classify_text = [&]() {
    return in.text_decision ? *in.text_decision : c.classifier().Classify(msg.text);
  };
  if (textual && msg.kind == InboundKind::kText) out.decision = classify_text();
  // A caption (or any text that came with a photo, file, voice note or link) is text the person
  // wrote: an urgent caption must not be missed. A reaction's emoji, a system notice and a
  // location's place name ("Central Jail Peshawar" pinned on a map) are not.
  if (!textual && !msg.text.empty() && msg.kind != InboundKind::kReaction && msg.kind != InboundKind::kSystem &&
      msg.kind != InboundKind::kLocation)
    out.decision = classify_text();
  const intents::Decision& d = out.decision;

  // Language of the reply: an explicit choice, then a confident detection on a message with
  // substance, then what we knew, then the script.
  // A language the person chose stays until they choose another: "ok thanks" or "PoR کارت" from
  // someone who chose Dari is not a request for English. Only a message in Arabic script detected
  // as Dari or Pashto moves the reply to the language they write (a wrong choice is undone).
  std::string lang = st.language;
  if (!d.language.empty()) {
    auto n = intents::Normalize(text);
    const size_t words = n.ok() ? n->tokens.size() : 0;
    const bool arabic_script = n.ok() && n->arabic_letters > n->latin_letters;
    // An answer to the bot's question ("US-123456", "Toronto, Canada") is data, not a choice of
    // language: a Dari speaker's IOM questions went on in English after their case number.
    const bool may_switch = !AwaitsAnswer(st.stage) && (!st.language_chosen || (arabic_script && d.language != "en"));
    if (lang.empty() || (words >= 2 && d.language != lang && may_switch)) lang = d.language;
    if (d.language_certain && lang == d.language) st.language_known = true;
  }
  if (lang.empty()) lang = LanguageByScript(msg.text);
  // Someone whose language we only guessed ("salam kumak", "pulis aamad") must still understand
  // the safety reply: it goes in every language, like the welcome.
  const bool language_guessed = !st.language_known && !st.language_chosen;
  auto in_every_language = [&](auto text_in) -> std::string {
    if (!language_guessed) return text_in(lang);
    std::string all;
    for (const auto& l : content::kLanguages) {
      std::string t = text_in(l);
      if (t.empty()) continue;
      all += (all.empty() ? "" : "\n\n") + t;
    }
    return all.empty() ? text_in(lang) : all;
  };
  auto message_for_all = [&](const char* key) {
    return in_every_language([&](const std::string& l) { return c.Message(key, l); });
  };
  auto reply = [&](OutboundMessage m) { out.replies.push_back(std::move(m)); };
  bool about_pending = false;  // first contact with a real question: say who we are after the answer
  auto finish = [&]() -> TurnOutput& {
    st.language = lang;
    out.language = lang;
    for (const auto& r : out.replies)
      if (r.kind == OutboundMessage::Kind::kList && !r.rows.empty() && r.rows[0].id.rfind("menu:", 0) == 0)
        st.menu_shown = MenuNumbers(c.Menu(lang));
    if (about_pending) {
      std::string about = c.Message("about_line", lang);
      if (!about.empty() && !out.replies.empty() && out.replies.front().kind == OutboundMessage::Kind::kText)
        out.replies.front().text += "\n\n" + about;
      else if (!about.empty())
        out.replies.push_back(Text(about));
    }
    return out;
  };
  // The fallback with the menu as numbered text; a list menu is recorded in finish().
  auto fallback_with_menu = [&]() {
    st.menu_shown = MenuNumbers(c.Menu(lang));
    return c.Message("fallback", lang, {{"menu", MenuText(c, lang)}});
  };
  auto answer = [&](const std::string& intent) {
    std::string a = c.Answer(intent, lang);
    reply(Text(a.empty() ? fallback_with_menu() : a));
  };
  auto hand_off = [&](const std::string& queue, const std::string& priority, const std::string& intent) {
    out.open_case = CaseRequest{queue, priority, intent};
  };
  // A topic's answer, and the hand-off its queue asks for: the same whether the person typed the
  // question, typed its menu number or tapped its row (a menu pick of "moved to a new country"
  // promised IOM's questions and asked none).
  auto answer_and_route = [&](const std::string& intent) {
    out.answered_intent = intent;
    if (intent == "human_agent") {
      hand_off("info_desk", "normal", intent);
      return;
    }
    answer(intent);
    const std::string queue = c.QueueOf(intent);
    if (!queue.empty() && queue != "info_desk") {
      hand_off(queue, "normal", intent);
      if (intent == "relocated_case_transfer") {
        reply(Text(c.Message("iom_case_number", lang)));
        st.stage = "iom_case_number";
      }
    }
  };

  // 1. Urgent: safety first, always — except that an answer to an intake question of the urgent
  // case already open is recorded as the answer (the officer sees it; the safety reply was sent).
  // A message with its own safety answer (self-harm) is never taken as an intake answer.
  const bool answering_intake = st.stage.rfind("intake_", 0) == 0 && in.active_case && d.answer.empty() &&
                                in.active_case->queue == (d.queue.empty() ? "unhcr_protection" : d.queue);
  if (d.urgent && !answering_intake) {
    st.misses = 0;
    st.welcomed = true;
    // Asking for help ends an opt-out: the intake answers that follow must be heard.
    st.opted_out = false;
    st.erasure_offered = false;
    const std::string queue = d.queue.empty() ? "unhcr_protection" : d.queue;
    hand_off(queue, "urgent", d.intent);
    // The person has the full safety reply already (for an open case in any queue: where this one
    // is routed is decided later). Sent again on every message that names the police (an answer to
    // the officer's "which station?"), nine lines tell them nothing new: one line that the message
    // reached the officers, also while an officer talks to them (the officer may be off shift). A
    // message with its own safety answer (self-harm) still gets it.
    const std::string noted = message_for_all("intake_urgent_noted");
    if (in.safety_reply_sent && d.answer.empty() && !noted.empty()) {
      reply(Text(noted, /*urgent=*/true));
      return finish();
    }
    auto safety_reply = [&](const std::string& l) {
      std::string body = d.answer.empty() ? "" : c.Answer(d.answer, l);
      if (body.empty()) body = c.Answer(d.intent, l);
      const std::string safety = c.Message("safety_reply_prefix", l, {{"partner", PartnerName(c, l, in, queue)}});
      return safety.empty() ? body : safety + "\n\n" + body;
    };
    reply(Text(in_every_language(safety_reply), /*urgent=*/true));
    out.safety_reply = true;
    // At most three short intake questions, once per case; the person may skip them. Not while an
    // officer is talking to the person on another case: their answers to the officer would be
    // filed as intake answers (the protection officers read the conversation instead).
    const bool already_asked = in.active_case && in.active_case->queue == queue;
    const bool officer_talking = in.active_case && in.active_case->human_mode;
    if (!already_asked && !officer_talking && st.stage.rfind("intake_", 0) != 0) {
      if (st.stage.rfind("iom_", 0) == 0) st.pending = st.stage + " " + std::to_string(st.case_id);
      // Asked even when the message names a city: "they will deport us to Kabul", "they took him
      // to Peshawar jail" name where someone is taken, not where the person is (the case's
      // details list the cities named).
      reply(Text(in_every_language([&](const std::string& l) {
                   return c.Message("intake_city", l) + "\n" + c.Message("intake_skip_hint", l);
                 }),
                 true));
      st.stage = "intake_city";
    }
    return finish();
  }

  // Non-text messages: say kindly what we can read; an open case keeps them for the officer.
  if (!textual && d.intent == "unknown") {
    if (msg.kind == InboundKind::kReaction || msg.kind == InboundKind::kSystem) return finish();  // nothing to say
    // Messenger's like button and other stickers, once we have talked: a "thanks" (like a typed 👍),
    // not a message to be told "I can only read text".
    if (msg.kind == InboundKind::kSticker && st.welcomed) return finish();
    // A shared location answers "where are you now?" (a pinned place's name is in the text).
    if (msg.kind == InboundKind::kLocation && st.stage == "intake_city" && in.active_case && !in.active_case->human_mode) {
      char where[96];
      std::snprintf(where, sizeof where, "shared location %.5f, %.5f", msg.latitude, msg.longitude);
      out.case_fields.emplace_back("city", msg.text.empty() ? std::string(where) : msg.text + " (" + where + ")");
      reply(Text(message_for_all("intake_who")));
      st.stage = "intake_who";
      return finish();
    }
    if (in.active_case) {
      if (!in.active_case->human_mode)
        reply(Text(message_for_all("non_text_case_open")));
      return finish();
    }
    if (st.opted_out) return finish();
    // Someone who can only send voice notes (or photos) would hear "I can only read text" for
    // ever: at the second one, a person at the information desk listens to them.
    const bool media = msg.kind == InboundKind::kAudio || msg.kind == InboundKind::kImage ||
                       msg.kind == InboundKind::kVideo || msg.kind == InboundKind::kDocument;
    if (media && ++st.misses >= 2) {
      st.misses = 0;
      st.welcomed = true;
      if (st.stage == "awaiting_language") st.stage = "idle";
      out.answered_intent = "human_agent";
      hand_off("info_desk", "normal", "human_agent");
      // (Content from before this message existed has none: the hand-off notice alone then.)
      if (st.language.empty() && d.language.empty()) {
        // No language yet: the hand-off notice (in the pipeline) goes in English; say it in all three.
        if (const std::string all = JoinLanguages(c, "non_text_to_person"); !all.empty()) reply(Text(all));
        out.language = "";
        return out;
      }
      if (const std::string t = c.Message("non_text_to_person", lang); !t.empty()) reply(Text(t));
      return finish();
    }
    // A first message that is a voice note or a photo says nothing about the language: say it in
    // all three and keep the welcome and the language choice for their first text (a guessed
    // English stuck to someone who then wrote «سلام»).
    if (!st.welcomed && st.language.empty() && d.language.empty()) {
      reply(Text(JoinLanguages(c, "non_text")));
      out.language = "";
      return out;
    }
    reply(Text(c.Message("non_text", lang)));
    st.welcomed = true;
    return finish();
  }

  const int number = ParseNumber(text);
  const bool menu_word = number == 0 || c.IsWord("menu_words", "", text) || text == "menu";
  // "You will get no more messages… Reply DELETE to delete your data": a later DELETE erases.
  auto confirm_opt_out = [&]() -> TurnOutput& {
    reply(Text(c.Message(in.active_case ? "opt_out_case_open" : "opt_out_confirm", lang)));
    st.erasure_offered = true;
    return finish();
  };
  auto show_menu = [&]() -> TurnOutput& {
    st.erasure_offered = false;
    st.stage = "idle";
    st.misses = 0;
    st.welcomed = true;
    reply(MenuMessage(c, lang));
    return finish();
  };

  // "DELETE", as we told them to reply, erases: also after another message in between ("stop",
  // a question, then "delete" got the opt-out text again, and only a second "delete" erased).
  // Not while an officer talks to them ("پاک" is also "clean", "pak" also Pakistan): armed only
  // until they come back through the menu or report a threat.
  const bool officer_talking_now = in.active_case && in.active_case->human_mode;
  if ((st.opted_out || (st.erasure_offered && !officer_talking_now)) && c.IsWord("delete_words", "", text)) {
    reply(Text(c.Message("erasure_done", lang)));
    out.erase = true;
    return finish();
  }
  // Opted out: silence, unless they come back through the menu or ask to delete.
  if (st.opted_out) {
    if (menu_word) {
      st.opted_out = false;
      st.erasure_offered = false;
      st.stage = "idle";
      reply(MenuMessage(c, lang));
      return finish();
    }
    // Asking, in words, to stop or to delete again: how to delete, once more (it was silence).
    if (textual && d.intent == "opt_out") return confirm_opt_out();
    // A tap on a row or button of an earlier menu ("talk to a person") is coming back too, and so
    // is a question we can answer or a request for a person in their own words: each is answered
    // as it is. A greeting, thanks or anything unclear stays unanswered.
    const bool tap = msg.kind == InboundKind::kChoice && msg.payload_id.rfind("menu:", 0) == 0;
    const bool asks = textual && Substantive(d.intent) && !d.asks_to_stop;
    if (!tap && !asks) return finish();
    st.opted_out = false;
    st.stage = "idle";
  }

  // 3. Human mode: the officer answers; the bot only brings the menu back when asked.
  if (in.active_case && in.active_case->human_mode) {
    if (menu_word) {
      out.bot_back = true;
      st.stage = "idle";
      reply(Text(c.Message("bot_back", lang)));
      reply(MenuMessage(c, lang));
    }
    return finish();
  }

  // 2. Structured answers.
  if (msg.payload_id.rfind("lang:", 0) == 0 || (st.stage == "awaiting_language" && number >= 1 && number <= 3)) {
    std::string chosen = msg.payload_id.rfind("lang:", 0) == 0 ? msg.payload_id.substr(5) : "";
    for (const auto& [n, l] : kLanguageChoices)
      if (number >= 1 && std::to_string(number) == n) chosen = l;
    if (!chosen.empty()) {
      lang = chosen;
      st.language_chosen = true;
      st.language_known = true;
      st.stage = "idle";
      st.misses = 0;
      reply(Text(c.Message("language_set", lang)));
      reply(MenuMessage(c, lang));
      return finish();
    }
  }
  if (msg.payload_id.rfind("menu:", 0) == 0) {
    const std::string intent = msg.payload_id.substr(5);
    st.stage = "idle";
    st.misses = 0;
    answer_and_route(intent);
    return finish();
  }
  // Intake answers (urgent cases) and the IOM case-transfer questions.
  auto is_skip = [&]() { return c.IsWord("skip_words", "", text); };
  auto answer_text = [&]() { return is_skip() ? std::string("(skipped)") : msg.text; };
  // Back to the IOM question an urgent report interrupted, on the IOM case.
  auto resume_interrupted = [&]() {
    const size_t space = st.pending.find(' ');
    if (space == std::string::npos) return;
    const std::string stage = st.pending.substr(0, space);
    const int64_t case_id = std::strtoll(st.pending.c_str() + space + 1, nullptr, 10);
    st.pending.clear();
    const std::string question = c.Message(stage, lang);
    if (stage.rfind("iom_", 0) != 0 || case_id <= 0 || question.empty()) return;
    reply(Text(question));
    st.stage = stage;
    st.case_id = case_id;
  };
  auto ask_consent_or_idle = [&]() {
    if (in.active_case && in.active_case->partner_webhook && in.active_case->consent == "unknown") {
      reply(Text(c.Message("consent_question", lang, {{"partner", in.active_case->partner}})));
      out.consent = "asked";
      st.stage = "consent";
    } else {
      st.stage = "idle";
      resume_interrupted();
    }
  };
  if (st.stage.rfind("intake_", 0) == 0 || st.stage.rfind("iom_", 0) == 0) {
    if (menu_word) {
      st.stage = "idle";
      reply(MenuMessage(c, lang));
      return finish();
    }
    if (d.intent == "opt_out") st.stage = "idle";  // "stop" is never taken as an answer
    if ((d.intent == "human_agent" || d.asks_for_person) && in.active_case) {
      // Someone asking for a person is not answering a form: the case's officer is that person.
      st.stage = "idle";
      reply(Text(c.Message("case_open_waiting", lang)));
      return finish();
    }
  }
  // A new threat written while answering the intake questions is recorded as the answer (the
  // officer reads it there and in the conversation), and the person is told it was heard.
  auto acknowledge_if_urgent = [&]() {
    if (d.urgent && !d.urgent_from_model) reply(Text(message_for_all("intake_urgent_noted"), /*urgent=*/true));
  };
  // A question asked instead of an answer ("what happens to my PoR card now?") is answered and the
  // bot's question asked again: filed as their city, it was answered by nobody.
  auto asks_a_question = [&]() {
    const bool marked = text.find('?') != std::string::npos || text.find("\u061F") != std::string::npos;
    return marked && !d.urgent && Substantive(d.intent) && d.intent != "human_agent" && d.intent != "opt_out" &&
           c.QueueOf(d.intent).empty() &&  // a topic with its own hand-off (IOM) is not answered half-way here
           !c.Answer(d.intent, lang).empty();
  };
  if ((st.stage.rfind("intake_", 0) == 0 || st.stage.rfind("iom_", 0) == 0) && asks_a_question()) {
    out.answered_intent = d.intent;
    answer(d.intent);
    const std::string again = c.Message(st.stage, lang);
    if (!again.empty()) reply(Text(again));
    return finish();
  }
  if (st.stage.rfind("intake_", 0) == 0 || st.stage.rfind("iom_", 0) == 0) {
    if (st.stage == "intake_city") {
      out.case_fields.emplace_back("city", answer_text());
      acknowledge_if_urgent();
      reply(Text(message_for_all("intake_who")));
      st.stage = "intake_who";
      return finish();
    }
    if (st.stage == "intake_who") {
      const char* who[] = {"", "self", "family", "child"};
      out.case_fields.emplace_back("at_risk", number >= 1 && number <= 3 ? std::string(who[number]) : answer_text());
      acknowledge_if_urgent();
      reply(Text(message_for_all("intake_detained")));
      st.stage = "intake_detained";
      return finish();
    }
    if (st.stage == "intake_detained") {
      std::string v = answer_text();
      if (number == 1 || c.IsWord("yes_words", "", text)) v = "yes";
      else if (number == 2 || c.IsWord("no_words", "", text)) v = "no";
      out.case_fields.emplace_back("detained_now", v);
      acknowledge_if_urgent();
      reply(Text(message_for_all("intake_done")));
      ask_consent_or_idle();
      return finish();
    }
    if (st.stage == "iom_case_number") {
      out.case_fields.emplace_back("case_number", answer_text());
      reply(Text(c.Message("iom_location", lang)));
      st.stage = "iom_location";
      return finish();
    }
    if (st.stage == "iom_location") {
      out.case_fields.emplace_back("current_location", answer_text());
      reply(Text(c.Message("iom_contact", lang)));
      st.stage = "iom_contact";
      return finish();
    }
    if (st.stage == "iom_contact") {
      out.case_fields.emplace_back("contact", answer_text());
      reply(Text(c.Message("iom_done", lang, {{"partner", PartnerName(c, lang, in, "iom")}})));
      ask_consent_or_idle();
      return finish();
    }
  }
  if (st.stage == "consent") {
    if (number == 1 || c.IsWord("yes_words", "", text)) {
      out.consent = "yes";
      st.stage = "idle";
      reply(Text(c.Message("consent_yes", lang)));
      resume_interrupted();
      return finish();
    }
    if (number == 2 || c.IsWord("no_words", "", text)) {
      out.consent = "no";
      st.stage = "idle";
      reply(Text(c.Message("consent_no", lang)));
      resume_interrupted();
      return finish();
    }
    st.stage = "idle";  // not an answer: carry on; the question stays asked, never forced
  }
  // The "talk to a person" button hands over whenever it is tapped, also from an older offer.
  if (msg.payload_id == "human:yes" && !in.active_case) {
    st.stage = "idle";
    st.misses = 0;
    out.answered_intent = "human_agent";
    hand_off("info_desk", "normal", "human_agent");
    return finish();
  }
  if (st.stage == "offered_human") {
    if (number == 1 || c.IsWord("yes_words", "", text)) {
      st.stage = "idle";
      st.misses = 0;
      hand_off("info_desk", "normal", "human_agent");
      return finish();
    }
    // Messenger shows the offer as a numbered list: "2. Menu" (WhatsApp shows buttons, and a "2"
    // there is the menu's second topic, listed in the fallback before).
    const bool messenger_menu = number == 2 && msg.channel == Channel::kMessenger;
    st.stage = "idle";  // anything else: carry on as a normal message
    if (messenger_menu) return show_menu();
  }

  if (menu_word) return show_menu();
  if (number >= 1 && st.welcomed) {
    // The topic the number had on the menu the person saw while its answer still exists, else the
    // topic it has on the menu of now.
    std::string picked = IntentShownAs(st.menu_shown, number);
    if (!picked.empty() && picked != "human_agent" && c.Answer(picked, lang).empty()) picked.clear();
    for (const auto& item : c.Menu(lang))
      if (picked.empty() && item.number == number) picked = item.intent;
    if (!picked.empty()) {
      st.misses = 0;
      st.stage = "idle";
      answer_and_route(picked);
      return finish();
    }
  }

  // An open case: a greeting, a request for a person or a message we do not understand ("any
  // news?") gets where the case stands, not the welcome, the fallback menu or silence.
  if (in.active_case && st.welcomed &&
      (d.intent == "unknown" || d.intent == "greeting" || d.intent == "human_agent")) {
    st.misses = 0;
    if (st.stage == "awaiting_language") st.stage = "idle";
    reply(Text(c.Message("case_open_waiting", lang)));
    return finish();
  }

  // 4. First contact.
  const std::string& intent = d.intent;
  const bool substantive = Substantive(intent);
  bool first_contact = false;
  if (!st.welcomed) {
    st.welcomed = true;
    if (!substantive) {
      reply(Text(JoinLanguages(c, "welcome")));
      reply(Text(JoinLanguages(c, "language_prompt")));
      st.stage = "awaiting_language";
      return finish();
    }
    // A question we understood is answered at once (below), with one line on who we are.
    first_contact = true;
  }
  about_pending = first_contact;

  // 5. Intents.
  if (intent == "unknown") {
    ++st.misses;
    if (st.misses >= 2) {
      st.stage = "offered_human";
      OutboundMessage offer;
      offer.kind = OutboundMessage::Kind::kButtons;
      offer.text = c.Message("fallback_offer_human", lang);
      offer.buttons = {{"human:yes", c.Message("human_button_yes", lang)},
                       {"menu", c.Message("human_button_menu", lang)}};
      if (offer.buttons[0].title.empty() || offer.buttons[1].title.empty()) offer.kind = OutboundMessage::Kind::kText;
      reply(offer);
    } else {
      reply(Text(fallback_with_menu()));
    }
    return finish();
  }
  st.misses = 0;
  if (st.stage == "awaiting_language") st.stage = "idle";  // a question answered: "2" is the menu's now
  if (intent == "language_choice") {
    std::string detected = d.language.empty() ? lang : d.language;
    // "Dari please" written in English asks for Dari: the words name the language.
    for (const auto& [key, l] : std::vector<std::pair<std::string, std::string>>{
             {"dari", "prs"}, {"دری", "prs"}, {"farsi", "prs"}, {"فارسی", "prs"}, {"pashto", "ps"},
             {"پښتو", "ps"}, {"پشتو", "ps"}, {"pushto", "ps"}, {"english", "en"}, {"انگلیسی", "en"}, {"انګلیسي", "en"}}) {
      if (intents::KeyOf(text).find(intents::KeyOf(key)) != std::string::npos) detected = l;
    }
    lang = detected;
    st.language_chosen = true;
    st.language_known = true;
    reply(Text(c.Message("language_set", lang)));
    reply(MenuMessage(c, lang));
    return finish();
  }
  if (intent == "opt_out") {
    st.opted_out = true;
    return confirm_opt_out();
  }
  answer_and_route(intent);
  // "Can I talk to a person about my letter?": the answer, and the person too (the request was lost).
  // With a case open, its officer is that person: the answer, and the case's own news.
  if (d.asks_for_person && !out.open_case) {
    if (in.active_case) reply(Text(c.Message("case_open_waiting", lang)));
    else hand_off("info_desk", "normal", "human_agent");
  }
  return finish();
}

}  // namespace bot::conversation
