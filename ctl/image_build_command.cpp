// lifeboatctl image build RECIPE --out FILE.wim: composes a recovery image on this machine from a
// recipe (compose/), without a controller. docs/image-build.md describes the recipe.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "common/cli.h"
#include "compose/image_builder.h"
#include "ctl/commands.h"
#include "ctl/output.h"

namespace lifeboat::ctl {

namespace {

struct BuildOptions {
  std::string recipe, out, manifest;
};

// Input problems (a missing, damaged or unsuitable input) are refusals; a recipe written wrong is
// a usage mistake; failing to write is an error.
int ExitCodeFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kIo:
      return 1;
    default:
      return 3;
  }
}

// SOURCE_DATE_EPOCH (reproducible-builds.org) when set, else the fixed default.
Result<int64_t> Timestamp() {
  const char* text = std::getenv("SOURCE_DATE_EPOCH");
  if (text == nullptr || *text == '\0') return compose::kDefaultTimestamp;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < 0)
    return BadInput("SOURCE_DATE_EPOCH", "SOURCE_DATE_EPOCH=" + std::string(text) +
                                             " is not a number of seconds since 1970");
  return static_cast<int64_t>(value);
}

int Build(const BuildOptions& o, bool json) {
  auto timestamp = Timestamp();
  if (!timestamp) return Complain(timestamp.error(), kExitUsage);
  ProgressBar bar("write");
  compose::BuildRequest request{o.recipe,
                                o.out,
                                o.manifest,
                                *timestamp,
                                [](const std::string& line) { std::cerr << line << " ...\n"; },
                                [&bar](uint64_t done, uint64_t total) { bar.Show(done, total); }};
  auto built = compose::BuildImage(request);
  if (!built)
    return Complain(built.error().Context("image build " + o.recipe), ExitCodeFor(built.error()));
  for (const auto& warning : built->warnings)
    std::cerr << "lifeboatctl: warning: " << warning << "\n";
  if (json) {
    Poco::JSON::Object::Ptr out = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    out->set("image", built->out);
    out->set("manifest", built->manifest);
    out->set("sha256", built->sha256);
    out->set("size_bytes", built->size);
    out->set("guid", built->guid);
    out->set("files_added", built->files);
    out->set("drivers", built->drivers);
    Poco::JSON::Array::Ptr warnings = new Poco::JSON::Array;
    for (const auto& warning : built->warnings) warnings->add(warning);
    out->set("warnings", warnings);
    std::cout << JsonText(out) << "\n";
    return 0;
  }
  std::cout << "built " << built->out << " (" << Size(built->size) << ", sha256 " << built->sha256
            << ", " << built->files << " files added, " << built->drivers << " drivers)\n"
            << "manifest " << built->manifest << "\n";
  return 0;
}

}  // namespace

void AddImageBuildCommand(CLI::App& image, Context& ctx) {
  auto options = std::make_shared<BuildOptions>();
  auto* build = AddCommand(
      image, "build", "compose a recovery image from a recipe (on this machine)",
      "Reads RECIPE (YAML: base WIM or ISO, tools, drivers, files, debugging tools, scanner "
      "definitions, symbols, start-up, expiry; docs/image-build.md), checks every input, and "
      "writes the composed WIM to --out with wimlib, keeping the base's compression and adding "
      "an integrity table. The same recipe and inputs give the same bytes: everything added is "
      "stamped with SOURCE_DATE_EPOCH (default 2000-01-01) and the WIM's GUID is derived from the "
      "inputs. The build manifest (every input with its SHA-256, what went where) is written "
      "into the image (\\Lifeboat\\build.json), so `image publish` carries it, and beside the "
      "output with the image's own SHA-256. Nothing appears at --out unless the build succeeds. "
      "Exit 2: the recipe is wrong; 3: an input is missing, damaged or unsuitable; 1: writing "
      "failed.");
  build->add_option("RECIPE", options->recipe, "the recipe (YAML)")->required()->type_name("");
  build->add_option("--out", options->out, "the WIM to write")->required()->type_name("FILE.wim");
  build
      ->add_option("--manifest", options->manifest,
                   "where the build manifest goes (default FILE.wim.manifest.json)")
      ->type_name("FILE");
  build->add_flag_callback(
      "--json",
      [&ctx] {
        ctx.json = true;
        PrintErrorsAsJson(true);
      },
      "print the result as JSON on stdout (and a failure as {\"error\": ...})");
  build->callback([&ctx, options] { ctx.exit_code = Build(*options, ctx.json); });
}

}  // namespace lifeboat::ctl
