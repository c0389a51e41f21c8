// lifeboatctl media iso|usb: a boot medium from a version published on the controller. The image's
// signed manifest is checked against the keys the operator trusts before a byte is fetched; the
// bytes are checked chunk by chunk against the controller's prefix hashes and, whole, against the
// signed SHA-256; then media/media_job.h writes the medium as lifeboat-agent media does.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/cli.h"
#include "common/image_trust.h"
#include "common/sha256.h"
#include "common/temporary_folder.h"
#include "common/units.h"
#include "ctl/commands.h"
#include "media/media_job.h"

namespace lifeboat::ctl {

namespace {

namespace fs = std::filesystem;

struct MediaOptions {
  media::MediaJob job;
  std::vector<std::string> trusted_keys;
  std::string firmware = "both";
  std::string size;
};

int ExitCodeFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kRefused:
      return 3;
    case ErrorCode::kNotFound:
      return 5;
    default:
      return 1;
  }
}

// Fetches the image's bytes into `path`, checking each chunk's prefix hash and the whole against
// `image`'s SHA-256 (the signed one). Errors: kIo, kCorrupt (bytes that do not match); when the
// controller refuses or fails the call, `refused` holds its status.
Result<void> Download(v1::AdminService::Stub& stub, const v1::Image& image, const std::string& path,
                      grpc::Status& refused) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Fail(ErrorCode::kIo, "cannot write " + path);
  grpc::ClientContext call;  // no deadline: a large image over a slow link takes what it takes
  v1::DownloadImageRequest request;
  request.set_sha256(image.sha256());
  auto reader = stub.DownloadImage(&call, request);
  Sha256 hash;
  uint64_t offset = 0;
  v1::DownloadImageResponse chunk;
  while (reader->Read(&chunk)) {
    if (chunk.offset() != offset)
      return Fail(ErrorCode::kCorrupt, "the controller sent bytes from " +
                                           std::to_string(chunk.offset()) + ", not " +
                                           std::to_string(offset));
    const std::string& data = chunk.data();
    hash.Update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    offset += data.size();
    if (hash.HexDigestSoFar() != chunk.prefix_sha256())
      return Fail(ErrorCode::kCorrupt, "image " + image.version() + ": the bytes up to " +
                                           std::to_string(offset) +
                                           " do not match the controller's hash");
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) return Fail(ErrorCode::kIo, "write " + path + " (disk full?)");
  }
  if (const grpc::Status status = reader->Finish(); !status.ok()) {
    refused = status;
    return Fail(ErrorCode::kIo,
                "download image " + image.version() + ": " + status.error_message());
  }
  out.close();
  if (!out) return Fail(ErrorCode::kIo, "write " + path);
  if (offset != image.size_bytes() || hash.HexDigest() != image.sha256())
    return Fail(ErrorCode::kCorrupt,
                "image " + image.version() + ": what was downloaded is not the signed image");
  return {};
}

Poco::JSON::Object::Ptr ReportObject(const media::MediumReport& r) {
  Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  auto strings = [](const std::vector<std::string>& items) {
    Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
    for (const auto& item : items) a->add(item);
    return a;
  };
  o->set("kind", r.kind);
  o->set("target", r.target);
  o->set("result", r.result);
  o->set("version", r.version);
  o->set("firmware", strings(r.firmware));
  o->set("size_bytes", r.size);
  o->set("files", strings(r.files));
  o->set("label", r.label);
  o->set("erased", strings(r.erased));
  o->set("verified", r.verified);
  return o;
}

