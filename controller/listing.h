// The API's long lists (machines, the audit log) in pages: what a listing filters on, and its
// page tokens. Keyset paging: a page starts after the last key of the one before, so a list that
// changes between calls neither repeats nor skips what stayed. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/error.h"
#include "controller/model.h"

namespace lifeboat::controller {

// Machines: 500 a page unless asked, at most 1000 (a machine with its inventory is a few KiB:
// a page stays far under gRPC's 4 MiB message limit). The audit log: 100, at most 10000.
inline constexpr uint32_t kMachinePageSize = 500, kMaxMachinePageSize = 1000;
inline constexpr uint32_t kAuditPageSize = 100, kMaxAuditPageSize = 10000;

// The page size asked for, bounded: 0 gives `default_size`, more than `max_size` gives max_size.
uint32_t PageSize(uint32_t asked, uint32_t default_size, uint32_t max_size);

// A token for the page after `key` in the listing named `kind` ("machines", "audit"): opaque to
// callers, and refused by another listing.
std::string MakePageToken(const std::string& kind, const std::string& key);
// The key a token names; "" for no token (the first page). kInvalidArgument (field page_token)
// for a token that is not one of `kind`'s.
[[nodiscard]] Result<std::string> ReadPageToken(const std::string& kind, const std::string& token);

// Which machines a listing shows: those matching every condition given.
struct MachineFilter {
  std::map<std::string, std::string> labels;     // carrying every one
  std::optional<std::string> installed_version;  // "" for machines with nothing installed
  std::optional<AgentState> state;
  std::optional<bool> offline;  // silent longer than the controller's offline_after, or not
  // The inventory reports a WinRE volume with less free space than this.
  std::optional<uint64_t> winre_free_below_bytes;
};

struct MachinePage {
  std::vector<MachineRecord> machines;  // by id
  uint32_t total = 0;                   // machines matching the filter, on every page
  bool more = false;                    // another page follows
};

// Which entries of the audit log a listing shows: exact matches of those given.
struct AuditFilter {
  std::string who, action, outcome;
};

struct AuditPage {
  std::vector<AuditRecord> entries;  // newest first
  bool more = false;
};

}  // namespace lifeboat::controller
