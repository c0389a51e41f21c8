// Reading a BCD store off the disk, checking that it is safe to edit, and writing an edited copy
// back with a read-back check. The hive is edited in a private temporary file (hivex works on
// files); the disk's copy is replaced in one write.
//
// Crash contract: the caller saves the original bytes (the agent's journal) before Replace();
// if the write is cut short, the next run finds an unreadable store and restores that copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/boot_store.h"
#include "bcd/store.h"
#include "common/error.h"

namespace lifeboat::agent {

struct LoadedStore {
  std::vector<uint8_t> bytes;
  bcd::Store store;
};

// Parses store bytes. Errors: kCorrupt.
[[nodiscard]] Result<bcd::Store> ParseStore(const std::vector<uint8_t>& bytes);

// Reads the store and refuses (kRefused) one Windows has not finished writing: header sequence
// numbers that differ, or a transaction log with pending data. kNotFound: missing; kCorrupt:
// unreadable.
[[nodiscard]] Result<LoadedStore> ReadStoreForEdit(const BootStoreIo& file);

// The store bytes with `objects` saved into them and the objects `remove` deleted.
[[nodiscard]] Result<std::vector<uint8_t>> EditStore(const std::vector<uint8_t>& bytes,
                                                     const std::vector<bcd::Object>& objects,
                                                     const std::vector<bcd::Guid>& remove = {});

// Writes `bytes` over the store and reads them back. On any failure it writes `original` back
// and says so.
[[nodiscard]] Result<void> ReplaceStore(const BootStoreIo& file, const std::vector<uint8_t>& bytes,
                                        const std::vector<uint8_t>& original);

}  // namespace lifeboat::agent
