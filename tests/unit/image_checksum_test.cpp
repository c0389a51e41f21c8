// The test harness's image checksum (tests/support): every disk test's "nothing changed" rests on
// it, so it is checked here against changes it must see and allocations it must not.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

class ImageChecksumTest : public ::testing::Test {
 protected:
  // 64 MiB, sparse: data at 1 MiB and at 40 MiB + 123, holes elsewhere.
  void SetUp() override {
    ASSERT_EQ(Sh("truncate -s 64M " + Quote(file_) + " && head -c 300000 /dev/urandom | dd of=" +
                 Quote(file_) + " bs=1M seek=1 conv=notrunc status=none iflag=fullblock && " +
                 "printf data | dd of=" + Quote(file_) +
                 " bs=1 seek=$((40 * 1048576 + 123)) conv=notrunc status=none")
                  .exit_code,
              0);
    before_ = ImageChecksum(file_);
    ASSERT_EQ(before_.find("error"), std::string::npos) << before_;
  }
  // Changes the byte at `at` to its complement: a write of a fixed byte would change nothing
  // when the random data held that byte already (1 run in 256).
  void Flip(uint64_t at) {
    std::fstream f(file_, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    f.seekg(static_cast<std::streamoff>(at));
    const char byte = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(~byte));
    ASSERT_TRUE(f.flush());
  }
  TempDir dir_;
  std::string file_ = dir_ / "disk.img";
  std::string before_;
};

TEST_F(ImageChecksumTest, ZerosWrittenIntoAHoleOrACopyWithoutHolesAreTheSameContent) {
  ASSERT_EQ(
      Sh("dd if=/dev/zero of=" + Quote(file_) + " bs=1M seek=20 count=3 conv=notrunc status=none")
          .exit_code,
      0);
  EXPECT_EQ(ImageChecksum(file_), before_);
  ASSERT_EQ(Sh("cp --sparse=never " + Quote(file_) + " " + Quote(dir_ / "full.img")).exit_code, 0);
  EXPECT_EQ(ImageChecksum(dir_ / "full.img"), before_);
  EXPECT_EQ(Sh("cmp " + Quote(file_) + " " + Quote(dir_ / "full.img")).exit_code, 0);
}

TEST_F(ImageChecksumTest, AByteChangedInDataInAHoleOrAtTheEndIsSeen) {
  Flip(1048576 + 299999);  // the last byte of the first data
  EXPECT_NE(ImageChecksum(file_), before_);
  SetUp();
  Flip(30 * 1048576 + 7);  // inside a hole
  EXPECT_NE(ImageChecksum(file_), before_);
  SetUp();
  Flip(64 * 1048576 - 1);  // the very last byte
  EXPECT_NE(ImageChecksum(file_), before_);
}

TEST_F(ImageChecksumTest, ALengthChangeIsSeenAndRangesAreTheirOwn) {
  ASSERT_EQ(Sh("truncate -s +512 " + Quote(file_)).exit_code, 0);
  EXPECT_NE(ImageChecksum(file_), before_);
  // A range that holds only zeros reads like any other run of zeros of its length.
  EXPECT_EQ(RangeChecksum(file_, 10 * 1048576, 5 * 1048576 + 3),
            RangeChecksum(file_, 50 * 1048576, 5 * 1048576 + 3));
  EXPECT_NE(RangeChecksum(file_, 1048576, 300000), RangeChecksum(file_, 50 * 1048576, 300000));
  EXPECT_NE(ImageChecksum(dir_ / "missing.img").find("error"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::test
