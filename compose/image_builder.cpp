// Crash contract: inputs are only read; everything is written inside a staging folder beside the
// output, the image under a temporary name there; it is renamed to the output only when wimlib has
// written it whole (with an integrity table) and it is fsynced. A crash leaves the staging folder
// (.NAME.build-XXXXXX), never a partial image at the output path.
#include "compose/image_builder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>

#include "common/archive_reader.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/temporary_folder.h"
#include "common/version.h"
#include "compose/build_manifest.h"
#include "compose/build_plan.h"
#include "compose/image_path.h"
#include "compose/input_scan.h"
#include "compose/recipe.h"
#include "image/wim_compose.h"

namespace lifeboat::compose {

namespace fs = std::filesystem;

namespace {

// Copies `from` to `to` (created anew) and hashes the bytes on the way: one read of each input.
Result<PlacedHash> CopyHashing(const std::string& from, const std::string& to) {
  const int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Fail(ErrorCode::kIo, "cannot read " + from + ": " + std::strerror(errno));
  const int out = open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (out < 0) {
    close(in);
    return Fail(ErrorCode::kIo, "cannot create " + to + ": " + std::strerror(errno));
  }
  Sha256 hash;
  std::vector<uint8_t> buffer(1 << 20);
  PlacedHash result;
  ssize_t n;
  while ((n = read(in, buffer.data(), buffer.size())) > 0) {
    hash.Update({buffer.data(), static_cast<size_t>(n)});
    if (write(out, buffer.data(), static_cast<size_t>(n)) != n) {
      n = -1;
      break;
    }
    result.size += static_cast<uint64_t>(n);
  }
  const int saved = errno;
  close(in);
  if (close(out) != 0 || n < 0)
    return Fail(ErrorCode::kIo, "copy " + from + " to " + to + ": " + std::strerror(saved));
  result.sha256 = hash.HexDigest();
  return result;
}

std::string StagedPath(const std::string& tree, const std::string& image_path) {
  std::string relative = image_path.substr(1);
  std::replace(relative.begin(), relative.end(), '\\', '/');
  return tree + "/" + relative;
}

Result<void> MakeParents(const std::string& file) {
  std::error_code ec;
  fs::create_directories(fs::path(file).parent_path(), ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot make " + fs::path(file).parent_path().string());
  return {};
}

Result<void> WriteStaged(const std::string& tree, const std::string& image_path,
                         const std::string& text) {
  const std::string path = StagedPath(tree, image_path);
  LIFEBOAT_TRY(MakeParents(path));
  return WriteFileAtomically(path, text, 0644);
}

Result<void> FlushFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    const int saved = errno;
    if (fd >= 0) close(fd);
    return Fail(ErrorCode::kIo, "flush " + path + " to disk: " + std::strerror(saved));
  }
  close(fd);
  return {};
}

// Every staged file and folder gets the same time, so the image does not record when or where
// it was built.
Result<void> FixTimes(const std::string& tree, int64_t timestamp) {
  const timespec times[2] = {{static_cast<time_t>(timestamp), 0},
                             {static_cast<time_t>(timestamp), 0}};
  std::error_code ec;
  std::vector<std::string> paths = {tree};
  for (fs::recursive_directory_iterator it(tree, ec), end; !ec && it != end; it.increment(ec))
    paths.push_back(it->path().string());
  if (ec) return Fail(ErrorCode::kIo, "read " + tree + ": " + ec.message());
  for (const auto& path : paths)
    if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return Fail(ErrorCode::kIo, "set the time of " + path + ": " + std::strerror(errno));
  return {};
}

// The base WIM: the file named, or the one inside the ISO copied into the staging folder.
Result<std::string> BaseWim(const Recipe& recipe, const std::string& staging) {
  if (recipe.base.iso.written.empty()) return recipe.Resolve(recipe.base.image);
  const std::string iso = recipe.Resolve(recipe.base.iso);
  const std::string where = recipe.Where(recipe.base.iso.line) + ": base.iso: " + iso;
  auto members = ListArchive(iso);
  if (!members) return std::unexpected(members.error().Context(where));
  for (const auto& member : *members) {
    std::string name = member.path;
    std::replace(name.begin(), name.end(), '\\', '/');
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    if (member.kind != ArchiveMember::Kind::kFile ||
        ImagePathKey(name) != ImagePathKey(recipe.base.iso_path))
      continue;
    const std::string wim = staging + "/base.wim";
    LIFEBOAT_TRY(WithContext(ExtractMembers(iso, {{member.path, wim}}), where));
    return wim;
  }
  return Fail(ErrorCode::kNotFound,
              where + ": its ISO 9660 tree has no " + recipe.base.iso_path +
                  " (Windows setup media keep their files in UDF only, which is not read here: "
                  "extract boot.wim from it and name it as base.image)");
}

}  // namespace

