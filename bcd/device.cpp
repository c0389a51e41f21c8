#include "bcd/device.h"

#include <cstdio>
#include <span>

#include "bcd/store.h"

namespace lifeboat::bcd {

namespace {

constexpr size_t kOuterDescriptor = 0x10;
constexpr size_t kRamdiskParent = 0x44;
constexpr size_t kPartitionDescriptorSize = 0x48;
constexpr size_t kRamdiskPath = kRamdiskParent + kPartitionDescriptorSize;  // 0x8c

uint32_t U32(const std::vector<uint8_t>& b, size_t off) {
  return static_cast<uint32_t>(b[off]) | static_cast<uint32_t>(b[off + 1]) << 8 |
         static_cast<uint32_t>(b[off + 2]) << 16 | static_cast<uint32_t>(b[off + 3]) << 24;
}
uint64_t U64(const std::vector<uint8_t>& b, size_t off) {
  return static_cast<uint64_t>(U32(b, off)) | static_cast<uint64_t>(U32(b, off + 4)) << 32;
}
void Put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put64(std::vector<uint8_t>& b, size_t off, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A partition descriptor starting at `d` (its 16-byte header, then the partition identity).
std::optional<PartitionRef> ReadPartition(const std::vector<uint8_t>& b, size_t d) {
  if (b.size() < d + kPartitionDescriptorSize || U32(b, d) != 6) return std::nullopt;
  PartitionRef p;
  p.gpt = U32(b, d + 0x24) == 0;
  if (p.gpt) {
    p.partition = Guid::FromBytesLe(std::span(b).subspan(d + 0x10, 16));
    p.disk = Guid::FromBytesLe(std::span(b).subspan(d + 0x28, 16));
  } else {
    p.offset = U64(b, d + 0x10);
    p.signature = U32(b, d + 0x28);
  }
  return p;
}

void WritePartition(std::vector<uint8_t>& b, size_t d, const PartitionRef& p) {
  Put32(b, d, 6);
  Put32(b, d + 8, kPartitionDescriptorSize);
  if (p.gpt) {
    std::copy(p.partition.bytes.begin(), p.partition.bytes.end(), b.begin() + d + 0x10);
    Put32(b, d + 0x24, 0);
    std::copy(p.disk.bytes.begin(), p.disk.bytes.end(), b.begin() + d + 0x28);
  } else {
    Put64(b, d + 0x10, p.offset);
    Put32(b, d + 0x24, 1);
    Put32(b, d + 0x28, p.signature);
  }
}

}  // namespace

Result<Device> DecodeDevice(const std::vector<uint8_t>& b) {
  if (b.size() < kOuterDescriptor + 16) {
    return Fail(ErrorCode::kCorrupt, "device element of " + std::to_string(b.size()) +
                                         " bytes is shorter than a device header");
  }
  Device device;
  device.options = Guid::FromBytesLe(std::span(b).first(16));
  device.device_type = U32(b, kOuterDescriptor);
  switch (device.device_type) {
    case 5:
      device.kind = Device::Kind::kBoot;
      return device;
    case 6:
      device.partition = ReadPartition(b, kOuterDescriptor);
      if (!device.partition)
        return Fail(ErrorCode::kCorrupt, "partition device element is too short");
      device.kind = Device::Kind::kPartition;
      return device;
    case 0:
      if (b.size() >= 0x24) device.block_io_type = U32(b, 0x20);
      if (device.block_io_type == 3) {
        if (b.size() < kRamdiskPath)
          return Fail(ErrorCode::kCorrupt, "RAM-disk device element is too short");
        device.kind = Device::Kind::kRamdisk;
        uint32_t parent_type = U32(b, kRamdiskParent);
        if (parent_type == 5) {
          device.parent_is_boot = true;
        } else {
          device.partition = ReadPartition(b, kRamdiskParent);
        }
        device.path = DecodeString(std::vector<uint8_t>(b.begin() + kRamdiskPath, b.end()));
      }
      return device;
    default:
      return device;
  }
}

std::vector<uint8_t> EncodePartitionDevice(const PartitionRef& partition) {
  std::vector<uint8_t> b(kOuterDescriptor + kPartitionDescriptorSize, 0);
  WritePartition(b, kOuterDescriptor, partition);
  return b;
}

namespace {

// The boot device's descriptor (type 5): "the partition bootmgr was loaded from".
void WriteBoot(std::vector<uint8_t>& b, size_t d) {
  Put32(b, d, 5);
  Put32(b, d + 8, kPartitionDescriptorSize);
}

// ramdisk=[parent]\path,{options}; the parent is the boot device when `parent` is empty.
std::vector<uint8_t> EncodeRamdisk(const std::optional<PartitionRef>& parent,
                                   const std::string& path, const Guid& options) {
  auto encoded_path = EncodeString(path);
  std::vector<uint8_t> b(kRamdiskPath + encoded_path.size(), 0);
  std::copy(encoded_path.begin(), encoded_path.end(), b.begin() + kRamdiskPath);
  std::copy(options.bytes.begin(), options.bytes.end(), b.begin());
  Put32(b, 0x10, 0);  // block-I/O device
  Put32(b, 0x14, 1);  // flags: 1 on a RAM disk's outer descriptor, as Windows writes it
  Put32(b, 0x18, static_cast<uint32_t>(b.size() - 0x10));
  Put32(b, 0x20, 3);  // RAM disk; image base, size and offset stay 0
  Put32(b, 0x38, 1);  // file path version
  Put32(b, 0x3c, static_cast<uint32_t>(b.size() - 0x38));
  Put32(b, 0x40, 5);  // file path type, 5 in every store Windows writes
  if (parent)
    WritePartition(b, kRamdiskParent, *parent);
  else
    WriteBoot(b, kRamdiskParent);
  return b;
}

}  // namespace

std::vector<uint8_t> EncodeRamdiskDevice(const PartitionRef& parent, const std::string& path,
                                         const Guid& options) {
  return EncodeRamdisk(parent, path, options);
}

std::vector<uint8_t> EncodeBootDevice() {
  std::vector<uint8_t> b(kOuterDescriptor + kPartitionDescriptorSize, 0);
  WriteBoot(b, kOuterDescriptor);
  return b;
}

std::vector<uint8_t> EncodeRamdiskOnBootDevice(const std::string& path, const Guid& options) {
  return EncodeRamdisk(std::nullopt, path, options);
}

std::string FormatPartition(const PartitionRef& p) {
  if (p.gpt) return "[gpt disk " + p.disk.Text() + " partition " + p.partition.Text() + "]";
  char sig[16];
  std::snprintf(sig, sizeof sig, "0x%08x", p.signature);
  return std::string("[mbr disk ") + sig + " offset " + std::to_string(p.offset) + "]";
}

std::string FormatDevice(const Device& d) {
  switch (d.kind) {
    case Device::Kind::kBoot:
      return "boot";
    case Device::Kind::kPartition:
      return "partition=" + FormatPartition(*d.partition);
    case Device::Kind::kRamdisk:
      return "ramdisk=" +
             (d.parent_is_boot ? std::string("[boot]")
              : d.partition    ? FormatPartition(*d.partition)
                               : std::string("[unknown]")) +
             d.path + "," + DisplayName(d.options);
    case Device::Kind::kOther:
      break;
  }
  if (d.device_type == 0 && d.block_io_type == 5) return "file device";
  if (d.device_type == 8) return "locate device";
  return "device type " + std::to_string(d.device_type);
}

std::optional<std::vector<uint8_t>> RetargetMbrPartition(const std::vector<uint8_t>& data,
                                                         const PartitionRef& from,
                                                         uint64_t to_offset) {
  auto device = DecodeDevice(data);
  if (!device || !device->partition || device->partition->gpt || *device->partition != from) {
    return std::nullopt;
  }
  size_t d = device->kind == Device::Kind::kRamdisk ? kRamdiskParent : kOuterDescriptor;
  std::vector<uint8_t> out = data;
  Put64(out, d + 0x10, to_offset);
  return out;
}

}  // namespace lifeboat::bcd