int MakeMedium(Context& ctx, MediaOptions& o, bool usb) {
  auto say = [&](const std::string& line) { (ctx.json ? std::cerr : std::cout) << line << "\n"; };
  auto keys = TrustedKeys::Load(
      o.trusted_keys,
      {"--trusted-key", "the keys given with --trusted-key", "is not written to a medium"});
  if (!keys) return Complain(keys.error(), kExitUsage);
  auto* stub = ctx.Stub();
  if (stub == nullptr) return ctx.exit_code;
  v1::GetImageRequest get;
  get.set_version(o.job.version);
  v1::GetImageResponse got;
  if (const grpc::Status status = stub->GetImage(Context::Call().get(), get, &got); !status.ok())
    return Fail(status, ctx.json);
  const v1::Image& image = got.image();
  ImageManifest published;
  published.version = image.version();
  published.sha256 = image.sha256();
  published.size = image.size_bytes();
  ImageSignature signature;
  if (image.has_signature()) {
    signature.manifest = image.signature().manifest();
    signature.signature = image.signature().signature();
    signature.key_id = image.signature().key_id();
  }
  auto signer = keys->Check(published, signature, TodayUtc(std::chrono::system_clock::now()));
  if (!signer) return Complain(signer.error(), 3);
  say("image " + image.version() + " is signed by key " + *signer + "; downloading " +
      HumanSize(Bytes{image.size_bytes()}));

  const char* tmp = std::getenv("TMPDIR");
  auto folder = TemporaryFolder::Make(std::string(tmp && *tmp ? tmp : "/var/tmp") +
                                      "/lifeboatctl-media-XXXXXX");
  if (!folder) return Complain(folder.error(), 1);
  const std::string wim = folder->path() + "/boot.wim";
  grpc::Status refused;
  if (auto downloaded = Download(*stub, image, wim, refused); !downloaded)
    return refused.ok() ? Complain(downloaded.error(), ExitCodeFor(downloaded.error()))
                        : Fail(refused, ctx.json);

  o.job.image = wim;
  o.job.firmware = o.firmware == "uefi"   ? media::FirmwareChoice::kUefi
                   : o.firmware == "bios" ? media::FirmwareChoice::kBios
                                          : media::FirmwareChoice::kBoth;
  if (!o.size.empty()) o.job.new_size = ParseSize(o.size)->value;
  o.job.say = say;
  ProgressBar bar(usb ? "copy" : "master");
  o.job.progress = [&bar](uint64_t done, uint64_t total) { bar.Show(done, total); };
  auto report = usb ? media::MakeUsb(o.job) : media::MakeIso(o.job);
  if (!report) return Complain(report.error(), ExitCodeFor(report.error()));
  if (ctx.json) {
    auto out = ReportObject(*report);
    out->set("signed_by", *signer);
    out->set("sha256", image.sha256());
    std::cout << JsonText(out) << "\n";
  }
  return 0;
}

void AddSourceOptions(CLI::App* c, MediaOptions& o) {
  c->add_option("--image", o.job.version, "the published version to put on the medium")
      ->required()
      ->type_name("V")
      ->check(VersionCheck());
  c->add_option("--trusted-key", o.trusted_keys,
                "a public key (PEM, from lifeboatctl key generate) whose signature on the image is "
                "trusted; repeat for several. An image no trusted key signed is refused")
      ->required()
      ->type_name("KEY.pub");
  c->add_option("--firmware", o.firmware,
                "what the medium boots with: both (default), uefi or bios")
      ->type_name("WHICH")
      ->check(CLI::IsMember({"both", "uefi", "bios"}).description(""));
}

}  // namespace

void AddMediaCommands(CLI::App& app, Context& ctx) {
  auto* media = AddGroup(app, "media", "boot media from a published version: iso, usb");
  auto iso_options = std::make_shared<MediaOptions>();
  auto* iso = AddCommand(
      *media, "iso", "a bootable ISO (BIOS and UEFI) of a published version",
      "Fetch a published version from the controller (its signature checked against "
      "--trusted-key first, its bytes against the signed SHA-256) and master a bootable ISO from "
      "it, as `lifeboat-agent media iso` does (docs/media.md). Needs the operator role; the "
      "controller records the download in its audit log.");
  iso->add_option("OUT", iso_options->job.target, "the ISO file to write")
      ->required()
      ->type_name("OUT.iso");
  AddSourceOptions(iso, *iso_options);
  iso->add_option("--volume-id", iso_options->job.label,
                  "the volume label (default LIFEBOAT_<VERSION>), at most 32 characters")
      ->type_name("LABEL");
  iso->callback([&ctx, iso_options] { ctx.exit_code = MakeMedium(ctx, *iso_options, false); });

  auto usb_options = std::make_shared<MediaOptions>();
  auto* usb = AddCommand(
      *media, "usb", "a bootable USB stick of a published version: erases TARGET",
      "Fetch a published version from the controller (checked as for `media iso`) and write a "
      "bootable USB stick from it, as `lifeboat-agent media usb` does (docs/media.md): TARGET is "
      "erased, after what is on it is shown; everything written is read back and compared. "
      "Refused: a mounted target or the running system's disk; a target holding Windows or "
      "larger than 128 GiB unless --force; an image of 4 GiB or more.");
  usb->add_option("TARGET", usb_options->job.target,
                  "a device such as /dev/sdb, or a disk image file (made if missing)")
      ->required()
      ->type_name("");
  AddSourceOptions(usb, *usb_options);
  usb->add_option("--size", usb_options->size,
                  "the size of an image file made anew (default: just large enough)")
      ->type_name("SIZE")
      ->check(SizeCheck());
  usb->add_option("--label", usb_options->job.label,
                  "the FAT volume label (default LIFEBOAT), at most 11 characters")
      ->type_name("LABEL");
  usb->add_flag("--force", usb_options->job.force,
                "use a target larger than 128 GiB or holding a Windows installation");
  usb->add_flag("--dry-run", usb_options->job.dry_run,
                "show what would be erased and written, and change nothing (the image is still "
                "downloaded and checked)");
  usb->callback([&ctx, usb_options] { ctx.exit_code = MakeMedium(ctx, *usb_options, true); });
}

}  // namespace lifeboat::ctl
