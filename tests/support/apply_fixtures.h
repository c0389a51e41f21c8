// What the tests of apply's planner and executor start from: a request for a 300 MiB image, GPT
// and MBR disk models like Windows Setup's, a real Windows BCD store.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "agent/apply_plan.h"
#include "agent/store_editor.h"
#include "tests/support/disk_builder.h"

namespace lifeboat::test::apply {

using namespace agent;
using namespace partition;

inline const std::string kSha = std::string(64, 'a');
inline const std::string kOtherSha = std::string(64, 'b');

// A real Windows store (tests/fixtures/bcd/pybcd_BCDlaptop).
inline std::vector<uint8_t> WindowsStoreBytes() {
  std::ifstream in(std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures/bcd/pybcd_BCDlaptop",
                   std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

inline bcd::Store WindowsStore() {
  auto store = agent::ParseStore(WindowsStoreBytes());
  EXPECT_TRUE(store) << store.error().message;
  return *store;
}

inline ApplyRequest Request(const std::string& version, const std::string& sha = kSha) {
  ApplyRequest r(*Version::Parse(version));
  r.image.path = "recovery.wim";
  r.image.sha256 = sha;
  r.image.size = Bytes{300 * MiB};
  r.image.name = "Test PE";
  r.image.winload_efi = "\\Windows\\System32\\boot\\winload.efi";
  r.image.winload_exe = "\\Windows\\System32\\boot\\winload.exe";
  r.sdi_size = Bytes{3 * MiB};
  r.sdi_sha256 = kOtherSha;
  r.partition_policy.recovery_size = Bytes{1024 * MiB};
  r.partition_policy.image_size = r.image.size;
  return r;
}

// ESP, MSR, Windows with room to shrink, WinRE; optionally free space or a Lifeboat partition.
inline partition::DiskModel GptDisk(bool with_lifeboat, uint64_t disk_mib = 16384) {
  DiskBuilder b(LabelKind::kGpt, 512, disk_mib);
  b.UefiBoot().Windows(117, 6000, 2000).WinRe(6117, 500);
  if (with_lifeboat) {
    b.Add(6617, 1200, types::kGptRecovery, FilesystemKind::kNtfs,
          [](Partition& p) { p.name = "Lifeboat"; });
  }
  return b.Build();
}

inline partition::DiskModel MbrDisk() {
  return DiskBuilder(LabelKind::kMbr, 512, 8192)
      .Add(1, 100, types::kMbrNtfs, FilesystemKind::kNtfs, [](Partition& p) { p.bootable = true; })
      .Windows(101, 7000, 2000)
      .WinRe(7101, 500)
      .Build();
}

inline BootStoreState Boot(const bcd::Store& store,
                           image::Firmware firmware = image::Firmware::kUefi) {
  BootStoreState b;
  b.location.firmware = firmware;
  b.location.partition_number = 1;
  b.location.path =
      firmware == image::Firmware::kUefi ? "\\EFI\\Microsoft\\Boot\\BCD" : "\\Boot\\BCD";
  b.location.fat = firmware == image::Firmware::kUefi;
  b.store = store;
  b.sha256 = kOtherSha;
  return b;
}

}  // namespace lifeboat::test::apply
