// The hardware identity the service environment reports, read from a folder shaped like sysfs:
// physical adapters only, SATA serials from VPD page 0x80, virtio and NVMe serials from their
// files.
#include "agent/contact/hardware_identity.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"

namespace lifeboat::agent {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(HardwareIdentity, ReadsUuidPhysicalAdaptersAndDiskSerials) {
  test::TempDir dir;
  const fs::path sys = dir.path();
  Write(sys / "class/dmi/id/product_uuid", "5B7C3E2A-1111-4222-8333-944455556666\n");
  Write(sys / "class/net/enp1s0/address", "52:54:00:AB:CD:EF\n");
  fs::create_directories(sys / "class/net/enp1s0/device");
  Write(sys / "class/net/eth1/address", "52:54:00:12:34:56\n");
  fs::create_directories(sys / "class/net/eth1/device");
  Write(sys / "class/net/br0/address", "52:54:00:12:34:56\n");  // a bridge copies a MAC
  Write(sys / "class/net/lo/address", "00:00:00:00:00:00\n");
  Write(sys / "block/vda/serial", "VIRTIO-1\n");
  Write(sys / "block/nvme0n1/device/serial", "  NVME-SERIAL-2  \n");
  // VPD page 0x80: 4 header bytes (the last one the length), then the serial.
  Write(sys / "block/sda/device/vpd_pg80", std::string("\0\x80\0\x08WD-ABC12", 12));
  Write(sys / "block/loop0/serial", "LOOP\n");
  fs::create_directories(sys / "block/sr0");

  const HardwareIdentity id = ReadHardwareIdentity(sys.string());
  EXPECT_EQ(id.smbios_uuid, "5b7c3e2a-1111-4222-8333-944455556666");
  EXPECT_EQ(id.macs, (std::vector<std::string>{"52:54:00:12:34:56", "52:54:00:ab:cd:ef"}));
  EXPECT_EQ(id.disk_serials, (std::vector<std::string>{"NVME-SERIAL-2", "VIRTIO-1", "WD-ABC12"}));
}

TEST(HardwareIdentity, AMachineWithoutSysfsPartsReportsWhatItHas) {
  test::TempDir dir;
  const HardwareIdentity id = ReadHardwareIdentity(dir.path());
  EXPECT_EQ(id.smbios_uuid, "");
  EXPECT_TRUE(id.macs.empty());
  EXPECT_TRUE(id.disk_serials.empty());
}

}  // namespace
}  // namespace lifeboat::agent
