// Strong types for sizes and positions on a disk. libfdisk speaks sectors of the disk's logical
// sector size; people speak bytes. Mixing them up is the classic partitioning bug, so they do not
// convert into each other implicitly.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lifeboat {

struct Bytes {
  uint64_t value = 0;
  constexpr auto operator<=>(const Bytes&) const = default;
  constexpr Bytes operator+(Bytes o) const { return {value + o.value}; }
  constexpr Bytes operator-(Bytes o) const { return {value - o.value}; }
};

// A count of logical sectors.
struct Sectors {
  uint64_t count = 0;
  constexpr auto operator<=>(const Sectors&) const = default;
  constexpr Sectors operator+(Sectors o) const { return {count + o.count}; }
  constexpr Sectors operator-(Sectors o) const { return {count - o.count}; }
};

// A logical block address: the index of a sector from the start of the disk.
struct Lba {
  uint64_t value = 0;
  constexpr auto operator<=>(const Lba&) const = default;
  constexpr Lba operator+(Sectors s) const { return {value + s.count}; }
  constexpr Lba operator-(Sectors s) const { return {value - s.count}; }
  constexpr Sectors operator-(Lba o) const { return {value - o.value}; }
};

constexpr Bytes kKiB{1024};
constexpr Bytes kMiB{1024 * 1024};
constexpr Bytes kGiB{1024ULL * 1024 * 1024};

constexpr Bytes ToBytes(Sectors s, uint32_t sector_size) { return {s.count * sector_size}; }
constexpr Bytes ToBytes(Lba l, uint32_t sector_size) { return {l.value * sector_size}; }
// Rounds up: a byte count needs this many whole sectors.
constexpr Sectors ToSectorsCeil(Bytes b, uint32_t sector_size) {
  return {(b.value + sector_size - 1) / sector_size};
}
constexpr Sectors ToSectorsFloor(Bytes b, uint32_t sector_size) { return {b.value / sector_size}; }

constexpr uint64_t AlignUp(uint64_t v, uint64_t grain) { return (v + grain - 1) / grain * grain; }
constexpr uint64_t AlignDown(uint64_t v, uint64_t grain) { return v / grain * grain; }

// The unsigned number stored little-endian in `bytes` bytes at `p` (on-disk structures: MBR, GPT,
// NTFS boot sectors, WIM headers).
constexpr uint64_t LittleEndian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// "1.5 GiB", "512 MiB", "4096 B": for messages a person reads.
std::string HumanSize(Bytes b);

// Parses "2G", "1536M", "1GiB", "4096" (bytes), "500MB" (decimal). nullopt when malformed.
std::optional<Bytes> ParseSize(std::string_view text);

// Parses a duration: "90" (seconds), "30s", "5m", "1h", "7d". nullopt when malformed or past
// 2^32 seconds (136 years: every duration Lifeboat takes fits a 32-bit field).
std::optional<std::chrono::seconds> ParseDuration(std::string_view text);

// Parses a plain decimal number ("0" to "18446744073709551615"); nullopt for anything else (a
// sign, a blank, a suffix, overflow).
std::optional<uint64_t> ParseNumber(std::string_view text);

// Parses a plain decimal count ("0" to "4294967295"); nullopt for anything else (a sign, a blank,
// a suffix, overflow).
std::optional<uint32_t> ParseCount(std::string_view text);

}  // namespace lifeboat
