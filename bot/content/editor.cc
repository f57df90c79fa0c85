// Content items, CSV and upgrades.
#include "bot/content/editor.h"

#include <set>
#include <sstream>

namespace bot::content {

Status SetItem(nlohmann::json& doc, const std::string& key, const nlohmann::json& value);

namespace {

using json = nlohmann::json;

// Operators' files are semi-trusted: every field is read with its type checked, never with
// nlohmann's value(), which throws on a non-object or a wrong type (content fuzzer findings).
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

json& Ensure(json& j, const std::string& k, json init = json::object()) {
  if (!j.contains(k) || j[k].is_null()) j[k] = init;
  return j[k];
}

// Arrays of objects with "id" are edited by id.
void SetInArray(json& arr, const std::string& id, const json& value) {
  for (auto it = arr.begin(); it != arr.end(); ++it) {
    if (Str(*it, "id") == id) {
      if (value.is_null()) arr.erase(it);
      else *it = value;
      return;
    }
  }
  if (!value.is_null()) arr.push_back(value);
}


std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += "\"\"";
    else out.push_back(c);
  }
  return out + "\"";
}

Result<std::vector<std::vector<std::string>>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, in_field = false;
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !in_field) {
      quoted = true;
      in_field = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      in_field = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(field);
      field.clear();
      in_field = false;
      rows.push_back(row);
      row.clear();
      ++line;
    } else {
      if (in_field && field.empty() && quoted) {}
      field.push_back(c);
      in_field = true;
    }
  }
  if (quoted) return Status::InvalidArgument("CSV: a quoted field is not closed (from line " + std::to_string(line) + ")");
  if (in_field || !row.empty()) {
    row.push_back(field);
    rows.push_back(row);
  }
  return rows;
}

// The translatable texts of a language-keyed item: answer/<intent>, message/<key>, menu/<intent>/title…
struct TextRow {
  std::string key;  // without the language: "answer/por_card", "message/welcome", "menu/por_card/title"
  std::map<std::string, std::string> by_lang;
};

std::vector<TextRow> TextRows(const json& doc) {
  std::map<std::string, TextRow> rows;
  for (const auto& lang : kLanguages) {
    const json& answers = doc.contains("answers") && doc["answers"].contains(lang) ? doc["answers"][lang] : json::object();
    for (const auto& [intent, a] : answers.items()) {
      auto& r = rows["answer/" + intent];
      r.key = "answer/" + intent;
      r.by_lang[lang] = a.is_string() ? a.get<std::string>() : Str(a, "text");
    }
    const json& m = doc.contains("messages") && doc["messages"].contains(lang) ? doc["messages"][lang] : json::object();
    if (m.contains("messages"))
      for (const auto& [key, v] : m["messages"].items()) {
        if (!v.is_string()) continue;
        auto& r = rows["message/" + key];
        r.key = "message/" + key;
        r.by_lang[lang] = v.get<std::string>();
      }
    if (m.contains("menu"))
      for (const auto& [intent, v] : m["menu"].items())
        for (const char* part : {"title", "description"}) {
          auto& r = rows["menu/" + intent + "/" + part];
          r.key = "menu/" + intent + "/" + part;
          r.by_lang[lang] = Str(v, part);
        }
  }
  std::vector<TextRow> out;
  for (auto& [k, r] : rows) out.push_back(std::move(r));
  return out;
}

}  // namespace

std::map<std::string, json> FlattenUnchecked(const json& doc) {
  std::map<std::string, json> items;
  if (!doc.is_object()) return items;
  for (const char* arr : {"intents", "facts", "sources", "rules"}) {
    const std::string prefix = std::string(arr) == "intents" ? "intent" : std::string(arr) == "facts" ? "fact"
                               : std::string(arr) == "sources" ? "source" : "rule";
    if (doc.contains(arr) && doc[arr].is_array())
      for (const auto& e : doc[arr])
        if (e.is_object()) items[prefix + "/" + Str(e, "id")] = e;
  }
  if (doc.contains("answers"))
    for (const auto& [lang, answers] : doc["answers"].items())
      for (const auto& [intent, a] : answers.items()) items["answer/" + lang + "/" + intent] = a;
  if (doc.contains("messages"))
    for (const auto& [lang, m] : doc["messages"].items()) {
      for (const auto& [key, v] : m.items()) {
        if (key == "messages") {
          for (const auto& [k2, v2] : v.items()) items["message/" + lang + "/" + k2] = v2;
        } else if (key == "menu") {
          for (const auto& [k2, v2] : v.items()) items["menu/" + lang + "/" + k2] = v2;
        } else {
          items["words/" + lang + "/" + key] = v;
        }
      }
    }
  if (doc.contains("lexicon"))
    for (const auto& [lang, words] : doc["lexicon"].items()) items["lexicon/" + lang] = words;
  if (doc.contains("engine")) items["engine"] = doc["engine"];
  if (doc.contains("examples")) items["examples"] = doc["examples"];
  if (doc.contains("templates")) items["templates"] = doc["templates"];
  return items;
}

