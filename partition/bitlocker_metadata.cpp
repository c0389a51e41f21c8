#include "partition/bitlocker_metadata.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/utf16.h"
#include "partition/disk_handle.h"

namespace lifeboat::partition {
namespace {

constexpr char kSignature[] = "-FVE-FS-";
// BitLocker's identifier at byte 160 of a Windows 7 (and later) volume header,
// {4967d63b-2e29-4ad8-8399-f6a339e3d001} as stored (mixed-endian).
constexpr unsigned char kWindows7Identifier[16] = {0x3b, 0xd6, 0x67, 0x49, 0x29, 0x2e, 0xd8, 0x4a,
                                                   0x83, 0x99, 0xf6, 0xa3, 0x39, 0xe3, 0xd0, 0x01};
constexpr size_t kBlockHeaderSize = 64;
constexpr size_t kMetadataHeaderSize = 48;
constexpr size_t kEntryHeaderSize = 8;
// Every copy of the metadata sits in a 64 KiB region.
constexpr size_t kMetadataRegion = 64 * 1024;

constexpr uint16_t kEntryVmk = 0x0002;
constexpr uint16_t kEntryDescription = 0x0007;
constexpr uint16_t kValueUnicode = 0x0002;
constexpr uint16_t kValueVmk = 0x0008;
constexpr size_t kVmkProtectionOffset = 26;  // after the key GUID, a FILETIME and 2 bytes

uint64_t Le(std::span<const unsigned char> bytes, size_t at, int width) {
  return LittleEndian(bytes.data() + at, width);
}

std::string GuidText(const unsigned char* g) {
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                static_cast<unsigned>(LittleEndian(g, 4)),
                static_cast<unsigned>(LittleEndian(g + 4, 2)),
                static_cast<unsigned>(LittleEndian(g + 6, 2)), g[8], g[9], g[10], g[11], g[12],
                g[13], g[14], g[15]);
  return text;
}

std::string Hex16(uint64_t value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%04x", static_cast<unsigned>(value & 0xffff));
  return text;
}

std::string EncryptionMethodName(uint64_t method) {
  switch (method) {
    case 0x8000:
      return "aes-128-cbc-diffuser";
    case 0x8001:
      return "aes-256-cbc-diffuser";
    case 0x8002:
      return "aes-128-cbc";
    case 0x8003:
      return "aes-256-cbc";
    case 0x8004:
      return "aes-128-xts";
    case 0x8005:
      return "aes-256-xts";
    default:
      return Hex16(method);
  }
}

// The VMK protection types the format's readers agree on; others are named by their number.
std::string ProtectorName(uint64_t type) {
  switch (type) {
    case 0x0000:
      return "clear-key";
    case 0x0100:
      return "tpm";
    case 0x0200:
      return "startup-key";
    case 0x0500:
      return "tpm-pin";
    case 0x0800:
      return "recovery-password";
    case 0x2000:
      return "password";
    default:
      return Hex16(type);
  }
}

Result<BitLockerInfo> Malformed(const std::string& what) {
  return Fail(ErrorCode::kInvalidArgument, "BitLocker metadata: " + what);
}

}  // namespace

bool BitLockerInfo::Suspended() const {
  return problem.empty() &&
         std::find(protectors.begin(), protectors.end(), "clear-key") != protectors.end();
}

const char* BitLockerInfo::ProtectionName() const {
  if (!problem.empty()) return "unknown";
  return Suspended() ? "suspended" : "on";
}

Result<std::vector<uint64_t>> ParseFveVolumeHeader(std::span<const unsigned char> sector) {
  if (sector.size() < 512 || std::memcmp(sector.data() + 3, kSignature, 8) != 0)
    return Fail(ErrorCode::kInvalidArgument,
                "not a BitLocker volume header (no -FVE-FS- at byte 3)");
  if (std::memcmp(sector.data() + 160, kWindows7Identifier, 16) != 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "a BitLocker volume header without the Windows 7 identifier at byte 160 (Windows "
                "Vista's format, which Lifeboat does not read)");
  }
  return std::vector<uint64_t>{Le(sector, 176, 8), Le(sector, 184, 8), Le(sector, 192, 8)};
}

