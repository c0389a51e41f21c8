// Who a machine is without anything installed on it: its SMBIOS system UUID, its network adapters'
// MAC addresses and, as supporting evidence, its disks' serial numbers. A network-booted service
// environment holds no secret, so these are what the controller recognises a machine by (and what
// a CMDB or ConfigMgr export lists). Pure: parsing, normalising and matching, no I/O.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::controller {

struct MachineIdentity {
  std::string smbios_uuid;                // lower-case 8-4-4-4-12 hex; empty when unusable
  std::vector<std::string> macs;          // lower-case aa:bb:cc:dd:ee:ff, sorted, no duplicates
  std::vector<std::string> disk_serials;  // as the disks report them, sorted
  bool operator==(const MachineIdentity&) const = default;
};

// Whether `uuid` (normalised) can tell machines apart. Boards without a real UUID report all
// zeros, all ones, or the well-known factory default 03000200-0400-0500-0006-000700080009; those
// are shared by many machines and must never identify one.
bool UsableUuid(const std::string& uuid);

// The identity in its one written form: UUID and MACs lower-case (MACs written with '-' or ':'
// accepted), sorted and deduplicated; an unusable UUID dropped. `field` names where it came from
// in errors. kInvalidArgument for text that is not a UUID or a MAC address, or an identity with
// neither a usable UUID nor a MAC (nothing to recognise the machine by).
[[nodiscard]] Result<MachineIdentity> NormalizeIdentity(
    const std::string& smbios_uuid, const std::vector<std::string>& macs,
    const std::vector<std::string>& disk_serials, const std::string& field);

// How a reported identity matches a known one. The UUID decides when both have a usable one (a
// new network card or docking station must not make a machine a stranger); only when either lacks
// one do the MAC addresses decide (any one in common).
enum class IdentityMatch { kNone, kUuid, kMac };
IdentityMatch Match(const MachineIdentity& known, const MachineIdentity& reported);

// One machine of `lifeboatctl machine import FILE.csv`.
struct ImportRow {
  size_t line = 0;  // in the file, from 1 (the header)
  std::string id;
  MachineIdentity identity;
  std::string name;
  std::map<std::string, std::string> labels;
};

// The CSV of `machine import`: a header line naming the columns id, smbios_uuid, macs, name and
// labels (in any order; id and at least one of smbios_uuid and macs are required, other columns
// are ignored), then one machine per line. MACs are separated by spaces; labels are k=v separated
// by spaces. Fields may be quoted ("..." with "" for a quote), as spreadsheets and CMDB exports
// write them. kInvalidArgument naming the line and column, for the whole file: an import is all
// or nothing. Ids and identities must be unique within the file.
[[nodiscard]] Result<std::vector<ImportRow>> ParseImportCsv(const std::string& text);

// "k=v k=v" (space separated) as labels; kInvalidArgument naming `field`.
[[nodiscard]] Result<std::map<std::string, std::string>> ParseLabelWords(const std::string& text,
                                                                         const std::string& field);

// Space-joined, and split back.
std::string JoinWords(const std::vector<std::string>& words);
std::vector<std::string> SplitWords(const std::string& text);

}  // namespace lifeboat::controller
