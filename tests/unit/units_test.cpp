#include "common/units.h"

#include <gtest/gtest.h>

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

TEST(Units, SectorConversionsRoundAsDocumented) {
  EXPECT_EQ(ToSectorsCeil(Bytes{4097}, 4096).count, 2u);
  EXPECT_EQ(ToSectorsFloor(Bytes{4097}, 4096).count, 1u);
  EXPECT_EQ(ToBytes(Sectors{3}, 4096).value, 12288u);
  EXPECT_EQ(HumanSize(Bytes{1536ULL << 20}), "1.50 GiB");
}

}  // namespace
}  // namespace lifeboat
