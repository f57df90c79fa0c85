// Issue #3: the normalisation pipeline, one test per thing people actually type.
#include "intents/normalizer.h"

#include <gtest/gtest.h>

#include <vector>

#include "intents/entities.h"

namespace bot::intents {
namespace {

std::string Key(const std::string& s) { return KeyOf(s); }
std::string Clean(const std::string& s) {
  auto n = Normalize(s);
  return n.ok() ? n->clean : "<error>";
}

TEST(NormalizerTest, ArabicAndPersianYehAndKafFoldToPersianLetters) {
  EXPECT_EQ(Key("كارت مهاجرت"), Key("کارت مهاجرت"));
  EXPECT_EQ(Key("ميخواهم"), Key("میخواهم"));
  EXPECT_EQ(Key("ى"), "ی");
  // The clean form keeps what was typed: Pashto ي and ی are different letters.
  EXPECT_EQ(Clean("سړي"), "سړي");
}

TEST(NormalizerTest, PashtoLettersFoldToTheirPersianKeyboardApproximations) {
  EXPECT_EQ(Key("ګ"), Key("گ"));
  EXPECT_EQ(Key("ښځه"), Key("شزه"));
  EXPECT_EQ(Key("ړ ټ ډ ڼ ږ"), Key("ر ت د ن ژ"));
  EXPECT_EQ(Key("ې ۍ"), Key("ی ی"));
  EXPECT_EQ(Key("کارډ"), Key("کارد"));
  EXPECT_EQ(Key("پاسپورټ"), Key("پاسپورت"));
}

TEST(NormalizerTest, HehVariantsAndTehMarbutaFold) {
  EXPECT_EQ(Key("ة ۀ ہ ھ"), Key("ه ه ه ه"));
  EXPECT_EQ(Clean("خانه\u0654"), "خانۀ");  // heh + hamza above composes
}

TEST(NormalizerTest, TatweelAndHarakatAreRemoved) {
  EXPECT_EQ(Clean("ســـلام"), "سلام");
  EXPECT_EQ(Clean("سَلام مُهاجِر حقّ فوراً"), "سلام مهاجر حق فورا");
}

TEST(NormalizerTest, ZwnjSpaceOrNothingInsideWordsGiveOneKey) {
  EXPECT_EQ(Key("می‌خواهم"), Key("میخواهم"));
  EXPECT_EQ(Clean("می‌خواهم"), "می‌خواهم");  // the clean form keeps the ZWNJ
  auto spaced = Normalize("می خواهم");
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(spaced->tokens.size(), 2u);  // the matcher joins split words (ClassifierTest)
}

// Some keyboards put a ZWNJ where a space belongs: «پولیس‌برادرم‌را‌گرفت» was one unknown word
// and no threat (an exploratory tester). Between two words it is a space; before a suffix or
// after a prefix it still joins.
TEST(NormalizerTest, AZwnjBetweenTwoWordsIsASpaceAndBeforeASuffixJoins) {
  auto words = [](const std::string& text) {
    std::vector<std::string> out;
    auto n = Normalize(text);
    if (n.ok())
      for (const auto& t : n->tokens) out.push_back(t.key);
    return out;
  };
  EXPECT_EQ(words("پولیس\u200cبرادرم\u200cرا\u200cگرفت"), (std::vector<std::string>{"پولیس", "برادرم", "را", "گرفت"}));
  EXPECT_EQ(words("کتاب\u200cها").size(), 1u);
  EXPECT_EQ(words("خانه\u200cام").size(), 1u);
  EXPECT_EQ(words("بی\u200cپناه").size(), 1u);
  EXPECT_EQ(words("نمي\u200cخواهم").size(), 1u) << "an Arabic-keyboard ي in the prefix";
  EXPECT_EQ(words("می\u200cخواهم"), words("میخواهم"));
}

TEST(NormalizerTest, PersianAndArabicDigitsBecomeAscii) {
  EXPECT_EQ(Clean("۰۳۰۰-۱۲۳۴۵۶۷"), "0300-1234567");
  EXPECT_EQ(Clean("٠٣٠٠-١٢٣٤٥٦٧"), "0300-1234567");
  auto n = Normalize("۱۲۳");
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n->tokens.size(), 1u);
  EXPECT_TRUE(n->tokens[0].digits);
}

TEST(NormalizerTest, ArabicScriptPunctuationBecomesAscii) { EXPECT_EQ(Clean("چطور؟ خوب، بله؛"), "چطور? خوب, بله;"); }

TEST(NormalizerTest, InvisibleCharactersFromCopyPasteAreRemoved) {
  EXPECT_EQ(Clean("\u200F۰۳۰۰\u200F-\u200E۸۵۸۵۶۰۰"), "0300-8585600");
  EXPECT_EQ(Clean("\uFEFFsalam\u200B"), "salam");
}

TEST(NormalizerTest, PresentationFormsAreUnfolded) { EXPECT_EQ(Key("ﻛﺎﺭﺕ"), Key("کارت")); }

TEST(NormalizerTest, LatinIsCaseFoldedAndAccentsDropInTheKey) {
  EXPECT_EQ(Key("SALAM Tashakor"), "salam tashakor");
  EXPECT_EQ(Key("ＨＥＬＬＯ"), "hello");
  EXPECT_EQ(Key("salām"), "salam");
}

TEST(NormalizerTest, RunsOfThreeOrMoreLettersCollapseDoublesStay) {
  EXPECT_EQ(Key("salaaaaam HELPPP"), "salam help");
  EXPECT_EQ(Key("سلاااااام"), "سلام");
  EXPECT_EQ(Key("tashakkur"), "tashakkur");
}

TEST(NormalizerTest, EmojiAreTokensOfTheirOwn) {
  auto n = Normalize("thanks🙏👍");
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n->tokens.size(), 3u);
  EXPECT_EQ(n->tokens[1].key, "🙏");
}

