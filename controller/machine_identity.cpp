#include "controller/machine_identity.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/version.h"

namespace lifeboat::controller {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool Hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool UuidShape(const std::string& u) {
  if (u.size() != 36) return false;
  for (size_t i = 0; i < u.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? u[i] != '-' : !Hex(u[i])) return false;
  }
  return true;
}

// aa:bb:cc:dd:ee:ff from the same with ':' or '-'; empty when it is not one.
std::string NormalMac(const std::string& text) {
  std::string m = Lower(text);
  if (m.size() != 17) return "";
  for (size_t i = 0; i < m.size(); ++i) {
    if (i % 3 == 2) {
      if (m[i] != ':' && m[i] != '-') return "";
      m[i] = ':';
    } else if (!Hex(m[i])) {
      return "";
    }
  }
  return m;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

bool UsableUuid(const std::string& uuid) {
  if (!UuidShape(uuid)) return false;
  const std::string digits = [&] {
    std::string d;
    for (char c : uuid)
      if (c != '-') d += c;
    return d;
  }();
  if (digits.find_first_not_of('0') == std::string::npos) return false;
  if (digits.find_first_not_of('f') == std::string::npos) return false;
  return uuid != "03000200-0400-0500-0006-000700080009";
}

Result<MachineIdentity> NormalizeIdentity(const std::string& smbios_uuid,
                                          const std::vector<std::string>& macs,
                                          const std::vector<std::string>& disk_serials,
                                          const std::string& field) {
  MachineIdentity id;
  const std::string uuid = Lower(smbios_uuid);
  if (!uuid.empty() && !UuidShape(uuid))
    return BadInput(field, field + ": smbios_uuid " + Quoted(smbios_uuid) +
                               " is not a UUID (8-4-4-4-12 hexadecimal digits)");
  if (UsableUuid(uuid)) id.smbios_uuid = uuid;
  for (const auto& text : macs) {
    const std::string mac = NormalMac(text);
    if (mac.empty())
      return BadInput(field, field + ": " + Quoted(text) +
                                 " is not a MAC address (six hexadecimal pairs, like "
                                 "52:54:00:12:34:56)");
    id.macs.push_back(mac);
  }
  id.macs = Sorted(std::move(id.macs));
  for (const auto& serial : disk_serials)
    if (!serial.empty()) id.disk_serials.push_back(serial);
  id.disk_serials = Sorted(std::move(id.disk_serials));
  if (id.smbios_uuid.empty() && id.macs.empty())
    return BadInput(field, field + ": neither a usable SMBIOS UUID" +
                               std::string(uuid.empty() ? ""
                                                        : " (" + uuid +
                                                              " is a factory default "
                                                              "many boards share)") +
                               " nor a MAC address: nothing to recognise the machine by");
  return id;
}

IdentityMatch Match(const MachineIdentity& known, const MachineIdentity& reported) {
  if (!known.smbios_uuid.empty() && !reported.smbios_uuid.empty())
    return known.smbios_uuid == reported.smbios_uuid ? IdentityMatch::kUuid : IdentityMatch::kNone;
  for (const auto& mac : reported.macs)
    if (std::binary_search(known.macs.begin(), known.macs.end(), mac)) return IdentityMatch::kMac;
  return IdentityMatch::kNone;
}

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseLabelWords(const std::string& text,
                                                           const std::string& field) {
  std::map<std::string, std::string> labels;
  for (const auto& word : SplitWords(text)) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos || !ValidName(word.substr(0, eq)))
      return BadInput(field, field + ": label " + Quoted(word) +
                                 " is not key=value (a key of letters, digits, '.', '_', '-')");
    labels[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return labels;
}

namespace {

// One CSV record from `text` at `pos` (RFC 4180: quoted fields, "" inside quotes, CRLF or LF).
// A few lines of code rather than a library: nothing else in Lifeboat reads CSV.
Result<std::vector<std::string>> ReadRecord(const std::string& text, size_t& pos, size_t line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (pos < text.size() && text[pos] == '"') {
        fields.back() += '"';
        ++pos;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted)
    return BadInput("csv", "line " + std::to_string(line) + ": a quoted field is not closed");
  return fields;
}

std::string Trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

Result<std::vector<ImportRow>> ParseImportCsv(const std::string& text) {
  size_t pos = 0;
  size_t line = 1;
  auto header = ReadRecord(text, pos, line);
  LIFEBOAT_TRY(header);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header->size(); ++i) column[Lower(Trimmed((*header)[i]))] = i;
  if (!column.contains("id") || (!column.contains("smbios_uuid") && !column.contains("macs")))
    return BadInput("csv",
                    "line 1: the header must name the columns id and smbios_uuid and/or macs "
                    "(id,smbios_uuid,macs,name,labels)");
  std::vector<ImportRow> rows;
  std::set<std::string> ids, uuids, macs;
  while (pos < text.size()) {
    ++line;
    auto record = ReadRecord(text, pos, line);
    LIFEBOAT_TRY(record);
    if (record->size() == 1 && Trimmed(record->front()).empty()) continue;  // a blank line
    auto get = [&](const char* name) {
      auto it = column.find(name);
      return it == column.end() || it->second >= record->size() ? std::string()
                                                                : Trimmed((*record)[it->second]);
    };
    const std::string where = "line " + std::to_string(line);
    ImportRow row;
    row.line = line;
    row.id = get("id");
    if (!ValidName(row.id)) return BadInput("csv", where + ": " + NotAName("id", row.id));
    if (!ids.insert(row.id).second)
      return BadInput("csv", where + ": id " + row.id + " appears twice in the file");
    auto identity = NormalizeIdentity(get("smbios_uuid"), SplitWords(get("macs")), {}, where);
    if (!identity) return BadInput("csv", identity.error().message);
    row.identity = std::move(*identity);
    if (!row.identity.smbios_uuid.empty() && !uuids.insert(row.identity.smbios_uuid).second)
      return BadInput("csv", where + ": smbios_uuid " + row.identity.smbios_uuid +
                                 " appears twice in the file");
    for (const auto& mac : row.identity.macs)
      if (!macs.insert(mac).second)
        return BadInput("csv", where + ": MAC address " + mac + " appears twice in the file");
    row.name = get("name");
    auto labels = ParseLabelWords(get("labels"), where);
    if (!labels) return BadInput("csv", labels.error().message);
    row.labels = std::move(*labels);
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return BadInput("csv", "the file lists no machine after its header");
  return rows;
}

}  // namespace lifeboat::controller
