#include "media/media_job.h"

#include <variant>

#include "common/units.h"
#include "common/version.h"
#include "media/iso_medium.h"
#include "media/usb_medium.h"
#include "media/usb_plan.h"
#include "media/usb_target.h"

namespace lifeboat::media {

namespace {

std::vector<std::string> Firmwares(const MediumSource& source) {
  std::vector<std::string> list;
  if (source.bios) list.push_back("bios");
  if (source.uefi) list.push_back("uefi");
  return list;
}

std::string BootsWith(const MediumSource& source) {
  if (source.bios && source.uefi) return "BIOS and UEFI";
  return source.bios ? "BIOS" : "UEFI";
}

// A volume label as the file system keeps it: ISO 9660 allows 32 characters, FAT 11; both only
// printable ASCII (upper case, for FAT, as Windows shows it).
Result<void> CheckLabel(const std::string& label, bool cd) {
  const std::string option = cd ? "--volume-id" : "--label";
  const size_t longest = cd ? 32 : 11;
  if (label.size() > longest)
    return BadInput(option, option + ": \"" + label + "\" is longer than " +
                                std::to_string(longest) + " characters");
  for (char c : label)
    if (c < 0x20 || c > 0x7e || (!cd && c >= 'a' && c <= 'z') || c == '"' || c == '*' || c == '/' ||
        c == '\\' || c == ':' || c == '?' || c == '|' || c == '<' || c == '>')
      return BadInput(option, option + ": \"" + label + "\" holds '" + std::string(1, c) +
                                  "'; use A-Z, 0-9, space, _ and -" + (cd ? "" : " (upper case)"));
  return {};
}

Result<MediumSource> Source(const MediaJob& job, bool cd) {
  auto version = Version::Parse(job.version, "--version");
  if (!version) return std::unexpected(version.error());
  LIFEBOAT_TRY(CheckLabel(job.label, cd));
  if (job.say) job.say("checking " + job.image + (job.check_image ? " (every byte)" : ""));
  return ReadMediumSource(job.image, job.version, job.firmware,
                          cd ? MediumKind::kCd : MediumKind::kStick, job.check_image);
}

}  // namespace

Result<MediumReport> MakeIso(const MediaJob& job) {
  auto source = Source(job, /*cd=*/true);
  if (!source) return std::unexpected(source.error());
  IsoRequest request;
  request.out = job.target;
  request.volume_id = job.label;
  request.say = job.say;
  request.progress = job.progress;
  auto iso = WriteIso(*source, request);
  if (!iso) return std::unexpected(iso.error());
  MediumReport report;
  report.kind = "iso";
  report.target = iso->out;
  report.result = "written";
  report.version = job.version;
  report.firmware = Firmwares(*source);
  report.size = iso->size;
  report.files = iso->files;
  report.label = iso->volume_id;
  report.image = source->image;
  if (job.say)
    job.say("wrote " + iso->out + ": " + HumanSize(Bytes{iso->size}) + ", volume " +
            iso->volume_id + ", boots with " + BootsWith(*source) + " (" + source->description +
            ")");
  return report;
}

Result<MediumReport> MakeUsb(const MediaJob& job) {
  auto say = [&](const std::string& line) {
    if (job.say) job.say(line);
  };
  auto target = InspectUsbTarget(job.target);
  if (!target) return std::unexpected(target.error());
  auto source = Source(job, /*cd=*/false);
  if (!source) return std::unexpected(source.error());

  UsbRequest request;
  request.wim = source->image.size.value;
  request.boot_files = source->boot.boot_sdi.size() + source->boot.bootmgr.size() +
                       source->boot.bootmgr_efi.size() + source->boot.bcd_bios.size() +
                       source->boot.bcd_uefi.size() + (1 << 20);  // and syslinux's files
  request.new_size = job.new_size;
  request.force = job.force;
  auto planned = PlanUsb(*target, request);
  if (auto* refusal = std::get_if<UsbRefusal>(&planned))
    return Refuse(refusal->reason, refusal->message);
  const auto& plan = std::get<UsbPlan>(planned);

  MediumReport report;
  report.kind = "usb";
  report.target = job.target;
  report.version = job.version;
  report.firmware = Firmwares(*source);
  report.size = plan.partition_size;
  report.label = job.label.empty() ? "LIFEBOAT" : job.label;
  report.erased = plan.erases;
  report.image = source->image;
  say(std::string(plan.create_file ? "creates " : "erases ") + job.target + " (" +
      HumanSize(Bytes{plan.disk_size}) + ")" + (plan.erases.empty() ? "" : ", which holds:"));
  for (const auto& line : plan.erases) say("  " + line);
  say("writes an MBR with partition 1, active, FAT32 \"" + report.label + "\", " +
      HumanSize(Bytes{plan.partition_size}) + " from 1 MiB, booting with " + BootsWith(*source) +
      " (" + source->description + ")");
  if (job.dry_run) {
    report.result = "planned";
    return report;
  }
  UsbWriteRequest write;
  write.target = job.target;
  write.label = report.label;
  write.say = job.say;
  write.progress = job.progress;
  auto written = WriteUsb(*source, plan, write);
  if (!written) return std::unexpected(written.error());
  report.result = "written";
  report.files = written->files;
  report.verified = written->verified;
  report.image.sha256 = written->wim_sha256;
  say("wrote " + job.target + ": " + std::to_string(written->files.size()) +
      " files, read back and verified");
  return report;
}

}  // namespace lifeboat::media
