#include "tests/support/test_support.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "common/sha256.h"

namespace lifeboat::test {

namespace {

// GoogleTest reports the tests of a suite whose SetUpTestSuite failed as skipped, and CTest counts
// skipped tests as not run, not failed: a broken fixture would pass unseen. A failure outside any
// test ends the run at once, failed, before anything is reported as skipped. Registered when the
// binary starts (every test binary links this file).
// (Whether a test runs is tracked here: asking GoogleTest from this callback deadlocks.)
class SetUpFailureEndsTheRun : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override { in_test_ = true; }
  void OnTestEnd(const ::testing::TestInfo&) override { in_test_ = false; }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed() || in_test_) return;
    std::fprintf(stderr, "%s:%d: a test suite's set-up failed; ending the run\n",
                 result.file_name() ? result.file_name() : "?", result.line_number());
    std::fflush(nullptr);
    std::_Exit(1);
  }
  bool in_test_ = false;
};

const bool kSetUpFailuresEndTheRun = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new SetUpFailureEndsTheRun);
  return true;
}();

}  // namespace

Poco::JSON::Object::Ptr Json(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string JsonShapeProblem(const std::string& text, const std::string& name) {
  TempDir dir;
  const std::string file = dir / "document.json";
  {
    std::ofstream out(file);
    out << text;
  }
  const std::string source = LIFEBOAT_SOURCE_DIR;
  auto r = Sh(Quote(source + "/tests/support/check-json-shape") + " " +
              Quote(source + "/docs/json.schema.json") + " " + Quote(name) + " " + Quote(file));
  if (r.exit_code == 0) return "";
  return r.out + r.err + "in: " + text.substr(0, 2000);
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CommandResult Sh(const std::string& script) {
  auto r = RunProcess({"bash", "-c", "set -o pipefail; " + script});
  if (!r) return {-1, "", r.error().message};
  return {r->exit_code, r->out, r->err};
}

CommandResult Agent(const std::vector<std::string>& args, const std::string& env) {
  std::string cmd = env + (env.empty() ? "" : " ") + Quote(LIFEBOAT_AGENT);
  for (const auto& a : args) cmd += " " + Quote(a);
  return Sh(cmd);
}

TempDir::TempDir() {
  // LIFEBOAT_TEST_TMPDIR puts the tests' disks elsewhere (a tmpfs, say); /var/tmp by default.
  const char* base = std::getenv("LIFEBOAT_TEST_TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/var/tmp") + "/lifeboat-test.XXXXXX";
  path_ = mkdtemp(tmpl.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void MakeWindowsDisk(const std::string& path, const std::string& options) {
  auto r = Sh(Quote(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/make-windows-disk") + " " +
              Quote(path) + " " + options);
  ASSERT_EQ(r.exit_code, 0) << "fixture generator failed: " << r.err << r.out;
}

SfTable Sfdisk(const std::string& disk) {
  SfTable table;
  auto r = Sh("sfdisk --json " + Quote(disk));
  if (r.exit_code != 0) return table;
  Poco::JSON::Parser parser;
  auto root = parser.parse(r.out).extract<Poco::JSON::Object::Ptr>()->getObject("partitiontable");
  table.label = root->getValue<std::string>("label");
  table.id = root->getValue<std::string>("id");
  if (root->has("sectorsize")) table.sector_size = root->getValue<uint64_t>("sectorsize");
  auto parts = root->getArray("partitions");
  for (unsigned i = 0; parts && i < parts->size(); ++i) {
    auto p = parts->getObject(i);
    SfPartition sp;
    sp.node = p->getValue<std::string>("node");
    sp.start = p->getValue<uint64_t>("start");
    sp.size = p->getValue<uint64_t>("size");
    sp.type = p->getValue<std::string>("type");
    if (p->has("uuid")) sp.uuid = p->getValue<std::string>("uuid");
    if (p->has("name")) sp.name = p->getValue<std::string>("name");
    if (p->has("attrs")) sp.attrs = p->getValue<std::string>("attrs");
    if (p->has("bootable")) sp.bootable = p->getValue<bool>("bootable");
    table.partitions.push_back(sp);
  }
  return table;
}

void MakeTestWim(const std::string& path, const std::string& options) {
  auto r = Sh(Quote(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/make-test-wim") + " " +
              Quote(path) + " " + options);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void MakeMediaTestWim(const std::string& path, const std::string& standins,
                      const std::string& options) {
  auto r = Sh(Quote(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/make-media-standins") +
              " " + Quote(standins));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  MakeTestWim(path, "--overlay " + Quote(standins) + " " + options);
}

std::string SfLayout(const std::string& disk) {
  const SfTable t = Sfdisk(disk);
  std::string all = t.label + " " + t.id + "\n";
  for (const auto& p : t.partitions)
    all += std::to_string(p.start) + " " + std::to_string(p.size) + " " + p.type + " " + p.uuid +
           " " + p.attrs + "\n";
  return all;
}

std::optional<SfPartition> Named(const SfTable& table, const std::string& name) {
  for (const auto& p : table.partitions)
    if (p.name == name) return p;
  return std::nullopt;
}

std::string Sha256(const std::string& file, uint64_t offset, uint64_t size) {
  auto r =
      Sh("dd if=" + Quote(file) + " iflag=skip_bytes,count_bytes skip=" + std::to_string(offset) +
         " count=" + std::to_string(size) + " bs=4M status=none | sha256sum");
  return r.exit_code == 0 ? r.out.substr(0, 64) : "error: " + r.err;
}

std::string RangeChecksum(const std::string& file, uint64_t offset, uint64_t size) {
  constexpr uint64_t kBlock = 1 << 20;
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "error: " + file + ": " + std::strerror(errno);
  auto hash = [](std::span<const uint8_t> bytes) {
    lifeboat::Sha256 h;
    h.Update(bytes);
    return h.Digest();
  };
  const std::vector<uint8_t> zeros(kBlock);
  const auto zero_block = hash(zeros);
  std::vector<uint8_t> block(kBlock);
  lifeboat::Sha256 all;
  std::string problem;
  for (uint64_t done = 0; done < size && problem.empty(); done += kBlock) {
    const uint64_t start = offset + done, length = std::min(kBlock, size - done);
    // SEEK_DATA finds the next byte the file system holds data for; none in this block (or none
    // at all: ENXIO) makes it a hole, which reads as zeros.
    const off_t data = lseek(fd, static_cast<off_t>(start), SEEK_DATA);
    const bool hole = (data < 0 && errno == ENXIO) ||
                      (data >= 0 && static_cast<uint64_t>(data) >= start + length);
    std::array<uint8_t, 32> digest{};
    if (hole) {
      digest = length == kBlock ? zero_block : hash({zeros.data(), length});
    } else if (pread(fd, block.data(), length, static_cast<off_t>(start)) !=
               static_cast<ssize_t>(length)) {
      problem = "error: " + file + ": cannot read " + std::to_string(length) + " bytes at byte " +
                std::to_string(start);
    } else {
      digest = hash({block.data(), length});
    }
    all.Update(digest);
  }
  close(fd);
  return problem.empty() ? all.HexDigest() : problem;
}

std::string ImageChecksum(const std::string& file) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) return "error: " + file + ": " + ec.message();
  return RangeChecksum(file, 0, size) + " " + std::to_string(size);
}

void ClearNtfsDirty(const std::string& disk, uint64_t offset, uint64_t size) {
  auto r = Sh("set -e; l=$(losetup --find --show --offset " + std::to_string(offset) +
              " --sizelimit " + std::to_string(size) + " " + Quote(disk) +
              "); ntfsfix -d \"$l\" >/dev/null; losetup -d \"$l\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string NtfsFileSums(const std::string& disk, uint64_t offset, uint64_t size) {
  auto r = Sh("set -e; l=$(losetup --find --show --read-only --offset " + std::to_string(offset) +
              " --sizelimit " + std::to_string(size) + " " + Quote(disk) +
              "); m=$(mktemp -d); ntfs-3g -o ro \"$l\" \"$m\"; "
              "(cd \"$m\" && find . -type f -print0 | sort -z | xargs -0 sha256sum); rc=$?; "
              "umount \"$m\"; rmdir \"$m\"; losetup -d \"$l\"; exit $rc");
  return r.exit_code == 0 ? r.out : "error: " + r.err;
}

std::string NtfsLabel(const std::string& disk, uint64_t offset, uint64_t size) {
  auto r = Sh("set -e; l=$(losetup --find --show --read-only --offset " + std::to_string(offset) +
              " --sizelimit " + std::to_string(size) + " " + Quote(disk) +
              "); ntfslabel --force \"$l\"; rc=$?; losetup -d \"$l\"; exit $rc");
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return r.exit_code == 0 ? out : "error: " + r.err;
}

}  // namespace lifeboat::test
