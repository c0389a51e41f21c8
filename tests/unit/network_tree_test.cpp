// The recovery image laid out for a network boot (media/network_tree.h), from a real WIM made with
// wimlib whose boot files are the media tests' stand-ins; the stores decoded with hivexsh.
#include "media/network_tree.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::media {
namespace {

namespace fs = std::filesystem;
using namespace lifeboat::test;  // NOLINT(google-build-using-namespace): the test helpers

const char* kLoader = "{7619dcc9-fafe-11d9-b411-000476eba25f}";  // the template's loader
const char* kRamdiskOptions = "{ae5534e0-a924-466c-b836-758539a3ee3a}";

std::string Bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// hivexsh prints a string value quoted, its backslashes doubled.
std::string Quoted(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) quoted += c == '\\' ? std::string("\\\\") : std::string(1, c);
  return quoted + "\"";
}

class NetworkTreeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new TempDir;
    ASSERT_NO_FATAL_FAILURE(
        MakeMediaTestWim(*work_ / "image.wim", *work_ / "standins", "--size-mb 2"));
    chmod((*work_ / "image.wim").c_str(), 0644);
  }
  static void TearDownTestSuite() { delete work_; }
  static std::string Wim() { return *work_ / "image.wim"; }
  static inline TempDir* work_ = nullptr;
  TempDir dir_;
};

TEST_F(NetworkTreeTest, EachFirmwaresBootFilesAndStoresThatLoadTheWimOverTftp) {
  auto source = ReadMediumSource(Wim(), "2.5", FirmwareChoice::kBoth, MediumKind::kNetwork, false);
  ASSERT_TRUE(source) << source.error().message;
  const fs::path folder = fs::path(dir_.path()) / "tftp/lifeboat/recovery/2.5";
  auto tree = WriteNetworkTree(*source, {folder, "\\lifeboat\\recovery\\2.5", 8192});
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_TRUE(tree->uefi && tree->bios);
  std::vector<std::string> files = tree->files;
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files,
            (std::vector<std::string>{"Boot/BCD", "EFI/Microsoft/Boot/BCD", "boot.sdi", "boot.wim",
                                      "bootmgfw.efi", "bootmgr.exe", "pxeboot.n12"}));
  // Nothing else in the folder, and nothing left beside it.
  size_t found = 0;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    found += entry.is_regular_file() ? 1 : 0;
  EXPECT_EQ(found, files.size());
  EXPECT_EQ(std::distance(fs::directory_iterator(folder.parent_path()), fs::directory_iterator()),
            1);

  const fs::path boot = *work_ / "standins/Windows/Boot";
  EXPECT_EQ(Bytes(folder / "bootmgfw.efi"), Bytes(boot / "EFI/bootmgfw.efi"));
  EXPECT_EQ(Bytes(folder / "pxeboot.n12"), Bytes(boot / "PXE/pxeboot.n12"));
  EXPECT_EQ(Bytes(folder / "bootmgr.exe"), Bytes(boot / "PXE/bootmgr.exe"));
  // The image itself, linked (it is readable by all, as a TFTP server needs).
  struct stat linked {
  }, image{};
  ASSERT_EQ(stat((folder / "boot.wim").c_str(), &linked), 0);
  ASSERT_EQ(stat(Wim().c_str(), &image), 0);
  EXPECT_EQ(linked.st_ino, image.st_ino);
  EXPECT_EQ(image.st_mode & 0777, 0644u);

  for (const auto& [store, winload] :
       {std::pair{"Boot/BCD", "\\Windows\\System32\\boot\\winload.exe"},
        std::pair{"EFI/Microsoft/Boot/BCD", "\\Windows\\System32\\boot\\winload.efi"}}) {
    const std::string file = folder / store;
    const auto device = HexBytes(ElementValue(file, kLoader, "11000001"));
    EXPECT_EQ(RamdiskPath(device), "\\lifeboat\\recovery\\2.5\\boot.wim") << store;
    ASSERT_GE(device.size(), 0x48u);
    EXPECT_EQ(device[0x44], 5) << "the RAM disk's parent is the boot device";
    EXPECT_EQ(ElementValue(file, kLoader, "12000002"), Quoted(winload));
    EXPECT_EQ(ElementValue(file, kRamdiskOptions, "32000004"),
              Quoted("\\lifeboat\\recovery\\2.5\\boot.sdi"));
    // ramdisktftpblocksize: 8,192 as a little-endian 64-bit integer.
    EXPECT_EQ(HexBytes(ElementValue(file, kRamdiskOptions, "35000007")),
              (std::vector<uint8_t>{0x00, 0x20, 0, 0, 0, 0, 0, 0}));
  }

  // Written once: the folder of a version is never written over.
  auto again = WriteNetworkTree(*source, {folder, "\\lifeboat\\recovery\\2.5", 8192});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(NetworkTreeTest, WhatCannotBeServedIsRefusedBeforeAnythingIsWritten) {
  auto source = ReadMediumSource(Wim(), "2.5", FirmwareChoice::kBoth, MediumKind::kNetwork, false);
  ASSERT_TRUE(source);
  const fs::path folder = fs::path(dir_.path()) / "tftp/recovery/2.5";
  for (const char* served : {"lifeboat\\2.5", "\\lifeboat\\..\\boot", "\\a b", "\\a\\", "\\a\\\\b",
                             "\\a\"b", "\\a/b", "\\"}) {
    auto refused = WriteNetworkTree(*source, {folder, served, 8192});
    ASSERT_FALSE(refused) << served;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument) << served;
  }
  EXPECT_FALSE(fs::exists(fs::path(dir_.path()) / "tftp"));

  // An image without the PXE boot files cannot boot a BIOS from the network.
  const std::string bare = fs::path(dir_.path()) / "bare.wim";
  MakeTestWim(bare, "--size-mb 1");
  auto bios = ReadMediumSource(bare, "2.5", FirmwareChoice::kBios, MediumKind::kNetwork, false);
  ASSERT_FALSE(bios);
  EXPECT_EQ(bios.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(bios.error().message.find("\\Windows\\Boot\\PXE\\pxeboot.n12"), std::string::npos)
      << bios.error().message;
}

}  // namespace
}  // namespace lifeboat::media
