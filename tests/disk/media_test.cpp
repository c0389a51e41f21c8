// Boot media written by lifeboat-agent and checked with tools Lifeboat did not write: xorriso's
// boot catalog report and isoinfo for the ISO; sfdisk, fsck.vfat and mtools for the USB stick;
// hivexsh for the media BCD stores. And the targets a USB write must refuse, each with its reason
// and the whole target byte-for-byte unchanged. (Firmware booting the media:
// tests/boot/media_test.sh.)
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

constexpr const char* kLoader = "{7619dcc9-fafe-11d9-b411-000476eba25f}";  // the template's
constexpr const char* kRamdiskOptions = "{ae5534e0-a924-466c-b836-758539a3ee3a}";

class MediaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_NO_FATAL_FAILURE(MakeMediaTestWim(*dir_ / "media.wim", *dir_ / "standins"));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Wim() { return *dir_ / "media.wim"; }
  static TempDir* dir_;
  TempDir work_;
};
TempDir* MediaTest::dir_ = nullptr;

// The RAM-disk entry as hivexsh reads it from a store file.
void ExpectMediaEntry(const std::string& store, const std::string& winload) {
  const auto device = HexBytes(ElementValue(store, kLoader, "11000001"));
  EXPECT_EQ(RamdiskPath(device), "\\sources\\boot.wim") << store;
  ASSERT_GE(device.size(), 0x48u);
  EXPECT_EQ(device[0x44], 5) << "the RAM disk's parent is the boot device";
  EXPECT_EQ(HexBytes(ElementValue(store, kLoader, "21000001")), device) << "osdevice";
  // hivexsh prints a string value quoted, its backslashes doubled.
  std::string quoted = "\"";
  for (char c : winload) quoted += c == '\\' ? std::string("\\\\") : std::string(1, c);
  EXPECT_EQ(ElementValue(store, kLoader, "12000002"), quoted + "\"");
  // {bootmgr} starts the loader, and has no tools menu (the template's {memdiag} is not there).
  const std::string bootmgr = "{9dea862c-5cdd-4e70-acc1-f32b344d4795}";
  EXPECT_NE(ElementValue(store, bootmgr, "23000003").find(kLoader), std::string::npos);
  EXPECT_EQ(ElementValue(store, bootmgr, "24000010"), "");
  const auto sdi_device = HexBytes(ElementValue(store, kRamdiskOptions, "31000003"));
  ASSERT_GE(sdi_device.size(), 0x14u);
  EXPECT_EQ(sdi_device[0x10], 5) << "boot.sdi on the boot device";
}

struct StoreCopy {
  std::string file;     // copied out of the medium
  std::string winload;  // what its loader must start
};

// Both media stores of an ISO, copied out with osirrox.
std::vector<StoreCopy> IsoStores(const std::string& iso, const TempDir& work) {
  std::vector<StoreCopy> stores;
  for (const auto& [store, winload] :
       {std::pair{"/boot/bcd", "\\Windows\\System32\\boot\\winload.exe"},
        std::pair{"/efi/microsoft/boot/bcd", "\\Windows\\System32\\boot\\winload.efi"}}) {
    const std::string file = work / ("store" + std::to_string(stores.size()));
    EXPECT_EQ(Sh("osirrox -indev " + Quote(iso) + " -extract " + store + " " + Quote(file) +
                 " 2>/dev/null")
                  .exit_code,
              0)
        << store;
    stores.push_back({file, winload});
  }
  return stores;
}

