// lifeboatctl image publish | list | show | retire.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "common/cli.h"
#include "common/ed25519.h"
#include "common/image_manifest.h"
#include "common/sha256.h"
#include "common/version.h"
#include "compose/image_contents.h"
#include "ctl/commands.h"
#include "ctl/output.h"
#include "image/wim_file.h"

namespace lifeboat::ctl {

namespace {

// --sign-key: check the image here as agents will (wimlib), then sign the manifest of what was
// checked. The controller refuses the signature unless its own check finds the same.
Result<v1::SignedBy> SignImage(const std::string& file, const std::string& version,
                               const std::string& key_file) {
  std::ifstream key_in(key_file);
  if (!key_in) return Fail(ErrorCode::kNotFound, "--sign-key: cannot read " + key_file);
  const std::string private_pem{std::istreambuf_iterator<char>(key_in), {}};
  auto public_pem = PublicKeyOf(private_pem);
  if (!public_pem)
    return Fail(ErrorCode::kInvalidArgument,
                "--sign-key " + key_file + ": " + public_pem.error().message);
  std::cerr << "checking " << file << " ...\n";
  auto image = image::CheckImage(file);
  if (!image)
    return Fail(
        ErrorCode::kInvalidArgument,
        file + ": not a usable recovery image, so it is not signed: " + image.error().message);
  auto statement = compose::ManifestOf(*image, version);
  if (!statement)
    return Fail(ErrorCode::kInvalidArgument,
                file + ": its build manifest cannot be read, so it is not signed: " +
                    statement.error().message);
  if (Expired(statement->expires, TodayUtc(std::chrono::system_clock::now())))
    return Fail(ErrorCode::kInvalidArgument,
                file + " expired on " + statement->expires + ": it is not signed");
  const std::string manifest = ManifestText(*statement);
  auto signature = Sign(private_pem, manifest);
  auto id = KeyId(*public_pem);
  if (!signature || !id) return Fail(ErrorCode::kIo, "--sign-key: signing failed");
  v1::SignedBy signed_by;
  signed_by.mutable_signature()->set_manifest(manifest);
  signed_by.mutable_signature()->set_signature(*signature);
  signed_by.mutable_signature()->set_key_id(*id);
  signed_by.set_public_key(*public_pem);
  std::cerr << "signed the manifest of " << version << " with key " << *id << "\n";
  return signed_by;
}

void PrintPublished(const v1::Image& image, bool unchanged) {
  std::cout << (unchanged ? "unchanged: already published " : "published ") << image.version()
            << " (" << image.name() << ", " << Size(image.size_bytes()) << ", sha256 "
            << image.sha256() << ", "
            << (image.has_signature() ? "signed by key " + image.signature().key_id()
                                      : std::string("unsigned: agents will not install it"))
            << ")\n";
}

int PublishUpload(v1::AdminService::Stub& stub, const std::string& file, const std::string& version,
                  const std::optional<v1::SignedBy>& signed_by, bool json) {
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) return Usage("cannot read " + file);
  std::cerr << "hashing " << file << " ...\n";
  auto sha = Sha256File(file);
  if (!sha) return Usage(sha.error().message);
  grpc::ClientContext context;
  v1::PublishImageResponse response;
  auto writer = stub.PublishImage(&context, &response);
  v1::PublishImageRequest header;
  header.mutable_header()->set_version(version);
  header.mutable_header()->set_sha256(*sha);
  header.mutable_header()->set_size_bytes(static_cast<uint64_t>(st.st_size));
  if (signed_by) *header.mutable_header()->mutable_signed_by() = *signed_by;
  writer->Write(header);
  std::ifstream in(file, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  uint64_t sent = 0, total = static_cast<uint64_t>(st.st_size);
  int last = -1;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    v1::PublishImageRequest part;
    part.set_chunk(buffer.data(), static_cast<size_t>(n));
    if (!writer->Write(part)) break;
    sent += static_cast<uint64_t>(n);
    int percent = total ? static_cast<int>(sent * 100 / total) : 100;
    if (percent != last && (isatty(STDERR_FILENO) || percent == 100)) {
      last = percent;
      std::string bar(static_cast<size_t>(percent / 4), '#');
      bar.resize(25, ' ');
      std::cerr << "\rupload [" << bar << "] " << percent << "% " << Size(sent) << " of "
                << Size(total) << std::flush;
    }
  }
  std::cerr << "\n";
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  // The controller checked its own copy: say which of the operator's files it was about.
  if (!status.ok())
    return Fail(grpc::Status(status.error_code(), "publish " + file + " as version " + version +
                                                      ": " + status.error_message()),
                json);
  if (json)
    std::cout << Json(response) << "\n";
  else
    PrintPublished(response.image(), response.unchanged());
  return 0;
}

struct PublishOptions {
  std::string file, version, sign_key;
  bool from_path = false;
};

int Publish(Context& ctx, const PublishOptions& o) {
  std::optional<v1::SignedBy> signed_by;
  if (!o.sign_key.empty()) {
    auto made = SignImage(o.file, o.version, o.sign_key);
    if (!made) return Complain(made.error(), made.error().code == ErrorCode::kNotFound ? 5 : 2);
    signed_by = *made;
  }
  if (!o.from_path) {
    auto* stub = ctx.Stub();
    if (stub == nullptr) return ctx.exit_code;
    return PublishUpload(*stub, o.file, o.version, signed_by, ctx.json);
  }
  v1::PublishImageFromPathRequest request;
  request.set_version(o.version);
  request.set_path(o.file);
  if (signed_by) *request.mutable_signed_by() = *signed_by;
  return ctx.Run<v1::PublishImageFromPathRequest, v1::PublishImageFromPathResponse>(
      &v1::AdminService::Stub::PublishImageFromPath, request,
      [](const auto& response) { PrintPublished(response.image(), response.unchanged()); });
}

int List(Context& ctx, bool all) {
  v1::ListImagesRequest request;
  request.set_include_retired(all);
  return ctx.Run<v1::ListImagesRequest, v1::ListImagesResponse>(
      &v1::AdminService::Stub::ListImages, request, [](const auto& response) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& i : response.images()) {
          rows.push_back({i.version(), i.name(), i.architecture(), Size(i.size_bytes()),
                          i.sha256().substr(0, 12),
                          i.has_signature() ? i.signature().key_id() : "unsigned", i.published_at(),
                          i.expires().empty() ? "-" : i.expires(), i.retired() ? "retired" : ""});
        }
        Table(
            {"VERSION", "NAME", "ARCH", "SIZE", "SHA256", "SIGNED BY", "PUBLISHED", "EXPIRES", ""},
            rows);
      });
}

