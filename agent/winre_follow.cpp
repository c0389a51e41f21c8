#include "agent/winre_follow.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "agent/boot_store.h"
#include "agent/store_editor.h"
#include "agent/test_points.h"
#include "bcd/lifeboat_entry.h"
#include "image/ntfs_volume.h"
#include "partition/disk_reader.h"
#include "partition/loop_device.h"

namespace lifeboat::agent {

using namespace partition;

namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The guid attribute names this disk: the GPT disk's GUID, or on MBR disks none (all zeros).
bool SameDisk(const std::string& guid, const std::string& gpt_disk_guid) {
  std::string bare = Lower(guid);
  bare.erase(std::remove_if(bare.begin(), bare.end(), [](char c) { return c == '{' || c == '}'; }),
             bare.end());
  if (gpt_disk_guid.empty())
    return std::all_of(bare.begin(), bare.end(), [](char c) { return c == '0' || c == '-'; });
  return bare == Lower(gpt_disk_guid);
}

// The UTF-8 edit of ASCII text.
std::optional<std::string> RetargetText(const std::string& text, const std::string& gpt_disk_guid,
                                        uint64_t from, uint64_t to) {
  static const std::regex kTag(R"re(<[A-Za-z][^<>]*>)re");
  static const std::regex kOffset(R"re(\soffset\s*=\s*"(\d+)")re");
  static const std::regex kGuid(R"re(\sguid\s*=\s*"([^"]*)")re");
  std::string out;
  bool changed = false;
  size_t copied = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kTag); it != std::sregex_iterator();
       ++it) {
    const std::string tag = it->str();
    std::smatch offset, guid;
    if (!std::regex_search(tag, offset, kOffset) || offset[1].str() != std::to_string(from))
      continue;
    if (std::regex_search(tag, guid, kGuid) && !SameDisk(guid[1].str(), gpt_disk_guid)) continue;
    const size_t digits =
        static_cast<size_t>(it->position()) + static_cast<size_t>(offset.position(1));
    out += text.substr(copied, digits - copied) + std::to_string(to);
    copied = digits + offset[1].length();
    changed = true;
  }
  if (!changed) return std::nullopt;
  return out + text.substr(copied);
}

}  // namespace

Result<std::optional<std::string>> RetargetReAgentXml(const std::string& xml,
                                                      const std::string& gpt_disk_guid,
                                                      uint64_t from, uint64_t to) {
  if (xml.size() < 2 || xml[0] != '\xff' || xml[1] != '\xfe')
    return RetargetText(xml, gpt_disk_guid, from, to);
  // UTF-16 (little-endian, as Windows writes it): edited as the ASCII text it holds.
  std::string narrow;
  for (size_t i = 2; i + 1 < xml.size(); i += 2) {
    if (xml[i + 1] != '\0' || static_cast<unsigned char>(xml[i]) >= 0x80)
      return Fail(ErrorCode::kUnsupported,
                  "ReAgent.xml is UTF-16 text beyond ASCII; Lifeboat does not edit it (run "
                  "'reagentc /disable' and 'reagentc /enable' in Windows)");
    narrow += xml[i];
  }
  auto edited = RetargetText(narrow, gpt_disk_guid, from, to);
  if (!edited) return std::nullopt;
  std::string wide = xml.substr(0, 2);
  for (char c : *edited) {
    wide += c;
    wide += '\0';
  }
  return std::optional<std::string>(wide);
}

