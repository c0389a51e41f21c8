// The network boot tree over plain HTTP (controller/netboot_http.h): a real server on loopback,
// asked by curl.
#include "controller/netboot_http.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/test_support.h"

namespace lifeboat::controller {
namespace {

namespace fs = std::filesystem;
using namespace lifeboat::test;  // NOLINT(google-build-using-namespace): the test helpers

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ByteRangeTest, OneRangeInEachFormAndWhatIsNotServed) {
  auto range = [](const std::string& header, uint64_t size) {
    auto r = ParseByteRange(header, size);
    EXPECT_TRUE(r) << header;
    return r ? *r : std::nullopt;
  };
  EXPECT_EQ(range("bytes=0-99", 1000)->first, 0u);
  EXPECT_EQ(range("bytes=0-99", 1000)->length, 100u);
  EXPECT_EQ(range("bytes=900-", 1000)->length, 100u);
  EXPECT_EQ(range("bytes=990-2000", 1000)->length, 10u);  // clipped to the end
  EXPECT_EQ(range("bytes=-10", 1000)->first, 990u);
  EXPECT_EQ(range("bytes=-5000", 1000)->first, 0u);
  // Not a form served: the whole file.
  for (const char* whole : {"bytes=0-1,5-6", "items=0-1", "bytes=5-2", "bytes=-", "bytes=a-b",
                            "bytes=1-2-3", "bytes= 1-2"})
    EXPECT_FALSE(range(whole, 1000)) << whole;
  for (const char* beyond : {"bytes=1000-", "bytes=5000-6000"}) {
    auto r = ParseByteRange(beyond, 1000);
    ASSERT_FALSE(r) << beyond;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

class NetbootHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tree_ / "lifeboat");
    std::string bytes;
    for (int i = 0; i < 300000; ++i) bytes += static_cast<char>('a' + i % 26);
    std::ofstream(tree_ / "lifeboat/initrd.img", std::ios::binary) << bytes;
    std::ofstream(secret_) << "not for the network";
    fs::create_symlink(secret_, tree_ / "lifeboat/escape");
    fs::create_symlink("initrd.img", tree_ / "lifeboat/same");  // stays in the tree
    auto http = NetbootHttp::Start("127.0.0.1:0", tree_);
    ASSERT_TRUE(http) << http.error().message;
    http_ = std::move(*http);
    base_ = "http://127.0.0.1:" + std::to_string(http_->port());
  }
  // curl's status code, then its body (or headers with -I).
  CommandResult Curl(const std::string& args) {
    return Sh("curl -s --path-as-is -o - -w '\\n%{http_code}' " + args);
  }
  static std::string Status(const CommandResult& r) { return r.out.substr(r.out.rfind('\n') + 1); }
  static std::string Body(const CommandResult& r) { return r.out.substr(0, r.out.rfind('\n')); }

  TempDir dir_;
  fs::path tree_ = fs::path(dir_.path()) / "tftp";
  fs::path secret_ = fs::path(dir_.path()) / "secret";
  std::unique_ptr<NetbootHttp> http_;
  std::string base_;
};

TEST_F(NetbootHttpTest, FilesWholeAndInRangesAndNothingOutsideTheTree) {
  const std::string initrd = ReadFile(tree_ / "lifeboat/initrd.img");
  auto whole = Curl(base_ + "/lifeboat/initrd.img");
  EXPECT_EQ(Status(whole), "200");
  EXPECT_EQ(Body(whole), initrd);
  auto part = Curl("-r 100-199 " + base_ + "/lifeboat/initrd.img");
  EXPECT_EQ(Status(part), "206");
  EXPECT_EQ(Body(part), initrd.substr(100, 100));
  auto tail = Curl("-r -26 " + base_ + "/lifeboat/initrd.img");
  EXPECT_EQ(Status(tail), "206");
  EXPECT_EQ(Body(tail), initrd.substr(initrd.size() - 26));
  auto headers = Sh("curl -s -I -r 10-19 " + base_ + "/lifeboat/initrd.img");
  EXPECT_NE(headers.out.find("Content-Range: bytes 10-19/300000"), std::string::npos)
      << headers.out;
  EXPECT_NE(headers.out.find("Accept-Ranges: bytes"), std::string::npos);
  EXPECT_EQ(Status(Curl("-r 300000- " + base_ + "/lifeboat/initrd.img")), "416");
  EXPECT_EQ(Body(Curl(base_ + "/lifeboat/same")), initrd);
  EXPECT_EQ(Body(Curl(base_ + "/lifeboat/%69nitrd.img")), initrd);  // percent-decoded

  EXPECT_EQ(Status(Curl(base_ + "/lifeboat/")), "404");  // no listings
  EXPECT_EQ(Status(Curl(base_ + "/lifeboat/missing")), "404");
  for (const char* out : {"/lifeboat/escape", "/../secret", "/lifeboat/%2e%2e/../secret"}) {
    auto refused = Curl(base_ + std::string(out));
    EXPECT_EQ(Status(refused), "403") << out;
    EXPECT_EQ(Body(refused).find("not for the network"), std::string::npos) << out;
  }
  EXPECT_EQ(Status(Curl("-X POST " + base_ + "/lifeboat/initrd.img")), "405");
  EXPECT_EQ(Status(Curl("-X PUT --data x " + base_ + "/lifeboat/initrd.img")), "405");
  EXPECT_EQ(ReadFile(tree_ / "lifeboat/initrd.img"), initrd);
}

TEST_F(NetbootHttpTest, AFileReplacedWhileItIsSentArrivesWholeAndOld) {
  // 24 MiB at 8 MiB a second: three seconds on the wire, far more than the sockets buffer, so the
  // server is still reading the file when it is replaced.
  const fs::path big = tree_ / "lifeboat/boot.wim";
  ASSERT_EQ(Sh("head -c 25165824 /dev/urandom > " + Quote(big)).exit_code, 0);
  const std::string old_bytes = ReadFile(big);
  const std::string got = fs::path(dir_.path()) / "got";
  std::thread slow(
      [&] { Sh("curl -s --limit-rate 8M -o " + Quote(got) + " " + base_ + "/lifeboat/boot.wim"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  std::ofstream(tree_ / "lifeboat/boot.wim.new") << "the next version";
  fs::rename(tree_ / "lifeboat/boot.wim.new", big);
  slow.join();
  EXPECT_TRUE(ReadFile(got) == old_bytes) << "got " << fs::file_size(got) << " bytes";
  EXPECT_EQ(Body(Curl(base_ + "/lifeboat/boot.wim")), "the next version");
}

}  // namespace
}  // namespace lifeboat::controller
