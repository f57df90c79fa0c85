// Entity extraction on the normalised text (digits already ASCII, letters folded).
#include "intents/entities.h"

#include <re2/re2.h>

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "intents/normalizer.h"

namespace bot::intents {
namespace {

// Cities where Afghans in Pakistan (and returnees) write from; key-form spellings per script.
const std::vector<std::pair<std::string, std::vector<std::string>>>& Cities() {
  static const auto* kCities = new std::vector<std::pair<std::string, std::vector<std::string>>>{
      {"Islamabad", {"islamabad", "isb", "اسلام اباد", "اسلاماباد"}},
      {"Rawalpindi", {"rawalpindi", "pindi", "راولپندی", "پندی"}},
      {"Peshawar", {"peshawar", "pishawar", "پشاور", "پیشور", "پېښور", "پیشاور"}},
      {"Karachi", {"karachi", "کراچی"}},
      {"Quetta", {"quetta", "kwata", "کویته", "کوته"}},
      {"Lahore", {"lahore", "lahor", "لاهور"}},
      {"Attock", {"attock", "اتک"}},
      {"Nowshera", {"nowshera", "نوشهره", "نوښار"}},
      {"Mardan", {"mardan", "مردان"}},
      {"Haripur", {"haripur", "هری پور", "هریپور"}},
      {"Chaman", {"chaman", "چمن"}},
      {"Torkham", {"torkham", "تورخم"}},
      {"Kabul", {"kabul", "کابل"}},
      {"Jalalabad", {"jalalabad", "جلال اباد", "جلالاباد"}},
      {"Kandahar", {"kandahar", "قندهار", "کندهار"}},
      {"Herat", {"herat", "هرات"}},
      {"Mazar-i-Sharif", {"mazar", "مزار"}},
  };
  return *kCities;
}

void AddUnique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

}  // namespace

bool IsPlaceWord(const std::string& key) {
  static const auto* kPlaces = [] {
    auto* set = new std::unordered_set<std::string>;
    auto add = [set](std::string_view spelling) {
      const std::string k = KeyOf(spelling);
      if (!k.empty() && k.find(' ') == std::string::npos) set->insert(k);
    };
    for (const auto& [name, spellings] : Cities())
      for (const auto& s : spellings) add(s);
    // An Islamabad neighbourhood named in a report of an arrest (locales/examples/fresh.jsonl):
    // a message naming it is not urgent for that.
    for (const char* s : {"tarnol", "ترنول"}) add(s);
    return set;
  }();
  return kPlaces->count(key) > 0;
}

Entities ExtractEntities(std::string_view text) {
  Entities e;
  auto n = Normalize(text);
  if (!n.ok()) return e;
  // Each city's spellings in key form, padded with spaces, computed once (computed per message,
  // they took about a tenth of a turn's time).
  static const auto* kCityKeys = [] {
    auto* keys = new std::vector<std::pair<std::string, std::vector<std::string>>>;
    for (const auto& [name, spellings] : Cities()) {
      auto& [city, padded_keys] = keys->emplace_back(name, std::vector<std::string>{});
      for (const auto& s : spellings)
        if (std::string k = KeyOf(s); !k.empty()) padded_keys.push_back(" " + k + " ");
    }
    return keys;
  }();
  const std::string padded = " " + n->key + " ";
  for (const auto& [name, padded_keys] : *kCityKeys) {
    for (const auto& k : padded_keys) {
      if (padded.find(k) != std::string::npos) {
        AddUnique(e.cities, name);
        break;
      }
    }
  }
  // Phone numbers: Pakistani (03xx…, +92…, 0092…) and Afghan (07x…, +93…); digits may be
  // grouped with spaces or dashes. The clean form keeps '+' and '-'.
  static const RE2 kPhone(R"((\+?\d[\d\- ]{8,16}\d))");
  re2::StringPiece input(n->clean);
  std::string match;
  while (RE2::FindAndConsume(&input, kPhone, &match)) {
    std::string digits;
    for (char c : match)
      if ((c >= '0' && c <= '9') || (c == '+' && digits.empty())) digits.push_back(c);
    const size_t d = digits.size() - (digits[0] == '+' ? 1 : 0);
    if (d >= 10 && d <= 13) AddUnique(e.phones, digits);
  }
  // USRAP case numbers: two letters, optional dash, 6–8 digits (AF-1234567), or "case" followed by digits.
  static const RE2 kCase(R"((?i)\b([a-z]{2})[\- ]?(\d{6,8})\b)");
  input = re2::StringPiece(n->clean);
  std::string letters, digits;
  while (RE2::FindAndConsume(&input, kCase, &letters, &digits)) {
    std::transform(letters.begin(), letters.end(), letters.begin(), ::toupper);
    AddUnique(e.case_numbers, letters + "-" + digits);
  }
  static const RE2 kCaseWord(R"((?i)(?:case|کیس|قضیه|پرونده)\D{0,12}(\d{5,10}))");
  input = re2::StringPiece(n->clean);
  while (RE2::FindAndConsume(&input, kCaseWord, &digits)) {
    bool known = false;
    for (const auto& c : e.case_numbers) known = known || c.find(digits) != std::string::npos;
    if (!known) AddUnique(e.case_numbers, digits);
  }
  // Dates: 2025-06-30, 30/06/2025, 30.6.2025, 30-06-25.
  static const RE2 kIso(R"(\b(\d{4})-(\d{1,2})-(\d{1,2})\b)");
  static const RE2 kDmy(R"(\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b)");
  std::string a, b, c;
  input = re2::StringPiece(n->clean);
  while (RE2::FindAndConsume(&input, kIso, &a, &b, &c)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s-%02d-%02d", a.c_str(), std::stoi(b), std::stoi(c));
    AddUnique(e.dates, buf);
  }
  input = re2::StringPiece(n->clean);
  while (RE2::FindAndConsume(&input, kDmy, &a, &b, &c)) {
    int day = std::stoi(a), month = std::stoi(b), year = std::stoi(c);
    if (year < 100) year += 2000;
    if (day < 1 || day > 31 || month < 1 || month > 12) continue;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
    AddUnique(e.dates, buf);
  }
  return e;
}

}  // namespace bot::intents