Result<BitLockerInfo> ParseFveMetadataBlock(std::span<const unsigned char> block) {
  if (block.size() < kBlockHeaderSize + kMetadataHeaderSize)
    return Malformed("the block is " + std::to_string(block.size()) + " bytes, under 112");
  if (std::memcmp(block.data(), kSignature, 8) != 0)
    return Malformed("no -FVE-FS- signature at the start of the block");
  if (const uint64_t version = Le(block, 10, 2); version != 2)
    return Malformed("block version " + std::to_string(version) + " (only version 2 is read)");

  const auto meta = block.subspan(kBlockHeaderSize);
  const uint64_t metadata_size = Le(meta, 0, 4);
  if (Le(meta, 8, 4) != kMetadataHeaderSize)
    return Malformed("metadata header size " + std::to_string(Le(meta, 8, 4)) + ", not 48");
  if (metadata_size < kMetadataHeaderSize || metadata_size > meta.size()) {
    return Malformed("metadata size " + std::to_string(metadata_size) + " outside 48.." +
                     std::to_string(meta.size()));
  }
  BitLockerInfo info;
  info.volume_id = GuidText(meta.data() + 16);
  info.encryption_method = EncryptionMethodName(Le(meta, 36, 2));

  size_t at = kMetadataHeaderSize;
  while (at + kEntryHeaderSize <= metadata_size) {
    const uint64_t size = Le(meta, at, 2);
    if (size == 0) break;  // the rest is padding
    if (size < kEntryHeaderSize || size > metadata_size - at) {
      return Malformed("entry at metadata byte " + std::to_string(at) + " claims " +
                       std::to_string(size) + " bytes, " + std::to_string(metadata_size - at) +
                       " remain");
    }
    const uint64_t type = Le(meta, at + 2, 2), value_type = Le(meta, at + 4, 2);
    const auto value = meta.subspan(at + kEntryHeaderSize, size - kEntryHeaderSize);
    if (type == kEntryVmk && value_type == kValueVmk) {
      if (value.size() < kVmkProtectionOffset + 2)
        return Malformed("a VMK entry of " + std::to_string(size) + " bytes is too short");
      info.protectors.push_back(ProtectorName(Le(value, kVmkProtectionOffset, 2)));
    } else if (type == kEntryDescription && value_type == kValueUnicode) {
      info.description = Utf16LeToUtf8Parts(value).front();
    }
    at += size;
  }
  if (info.protectors.empty()) return Malformed("no volume master key entry");
  return info;
}

Result<BitLockerInfo> ReadBitLockerInfo(const DiskHandle& disk, Bytes offset, Bytes size) {
  std::vector<unsigned char> sector(512);
  LIFEBOAT_TRY(disk.ReadAt(offset, sector.data(), sector.size()));
  BitLockerInfo unreadable;
  auto offsets = ParseFveVolumeHeader(sector);
  if (!offsets) {
    unreadable.problem = offsets.error().message;
    return unreadable;
  }
  std::vector<std::string> problems;
  for (size_t i = 0; i < offsets->size(); ++i) {
    const uint64_t at = (*offsets)[i];
    const std::string copy =
        "copy " + std::to_string(i + 1) + " at volume byte " + std::to_string(at);
    if (at < 512 || at > size.value || size.value - at < kBlockHeaderSize + kMetadataHeaderSize) {
      problems.push_back(copy + ": outside the volume");
      continue;
    }
    std::vector<unsigned char> block(std::min<uint64_t>(kMetadataRegion, size.value - at));
    LIFEBOAT_TRY(disk.ReadAt(Bytes{offset.value + at}, block.data(), block.size()));
    auto info = ParseFveMetadataBlock(block);
    if (info) return info;
    problems.push_back(copy + ": " + info.error().message);
  }
  for (const auto& p : problems) unreadable.problem += (unreadable.problem.empty() ? "" : "; ") + p;
  return unreadable;
}

}  // namespace lifeboat::partition
