// What the executor records about one run of a plan, so that a killed run can be resumed. The
// agent implements it on SQLite (agent/journal_store.h). Every call is durable when it returns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace lifeboat::partition {

struct StepRecord {
  bool started = false;
  bool done = false;
  uint64_t progress = 0;  // bytes a long step has durably finished (the move's copy)
};

class Journal {
 public:
  virtual ~Journal() = default;
  [[nodiscard]] virtual Result<StepRecord> Step(size_t index) = 0;
  [[nodiscard]] virtual Result<void> StepStarted(size_t index) = 0;
  [[nodiscard]] virtual Result<void> StepProgress(size_t index, uint64_t bytes_done) = 0;
  [[nodiscard]] virtual Result<void> StepDone(size_t index, const std::string& outcome) = 0;
  // The partition table as it was before the first change: raw sectors and sfdisk's dump.
  [[nodiscard]] virtual Result<void> SaveTableBackup(const std::vector<uint8_t>& head,
                                                     const std::vector<uint8_t>& tail,
                                                     const std::string& sfdisk_dump) = 0;
};

}  // namespace lifeboat::partition
