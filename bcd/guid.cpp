#include "bcd/guid.h"

#include <cctype>
#include <cstdio>
#include <utility>

namespace lifeboat::bcd {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Canonical text order -> bytes_le: the first three groups are stored little-endian.
constexpr int kTextToLe[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

const std::pair<const char*, const char*> kAliases[] = {
    {"{9dea862c-5cdd-4e70-acc1-f32b344d4795}", "{bootmgr}"},
    {"{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}", "{fwbootmgr}"},
    {"{b2721d73-1db4-4c62-bf78-c548a880142d}", "{memdiag}"},
    {"{466f5a88-0af2-4f76-9038-095b170dc21c}", "{ntldr}"},
    {"{fa926493-6f1c-4193-a414-58f0b2456d1e}", "{current}"},
    {"{1cae1eb7-a0df-4d4d-9851-4860e34ef535}", "{default}"},
    {"{ae5534e0-a924-466c-b836-758539a3ee3a}", "{ramdiskoptions}"},
    {"{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}", "{globalsettings}"},
    {"{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}", "{bootloadersettings}"},
    {"{1afa9c49-16ab-4a5c-901b-212802da9460}", "{resumeloadersettings}"},
    {"{7ff607e0-4395-11db-b0de-0800200c9a66}", "{hypervisorsettings}"},
    {"{4636856e-540f-4170-a130-a84776f4c654}", "{dbgsettings}"},
    {"{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}", "{emssettings}"},
    {"{5189b25c-5558-4bf2-bca4-289b11bd29e2}", "{badmemory}"},
    {"{313e8eed-7098-4586-a9bf-309c61f8d449}", "{kerneldbgsettings}"},
};

}  // namespace

std::optional<Guid> Guid::Parse(const std::string& text) {
  std::string hex;
  std::string s = text;
  if (s.size() == 38 && s.front() == '{' && s.back() == '}') s = s.substr(1, 36);
  if (s.size() != 36) return std::nullopt;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return std::nullopt;
      continue;
    }
    if (HexValue(s[i]) < 0) return std::nullopt;
    hex += s[i];
  }
  Guid g;
  for (int i = 0; i < 16; ++i) {
    g.bytes[kTextToLe[i]] =
        static_cast<uint8_t>(HexValue(hex[2 * i]) * 16 + HexValue(hex[2 * i + 1]));
  }
  return g;
}

Guid Guid::FromBytesLe(std::span<const uint8_t> sixteen) {
  Guid g;
  for (size_t i = 0; i < 16 && i < sixteen.size(); ++i) g.bytes[i] = sixteen[i];
  return g;
}

Guid Guid::FromHash(std::span<const uint8_t> hash) {
  Guid g = FromBytesLe(hash);
  // Text byte 6 (stored at index 7) carries the version, text byte 8 the variant.
  g.bytes[7] = static_cast<uint8_t>((g.bytes[7] & 0x0f) | 0x80);
  g.bytes[8] = static_cast<uint8_t>((g.bytes[8] & 0x3f) | 0x80);
  return g;
}

std::string Guid::Text() const {
  uint8_t t[16];
  for (int i = 0; i < 16; ++i) t[i] = bytes[kTextToLe[i]];
  char out[40];
  std::snprintf(out, sizeof out,
                "{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x}", t[0],
                t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13],
                t[14], t[15]);
  return out;
}

bool Guid::IsZero() const {
  for (uint8_t b : bytes)
    if (b != 0) return false;
  return true;
}

std::string WellKnownAlias(const Guid& guid) {
  std::string text = guid.Text();
  for (const auto& [g, alias] : kAliases)
    if (text == g) return alias;
  return {};
}

std::string DisplayName(const Guid& guid) {
  std::string alias = WellKnownAlias(guid);
  return alias.empty() ? guid.Text() : alias;
}

namespace known {
const Guid kBootMgr = *Guid::Parse("{9dea862c-5cdd-4e70-acc1-f32b344d4795}");
const Guid kBootLoaderSettings = *Guid::Parse("{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}");
const Guid kRamdiskOptions = *Guid::Parse("{ae5534e0-a924-466c-b836-758539a3ee3a}");
}  // namespace known

}  // namespace lifeboat::bcd
