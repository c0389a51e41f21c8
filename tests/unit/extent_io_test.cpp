// image/extent_io.h on real files with direct I/O: a source copied into scattered extents of a
// "device" file and read back. The bytes are checked with cmp and sha256sum, not our code.
#include "image/extent_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "tests/support/test_support.h"

namespace lifeboat::image {
namespace {

using test::Quote;
using test::Sh;

constexpr int64_t kMiB = 1 << 20;

class ExtentIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Three chunks and a tail that is not a whole sector; the device starts as 0xff everywhere,
    // so that the zeros padding the last sector, and anything written out of place, show.
    ASSERT_EQ(Sh("head -c " + std::to_string(kSourceSize) + " /dev/urandom > " + Quote(source_))
                  .exit_code,
              0);
    ASSERT_EQ(Sh("head -c " + std::to_string(64 * kMiB) + " /dev/zero | tr '\\0' '\\377' > " +
                 Quote(device_))
                  .exit_code,
              0);
    source_fd_ = open(source_.c_str(), O_RDONLY | O_CLOEXEC);
    device_fd_ = open(device_.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
    ASSERT_GE(source_fd_, 0);
    ASSERT_GE(device_fd_, 0) << device_ << " cannot be opened with O_DIRECT (is " << dir_.path()
                             << " on tmpfs? set LIFEBOAT_TEST_TMPDIR)";
  }
  void TearDown() override {
    if (source_fd_ >= 0) close(source_fd_);
    if (device_fd_ >= 0) close(device_fd_);
  }

  // Whether `length` bytes of the device at `at` are the source's bytes from `from` (cmp).
  bool DeviceHolds(int64_t at, int64_t from, int64_t length) {
    return Sh("cmp --ignore-initial=" + std::to_string(at) + ":" + std::to_string(from) + " -n " +
              std::to_string(length) + " " + Quote(device_) + " " + Quote(source_))
               .exit_code == 0;
  }
  std::string DeviceBytesHex(int64_t at, int64_t length) {
    return Sh("od -An -tx1 -v -j " + std::to_string(at) + " -N " + std::to_string(length) + " " +
              Quote(device_) + " | tr -d ' \\n'")
        .out;
  }

  static constexpr int64_t kSourceSize = 17 * kMiB + 1234567;
  test::TempDir dir_;
  std::string source_ = dir_ / "source.bin";
  std::string device_ = dir_ / "device.bin";
  int source_fd_ = -1;
  int device_fd_ = -1;
  // Out of order on the device; the first longer than a chunk, the second a few clusters.
  const std::vector<Extent> extents_ = {
      {0, 40 * kMiB, 9 * kMiB},
      {9 * kMiB, 4 * kMiB, 3 * 4096},
      {9 * kMiB + 3 * 4096, 20 * kMiB, kSourceSize - 9 * kMiB - 3 * 4096}};
};

TEST_F(ExtentIoTest, CopiesEveryExtentInOnePassAndReadsItBack) {
  std::vector<uint64_t> progress;
  auto copied = CopyExtents(
      source_fd_, device_fd_, extents_, 512,
      [&](uint64_t done) {
        progress.push_back(done);
        return true;
      },
      "test copy");
  ASSERT_TRUE(copied) << copied.error().message;
  const std::string expected =
      Sh("sha256sum " + Quote(source_) + " | cut -c1-64").out.substr(0, 64);
  EXPECT_EQ(*copied, expected);
  for (const Extent& e : extents_)
    EXPECT_TRUE(DeviceHolds(e.device_offset, e.file_offset, e.length)) << e.device_offset;
  // The tail's last sector is padded with zeros; the sector after it is untouched.
  const Extent& tail = extents_.back();
  const int64_t end = tail.device_offset + tail.length;
  const int64_t padding = (512 - end % 512) % 512;
  ASSERT_GT(padding, 0);
  EXPECT_EQ(DeviceBytesHex(end, padding), std::string(static_cast<size_t>(padding) * 2, '0'));
  EXPECT_EQ(DeviceBytesHex(end + padding, 512), std::string(1024, 'f'));
  // Nothing before the first extent's place was written.
  EXPECT_EQ(DeviceBytesHex(4 * kMiB - 512, 512), std::string(1024, 'f'));
  // Progress after every chunk, growing, ending at the whole size.
  ASSERT_GE(progress.size(), 4u);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_EQ(progress.back(), static_cast<uint64_t>(kSourceSize));

  auto back = HashExtents(device_fd_, extents_, 512, "test read-back");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, expected);
  // One changed byte on the device changes the read-back.
  ASSERT_EQ(Sh("printf x | dd of=" + Quote(device_) +
               " bs=1 seek=" + std::to_string(20 * kMiB + 5) + " conv=notrunc status=none")
                .exit_code,
            0);
  auto damaged = HashExtents(device_fd_, extents_, 512, "test read-back");
  ASSERT_TRUE(damaged);
  EXPECT_NE(*damaged, expected);
}

TEST_F(ExtentIoTest, AStoppedCopyAndAShortSourceAreErrors) {
  int calls = 0;
  auto stopped = CopyExtents(
      source_fd_, device_fd_, extents_, 512, [&](uint64_t) { return ++calls < 2; }, "test copy");
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, ErrorCode::kIo);
  EXPECT_NE(stopped.error().message.find("test copy stopped"), std::string::npos);
  EXPECT_EQ(calls, 2);

  std::vector<Extent> beyond = extents_;
  beyond.back().length += 4096;  // the source ends before the extents do
  auto short_source = CopyExtents(source_fd_, device_fd_, beyond, 512, {}, "test copy");
  ASSERT_FALSE(short_source);
  EXPECT_NE(short_source.error().message.find("the data ends early"), std::string::npos)
      << short_source.error().message;
}

}  // namespace
}  // namespace lifeboat::image