namespace {

// ReAgent.xml on the Windows volume.
Result<std::string> FollowInReAgentXml(const DiskHandle& disk, const DiskModel& model,
                                       const Partition& windows, const RetargetWinReStep& s) {
  auto loop =
      LoopDevice::Attach(disk.path(), ToBytes(windows.start, model.sector_size),
                         ToBytes(windows.size, model.sector_size), model.sector_size, false);
  LIFEBOAT_TRY(loop);
  auto volume = image::NtfsVolume::Open(loop->path(), image::NtfsVolume::Mode::kReadWrite);
  if (!volume)
    return std::unexpected(volume.error().Context("the Windows volume (partition " +
                                                  std::to_string(windows.number) + ")"));
  auto bytes = (*volume)->ReadFile(kReAgentXml);
  if (!bytes && bytes.error().code == ErrorCode::kNotFound)
    return std::string("ReAgent.xml: none (WinRE was never configured by Windows)");
  LIFEBOAT_TRY(bytes);
  const std::string text(bytes->begin(), bytes->end());
  auto edited =
      RetargetReAgentXml(text, model.label == LabelKind::kGpt ? model.disk_id : std::string(),
                         s.from_offset.value, s.to_offset.value);
  LIFEBOAT_TRY(edited);
  if (!*edited) return std::string("ReAgent.xml: names no place of WinRE's to change");
  const std::vector<uint8_t> out((*edited)->begin(), (*edited)->end());
  LIFEBOAT_TRY((*volume)->WriteFile(kReAgentXml, out));
  auto reread = (*volume)->ReadFile(kReAgentXml);
  LIFEBOAT_TRY(reread);
  LIFEBOAT_TRY((*volume)->Close());
  if (*reread != out)
    return Fail(ErrorCode::kVerification, "ReAgent.xml did not read back as written");
  return "ReAgent.xml: WinRE's offset " + std::to_string(s.from_offset.value) + " -> " +
         std::to_string(s.to_offset.value);
}

// MBR: the BCD store's device elements naming WinRE's old offset.
Result<std::string> FollowInBcd(const DiskHandle& disk, const DiskModel& model,
                                const Partition& winre, const RetargetWinReStep& s,
                                JournalStore& journal, uint64_t progress,
                                const std::function<Result<void>(uint64_t)>& record) {
  if (model.label != LabelKind::kMbr) return std::string("BCD: names WinRE by GUID, unchanged");
  auto location = LocateBootStore(model);
  LIFEBOAT_TRY(location);
  BootStoreFile file(disk.path(), *location);
  auto loaded = ReadStoreForEdit(file);
  std::string restored;
  if (!loaded && progress >= kRetargetStoreBackedUp && loaded.error().code != ErrorCode::kIo) {
    // An earlier attempt backed the store up and was cut short while replacing it: its copy is
    // the journal's newest of this disk.
    auto backups = journal.BcdBackups(model.disk_id);
    LIFEBOAT_TRY(backups);
    if (!backups->empty()) {
      LIFEBOAT_TRY(file.Write(backups->front()));
      loaded = ReadStoreForEdit(file);
      restored = " (the store an earlier attempt left unreadable was put back from the journal)";
    }
  }
  LIFEBOAT_TRY(loaded);
  auto from = PartitionRefFor(model, winre);
  LIFEBOAT_TRY(from);
  from->offset = s.from_offset.value;
  const auto moved = bcd::FollowPartitionMoves(loaded->store, {{*from, s.to_offset.value}});
  if (moved.empty()) return std::string("BCD: nothing names WinRE's old place");
  std::vector<bcd::Object> objects;
  for (const auto& [id, object] : moved) objects.push_back(object);
  // (Kept as an edit outside apply: the journal ties BCD backups with a run to apply runs.)
  LIFEBOAT_TRY(journal.SaveBcdBackup(0, model.disk_id, loaded->bytes));
  LIFEBOAT_TRY(record(kRetargetStoreBackedUp));
  TestPoint("retarget-winre:bcd:backed-up");
  auto bytes = EditStore(loaded->bytes, objects);
  LIFEBOAT_TRY(bytes);
  LIFEBOAT_TRY(ReplaceStore(file, *bytes, loaded->bytes));
  return "BCD: " + std::to_string(objects.size()) + " object(s) follow WinRE in " +
         file.Describe() + restored;
}

}  // namespace

Result<std::string> FollowMovedWinRe(const DiskHandle& disk, const RetargetWinReStep& s,
                                     JournalStore& journal, uint64_t progress,
                                     const std::function<Result<void>(uint64_t)>& record) {
  auto model = ReadDisk(disk, {.look_inside_ntfs = false});
  LIFEBOAT_TRY(model);
  const auto find = [&](uint32_t number) -> const Partition* {
    for (const auto& p : model->partitions)
      if (p.number == number) return &p;
    return nullptr;
  };
  const Partition* windows = find(s.windows);
  const Partition* winre = find(s.winre);
  if (windows == nullptr || winre == nullptr)
    return Fail(
        ErrorCode::kNotFound,
        disk.path() + ": partition " + std::to_string(windows ? s.winre : s.windows) + " is gone");
  if (ToBytes(winre->start, model->sector_size) != s.to_offset)
    return Fail(ErrorCode::kVerification,
                "WinRE (partition " + std::to_string(s.winre) + ") is not at byte offset " +
                    std::to_string(s.to_offset.value) + " yet; nothing was pointed at it");
  auto xml = FollowInReAgentXml(disk, *model, *windows, s);
  LIFEBOAT_TRY(xml);
  auto bcd = FollowInBcd(disk, *model, *winre, s, journal, progress, record);
  LIFEBOAT_TRY(bcd);
  return *xml + "; " + *bcd;
}

}  // namespace lifeboat::agent