void PrintImage(const v1::Image& image) {
  std::cout << "image " << image.version() << (image.retired() ? " (retired)" : "") << "\n"
            << "  name          " << image.name() << "\n  description   " << image.description()
            << "\n  architecture  " << image.architecture() << "\n  size          "
            << Size(image.size_bytes()) << "\n  files         " << image.file_count()
            << "\n  sha256        " << image.sha256() << "\n  boot index    " << image.boot_index()
            << "\n  winload       " << (image.has_winload_efi() ? "efi " : "")
            << (image.has_winload_exe() ? "exe" : "") << "\n  signed by     "
            << (image.has_signature() ? "key " + image.signature().key_id()
                                      : std::string("nobody: agents refuse unsigned images"))
            << "\n  published     " << image.published_at() << "\n";
  if (!image.expires().empty())
    std::cout << "  expires       " << image.expires()
              << (Expired(image.expires(), TodayUtc(std::chrono::system_clock::now()))
                      ? " (expired: no rollout may use it)"
                      : "")
              << "\n";
  if (!image.has_contents()) return;
  // What end users of the recovery environment can reach, before anyone rolls it out.
  const v1::ImageContents& c = image.contents();
  std::cout << "  built by      lifeboatctl image build (contents "
            << c.contents_sha256().substr(0, 12) << ", signed with the image)\n  start-up      "
            << (c.startup_run().empty() ? std::string("a command prompt") : c.startup_run()) << "\n"
            << "  tools         " << c.tools_size() << "\n";
  for (const auto& tool : c.tools()) std::cout << "    " << tool << "\n";
  std::cout << "  drivers       " << c.drivers_size() << "\n";
  for (const auto& d : c.drivers()) {
    std::string archs;
    for (const auto& a : d.architectures()) archs += (archs.empty() ? "" : ",") + a;
    std::cout << "    " << d.inf() << " (" << d.driver_class() << ", " << archs << ")\n";
  }
  std::cout << "  other files   " << c.files_size() << "\n";
  for (const auto& file : c.files()) std::cout << "    " << file << "\n";
}