TEST_F(MediaTest, TheIsoHasTheWindowsLayoutAndBothBootImages) {
  const std::string iso = work_ / "media.iso";
  auto made = Agent({"media", "iso", iso, "--image", Wim(), "--version", "2.5", "--json"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(JsonShapeProblem(made.out, "medium"), "");

  // xorriso's report of the El Torito catalog: BIOS no-emulation, 8 sectors loaded, and UEFI.
  auto catalog = Sh("xorriso -indev " + Quote(iso) + " -report_el_torito plain 2>/dev/null");
  EXPECT_NE(catalog.out.find("El Torito boot img :   1  BIOS  y   none  0x0000  0x00      8"),
            std::string::npos)
      << catalog.out;
  EXPECT_NE(catalog.out.find("El Torito img path :   1  /boot/etfsboot.com"), std::string::npos);
  EXPECT_NE(catalog.out.find("El Torito boot img :   2  UEFI  y   none"), std::string::npos);
  EXPECT_NE(catalog.out.find("El Torito img path :   2  /efi/microsoft/boot/efisys.bin"),
            std::string::npos);
  // No boot-info table patched into etfsboot.com: its bytes are the image's.
  ASSERT_EQ(Sh("osirrox -indev " + Quote(iso) + " -extract /boot/etfsboot.com " +
               Quote(work_ / "etfsboot.com") + " 2>/dev/null && wimlib-imagex extract " +
               Quote(Wim()) + " 1 /Windows/Boot/DVD/PCAT/etfsboot.com --dest-dir=" +
               Quote(work_ / "from-wim") + " >/dev/null")
                .exit_code,
            0);
  EXPECT_EQ(
      Sh("cmp " + Quote(work_ / "etfsboot.com") + " " + Quote(work_ / "from-wim/etfsboot.com"))
          .exit_code,
      0);
  // isoinfo lists the Windows media layout (Joliet names).
  auto files = Sh("isoinfo -J -f -i " + Quote(iso));
  for (const char* path : {"/bootmgr", "/boot/bcd", "/boot/boot.sdi", "/efi/boot/bootx64.efi",
                           "/efi/microsoft/boot/bcd", "/sources/boot.wim"})
    EXPECT_NE(files.out.find(std::string(path) + "\n"), std::string::npos) << path << files.out;
  EXPECT_NE(Sh("isoinfo -d -i " + Quote(iso)).out.find("Volume id: LIFEBOAT_2_5"),
            std::string::npos);
  ASSERT_EQ(Sh("osirrox -indev " + Quote(iso) + " -extract /sources/boot.wim " +
               Quote(work_ / "boot.wim") + " 2>/dev/null")
                .exit_code,
            0);
  EXPECT_EQ(Sh("cmp " + Quote(Wim()) + " " + Quote(work_ / "boot.wim")).exit_code, 0);
  // Both stores decode to the RAM-disk entry, with the firmware's own winload.
  for (const auto& store : IsoStores(iso, work_)) ExpectMediaEntry(store.file, store.winload);
}

// An image without media BCD templates (the ADK's winpe.wim may have none): both stores are made
// from scratch, and hivexml (an independent reader) decodes the same entry from them.
// An ISO written under /dev (a tmpfs such as /dev/shm) is a plain file: xorriso, which takes
// such paths for drives unless told otherwise, writes and reads it.
TEST_F(MediaTest, AnIsoIsWrittenToATmpfsUnderDev) {
  ASSERT_TRUE(std::filesystem::is_directory("/dev/shm")) << "Linux's shared-memory tmpfs";
  char tmpl[] = "/dev/shm/lifeboat-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, iso = dir + "/media.iso";
  auto made = Agent({"media", "iso", iso, "--image", Wim(), "--version", "2.5"});
  EXPECT_EQ(made.exit_code, 0) << made.out << made.err;
  auto catalog = Sh("xorriso -indev stdio:" + Quote(iso) + " -report_el_torito plain 2>&1");
  EXPECT_NE(catalog.out.find("El Torito img path :   1  /boot/etfsboot.com"), std::string::npos)
      << catalog.out;
  std::filesystem::remove_all(dir);
}

TEST_F(MediaTest, WithoutTemplatesTheStoresAreMadeFromScratch) {
  const std::string standins = work_ / "standins";
  ASSERT_EQ(Sh("cp -r " + Quote(*dir_ / "standins") + " " + Quote(standins) + " && rm " +
               Quote(standins + "/Windows/Boot/DVD/EFI/BCD") + " " +
               Quote(standins + "/Windows/Boot/DVD/PCAT/BCD"))
                .exit_code,
            0);
  ASSERT_NO_FATAL_FAILURE(MakeTestWim(work_ / "bare.wim", "--overlay " + Quote(standins)));
  const std::string iso = work_ / "bare.iso";
  auto made = Agent({"media", "iso", iso, "--image", work_ / "bare.wim", "--version", "3"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  for (const auto& store : IsoStores(iso, work_)) {
    const std::string& file = store.file;
    ExpectMediaEntry(file, store.winload);
    const std::string xml = Sh("hivexml " + Quote(file)).out;
    EXPECT_NE(xml.find("<node name=\"NewStoreRoot\" root=\"1\">"), std::string::npos) << xml;
    EXPECT_NE(xml.find("key=\"KeyName\" value=\"BCD00000001\""), std::string::npos) << xml;
    const auto objects = StoreObjects(file);
    EXPECT_EQ(objects.size(), 3u) << "{bootmgr}, the loader and {ramdiskoptions}, nothing else";
  }
}

TEST_F(MediaTest, TheUsbStickIsOneActiveFat32PartitionThatFsckAndMtoolsAccept) {
  const std::string stick = work_ / "stick.img";
  auto made = Agent(
      {"media", "usb", stick, "--image", Wim(), "--version", "2.5", "--size", "96M", "--json"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(JsonShapeProblem(made.out, "medium"), "");
  EXPECT_NE(made.out.find("\"verified\": true"), std::string::npos) << made.out;
  const SfTable table = Sfdisk(stick);
  EXPECT_EQ(table.label, "dos");
  ASSERT_EQ(table.partitions.size(), 1u);
  EXPECT_EQ(table.partitions[0].start, 2048u);
  EXPECT_EQ(table.partitions[0].size, (96u - 1) * 2048);
  EXPECT_EQ(table.partitions[0].type, "c");
  EXPECT_TRUE(table.partitions[0].bootable);
  // syslinux's MBR code, byte for byte.
  EXPECT_EQ(Sh("cmp -n 440 " + Quote(stick) + " /usr/lib/syslinux/mbr/mbr.bin").exit_code, 0);
  auto loop = Sh("losetup --find --show --read-only --offset 1048576 " + Quote(stick));
  ASSERT_EQ(loop.exit_code, 0);
  const std::string device = loop.out.substr(0, loop.out.find('\n'));
  auto fsck = Sh("fsck.vfat -n " + device);
  auto blkid = Sh("blkid -o export " + device);
  Sh("losetup --detach " + device);
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  EXPECT_EQ(fsck.out.find("differences"), std::string::npos) << fsck.out;
  EXPECT_NE(blkid.out.find("TYPE=vfat"), std::string::npos);
  EXPECT_NE(blkid.out.find("LABEL=LIFEBOAT"), std::string::npos) << blkid.out;
  const std::string fat = Quote(stick) + "@@1M";
  // 1 KiB clusters: the largest that leave FAT32 its 65,525 clusters in 95 MiB.
  EXPECT_NE(Sh("minfo -i " + fat + " ::").out.find("cluster size: 2 sectors"), std::string::npos);
  auto listing = Sh("mdir -/ -a -b -i " + fat + " ::/");  // -a: ldlinux.sys is hidden
  for (const char* path :
       {"::/bootmgr", "::/boot/bcd", "::/boot/boot.sdi", "::/efi/boot/bootx64.efi",
        "::/efi/microsoft/boot/bcd", "::/sources/boot.wim", "::/syslinux/chain.c32",
        "::/syslinux/syslinux.cfg", "::/syslinux/ldlinux.sys", "::/syslinux/ldlinux.c32"})
    EXPECT_NE(listing.out.find(path), std::string::npos) << path << listing.out;
  ASSERT_EQ(
      Sh("mcopy -n -i " + fat + " ::/sources/boot.wim " + Quote(work_ / "boot.wim")).exit_code, 0);
  EXPECT_EQ(Sh("cmp " + Quote(Wim()) + " " + Quote(work_ / "boot.wim")).exit_code, 0);
  EXPECT_NE(Sh("mtype -i " + fat + " ::/syslinux/syslinux.cfg").out.find("APPEND ntldr=/bootmgr"),
            std::string::npos);
  for (const auto& [store, winload] :
       {std::pair{"::/boot/bcd", "\\Windows\\System32\\boot\\winload.exe"},
        std::pair{"::/efi/microsoft/boot/bcd", "\\Windows\\System32\\boot\\winload.efi"}}) {
    const std::string file = work_ / "store";
    ASSERT_EQ(Sh("mcopy -n -o -i " + fat + " " + store + " " + Quote(file)).exit_code, 0);
    ExpectMediaEntry(file, winload);
  }

  // Written again over what it holds now, it says what it erases; a dry run changes nothing.
  auto again = Agent({"media", "usb", stick, "--image", Wim(), "--version", "2.5"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("erases " + stick +
                           " (96 MiB), which holds:\n  mbr partition table\n"
                           "  partition 1: 95 MiB fat \"LIFEBOAT\"\n"),
            std::string::npos)
      << again.out;
  const std::string written = ImageChecksum(stick);
  auto dry = Agent({"media", "usb", stick, "--image", Wim(), "--version", "2.5", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(ImageChecksum(stick), written);
}

// Each refused target: exit 3 with the reason, and the target's every byte as it was.
TEST_F(MediaTest, TheWrongTargetIsRefusedAndLeftAsItWas) {
  // A disk holding Windows.
  const std::string windows = work_ / "windows.img";
  MakeWindowsDisk(windows, "--label gpt --fill-mb 8");
  const std::string before = ImageChecksum(windows);
  auto refused = Agent({"media", "usb", windows, "--image", Wim(), "--version", "1", "--json"});
  EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("\"reason\": \"holds-windows\""), std::string::npos) << refused.out;
  EXPECT_EQ(ImageChecksum(windows), before);

  // The same disk with its Windows volume mounted (through a loop device at its offset).
  const SfPartition volume = Sfdisk(windows).partitions.at(2);
  auto loop = Sh("losetup --find --show --offset " + std::to_string(volume.start * 512) +
                 " --sizelimit " + std::to_string(volume.size * 512) + " " + Quote(windows));
  ASSERT_EQ(loop.exit_code, 0);
  const std::string device = loop.out.substr(0, loop.out.find('\n'));
  const std::string mount_point = work_ / "mnt";
  ASSERT_EQ(Sh("mkdir -p " + Quote(mount_point) + " && ntfs-3g -o ro " + device + " " +
               Quote(mount_point))
                .exit_code,
            0);
  auto mounted = Agent({"media", "usb", windows, "--image", Wim(), "--version", "1", "--force"});
  Sh("umount " + Quote(mount_point) + "; losetup --detach " + device);
  EXPECT_EQ(mounted.exit_code, 3) << mounted.err;
  EXPECT_NE(mounted.err.find("is in use (mounted at " + mount_point), std::string::npos)
      << mounted.err;
  EXPECT_EQ(ImageChecksum(windows), before);

  // The disk the running system is on (only planned: --dry-run, so a mistake here could never
  // write to it). Skipped where / is on no block device (a container's overlay).
  const std::string root = Sh("findmnt -n -o SOURCE --target / | head -1").out;
  const std::string root_disk =
      Sh("lsblk -n -d -p -o PKNAME " + root + " 2>/dev/null | head -1").out;
  const std::string system_disk =
      (root_disk.size() > 1 ? root_disk : root)
          .substr(0, (root_disk.size() > 1 ? root_disk : root).find('\n'));
  if (system_disk.rfind("/dev/", 0) == 0) {
    auto system = Agent({"media", "usb", system_disk, "--image", Wim(), "--version", "1",
                         "--dry-run", "--force", "--json"});
    EXPECT_EQ(system.exit_code, 3) << system.out << system.err;
    EXPECT_NE(system.out.find("\"reason\": \"system-disk\""), std::string::npos) << system.out;
  }

  // An image of 4 GiB or more: FAT32 cannot hold it (the WIM padded, sparse, past 4 GiB).
  const std::string big = work_ / "big.wim";
  ASSERT_EQ(
      Sh("cp " + Quote(Wim()) + " " + Quote(big) + " && truncate -s 4100M " + Quote(big)).exit_code,
      0);
  const std::string stick = work_ / "stick.img";
  ASSERT_EQ(Sh("truncate -s 8G " + Quote(stick)).exit_code, 0);
  const std::string blank = ImageChecksum(stick);
  auto oversized = Agent({"media", "usb", stick, "--image", big, "--version", "1", "--json"});
  EXPECT_EQ(oversized.exit_code, 3) << oversized.out << oversized.err;
  EXPECT_NE(oversized.out.find("\"reason\": \"image-too-large-for-fat32\""), std::string::npos)
      << oversized.out;
  EXPECT_EQ(ImageChecksum(stick), blank);

  // A stick too small for the image, and an image without the boot files a firmware needs.
  ASSERT_EQ(Sh("truncate -s 20M " + Quote(work_ / "small.img")).exit_code, 0);
  auto small = Agent({"media", "usb", work_ / "small.img", "--image", Wim(), "--version", "1"});
  EXPECT_EQ(small.exit_code, 3) << small.err;
  EXPECT_NE(small.err.find("the medium needs"), std::string::npos) << small.err;
  ASSERT_NO_FATAL_FAILURE(MakeTestWim(work_ / "plain.wim", ""));
  auto plain = Agent(
      {"media", "iso", work_ / "plain.iso", "--image", work_ / "plain.wim", "--version", "1"});
  EXPECT_EQ(plain.exit_code, 6) << plain.err;
  EXPECT_NE(plain.err.find("UEFI needs \\Windows\\Boot\\EFI\\bootmgfw.efi"), std::string::npos)
      << plain.err;
  EXPECT_FALSE(std::filesystem::exists(work_ / "plain.iso"));

  // Labels the file systems cannot keep: a usage error, before anything is made.
  auto label = Agent({"media", "usb", work_ / "l.img", "--image", Wim(), "--version", "1",
                      "--label", "lower case"});
  EXPECT_EQ(label.exit_code, 2) << label.err;
  EXPECT_NE(label.err.find("--label: \"lower case\" holds 'l'"), std::string::npos) << label.err;
  auto volume_id = Agent({"media", "iso", work_ / "l.iso", "--image", Wim(), "--version", "1",
                          "--volume-id", std::string(33, 'A')});
  EXPECT_EQ(volume_id.exit_code, 2) << volume_id.err;
  EXPECT_FALSE(std::filesystem::exists(work_ / "l.img"));
  EXPECT_FALSE(std::filesystem::exists(work_ / "l.iso"));
}

}  // namespace
}  // namespace lifeboat::test
