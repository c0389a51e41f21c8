#include "agent/media_commands.h"

#include <iostream>

#include "agent/apply_commands.h"
#include "agent/disk_commands.h"
#include "agent/exit_codes.h"
#include "agent/json_codec.h"
#include "common/units.h"
#include "common/version.h"
#include "media/iso_medium.h"
#include "media/usb_medium.h"
#include "media/usb_plan.h"
#include "media/usb_target.h"

namespace lifeboat::agent {

namespace {

// Image problems exit 6 (5 when the file is missing), refusals 3, the rest as other commands.
int ReportMediaError(const Error& e, bool json) {
  if (e.code == ErrorCode::kCorrupt || e.code == ErrorCode::kUnsupported ||
      e.code == ErrorCode::kNotFound)
    return ReportImageError(e, json);
  return Report(e, json);
}

std::vector<std::string> Firmwares(bool bios, bool uefi) {
  std::vector<std::string> list;
  if (bios) list.push_back("bios");
  if (uefi) list.push_back("uefi");
  return list;
}

}  // namespace

int MediaIso(const MediaOptions& o) {
  auto say = [&](const std::string& line) { (o.json ? std::cerr : std::cout) << line << "\n"; };
  auto version = Version::Parse(o.version, "--version");
  if (!version) return Report(version.error(), o.json);
  say("checking " + o.image + (o.check_image ? " (every byte)" : ""));
  auto source = media::ReadMediumSource(o.image, o.version, o.firmware, /*cd=*/true, o.check_image);
  if (!source) return ReportMediaError(source.error(), o.json);
  media::IsoRequest request;
  request.out = o.target;
  request.volume_id = o.volume_id;
  request.say = say;
  auto iso = media::WriteIso(*source, request);
  if (!iso) return Report(iso.error(), o.json);

  MediumReport report;
  report.kind = "iso";
  report.target = iso->out;
  report.result = "written";
  report.version = o.version;
  report.firmware = Firmwares(iso->bios, iso->uefi);
  report.size = iso->size;
  report.files = iso->files;
  report.volume_id = iso->volume_id;
  report.image = source->image;
  if (o.json) {
    std::cout << MediumReportToJson(report) << "\n";
    return kExitOk;
  }
  std::cout << "wrote " << iso->out << ": " << HumanSize(Bytes{iso->size}) << ", volume "
            << iso->volume_id << ", boots with ";
  for (size_t i = 0; i < report.firmware.size(); ++i)
    std::cout << (i ? " and " : "") << (report.firmware[i] == "bios" ? "BIOS" : "UEFI");
  std::cout << " (" << source->description << ")\n";
  return kExitOk;
}

int MediaUsb(const MediaOptions& o) {
  auto say = [&](const std::string& line) { (o.json ? std::cerr : std::cout) << line << "\n"; };
  auto version = Version::Parse(o.version, "--version");
  if (!version) return Report(version.error(), o.json);
  auto target = media::InspectUsbTarget(o.target);
  if (!target) return Report(target.error(), o.json);
  say("checking " + o.image + (o.check_image ? " (every byte)" : ""));
  auto source =
      media::ReadMediumSource(o.image, o.version, o.firmware, /*cd=*/false, o.check_image);
  if (!source) return ReportMediaError(source.error(), o.json);

  media::UsbRequest request;
  request.wim = source->image.size.value;
  request.boot_files = source->boot.boot_sdi.size() + source->boot.bootmgr.size() +
                       source->boot.bootmgr_efi.size() + source->boot.bcd_bios.size() +
                       source->boot.bcd_uefi.size() + (1 << 20);  // + syslinux
  request.new_size = o.new_size;
  request.force = o.force;
  auto planned = media::PlanUsb(*target, request);
  if (auto* refusal = std::get_if<media::UsbRefusal>(&planned))
    return Report(Refuse(refusal->reason, refusal->message).error(), o.json);
  const auto& plan = std::get<media::UsbPlan>(planned);

  MediumReport report;
  report.kind = "usb";
  report.target = o.target;
  report.version = o.version;
  report.firmware = Firmwares(source->bios, source->uefi);
  report.size = plan.partition_size;
  report.volume_id = o.volume_id.empty() ? "LIFEBOAT" : o.volume_id;
  report.image = source->image;
  if (!o.json) {
    std::cout << (plan.create_file ? "creates " : "erases ") << o.target << " ("
              << HumanSize(Bytes{plan.disk_size}) << ")";
    if (plan.erases.empty())
      std::cout << "\n";
    else
      std::cout << ", which holds:\n";
    for (const auto& line : plan.erases) std::cout << "  " << line << "\n";
    std::cout << "writes: MBR, partition 1 active FAT32 \"" << report.volume_id << "\" "
              << HumanSize(Bytes{plan.partition_size}) << " from 1 MiB, booting with ";
    for (size_t i = 0; i < report.firmware.size(); ++i)
      std::cout << (i ? " and " : "") << (report.firmware[i] == "bios" ? "BIOS" : "UEFI");
    std::cout << " (" << source->description << ")\n";
  }
  if (o.dry_run) {
    report.result = "planned";
    if (o.json) std::cout << MediumReportToJson(report) << "\n";
    return kExitOk;
  }
  media::UsbWriteRequest write;
  write.target = o.target;
  write.label = report.volume_id;
  write.say = say;
  auto written = media::WriteUsb(*source, plan, write);
  if (!written) return Report(written.error(), o.json);
  report.result = "written";
  report.files = written->files;
  report.verified = written->verified;
  if (o.json) {
    std::cout << MediumReportToJson(report) << "\n";
    return kExitOk;
  }
  std::cout << "wrote " << o.target << ": " << written->files.size()
            << " files, read back and verified\n";
  return kExitOk;
}

}  // namespace lifeboat::agent
