// BitLocker metadata as Lifeboat reads it, against what bdeinfo (libbde) and cryptsetup's
// bitlkDump read from the same volumes: volumes written by tests/fixtures/make-bitlocker-volume
// from the published format, with the protector sets Windows leaves.
#include "partition/bitlocker_metadata.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <regex>

#include "partition/disk_handle.h"
#include "tests/support/test_support.h"

namespace lifeboat::partition {
namespace {

using test::Quote;
using test::Sh;

constexpr uint64_t kVolumeSize = 64ull << 20;

struct Volume {
  test::TempDir dir;
  std::string path = dir / "volume.img";

  explicit Volume(const std::string& options) {
    auto made = Sh("truncate -s " + std::to_string(kVolumeSize) + " " + Quote(path) + " && " +
                   LIFEBOAT_SOURCE_DIR "/tests/fixtures/make-bitlocker-volume " + Quote(path) +
                   " " + options);
    EXPECT_EQ(made.exit_code, 0) << made.err;
  }
  // The three metadata copies' offsets, from the volume header.
  [[nodiscard]] std::vector<uint64_t> Copies() const {
    auto disk = DiskHandle::Open(path, DiskHandle::Mode::kReadOnly);
    std::vector<unsigned char> sector(512);
    if (!disk || !disk->ReadAt(Bytes{0}, sector.data(), sector.size())) return {};
    auto offsets = ParseFveVolumeHeader(sector);
    EXPECT_TRUE(offsets) << offsets.error().message;
    return offsets ? *offsets : std::vector<uint64_t>{};
  }
  [[nodiscard]] BitLockerInfo Read() const {
    auto disk = DiskHandle::Open(path, DiskHandle::Mode::kReadOnly);
    EXPECT_TRUE(disk) << disk.error().message;
    auto info = ReadBitLockerInfo(*disk, Bytes{0}, Bytes{kVolumeSize});
    EXPECT_TRUE(info) << info.error().message;
    return info ? *info : BitLockerInfo{};
  }
};

// "Protection: VMK protected with TPM and PIN" lines of `cryptsetup bitlkDump`, in our names.
std::vector<std::string> BitlkDumpProtectors(const std::string& path) {
  static const std::map<std::string, std::string> names = {
      {"TPM", "tpm"},
      {"startup key", "startup-key"},
      {"TPM and PIN", "tpm-pin"},
      {"recovery passphrase", "recovery-password"},
      {"passphrase", "password"},
      {"clear key", "clear-key"}};
  auto dump = Sh("cryptsetup bitlkDump " + Quote(path));
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  std::vector<std::string> out;
  const std::regex line("Protection:\\s*VMK protected with (.*)");
  for (std::sregex_iterator m(dump.out.begin(), dump.out.end(), line), end; m != end; ++m) {
    auto name = names.find((*m)[1].str());
    out.push_back(name == names.end() ? "unmapped: " + (*m)[1].str() : name->second);
  }
  return out;
}

// One "Field : value" of bdeinfo's output (bdeinfo exits 1 after printing: it cannot unlock).
std::string BdeinfoField(const std::string& path, const std::string& field) {
  auto info = Sh("bdeinfo " + Quote(path));
  std::smatch m;
  const std::regex line("\\n\\t" + field + "\\s*: ([^\\n]*)");
  return std::regex_search(info.out, m, line) ? m[1].str() : "(bdeinfo printed no " + field + ")";
}

void ExpectAsOtherReadersSee(const Volume& v, const BitLockerInfo& info) {
  EXPECT_EQ(info.protectors, BitlkDumpProtectors(v.path));
  EXPECT_EQ(info.volume_id, BdeinfoField(v.path, "Volume identifier"));
  EXPECT_EQ(info.description, BdeinfoField(v.path, "Description"));
  EXPECT_EQ(BdeinfoField(v.path, "Number of key protectors"),
            std::to_string(info.protectors.size()));
  EXPECT_EQ(BdeinfoField(v.path, "Encryption method"), "AES-CBC 128-bit with Diffuser");
  EXPECT_EQ(info.encryption_method, "aes-128-cbc-diffuser");
}

TEST(BitLockerMetadata, ProtectionOnReadsAsBdeinfoAndBitlkDumpReadIt) {
  Volume v("--protectors tpm,recovery-password");
  const BitLockerInfo info = v.Read();
  EXPECT_EQ(info.problem, "");
  EXPECT_EQ(info.protectors, (std::vector<std::string>{"tpm", "recovery-password"}));
  EXPECT_FALSE(info.Suspended());
  EXPECT_STREQ(info.ProtectionName(), "on");
  ExpectAsOtherReadersSee(v, info);
}

TEST(BitLockerMetadata, SuspendedProtectionIsTheClearKeyProtector) {
  Volume v("--protectors tpm-pin,password,startup-key --suspended");
  const BitLockerInfo info = v.Read();
  EXPECT_EQ(info.problem, "");
  EXPECT_EQ(info.protectors,
            (std::vector<std::string>{"tpm-pin", "password", "startup-key", "clear-key"}));
  EXPECT_TRUE(info.Suspended());
  EXPECT_STREQ(info.ProtectionName(), "suspended");
  ExpectAsOtherReadersSee(v, info);
}

// Windows keeps three copies; a damaged first copy is read past, and with all three damaged the
// volume is reported unreadable, which counts as protection on.
TEST(BitLockerMetadata, ADamagedCopyIsReadPastAndAllDamagedIsUnknown) {
  Volume v("--protectors tpm --suspended");
  const auto offsets = v.Copies();
  ASSERT_EQ(offsets.size(), 3u);
  auto smash = [&](uint64_t at) {
    auto r = Sh("printf XXXXXXXX | dd of=" + Quote(v.path) + " bs=1 seek=" + std::to_string(at) +
                " conv=notrunc status=none");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  smash(offsets[0]);
  BitLockerInfo info = v.Read();
  EXPECT_EQ(info.problem, "");
  EXPECT_STREQ(info.ProtectionName(), "suspended");

  smash(offsets[1]);
  smash(offsets[2]);
  info = v.Read();
  EXPECT_STREQ(info.ProtectionName(), "unknown");
  EXPECT_FALSE(info.Suspended());
  for (int copy = 1; copy <= 3; ++copy)
    EXPECT_NE(info.problem.find("copy " + std::to_string(copy) + " at volume byte"),
              std::string::npos)
        << info.problem;
  EXPECT_NE(info.problem.find("no -FVE-FS- signature"), std::string::npos) << info.problem;
}

TEST(BitLockerMetadata, AVolumeHeaderOfAnotherFormatIsNamed) {
  std::vector<unsigned char> sector(512);
  std::memcpy(sector.data() + 3, "-FVE-FS-", 8);  // Vista's header: no Windows 7 identifier
  auto offsets = ParseFveVolumeHeader(sector);
  ASSERT_FALSE(offsets);
  EXPECT_NE(offsets.error().message.find("Windows Vista"), std::string::npos);
  std::memcpy(sector.data() + 3, "NTFS    ", 8);
  EXPECT_FALSE(ParseFveVolumeHeader(sector));
  EXPECT_FALSE(ParseFveVolumeHeader(std::span<const unsigned char>(sector.data(), 100)));
}

// Sizes inside the block are checked before they are used: each lie is named.
TEST(BitLockerMetadata, ABlockWhoseSizesLieIsRefusedWithWhere) {
  Volume v("--protectors tpm");
  const auto offsets = v.Copies();
  ASSERT_EQ(offsets.size(), 3u);
  auto disk = DiskHandle::Open(v.path, DiskHandle::Mode::kReadOnly);
  ASSERT_TRUE(disk);
  std::vector<unsigned char> good(64 * 1024);
  ASSERT_TRUE(disk->ReadAt(Bytes{offsets[0]}, good.data(), good.size()));
  ASSERT_TRUE(ParseFveMetadataBlock(good));

  auto refused = [&](auto change, const std::string& said) {
    auto block = good;
    change(block);
    auto info = ParseFveMetadataBlock(block);
    ASSERT_FALSE(info) << said;
    EXPECT_NE(info.error().message.find(said), std::string::npos) << info.error().message;
  };
  refused([](auto& b) { b[10] = 1; }, "block version 1");
  refused([](auto& b) { b[64] = 0xff, b[65] = 0xff, b[66] = 0xff; }, "metadata size");
  refused([](auto& b) { b[72] = 40; }, "metadata header size 40");
  refused([](auto& b) { b[112] = 0xff, b[113] = 0x7f; }, "entry at metadata byte 48 claims 32767");
  refused([](auto& b) { b[112] = 4, b[113] = 0; }, "entry at metadata byte 48 claims 4");
  refused([](auto& b) { b[112] = 0, b[113] = 0; }, "no volume master key entry");
  EXPECT_FALSE(ParseFveMetadataBlock(std::span<const unsigned char>(good.data(), 100)));
}

}  // namespace
}  // namespace lifeboat::partition