TEST(NormalizerTest, IllFormedUtf8IsRefusedNotRepaired) {
  auto n = Normalize("\xff\xfe");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
}

TEST(NormalizerTest, AVoiceNoteLengthWallOfTextIsCutAtACharacterNotInside) {
  std::string wall;
  for (int i = 0; i < 3000; ++i) wall += "پولیس ";
  auto n = Normalize(wall);
  ASSERT_TRUE(n.ok());
  EXPECT_LE(n->clean.size(), kMaxNormalizeBytes + 16);
  EXPECT_GT(n->tokens.size(), 1000u);
}

TEST(NormalizerTest, ScriptsAreCounted) {
  auto n = Normalize("man deport shodam کمک");
  ASSERT_TRUE(n.ok());
  EXPECT_GT(n->latin_letters, n->arabic_letters);
  EXPECT_EQ(n->arabic_letters, 3);
}

TEST(LatinSkeletonTest, RomanizationVariantsShareASkeleton) {
  EXPECT_EQ(LatinSkeleton("tashakor"), LatinSkeleton("tashakur"));
  EXPECT_EQ(LatinSkeleton("tashakkur"), LatinSkeleton("tashakor"));
  EXPECT_EQ(LatinSkeleton("qabul"), LatinSkeleton("kabul"));
  EXPECT_NE(LatinSkeleton("police"), LatinSkeleton("visa"));
}

// English and romanized text take a byte-level fast path; it must give exactly what the Unicode
// path gives. A Persian digit at the end sends the same text down the Unicode path (it adds one
// token "0" and touches nothing else), so the two can be compared on random ASCII.
TEST(NormalizerTest, TheAsciiFastPathAgreesWithTheUnicodePath) {
  const std::string alphabet = "aAbBzZeE0189 \t\n\r''.,?!-_@#hHpPlL";
  uint64_t seed = 42;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(seed >> 33);
  };
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const size_t length = next() % 24;
    for (size_t i = 0; i < length; ++i) {
      const char c = alphabet[next() % alphabet.size()];
      const size_t repeat = next() % 5 == 0 ? 1 + next() % 5 : 1;  // runs: "HELPPPP", "salaaam"
      text.append(repeat, c);
    }
    auto fast = Normalize(text);
    auto slow = Normalize(text + " \u06F0");
    ASSERT_TRUE(fast.ok() && slow.ok()) << text;
    EXPECT_EQ(fast->clean + (fast->clean.empty() ? "" : " ") + "0", slow->clean) << "[" << text << "]";
    EXPECT_EQ(fast->key + (fast->key.empty() ? "" : " ") + "0", slow->key) << "[" << text << "]";
    ASSERT_EQ(fast->tokens.size() + 1, slow->tokens.size()) << "[" << text << "]";
    for (size_t i = 0; i < fast->tokens.size(); ++i) {
      EXPECT_EQ(fast->tokens[i].clean, slow->tokens[i].clean) << "[" << text << "]";
      EXPECT_EQ(fast->tokens[i].key, slow->tokens[i].key) << "[" << text << "]";
      EXPECT_EQ(fast->tokens[i].latin, slow->tokens[i].latin) << "[" << text << "]";
      EXPECT_EQ(fast->tokens[i].digits, slow->tokens[i].digits) << "[" << text << "]";
      EXPECT_EQ(fast->tokens[i].clause, slow->tokens[i].clause) << "[" << text << "]";
    }
    EXPECT_EQ(fast->latin_letters, slow->latin_letters) << "[" << text << "]";
    EXPECT_EQ(slow->arabic_letters, 0) << "[" << text << "]";
    if (HasFailure()) break;
  }
}

TEST(NormalizerTest, TokensKnowTheirClause) {
  auto n = Normalize("police took him, we came in 2021. 10,000 people؛ سلام؟ خوب");
  ASSERT_TRUE(n.ok());
  std::vector<int> clauses;
  for (const Token& t : n->tokens) clauses.push_back(t.clause);
  EXPECT_EQ(clauses, std::vector<int>({0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 4}));
}

TEST(EditDistanceTest, CountsTranspositionsAsOneAndStopsEarly) {
  EXPECT_EQ(EditDistance(U"deportation", U"deportaion", 2), 1);
  EXPECT_EQ(EditDistance(U"embassy", U"embasy", 2), 1);
  EXPECT_EQ(EditDistance(U"ab", U"ba", 2), 1);
  EXPECT_GT(EditDistance(U"police", U"visa", 2), 2);
}

TEST(EntitiesTest, FindsCitiesPhonesCaseNumbersAndDatesInAnyScript) {
  auto e = ExtractEntities("زه په پېښور کې یم، شمیره ۰۳۰۰ ۱۲۳۴۵۶۷، case AF-1234567, interview 30/06/2025");
  EXPECT_EQ(e.cities, std::vector<std::string>({"Peshawar"}));
  EXPECT_EQ(e.phones, std::vector<std::string>({"03001234567"}));
  EXPECT_EQ(e.case_numbers, std::vector<std::string>({"AF-1234567"}));
  EXPECT_EQ(e.dates, std::vector<std::string>({"2025-06-30"}));
  EXPECT_TRUE(ExtractEntities("salam").empty());
  EXPECT_EQ(ExtractEntities("+92 300 1234567 in Karachi").phones, std::vector<std::string>({"+923001234567"}));
}

}  // namespace
}  // namespace bot::intents