json GetItem(const json& doc, const std::string& key) {
  auto items = Flatten(doc);
  auto it = items.find(key);
  return it == items.end() ? json(nullptr) : it->second;
}

Status SetItemUnchecked(json& doc, const std::string& key, const json& value) {
  auto parts = Split(key, '/');
  if (parts.empty()) return Status::InvalidArgument("empty item key");
  const std::string& kind = parts[0];
  auto bad = [&] { return Status::InvalidArgument("unknown item \"" + key + "\""); };
  auto lang_ok = [&](const std::string& l) { return std::find(kLanguages.begin(), kLanguages.end(), l) != kLanguages.end(); };
  if ((kind == "intent" || kind == "fact" || kind == "source" || kind == "rule") && parts.size() == 2 && !parts[1].empty()) {
    const std::string arr = kind == "intent" ? "intents" : kind == "fact" ? "facts" : kind == "source" ? "sources" : "rules";
    if (!value.is_null() && (!value.is_object() || Str(value, "id") != parts[1]))
      return Status::InvalidArgument(kind + " " + parts[1] + ": the value must be an object with \"id\": \"" + parts[1] + "\"");
    SetInArray(Ensure(doc, arr, json::array()), parts[1], value);
    if (kind == "intent" && value.is_null()) {
      // An intent goes with its answers, rules and menu entries.
      for (const auto& lang : kLanguages) {
        if (doc.contains("answers") && doc["answers"].contains(lang)) doc["answers"][lang].erase(parts[1]);
        if (doc.contains("messages") && doc["messages"].contains(lang) && doc["messages"][lang].contains("menu"))
          doc["messages"][lang]["menu"].erase(parts[1]);
      }
      if (doc.contains("rules") && doc["rules"].is_array()) {
        json kept = json::array();
        for (const auto& r : doc["rules"])
          if (Str(r, "intent") != parts[1]) kept.push_back(r);
        doc["rules"] = kept;
      }
    }
    return Status::Ok();
  }
  if (kind == "answer" && parts.size() == 3 && lang_ok(parts[1])) {
    json& a = Ensure(Ensure(doc, "answers"), parts[1]);
    if (value.is_null()) a.erase(parts[2]);
    else a[parts[2]] = value;
    return Status::Ok();
  }
  if ((kind == "message" || kind == "menu" || kind == "words") && parts.size() == 3 && lang_ok(parts[1])) {
    json& m = Ensure(Ensure(doc, "messages"), parts[1]);
    json& target = kind == "message" ? Ensure(m, "messages") : kind == "menu" ? Ensure(m, "menu") : m;
    if (value.is_null()) target.erase(parts[2]);
    else target[parts[2]] = value;
    return Status::Ok();
  }
  if (kind == "lexicon" && parts.size() == 2 && lang_ok(parts[1])) {
    Ensure(doc, "lexicon")[parts[1]] = value.is_null() ? json::object() : value;
    return Status::Ok();
  }
  if ((kind == "engine" || kind == "templates" || kind == "examples") && parts.size() == 1) {
    if (value.is_null()) doc.erase(kind);
    else doc[kind] = value;
    return Status::Ok();
  }
  return bad();
}

std::string ExportCsvUnchecked(const json& doc) {
  std::string out = "key,en,prs,ps\n";
  for (const auto& row : TextRows(doc)) {
    out += CsvField(row.key);
    for (const auto& lang : kLanguages) {
      auto it = row.by_lang.find(lang);
      out += "," + CsvField(it == row.by_lang.end() ? "" : it->second);
    }
    out += "\n";
  }
  return out;
}

