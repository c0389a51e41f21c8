// The pure halves of boot media: what a USB stick's plan is or why it is refused, and which BCD
// objects a medium's store gets. Writing media, with firmware booting them, is in
// tests/boot/media_test.sh; the store written into a real template is decoded in
// tests/disk/media_store_test.cpp.
#include <gtest/gtest.h>

#include <variant>

#include "bcd/device.h"
#include "bcd/hive.h"
#include "bcd/media_entry.h"
#include "image/fat_volume.h"
#include "media/usb_plan.h"

namespace lifeboat {
namespace {

using media::UsbPlan;
using media::UsbRefusal;

constexpr uint64_t kMiB = 1ULL << 20, kGiB = 1ULL << 30;

media::UsbTarget Stick(uint64_t size) {
  media::UsbTarget t;
  t.path = "/dev/sdz";
  t.exists = true;
  t.block_device = true;
  t.size = size;
  t.contents = {"MBR partition table", "/dev/sdz1: 7.5 GiB vfat \"KINGSTON\""};
  return t;
}

media::UsbRequest Image(uint64_t wim) { return {4 * kMiB, wim, 0, false}; }

std::string Reason(const std::variant<UsbPlan, UsbRefusal>& r) {
  return std::holds_alternative<UsbRefusal>(r) ? std::get<UsbRefusal>(r).reason : "";
}

TEST(UsbPlanTest, AStickGetsOnePartitionFromOneMiBToItsLastWholeMiB) {
  auto r = media::PlanUsb(Stick(8 * kGiB + 123456), Image(600 * kMiB));
  ASSERT_TRUE(std::holds_alternative<UsbPlan>(r)) << std::get<UsbRefusal>(r).message;
  const auto& plan = std::get<UsbPlan>(r);
  EXPECT_FALSE(plan.create_file);
  EXPECT_EQ(plan.partition_start, kMiB);
  EXPECT_EQ(plan.partition_size, 8 * kGiB - kMiB);
  EXPECT_EQ(plan.erases.size(), 2u);  // what is on it is shown before it goes
}

TEST(UsbPlanTest, AMissingImageFileIsMadeJustLargeEnoughOrAsLargeAsAsked) {
  media::UsbTarget file;
  file.path = "/var/tmp/stick.img";
  auto small = media::PlanUsb(file, Image(2 * kMiB));
  ASSERT_TRUE(std::holds_alternative<UsbPlan>(small));
  EXPECT_TRUE(std::get<UsbPlan>(small).create_file);
  EXPECT_EQ(std::get<UsbPlan>(small).partition_size, media::kSmallestPartition);  // FAT32's least
  auto big = media::PlanUsb(file, Image(600 * kMiB));
  const uint64_t needed = media::NeededPartitionSize(Image(600 * kMiB));
  EXPECT_GE(needed, 600 * kMiB + 4 * kMiB);
  EXPECT_EQ(std::get<UsbPlan>(big).disk_size, kMiB + needed);
  auto request = Image(600 * kMiB);
  request.new_size = 2 * kGiB;
  EXPECT_EQ(std::get<UsbPlan>(media::PlanUsb(file, request)).disk_size, 2 * kGiB);
}

TEST(UsbPlanTest, TheWrongDiskIsRefusedAndForceOverridesOnlyWhatItMay) {
  auto mounted = Stick(8 * kGiB);
  mounted.in_use = "mounted at /media/stick (/dev/sdz1)";
  EXPECT_EQ(Reason(media::PlanUsb(mounted, Image(kGiB))), "target-in-use");
  auto system = Stick(8 * kGiB);
  system.holds_running_system = true;
  EXPECT_EQ(Reason(media::PlanUsb(system, Image(kGiB))), "system-disk");
  auto windows = Stick(64 * kGiB);
  windows.windows = {"/dev/sdz3"};
  EXPECT_EQ(Reason(media::PlanUsb(windows, Image(kGiB))), "holds-windows");
  EXPECT_EQ(Reason(media::PlanUsb(Stick(500 * kGiB), Image(kGiB))), "larger-than-a-usb-stick");
  auto forced = Image(kGiB);
  forced.force = true;
  EXPECT_EQ(Reason(media::PlanUsb(windows, forced)), "");
  EXPECT_EQ(Reason(media::PlanUsb(Stick(500 * kGiB), forced)), "");
  // --force never reaches a disk in use or the running system.
  EXPECT_EQ(Reason(media::PlanUsb(mounted, forced)), "target-in-use");
  EXPECT_EQ(Reason(media::PlanUsb(system, forced)), "system-disk");
}

TEST(UsbPlanTest, WhatCannotFitIsRefusedWithTheReason) {
  auto too_large = media::PlanUsb(Stick(32 * kGiB), Image(media::kFat32FileLimit + 1));
  EXPECT_EQ(Reason(too_large), "image-too-large-for-fat32");
  EXPECT_NE(std::get<UsbRefusal>(too_large).message.find("Make an ISO instead"), std::string::npos);
  EXPECT_EQ(Reason(media::PlanUsb(Stick(8 * kGiB), Image(media::kFat32FileLimit))), "");
  EXPECT_EQ(Reason(media::PlanUsb(Stick(512 * kMiB), Image(600 * kMiB))), "target-too-small");
  auto four_k = Stick(8 * kGiB);
  four_k.sector_size = 4096;
  EXPECT_EQ(Reason(media::PlanUsb(four_k, Image(kGiB))), "sector-size");
  media::UsbTarget gone;
  gone.path = "/dev/sdq";
  gone.block_device = true;
  EXPECT_EQ(Reason(media::PlanUsb(gone, Image(kGiB))), "no-target");
  auto sized = Image(kGiB);
  sized.new_size = 4 * kGiB;
  EXPECT_EQ(Reason(media::PlanUsb(Stick(8 * kGiB), sized)), "size-given");
}

// --- the media store's objects ------------------------------------------------------------------

bcd::MediaEntrySpec Spec() {
  bcd::MediaEntrySpec spec;
  spec.description = "Contoso DaRT 10.0.3";
  spec.winload = "\\Windows\\System32\\boot\\winload.efi";
  return spec;
}

TEST(FatClusterTest, TheLargestClusterThatLeavesFat32ItsClusters) {
  using image::FatVolume;
  constexpr uint64_t kMiBSectors = 2048;
  EXPECT_EQ(FatVolume::ClusterSectors(40 * kMiBSectors), 1u);  // too small for more than one sector
  EXPECT_EQ(FatVolume::ClusterSectors(95 * kMiBSectors), 2u);  // 97,280 clusters of 1 KiB
  EXPECT_EQ(FatVolume::ClusterSectors(524 * kMiBSectors), 16u);        // 68,608 clusters of 8 KiB
  EXPECT_EQ(FatVolume::ClusterSectors(16 * 1024 * kMiBSectors), 64u);  // 32 KiB from about 2 GiB up
  EXPECT_EQ(FatVolume::ClusterSectors(uint64_t{1} << 40), 64u);
  for (uint64_t sectors = 66'900; sectors < (uint64_t{1} << 26); sectors = sectors * 3 / 2) {
    const uint32_t cluster = FatVolume::ClusterSectors(sectors);
    EXPECT_GE(sectors / cluster, 66'900u) << sectors;
    if (cluster < 64) {
      EXPECT_LT(sectors / (cluster * 2), 66'900u) << sectors << ": could be larger";
    }
  }
}

TEST(MediaStoreTest, AnEmptyStoreGetsABootManagerTheLoaderAndItsRamDiskOptions) {
  bcd::Store empty;
  const auto objects = bcd::PlanMediaStore(empty, Spec());
  ASSERT_EQ(objects.size(), 3u);
  const bcd::Object& bootmgr = objects[0];
  const bcd::Object& loader = objects[1];
  const bcd::Object& options = objects[2];
  EXPECT_EQ(bootmgr.id, bcd::known::kBootMgr);
  EXPECT_EQ(loader.id, bcd::kMediaLoader);
  EXPECT_EQ(options.id, bcd::known::kRamdiskOptions);
  EXPECT_EQ(bcd::DecodeString(bootmgr.elements.at(bcd::elements::kDefault).data),
            bcd::kMediaLoader.Text());
  EXPECT_EQ(bcd::ObjectList(bootmgr, bcd::elements::kDisplayOrder),
            std::vector<bcd::Guid>{bcd::kMediaLoader});
  auto device = bcd::DecodeDevice(loader.elements.at(bcd::elements::kDevice).data);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->kind, bcd::Device::Kind::kRamdisk);
  EXPECT_TRUE(device->parent_is_boot);
  EXPECT_EQ(device->path, "\\sources\\boot.wim");
  EXPECT_EQ(device->options, bcd::known::kRamdiskOptions);
  EXPECT_EQ(bcd::FormatDevice(*device), "ramdisk=[boot]\\sources\\boot.wim,{ramdiskoptions}");
  EXPECT_EQ(loader.elements.at(bcd::elements::kOsDevice),
            loader.elements.at(bcd::elements::kDevice));
  EXPECT_EQ(bcd::DecodeString(loader.elements.at(bcd::elements::kPath).data), Spec().winload);
  auto sdi = bcd::DecodeDevice(options.elements.at(bcd::elements::kSdiDevice).data);
  ASSERT_TRUE(sdi);
  EXPECT_EQ(sdi->kind, bcd::Device::Kind::kBoot);
  EXPECT_EQ(bcd::DecodeString(options.elements.at(bcd::elements::kSdiPath).data),
            "\\boot\\boot.sdi");
}

TEST(MediaStoreTest, AStoreSavedWithThePlanIsIntactAndPlansNothingMore) {
  bcd::Store store;
  for (auto& object : bcd::PlanMediaStore(store, Spec())) store.objects[object.id] = object;
  std::string why;
  EXPECT_TRUE(bcd::MediaStoreIntact(store, Spec(), &why)) << why;
  EXPECT_TRUE(bcd::PlanMediaStore(store, Spec()).empty());
  // A one-time choice and a tools menu (a template's) are dropped.
  store.objects[bcd::known::kBootMgr].elements[bcd::elements::kToolsDisplayOrder] =
      bcd::ObjectListElement({bcd::kMediaLoader});
  EXPECT_FALSE(bcd::MediaStoreIntact(store, Spec(), &why));
  store.objects[bcd::known::kBootMgr].elements.erase(bcd::elements::kToolsDisplayOrder);
  store.objects[bcd::known::kBootMgr].elements[bcd::elements::kBootSequence] =
      bcd::ObjectListElement({bcd::kMediaLoader});
  EXPECT_FALSE(bcd::MediaStoreIntact(store, Spec(), &why));
  EXPECT_NE(why.find(bcd::known::kBootMgr.Text()), std::string::npos) << why;
  auto bios = Spec();
  bios.winload = "\\Windows\\System32\\boot\\winload.exe";
  EXPECT_FALSE(bcd::MediaStoreIntact(store, bios));
}

TEST(MediaStoreTest, BootDevicesEncodeAsWindowsWritesThem) {
  // BCD-FORMAT.md 3.4: 88 bytes, type 5, size 0x48; 3.5: "\sources\boot.wim" → 176 bytes.
  const auto boot = bcd::EncodeBootDevice();
  ASSERT_EQ(boot.size(), 88u);
  EXPECT_EQ(boot[0x10], 5);
  EXPECT_EQ(boot[0x18], 0x48);
  const auto ramdisk =
      bcd::EncodeRamdiskOnBootDevice("\\sources\\boot.wim", bcd::known::kRamdiskOptions);
  ASSERT_EQ(ramdisk.size(), 176u);
  EXPECT_EQ(ramdisk[0x14], 1);     // flags on a RAM disk's outer descriptor
  EXPECT_EQ(ramdisk[0x20], 3);     // RAM disk
  EXPECT_EQ(ramdisk[0x44], 5);     // parent: the boot device
  EXPECT_EQ(ramdisk[0x4c], 0x48);  // its size
}

// The hive a store from scratch starts as: a base block Lifeboat's own reader (and hivex, in
// tests/disk/media_test.cpp) accepts, one bin, the root key named.
TEST(MediaStoreTest, AnEmptyHiveHasAValidBaseBlockAndItsRootKey) {
  const auto bytes = bcd::EmptyHiveBytes("NewStoreRoot");
  ASSERT_EQ(bytes.size(), 8192u);
  auto header = bcd::ReadHiveHeader(bytes);
  ASSERT_TRUE(header) << header.error().message;
  EXPECT_EQ(header->sequence1, header->sequence2);
  EXPECT_EQ(std::string(bytes.begin() + 4096, bytes.begin() + 4100), "hbin");
  EXPECT_EQ(std::string(bytes.begin() + 4096 + 0x24, bytes.begin() + 4096 + 0x26), "nk");
  EXPECT_EQ(std::string(bytes.begin() + 4096 + 0x20 + 4 + 0x4c,
                        bytes.begin() + 4096 + 0x20 + 4 + 0x4c + 12),
            "NewStoreRoot");
}

}  // namespace
}  // namespace lifeboat
