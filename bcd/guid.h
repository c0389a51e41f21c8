// GUIDs as BCD stores keep them: object key names ("{9dea862c-...}") and 16 bytes inside device
// elements in Microsoft's mixed-endian order (bytes_le). Pure.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace lifeboat::bcd {

struct Guid {
  std::array<uint8_t, 16> bytes{};  // bytes_le: as stored in device elements and GPT headers

  // Accepts "{9dea862c-5cdd-4e70-acc1-f32b344d4795}" or without braces, any case.
  static std::optional<Guid> Parse(const std::string& text);
  static Guid FromBytesLe(std::span<const uint8_t> sixteen);
  // A GUID made from a hash (the first 16 bytes), marked as a name-based (version 8) GUID:
  // Lifeboat's objects get GUIDs that are stable for a given disk, so that an upgrade finds and
  // replaces them instead of adding new ones.
  static Guid FromHash(std::span<const uint8_t> hash);

  [[nodiscard]] std::string Text() const;  // "{9dea862c-5cdd-4e70-acc1-f32b344d4795}"
  [[nodiscard]] bool IsZero() const;
  auto operator<=>(const Guid&) const = default;
};

// The name bcdedit shows for a well-known GUID ("{bootmgr}"), or empty.
std::string WellKnownAlias(const Guid& guid);
// The GUID's alias if it has one, else its text.
std::string DisplayName(const Guid& guid);

namespace known {
extern const Guid kBootMgr;
extern const Guid kBootLoaderSettings;
extern const Guid kRamdiskOptions;
}  // namespace known

}  // namespace lifeboat::bcd
