#include "common/units.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <random>

namespace lifeboat {
namespace {

TEST(ParseSize, AcceptsBinaryAndDecimalSuffixes) {
  EXPECT_EQ(ParseSize("4096")->value, 4096u);
  EXPECT_EQ(ParseSize("2G")->value, 2ULL << 30);
  EXPECT_EQ(ParseSize("1536m")->value, 1536ULL << 20);
  EXPECT_EQ(ParseSize("1GiB")->value, 1ULL << 30);
  EXPECT_EQ(ParseSize("500MB")->value, 500000000u);
}

TEST(ParseSize, RejectsMalformedAndOverflowingInput) {
  EXPECT_FALSE(ParseSize(""));
  EXPECT_FALSE(ParseSize("G"));
  EXPECT_FALSE(ParseSize("12Q"));
  EXPECT_FALSE(ParseSize("-1G"));
  EXPECT_FALSE(ParseSize("99999999999999999999"));
  EXPECT_FALSE(ParseSize("99999999999T"));
}

// An independent reading of the size grammar in 128-bit arithmetic: digits, then an optional
// suffix; anything beyond 2^64 - 1 bytes is not a size.
std::optional<uint64_t> ReferenceSize(const std::string& text) {
  static const std::map<std::string, unsigned __int128> kFactors = {{"", 1},
                                                                    {"B", 1},
                                                                    {"K", 1ULL << 10},
                                                                    {"KIB", 1ULL << 10},
                                                                    {"M", 1ULL << 20},
                                                                    {"MIB", 1ULL << 20},
                                                                    {"G", 1ULL << 30},
                                                                    {"GIB", 1ULL << 30},
                                                                    {"T", 1ULL << 40},
                                                                    {"TIB", 1ULL << 40},
                                                                    {"KB", 1000},
                                                                    {"MB", 1000000},
                                                                    {"GB", 1000000000},
                                                                    {"TB", 1000000000000ULL}};
  size_t i = 0;
  unsigned __int128 number = 0;
  const unsigned __int128 limit = ~uint64_t{0};
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    number = number * 10 + static_cast<unsigned>(text[i] - '0');
    if (number > limit) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string suffix;
  for (; i < text.size(); ++i) suffix += static_cast<char>(std::toupper(text[i]));
  auto factor = kFactors.find(suffix);
  if (factor == kFactors.end()) return std::nullopt;
  const unsigned __int128 bytes = number * factor->second;
  if (bytes > limit) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

TEST(ParseSize, PropertyRandomInputIsEitherRejectedOrExact) {
  // A fixed seed: the same 300,000 inputs on every run.
  std::mt19937_64 random(20261201);
  const std::string alphabet = "0123456789KMGTkmgtiIbB -+.x\t";
  const std::vector<std::string> suffixes = {"",  "B",   "K",  "KiB", "M",  "MiB", "G",  "GiB",
                                             "T", "TiB", "KB", "MB",  "GB", "TB",  "mb", "Gib"};
  for (int n = 0; n < 300000; ++n) {
    std::string text;
    if (n % 2 == 0) {
      // Random strings over the grammar's own characters, lengths 0-24.
      const size_t length = random() % 25;
      for (size_t i = 0; i < length; ++i) text += alphabet[random() % alphabet.size()];
    } else {
      // A number of any magnitude (up to 2^64 - 1 and beyond, by digits) and a valid suffix.
      const int digits = 1 + static_cast<int>(random() % 22);
      for (int i = 0; i < digits; ++i) text += static_cast<char>('0' + random() % 10);
      text += suffixes[random() % suffixes.size()];
    }
    const auto parsed = ParseSize(text);
    const auto expected = ReferenceSize(text);
    ASSERT_EQ(parsed.has_value(), expected.has_value()) << "'" << text << "'";
    if (!parsed) continue;
    ASSERT_EQ(parsed->value, *expected) << "'" << text << "'";
    // Round trip: the byte count, written out, reads back as itself.
    ASSERT_EQ(ParseSize(std::to_string(parsed->value))->value, parsed->value) << text;
  }
}

TEST(ParseSize, TheLargestValuesAreExactAndOneMoreIsRejected) {
  EXPECT_EQ(ParseSize("18446744073709551615")->value, ~uint64_t{0});
  EXPECT_FALSE(ParseSize("18446744073709551616"));
  EXPECT_EQ(ParseSize("16777215T")->value, 16777215ULL << 40);
  EXPECT_FALSE(ParseSize("16777216T"));
}

TEST(Units, SectorConversionsRoundAsDocumented) {
  EXPECT_EQ(ToSectorsCeil(Bytes{4097}, 4096).count, 2u);
  EXPECT_EQ(ToSectorsFloor(Bytes{4097}, 4096).count, 1u);
  EXPECT_EQ(ToBytes(Sectors{3}, 4096).value, 12288u);
  EXPECT_EQ(HumanSize(Bytes{1536ULL << 20}), "1.50 GiB");
}

TEST(ParseDuration, TakesSecondsOrAUnit) {
  EXPECT_EQ(ParseDuration("90"), std::chrono::seconds(90));
  EXPECT_EQ(ParseDuration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(ParseDuration("5m"), std::chrono::seconds(300));
  EXPECT_EQ(ParseDuration("1h"), std::chrono::seconds(3600));
  EXPECT_EQ(ParseDuration("24h"), std::chrono::seconds(86400));
  EXPECT_EQ(ParseDuration("7d"), std::chrono::seconds(604800));
  EXPECT_EQ(ParseDuration("0"), std::chrono::seconds(0));
  EXPECT_EQ(ParseDuration("4294967295"), std::chrono::seconds(4294967295LL));
  for (const char* bad : {"", "s", "h", "-1", "+5", "1.5h", "5 m", "5M", "1w", "4294967296",
                          "49711d", "99999999999999999999s", "1hh", " 5"}) {
    EXPECT_FALSE(ParseDuration(bad)) << bad;
  }
}

TEST(ParseCount, TakesPlainDecimalNumbersOnly) {
  EXPECT_EQ(ParseCount("0"), 0u);
  EXPECT_EQ(ParseCount("42"), 42u);
  EXPECT_EQ(ParseCount("4294967295"), 4294967295u);
  for (const char* bad : {"", "-1", "+1", "1e3", "0x10", "4294967296", "12 ", "5%"}) {
    EXPECT_FALSE(ParseCount(bad)) << bad;
  }
}

}  // namespace
}  // namespace lifeboat