std::vector<std::string> ResultWarnings(const std::string& out, uint64_t size) {
  if (size <= kFat32FileLimit) return {};
  return {out + " is larger than 4 GiB: FAT32 media (a USB stick made for UEFI) cannot carry it"};
}

Result<BuildResult> BuildImage(const BuildRequest& request) {
  auto say = [&](const std::string& line) {
    if (request.say) request.say(line);
  };
  auto recipe = ReadRecipe(request.recipe);
  if (!recipe) return std::unexpected(recipe.error());

  // Everything about the inputs is checked before the staging folder exists.
  BaseRecord base;
  base.kind = recipe->base.iso.written.empty() ? "wim" : "iso";
  const SourceRef& base_ref = base.kind == "wim" ? recipe->base.image : recipe->base.iso;
  const std::string base_file = recipe->Resolve(base_ref);
  const std::string base_where = recipe->Where(base_ref.line) + ": base." +
                                 (base.kind == "wim" ? "image" : "iso") + ": " + base_ref.written;
  struct stat st {};
  if (stat(base_file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return Fail(ErrorCode::kNotFound, base_where + ": not there (" + base_file + ")");
  say("scanning the inputs");
  auto inputs = ScanInputs(*recipe);
  if (!inputs) return std::unexpected(inputs.error());

  auto made = TemporaryFolder::Beside(request.out, "build");
  if (!made) return std::unexpected(made.error());
  const TemporaryFolder staging = std::move(*made);
  auto wim = BaseWim(*recipe, staging.path());
  if (!wim) return std::unexpected(wim.error());
  auto image = image::ReadBaseImage(*wim, recipe->base.index);
  if (!image) return std::unexpected(image.error().Context(base_where));
  base.image = *image;
  auto plan = MakeBuildPlan(*recipe, base.image.architecture, *inputs);
  if (!plan) return std::unexpected(plan.error());
  // Copying the base and checking its integrity table (a pass over the whole base) needs nothing
  // staged: it runs on a thread of its own while this one hashes the base and stages. The future
  // is declared after `staging`, so an early return waits for it before the folder goes.
  const std::string temp = staging.path() + "/image.wim";
  say("copying the base " + base_file + " and checking it, while staging");
  auto copying = std::async(
      std::launch::async, [image = base.image, temp] { return image::CopyBaseImage(image, temp); });
  auto base_sha = Sha256File(base_file);
  if (!base_sha) return std::unexpected(base_sha.error());
  base.sha256 = *base_sha;
  base.size = static_cast<uint64_t>(st.st_size);

  // Stage: files from folders copied (and hashed) one by one, archive members extracted in one
  // pass per archive and hashed from the copy.
  say("staging " + std::to_string(plan->placements.size()) + " files");
  const std::string tree = staging.path() + "/tree";
  std::vector<PlacedHash> hashes(plan->placements.size());
  std::map<size_t, std::map<std::string, std::string>> extractions;  // input → member → staged
  for (size_t i = 0; i < plan->placements.size(); ++i) {
    const Placement& placement = plan->placements[i];
    const Input& input = (*inputs)[placement.input];
    const std::string staged = StagedPath(tree, placement.target);
    LIFEBOAT_TRY(MakeParents(staged));
    if (input.kind == InputKind::kArchive) {
      extractions[placement.input][input.entries[placement.entry].path] = staged;
      continue;
    }
    const std::string source = input.kind == InputKind::kFile
                                   ? input.path
                                   : input.path + "/" + input.entries[placement.entry].path;
    auto hash = CopyHashing(source, staged);
    if (!hash) return std::unexpected(hash.error());
    hashes[i] = *hash;
  }
  std::vector<std::string> input_hashes(inputs->size());
  for (size_t i = 0; i < inputs->size(); ++i) {
    const Input& input = (*inputs)[i];
    if (input.kind == InputKind::kFolder) continue;
    auto hash = Sha256File(input.path);
    if (!hash) return std::unexpected(hash.error());
    input_hashes[i] = *hash;
  }
  for (const auto& [index, members] : extractions) {
    const Input& input = (*inputs)[index];
    const std::string where = recipe->Where(input.from.line) + ": tools: " + input.from.written;
    LIFEBOAT_TRY(WithContext(ExtractMembers(input.path, members), where));
  }
  for (size_t i = 0; i < plan->placements.size(); ++i) {
    if ((*inputs)[plan->placements[i].input].kind != InputKind::kArchive) continue;
    const std::string staged = StagedPath(tree, plan->placements[i].target);
    auto hash = Sha256File(staged);
    if (!hash) return std::unexpected(hash.error());
    hashes[i] = {*hash, static_cast<uint64_t>(fs::file_size(staged))};
  }

  const std::string manifest =
      BuildManifestText({*recipe, base, *inputs, input_hashes, *plan, hashes, request.timestamp});
  LIFEBOAT_TRY(WriteStaged(tree, kStartnetPath, plan->startnet_cmd));
  LIFEBOAT_TRY(WriteStaged(tree, kWinpeshlPath, plan->winpeshl_ini));
  LIFEBOAT_TRY(WriteStaged(tree, kBuildManifestPath, manifest));
  LIFEBOAT_TRY(FixTimes(tree, request.timestamp));

  const auto guid = GuidFor(manifest);
  auto copy = copying.get();
  if (!copy) return std::unexpected(copy.error().Context(base_where));
  say("writing " + request.out + " (" + base.image.compression + ")");
  LIFEBOAT_TRY(image::WriteComposedImage(std::move(*copy),
                                         {base.image, tree, recipe->name, recipe->description, guid,
                                          request.timestamp, request.writing}));
  // Flushing waits on the disk, hashing on the processor: the two run side by side.
  auto hashing = std::async(std::launch::async, [temp] { return Sha256File(temp); });
  LIFEBOAT_TRY(FlushFile(temp));
  auto sha = hashing.get();
  if (!sha) return std::unexpected(sha.error());
  BuildResult result;
  result.out = request.out;
  result.manifest = request.manifest.empty() ? request.out + ".manifest.json" : request.manifest;
  result.sha256 = *sha;
  result.size = fs::file_size(temp);
  result.guid = GuidText(guid);
  result.files = plan->placements.size() + 3;
  result.drivers = plan->driver_loads.size();
  result.warnings = ResultWarnings(request.out, result.size);

  if (std::rename(temp.c_str(), request.out.c_str()) != 0)
    return Fail(ErrorCode::kIo, "rename the image to " + request.out + ": " + std::strerror(errno));
  const std::string out_folder = fs::absolute(request.out).parent_path().string();
  if (const int dir = open(out_folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    fsync(dir);
    close(dir);
  }
  LIFEBOAT_TRY(WriteFileAtomically(
      result.manifest, ManifestWithImage(manifest, result.sha256, result.size, result.guid), 0644));
  return result;
}

}  // namespace lifeboat::compose
