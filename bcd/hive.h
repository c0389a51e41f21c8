// A registry hive file, read and edited through hivex (used only in hive.cpp). A BCD store is
// such a hive. Blocks on file I/O. Not thread-safe.
//
// Crash contract: edits stay in memory until Commit(), which hivex writes as a whole new file
// image over the old one; callers keep a copy of the original bytes (the agent journals it) and
// restore it if a commit is cut short.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace lifeboat::bcd {

// Registry value types used by BCD stores.
enum RegType : uint32_t {
  kRegSz = 1,
  kRegBinary = 3,
  kRegDword = 4,
  kRegMultiSz = 7,
};

struct RegValue {
  std::string name;
  uint32_t type = kRegBinary;
  std::vector<uint8_t> data;  // as stored: strings are UTF-16LE with their NULs
};

// What the base block (the first 4 KiB) of a hive says.
struct HiveHeader {
  uint32_t sequence1 = 0;  // bumped before a write
  uint32_t sequence2 = 0;  // set equal to sequence1 after the write completes
  bool checksum_ok = false;
};

// Reads and checks the base block. Errors: kCorrupt (not a regf hive, bad checksum).
[[nodiscard]] Result<HiveHeader> ReadHiveHeader(const std::vector<uint8_t>& bytes);

// Whether a transaction log beside the hive (BCD.LOG, BCD.LOG1, BCD.LOG2) holds changes Windows
// would replay over the hive at the next boot: log entries ("HvLE", Windows 8.1 and later) or a
// dirty-page vector ("DIRT", older) written at or after the hive's current sequence number.
// An empty, zeroed or older log holds nothing pending.
bool LogHoldsPendingData(const std::vector<uint8_t>& log, const HiveHeader& primary);

// The bytes of a hive holding only its root key `root_name` (with a security descriptor that
// grants everyone full access, which keys added later inherit), as hivex cannot create a hive:
// the starting point of a store made from scratch. regf 1.3, one 4 KiB bin.
std::vector<uint8_t> EmptyHiveBytes(const std::string& root_name);

class Hive {
 public:
  using Node = size_t;

  // Errors: kNotFound, kCorrupt (hivex cannot parse it).
  [[nodiscard]] static Result<std::unique_ptr<Hive>> Open(const std::string& file, bool writable);
  ~Hive();
  Hive(const Hive&) = delete;
  Hive& operator=(const Hive&) = delete;

  [[nodiscard]] Node Root() const;
  [[nodiscard]] std::string Name(Node node) const;
  [[nodiscard]] Result<std::optional<Node>> Child(Node parent, const std::string& name) const;
  [[nodiscard]] Result<std::vector<std::pair<std::string, Node>>> Children(Node parent) const;
  [[nodiscard]] Result<std::vector<RegValue>> Values(Node node) const;

  [[nodiscard]] Result<Node> AddChild(Node parent, const std::string& name);
  // Sets one value, keeping the node's other values.
  [[nodiscard]] Result<void> SetValue(Node node, const RegValue& value);
  // Deletes a key with its subkeys and values.
  [[nodiscard]] Result<void> DeleteKey(Node node);
  // Writes the edited hive back to its file.
  [[nodiscard]] Result<void> Commit();

 private:
  Hive(void* handle, std::string file);
  void* handle_;  // hive_h*
  std::string file_;
};

}  // namespace lifeboat::bcd