// One call on one image, returning it: show, retire.
template <typename Request, typename Response>
int OnImage(Context& ctx, const std::string& version,
            grpc::Status (v1::AdminService::Stub::*call)(grpc::ClientContext*, const Request&,
                                                         Response*)) {
  Request request;
  request.set_version(version);
  return ctx.Run<Request, Response>(call, request,
                                    [](const Response& response) { PrintImage(response.image()); });
}

}  // namespace

void AddImageCommands(CLI::App& app, Context& ctx) {
  auto* image =
      AddGroup(app, "image", "recovery images: build one here; publish, list, show, retire");
  AddImageBuildCommand(*image, ctx);

  auto publish_options = std::make_shared<PublishOptions>();
  auto* publish = AddCommand(
      *image, "publish", "upload an image, checked and stored by the controller",
      "Uploads FILE (progress on stderr); the controller checks it with wimlib and stores it. "
      "With --sign-key the image is also checked here and its manifest (version, SHA-256, size, "
      "name, description, architecture) signed with the Ed25519 key: agents install only images "
      "signed by a key they trust. With --from-path, FILE is a path on the controller's own disk "
      "(to sign it, it must be readable here too).");
  publish->add_option("FILE", publish_options->file, "the WIM file")->required()->type_name("");
  publish->add_option("--version", publish_options->version, "the version it is published as")
      ->required()
      ->type_name("V")
      ->check(VersionCheck());
  publish->add_option("--sign-key", publish_options->sign_key, "sign its manifest with this key")
      ->type_name("KEY");
  publish->add_flag("--from-path", publish_options->from_path,
                    "FILE is on the controller's disk: publish it from there");
  publish->callback([&ctx, publish_options] { ctx.exit_code = Publish(ctx, *publish_options); });

  auto all = std::make_shared<bool>(false);
  auto* list = AddCommand(*image, "list", "published images");
  list->add_flag("--all", *all, "retired ones too");
  list->callback([&ctx, all] { ctx.exit_code = List(ctx, *all); });

  for (bool retire : {false, true}) {
    auto version = std::make_shared<std::string>();
    auto* command = AddCommand(*image, retire ? "retire" : "show",
                               retire ? "no new rollout may use this image (refused while one does)"
                                      : "one image: what it holds and who signed it");
    command->add_option("V", *version, "the version")
        ->required()
        ->type_name("")
        ->check(VersionCheck());
    command->callback([&ctx, version, retire] {
      using S = v1::AdminService::Stub;
      ctx.exit_code =
          retire ? OnImage<v1::RetireImageRequest, v1::RetireImageResponse>(ctx, *version,
                                                                            &S::RetireImage)
                 : OnImage<v1::GetImageRequest, v1::GetImageResponse>(ctx, *version, &S::GetImage);
    });
  }
}

}  // namespace lifeboat::ctl
