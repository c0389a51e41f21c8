// Reads what apply left on a fixture disk with tools Lifeboat did not write: the BCD store
// copied out with mtools or ntfscat and decoded with hivexml/hivexsh, files of an NTFS partition
// with ntfscat.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace lifeboat::test {

// Copies the disk's BCD store to `out` (GPT: the ESP's \EFI\Microsoft\Boot\BCD with mcopy;
// MBR: the active partition's \Boot\BCD with ntfscat). Returns false if that fails.
bool CopyStoreOut(const std::string& disk, const std::string& out);
// "disk@@offset" of the EFI system partition, for mtools' -i.
std::string EspImage(const std::string& disk);
// Writes `file` over the disk's store (to damage it on purpose in tests).
bool CopyStoreIn(const std::string& disk, const std::string& file);

// Each object of a store as hivexml prints it (values, types, timestamps), without the byte
// offsets hivex moves when it rewrites a hive: object GUID -> XML.
std::map<std::string, std::string> StoreObjects(const std::string& store);
// The whole store as hivexml decodes it, for comparing two stores: no byte offsets or modification
// times, binary values as hex, and the partition GUID `placeholder_guid` (as stored, bytes_le)
// written as "<partition>": a partition created by each run gets a GUID of its own.
std::string NormalizedStore(const std::string& store, const std::string& placeholder_guid = "");
// The "Element" value of an object's element as hivexsh prints it: "hex(3):01".
std::string ElementValue(const std::string& store, const std::string& object,
                         const std::string& element);
// The bytes of a hivexsh hex value ("hex(3):01,02" -> {1, 2}).
std::vector<uint8_t> HexBytes(const std::string& value);
// A RAM-disk device element's WIM path (UTF-16 at 0x8c; BCD-FORMAT.md 3.5), decoded here.
std::string RamdiskPath(const std::vector<uint8_t>& element);

// Copies a file out of the NTFS volume at a byte range of the disk with ntfscat.
bool NtfsCat(const std::string& disk, uint64_t offset, uint64_t size, const std::string& path,
             const std::string& out);
// Names under a folder of that NTFS volume (ntfsls); empty if the folder is missing.
std::vector<std::string> NtfsLs(const std::string& disk, uint64_t offset, uint64_t size,
                                const std::string& path);

}  // namespace lifeboat::test
