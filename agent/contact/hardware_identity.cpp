#include "agent/contact/hardware_identity.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace lifeboat::agent {

namespace fs = std::filesystem;

namespace {

std::string ReadTrimmed(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), {}};
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A SCSI/SATA disk's serial from its VPD page 0x80 (4 bytes of header, then the serial).
std::string VpdSerial(const fs::path& page) {
  std::ifstream in(page, std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(in), {}};
  if (bytes.size() <= 4) return "";
  std::string serial = bytes.substr(4, static_cast<unsigned char>(bytes[3]));
  serial.erase(std::remove_if(serial.begin(), serial.end(),
                              [](char c) { return !std::isgraph(static_cast<unsigned char>(c)); }),
               serial.end());
  return serial;
}

}  // namespace

HardwareIdentity ReadHardwareIdentity(const std::string& sys) {
  HardwareIdentity id;
  const fs::path root(sys);
  id.smbios_uuid = Lower(ReadTrimmed(root / "class/dmi/id/product_uuid"));
  std::error_code ec;
  for (const auto& adapter : fs::directory_iterator(root / "class/net", ec)) {
    // Physical adapters have a device; bridges, bonds, VLANs and tunnels do not (and copy a MAC).
    if (!fs::exists(adapter.path() / "device")) continue;
    const std::string mac = Lower(ReadTrimmed(adapter.path() / "address"));
    if (mac.size() == 17 && mac != "00:00:00:00:00:00") id.macs.push_back(mac);
  }
  for (const auto& disk : fs::directory_iterator(root / "block", ec)) {
    const std::string name = disk.path().filename().string();
    if (name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram") ||
        name.starts_with("sr") || name.starts_with("dm-") || name.starts_with("md"))
      continue;
    std::string serial = ReadTrimmed(disk.path() / "serial");                 // virtio
    if (serial.empty()) serial = ReadTrimmed(disk.path() / "device/serial");  // NVMe, MMC
    if (serial.empty()) serial = VpdSerial(disk.path() / "device/vpd_pg80");  // SCSI, SATA
    if (!serial.empty()) id.disk_serials.push_back(serial);
  }
  std::sort(id.macs.begin(), id.macs.end());
  std::sort(id.disk_serials.begin(), id.disk_serials.end());
  return id;
}

}  // namespace lifeboat::agent