Result<json> ImportCsvUnchecked(const json& base, const std::string& csv_file) {
  // Excel's "CSV UTF-8" (what the error below asks translators to save as) starts with a BOM.
  const std::string_view bom = "\xEF\xBB\xBF";
  const std::string csv = csv_file.compare(0, bom.size(), bom) == 0 ? csv_file.substr(bom.size()) : csv_file;
  auto rows = ParseCsv(csv);
  if (!rows.ok()) return rows.status();
  if (rows->empty() || (*rows)[0].size() != 4 || (*rows)[0][0] != "key" || (*rows)[0][1] != "en" ||
      (*rows)[0][2] != "prs" || (*rows)[0][3] != "ps")
    return Status::InvalidArgument("CSV: the first line must be key,en,prs,ps");
  json doc = base;
  for (size_t i = 1; i < rows->size(); ++i) {
    const auto& r = (*rows)[i];
    if (r.size() == 1 && r[0].empty()) continue;
    const std::string where = "CSV line " + std::to_string(i + 1) + ": ";
    if (r.size() != 4) return Status::InvalidArgument(where + "expected 4 columns, found " + std::to_string(r.size()));
    auto parts = Split(r[0], '/');
    for (size_t l = 0; l < kLanguages.size(); ++l) {
      const std::string& lang = kLanguages[l];
      const std::string& text = r[l + 1];
      if (parts.size() == 2 && parts[0] == "answer") {
        json a = GetItem(doc, "answer/" + lang + "/" + parts[1]);
        if (text.empty() && a.is_null()) continue;
        if (!a.is_object()) a = json::object();
        a["text"] = text;
        BOT_RETURN_IF_ERROR(SetItem(doc, "answer/" + lang + "/" + parts[1], a));
      } else if (parts.size() == 2 && parts[0] == "message") {
        if (text.empty() && GetItem(doc, "message/" + lang + "/" + parts[1]).is_null()) continue;
        BOT_RETURN_IF_ERROR(SetItem(doc, "message/" + lang + "/" + parts[1], text));
      } else if (parts.size() == 3 && parts[0] == "menu" && (parts[2] == "title" || parts[2] == "description")) {
        json m = GetItem(doc, "menu/" + lang + "/" + parts[1]);
        if (text.empty() && m.is_null()) continue;
        if (!m.is_object()) m = json::object();
        m[parts[2]] = text;
        BOT_RETURN_IF_ERROR(SetItem(doc, "menu/" + lang + "/" + parts[1], m));
      } else {
        return Status::InvalidArgument(where + "unknown key \"" + r[0] + "\"");
      }
    }
  }
  return doc;
}

// The public entry points fence off nlohmann's exceptions: a malformed document is an error
// value, never an exception crossing into the server.
std::map<std::string, json> Flatten(const json& doc) {
  try {
    return FlattenUnchecked(doc);
  } catch (const json::exception&) {
    return {};
  }
}

Status SetItem(json& doc, const std::string& key, const json& value) {
  // Item keys become JSON object keys: ids of letters, digits, _ . - only (a key with
  // invalid UTF-8 from a URL made the next dump() throw; found by the content fuzzer).
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == '-' || c == '/'))
      return Status::InvalidArgument("item keys are made of letters, digits, _ . - and /: \"" + key + "\" is not");
  try {
    return SetItemUnchecked(doc, key, value);
  } catch (const json::exception& e) {
    return Status::InvalidArgument("cannot set " + key + ": the document around it has the wrong shape (" + e.what() + ")");
  }
}

std::string ExportCsv(const json& doc) {
  try {
    return ExportCsvUnchecked(doc);
  } catch (const json::exception&) {
    return "key,en,prs,ps\n";
  }
}

bool IsValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    if (n == 2 && c < 0xC2) return false;  // overlong
    i += n;
  }
  return true;
}

Result<json> ImportCsv(const json& base, const std::string& csv) {
  if (!IsValidUtf8(csv)) return Status::InvalidArgument("CSV: the file is not UTF-8 (save it as \"CSV UTF-8\")");
  try {
    return ImportCsvUnchecked(base, csv);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("CSV: ") + e.what());
  }
}

std::vector<RegressionFailure> CheckRegressions(const Snapshot& snapshot, const std::vector<RegressionExample>& examples) {
  std::vector<RegressionFailure> out;
  for (const auto& e : examples) {
    auto d = snapshot.classifier().Classify(e.text);
    if (d.intent != e.intent || (e.urgent && !d.urgent)) out.push_back({e, d.intent, d.urgent});
  }
  return out;
}

UpgradeResult MergeShippedUpgrade(const json& before, const json& now, const json& current) {
  UpgradeResult r;
  r.document = current;
  auto b = Flatten(before), n = Flatten(now), c = Flatten(current);
  std::set<std::string> keys;
  for (const auto& [k, v] : b) keys.insert(k);
  for (const auto& [k, v] : n) keys.insert(k);
  for (const auto& key : keys) {
    const json vb = b.count(key) ? b[key] : json(nullptr);
    const json vn = n.count(key) ? n[key] : json(nullptr);
    const json vc = c.count(key) ? c[key] : json(nullptr);
    if (vb == vn) continue;       // the release did not change it
    if (vc == vn) continue;       // already the same
    if (vc == vb) {               // nobody touched it here: take the release's
      (void)SetItem(r.document, key, vn);
      r.applied.push_back(key);
    } else {
      r.conflicts.push_back({key, vb, vn, vc});
    }
  }
  return r;
}

}  // namespace bot::content
