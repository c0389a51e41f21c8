// Bad input to apply: each gets a clear message and its documented exit code, and the whole disk
// image is byte-for-byte what it was (ImageChecksum: the content of every block).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

class ApplyRefusalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    for (const char* v : {"good", "corrupt", "split", "no-boot-index", "no-winload", "no-sdi"})
      ASSERT_NO_FATAL_FAILURE(
          MakeTestWim(*dir_ / (std::string(v) + ".wim"), std::string("--variant ") + v));
    MakeWindowsDisk(*dir_ / "pristine.img", "--label gpt --fill-mb 20");
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    disk_ = work_ / "disk.img";
    ASSERT_EQ(
        Sh("cp --sparse=always " + Quote(*dir_ / "pristine.img") + " " + Quote(disk_)).exit_code,
        0);
  }
  // `extra` may give its own --version (an option given twice is a usage error).
  CommandResult Apply(const std::string& wim, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"apply", disk_,         "--image",
                                     wim,     "--state-dir", work_ / "state"};
    if (std::find(extra.begin(), extra.end(), "--version") == extra.end())
      extra.insert(extra.end(), {"--version", "1.0"});
    args.insert(args.end(), extra.begin(), extra.end());
    return Agent(args);
  }
  // Reads the store off the disk, lets `edit` change its bytes, writes it back.
  void EditStore(const std::function<void(std::vector<uint8_t>&)>& edit) {
    const std::string file = work_ / "bcd";
    ASSERT_TRUE(CopyStoreOut(disk_, file));
    std::vector<uint8_t> bytes;
    {
      std::ifstream in(file, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    edit(bytes);
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
    }
    ASSERT_TRUE(CopyStoreIn(disk_, file));
  }
  static void FixChecksum(std::vector<uint8_t>& b) {
    uint32_t sum = 0;
    for (size_t off = 0; off < 508; off += 4)
      sum ^= b[off] | b[off + 1] << 8 | b[off + 2] << 16 | uint32_t{b[off + 3]} << 24;
    for (int i = 0; i < 4; ++i) b[508 + i] = static_cast<uint8_t>(sum >> (8 * i));
  }
  void ExpectRefused(const CommandResult& r, int exit_code, const std::string& words,
                     const std::string& sum) {
    EXPECT_EQ(r.exit_code, exit_code) << r.out << r.err;
    EXPECT_NE((r.err + r.out).find(words), std::string::npos) << r.err << r.out;
    EXPECT_EQ(ImageChecksum(disk_), sum) << "the disk changed";
  }

  static TempDir* dir_;
  TempDir work_;
  std::string disk_;
};
TempDir* ApplyRefusalTest::dir_ = nullptr;

TEST_F(ApplyRefusalTest, BrokenImages) {
  const std::string sum = ImageChecksum(disk_);
  ExpectRefused(Apply(*dir_ / "corrupt.wim"), 6, "damaged", sum);
  ExpectRefused(Apply(*dir_ / "split.wim"), 6, "split WIM", sum);
  ExpectRefused(Apply(*dir_ / "no-boot-index.wim"), 6, "no bootable image", sum);
  ExpectRefused(Apply(*dir_ / "no-winload.wim"), 6, "no winload", sum);
  ExpectRefused(Apply(*dir_ / "no-sdi.wim"), 6, "no boot.sdi", sum);
  ExpectRefused(Apply(*dir_ / "missing.wim"), 5, "missing.wim", sum);
  ExpectRefused(Apply(*dir_ / "good.wim", {"--version", "../x"}), 2, "is not a version", sum);
}

TEST_F(ApplyRefusalTest, StoreMissing) {
  auto del =
      Sh("MTOOLS_SKIP_CHECK=1 mdel -i " + Quote(EspImage(disk_)) + " ::/EFI/Microsoft/Boot/BCD");
  ASSERT_EQ(del.exit_code, 0) << del.err;
  const std::string sum = ImageChecksum(disk_);
  ExpectRefused(Apply(*dir_ / "good.wim"), 3, "does not exist", sum);
}

TEST_F(ApplyRefusalTest, StoreCorrupt) {
  EditStore([](std::vector<uint8_t>& b) { std::fill(b.begin() + 4096, b.begin() + 8192, 0xAA); });
  const std::string sum = ImageChecksum(disk_);
  ExpectRefused(Apply(*dir_ / "good.wim"), 3, "BCD store", sum);
  // Not a hive at all.
  EditStore([](std::vector<uint8_t>& b) { std::fill(b.begin(), b.begin() + 4, 'x'); });
  const std::string sum2 = ImageChecksum(disk_);
  ExpectRefused(Apply(*dir_ / "good.wim"), 3, "not a registry hive", sum2);
}

TEST_F(ApplyRefusalTest, MismatchedHiveSequenceNumbers) {
  EditStore([](std::vector<uint8_t>& b) {
    b[4] = static_cast<uint8_t>(b[8] + 1);  // sequence1 ahead of sequence2: a write never finished
    FixChecksum(b);
  });
  const std::string sum = ImageChecksum(disk_);
  ExpectRefused(Apply(*dir_ / "good.wim"), 3, "sequence numbers", sum);
}

TEST_F(ApplyRefusalTest, PendingTransactionLog) {
  const std::string store = work_ / "bcd";
  ASSERT_TRUE(CopyStoreOut(disk_, store));
  // A BCD.LOG1 whose first log entry continues from the hive's sequence number.
  auto r =
      Sh("cd " + Quote(work_.path()) +
         " && head -c 512 bcd > BCD.LOG1 && head -c 512 /dev/zero >> BCD.LOG1"
         " && printf 'HvLE' | dd of=BCD.LOG1 bs=1 seek=512 conv=notrunc status=none"
         " && printf '\\x00\\x02\\x00\\x00' | dd of=BCD.LOG1 bs=1 seek=516 conv=notrunc status=none"
         " && dd if=bcd of=BCD.LOG1 bs=1 skip=8 seek=524 count=4 conv=notrunc status=none"
         " && MTOOLS_SKIP_CHECK=1 mcopy -i " +
         Quote(EspImage(disk_)) + " BCD.LOG1 ::/EFI/Microsoft/Boot/BCD.LOG1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string sum = ImageChecksum(disk_);
  ExpectRefused(Apply(*dir_ / "good.wim"), 3, "transaction log", sum);
}

TEST_F(ApplyRefusalTest, TooLittleSpace) {
  const std::string sum = ImageChecksum(disk_);
  ExpectRefused(Apply(*dir_ / "good.wim", {"--size", "20G"}), 3, "not enough", sum);
}

TEST_F(ApplyRefusalTest, ReadOnlyDisk) {
  ASSERT_EQ(Sh("chattr +i " + Quote(disk_)).exit_code, 0);
  const std::string sum = ImageChecksum(disk_);
  auto r = Apply(*dir_ / "good.wim");
  Sh("chattr -i " + Quote(disk_));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("disk.img"), std::string::npos) << r.err;
  EXPECT_EQ(ImageChecksum(disk_), sum);
}

}  // namespace
}  // namespace lifeboat::test
