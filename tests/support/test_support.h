// Helpers for tests that work on real disk images: run commands, build Windows-like fixture
// disks, and read results back with tools Lifeboat did not write (sfdisk, sha256sum, ntfs-3g).
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lifeboat::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a bash script; its output is captured.
CommandResult Sh(const std::string& script);
// Runs lifeboat-agent with the arguments (shell-quoted here) and extra environment assignments.
CommandResult Agent(const std::vector<std::string>& args, const std::string& env = "");
std::string Quote(const std::string& s);

// JSON text as an object; throws (failing the test) when it is not one.
Poco::JSON::Object::Ptr Json(const std::string& text);
// "" when `text` conforms to the definition `name` of docs/json.schema.json, as python3-jsonschema
// (a validator Lifeboat did not write) judges it; else what it says is wrong, and where.
std::string JsonShapeProblem(const std::string& text, const std::string& name);

// A fresh folder under /var/tmp, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// tests/fixtures/make-windows-disk with the given options; fails the test if it fails.
void MakeWindowsDisk(const std::string& path, const std::string& options);
// tests/fixtures/make-test-wim with the given options; fails the test if it fails.
void MakeTestWim(const std::string& path, const std::string& options);
// A test WIM whose \Windows\Boot holds the media tests' stand-in boot files
// (tests/fixtures/make-media-standins, written to `standins`), with more make-test-wim options.
void MakeMediaTestWim(const std::string& path, const std::string& standins,
                      const std::string& options = "");

struct SfPartition {
  std::string node;
  uint64_t start = 0;
  uint64_t size = 0;
  std::string type;
  std::string uuid;
  std::string name;
  std::string attrs;
  bool bootable = false;
};

struct SfTable {
  std::string label;
  std::string id;
  uint64_t sector_size = 512;
  std::vector<SfPartition> partitions;
};

// The partition table as `sfdisk --json` reads it.
SfTable Sfdisk(const std::string& disk);
// That table as text without device names: label and id, then each partition's start, size,
// type, GUID and attributes, for comparing two layouts.
std::string SfLayout(const std::string& disk);
// The partition named `name`, copied out: safe to keep when `table` is a temporary such as
// Named(Sfdisk(disk), "Lifeboat"), where a pointer into it would dangle.
std::optional<SfPartition> Named(const SfTable& table, const std::string& name);
// sha256 of a byte range of a file.
std::string Sha256(const std::string& file, uint64_t offset, uint64_t size);
// The content of a byte range of a (sparse) file, for before/after comparisons: the SHA-256 of the
// SHA-256s of its 1 MiB blocks, where a block the file system holds no data for (SEEK_DATA) counts
// as the zeros it reads as, without reading it. Equal content gives equal values whatever is
// allocated; any changed byte changes the value. Reading the holes of a 4 GiB image (cksum,
// sha256sum) costs 15 s of kernel time on these machines; this reads only the data.
std::string RangeChecksum(const std::string& file, uint64_t offset, uint64_t size);
// RangeChecksum of the whole file, and its length.
std::string ImageChecksum(const std::string& file);
// "sha256  path" of every file in an NTFS volume at a byte range, mounted read-only with ntfs-3g.
std::string NtfsFileSums(const std::string& disk, uint64_t offset, uint64_t size);
// What Windows' chkdsk does at its next start after a resize: clears the dirty flag of the NTFS
// volume at that byte range (ntfsfix -d); fails the test if it cannot.
void ClearNtfsDirty(const std::string& disk, uint64_t offset, uint64_t size);
// The NTFS volume label at a byte range, as ntfslabel reads it.
std::string NtfsLabel(const std::string& disk, uint64_t offset, uint64_t size);

}  // namespace lifeboat::test
