// Reads BitLocker's unencrypted metadata (Windows 7 and later, FVE metadata version 2): which
// protectors guard the volume master key and whether protection is suspended. Nothing is
// decrypted. The layout is libyal's "BitLocker Drive Encryption (BDE) format" (the structures
// cryptsetup's bitlk and dislocker read); tests check the result against bdeinfo, cryptsetup
// bitlkDump and dislocker-metadata.
//
// Why it matters: with protection on, the TPM releases the key only if the boot path measures
// as before, and a changed boot configuration (BCD) makes Windows ask for the recovery key.
// When protection is suspended (manage-bde -protectors -disable, Suspend-BitLocker), Windows
// stores the key beside the volume with a clear-key protector; the next boots unlock without the
// TPM and Windows reseals to the new boot path. The volume stays encrypted either way.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/units.h"

namespace lifeboat::partition {

class DiskHandle;

struct BitLockerInfo {
  std::string encryption_method;        // "aes-128-cbc-diffuser", "aes-256-xts", ... or "0x8006"
  std::vector<std::string> protectors;  // "tpm", "recovery-password", ..., "clear-key"
  std::string volume_id;                // the FVE volume GUID, lower case
  std::string description;              // what Windows wrote: "PC-042 C: 1/1/2026"
  std::string problem;                  // set when the metadata could not be read, and why

  // A clear-key protector means protection is suspended. Metadata that cannot be read counts as
  // protection on: the safe assumption.
  [[nodiscard]] bool Suspended() const;
  // "on", "suspended" or "unknown" (metadata unreadable), for people and JSON.
  [[nodiscard]] const char* ProtectionName() const;
};

// The three FVE metadata block offsets from the volume's first sector (512 bytes at least); an
// error when the sector is not a BitLocker volume header of Windows 7 or later.
[[nodiscard]] Result<std::vector<uint64_t>> ParseFveVolumeHeader(
    std::span<const unsigned char> sector);

// One FVE metadata block (its 64-byte header, the 48-byte metadata header and the entries).
// Errors name what is wrong and where (kInvalidArgument).
[[nodiscard]] Result<BitLockerInfo> ParseFveMetadataBlock(std::span<const unsigned char> block);

// Reads the metadata of the BitLocker volume at `offset`: the first of its three copies that
// parses. A volume whose metadata cannot be read yields an info with `problem` set (protection
// then counts as on); only an I/O error is an error.
[[nodiscard]] Result<BitLockerInfo> ReadBitLockerInfo(const DiskHandle& disk, Bytes offset,
                                                      Bytes size);

}  // namespace lifeboat::partition
