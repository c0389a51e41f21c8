// OpenWatch (common/open_watch.h) on real folders: opens by other processes are reported with the
// folder's tag and the file's name, and nothing else is.
#include "common/open_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

#include "tests/support/test_support.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;
using test::Quote;
using test::Sh;
using test::TempDir;

class OpenWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* folder : {"session-a", "session-b", "other", "session-a/sub"})
      fs::create_directories(dir_ / folder);
    for (const char* file :
         {"session-a/bootmgfw.efi", "session-b/boot.wim", "other/boot.wim", "session-a/sub/deeper"})
      std::ofstream(dir_ / file) << "bytes";
    auto watch = OpenWatch::Start([this](const std::string& tag, const std::string& name) {
      std::lock_guard lock(mutex_);
      seen_.push_back(tag + ":" + name);
      changed_.notify_all();
    });
    ASSERT_TRUE(watch) << watch.error().message;
    watch_ = std::move(*watch);
  }
  // What was seen once `count` events came, or after a second.
  std::vector<std::string> Seen(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(1), [&] { return seen_.size() >= count; });
    return seen_;
  }
  std::string Path(const std::string& relative) { return dir_ / relative; }

  TempDir dir_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> seen_;
  std::unique_ptr<OpenWatch> watch_;
};

TEST_F(OpenWatchTest, OpensOfFilesInAWatchedFolderAreReportedWithItsTag) {
  ASSERT_TRUE(watch_->Add("machine-1", Path("session-a")));
  ASSERT_TRUE(watch_->Add("machine-2", Path("session-b")));
  // Opened by another process, as a TFTP server would: a read, then a listing of the folder.
  ASSERT_EQ(Sh("cat " + Quote(Path("session-b/boot.wim")) + " >/dev/null").exit_code, 0);
  ASSERT_EQ(Sh("cat " + Quote(Path("session-a/bootmgfw.efi")) + " >/dev/null").exit_code, 0);
  EXPECT_EQ(Seen(2), (std::vector<std::string>{"machine-2:boot.wim", "machine-1:bootmgfw.efi"}));

  // Not reported: a folder not watched, a subfolder, a listing, the same file by another name.
  Sh("cat " + Quote(Path("other/boot.wim")) + " " + Quote(Path("session-a/sub/deeper")) +
     " >/dev/null; ls " + Quote(Path("session-a")) + " >/dev/null");
  fs::create_hard_link(Path("session-b/boot.wim"), Path("other/linked.wim"));
  Sh("cat " + Quote(Path("other/linked.wim")) + " >/dev/null");
  EXPECT_EQ(Seen(3).size(), 2u);

  watch_->Remove("machine-1");
  watch_->Remove("nobody");  // unknown: nothing
  Sh("cat " + Quote(Path("session-a/bootmgfw.efi")) + " " + Quote(Path("session-b/boot.wim")) +
     " >/dev/null");
  EXPECT_EQ(Seen(3).back(), "machine-2:boot.wim");
  EXPECT_EQ(Seen(4).size(), 3u);
}

TEST_F(OpenWatchTest, AMissingFolderIsAnErrorAndAFolderRemovedEndsItsWatch) {
  auto missing = watch_->Add("x", Path("nowhere"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto file = watch_->Add("x", Path("other/boot.wim"));
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(watch_->Add("gone", Path("session-b")));
  fs::remove_all(Path("session-b"));
  fs::create_directories(Path("session-b"));
  std::ofstream(Path("session-b/boot.wim")) << "new";
  Sh("cat " + Quote(Path("session-b/boot.wim")) + " >/dev/null");
  EXPECT_TRUE(Seen(1).empty()) << "a new folder of the same name is not the one watched";
}

}  // namespace
}  // namespace lifeboat
