// What an officer needs pulled out of free text: the city, phone numbers, USRAP case numbers
// and dates — in Latin, Dari and Pashto spellings, with any digits.
#ifndef INTENTS_ENTITIES_H_
#define INTENTS_ENTITIES_H_

#include <string>
#include <string_view>
#include <vector>

namespace bot::intents {

struct Entities {
  std::vector<std::string> cities;        // canonical English names: "Peshawar"
  std::vector<std::string> phones;        // digits only, with a leading + when given
  std::vector<std::string> case_numbers;  // as written, upper-cased: "AF-1234567"
  std::vector<std::string> dates;         // ISO when the text had a full date, else as written
  bool empty() const { return cities.empty() && phones.empty() && case_numbers.empty() && dates.empty(); }
};

Entities ExtractEntities(std::string_view text);

// Whether `key`, one word in normalised key form, names a place people write from: a city above,
// or a neighbourhood the examples mention. Where someone is says nothing about a threat.
bool IsPlaceWord(const std::string& key);

}  // namespace bot::intents

#endif  // INTENTS_ENTITIES_H_
