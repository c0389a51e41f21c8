// lifeboatctl image build on real inputs: a base WIM made with wimlib-imagex, a CAB made with
// gcab, a ZIP made with Info-ZIP, driver packages, folders. The results are read back with tools
// we did not write: wimlib-imagex (verify, info, apply), gcab and unzip for what the archives
// hold, sha256sum for the manifest's hashes, cmp for reproducibility, xorriso for an ISO base.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = std::string(LIFEBOAT_SOURCE_DIR) + "/tests/fixtures";

CommandResult Build(const std::string& recipe, const std::string& out,
                    const std::string& extra = "") {
  return Sh(Quote(LIFEBOAT_CTL) + " image build " + Quote(recipe) + " --out " + Quote(out) + " " +
            extra);
}

std::string Sha256sum(const std::string& file) {
  auto r = Sh("sha256sum " + Quote(file) + " | cut -c1-64");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, 64);
}

// Files of the directory tree (relative paths), from find.
std::string Tree(const std::string& dir) {
  return Sh("cd " + Quote(dir) + " && find . -type f | sort").out;
}

class ImageBuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = Sh(kFixtures + "/make-recipe-inputs " + Quote(dir_.path()) + " --evil");
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  // The image applied to a folder by wimlib-imagex.
  std::string Apply(const std::string& wim) {
    const std::string tree = dir_ / "applied";
    Sh("rm -rf " + Quote(tree));
    auto r = Sh("wimlib-imagex apply " + Quote(wim) + " 1 " + Quote(tree));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return tree;
  }
  // The same recipe with paths relative to its folder.
  std::string RelativeRecipe() {
    const std::string recipe = dir_ / "relative.yaml";
    Sh("sed 's|" + dir_.path() + "/src/|src/|g' " + Quote(dir_ / "recipe.yaml") + " > " +
       Quote(recipe));
    return recipe;
  }
  TempDir dir_;
};

TEST_F(ImageBuildTest, TheDocumentedExampleBuildsAndHoldsEveryInputAtItsPath) {
  const std::string out = dir_ / "contoso.wim";
  auto built = Build(dir_ / "recipe.yaml", out);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_NE(built.out.find("built " + out), std::string::npos) << built.out;

  auto verify = Sh("wimlib-imagex verify " + Quote(out));
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  auto info = Sh("wimlib-imagex info " + Quote(out)).out;
  EXPECT_NE(info.find("Image Count:    1"), std::string::npos) << info;
  EXPECT_NE(info.find("Boot Index:     1"), std::string::npos) << info;
  EXPECT_NE(info.find("Compression:    LZX"), std::string::npos) << info;  // the base's
  EXPECT_NE(info.find("Integrity info"), std::string::npos) << info;
  EXPECT_NE(info.find("Name:                   Contoso DaRT"), std::string::npos) << info;
  EXPECT_NE(info.find("Architecture:           x86_64"), std::string::npos) << info;

  const std::string image = Apply(out);
  const std::string src = dir_ / "src";
  // Every CAB member (gcab extracts them) at its path from the image root, byte for byte.
  ASSERT_EQ(Sh("mkdir " + Quote(dir_ / "cab") + " && gcab -x -C " + Quote(dir_ / "cab") + " " +
               Quote(src + "/Toolsx64.cab"))
                .exit_code,
            0);
  for (const char* member : {"Windows/System32/erdc.exe", "Windows/System32/ErdTools.dll",
                             "Program Files/DaRT/CrashAnalyzer.exe"})
    EXPECT_EQ(
        Sh("cmp " + Quote(dir_ / "cab/" + member) + " " + Quote(image + "/" + member)).exit_code, 0)
        << member;
  // Only what `take` names from the ZIP.
  ASSERT_EQ(
      Sh("unzip -q " + Quote(src + "/sysinternals.zip") + " -d " + Quote(dir_ / "zip")).exit_code,
      0);
  EXPECT_EQ(Sh("cmp " + Quote(dir_ / "zip/Autoruns/Autoruns64.exe") + " " +
               Quote(image + "/Autoruns/Autoruns64.exe"))
                .exit_code,
            0);
  EXPECT_FALSE(fs::exists(image + "/ProcessMonitor")) << "a tool the recipe did not take";
  // Folders at their targets, whole.
  EXPECT_EQ(Tree(src + "/scripts"), Tree(image + "/Scripts"));
  EXPECT_EQ(Sh("diff -r " + Quote(src + "/scripts") + " " + Quote(image + "/Scripts")).exit_code,
            0);
  EXPECT_EQ(
      Sh("diff -r " + Quote(src + "/drivers/net") + " " + Quote(image + "/Drivers/net")).exit_code,
      0);
  EXPECT_EQ(
      Sh("diff -r " + Quote(src + "/drivers/storage") + " " + Quote(image + "/Drivers/storage"))
          .exit_code,
      0);
  EXPECT_EQ(Sh("diff -r " + Quote(src + "/debuggers/x64") + " " +
               Quote(image + "/Program Files/Debugging Tools for Windows (x64)"))
                .exit_code,
            0);
  EXPECT_EQ(Sh("diff -r " + Quote(src + "/defs") + " " + Quote(image + "/Definitions")).exit_code,
            0);
  EXPECT_EQ(Sh("diff -r " + Quote(src + "/symbols") + " " + Quote(image + "/Symbols")).exit_code,
            0);
  EXPECT_EQ(Sh("cmp " + Quote(src + "/DartConfig.dat") + " " +
               Quote(image + "/Windows/System32/DartConfig.dat"))
                .exit_code,
            0);
  // The base's own files are still there.
  EXPECT_TRUE(fs::exists(image + "/Windows/System32/boot/winload.efi"));
  EXPECT_TRUE(fs::exists(image + "/Windows/Boot/DVD/EFI/boot.sdi"));

  // Start-up: wpeinit, the environment, the expiry shown, the drivers loaded, then the tool.
  auto startnet = Sh("cat " + Quote(image + "/Windows/System32/startnet.cmd")).out;
  EXPECT_EQ(startnet,
            "@echo off\r\n"
            "rem Start-up of Contoso DaRT 10.0.3, written by lifeboatctl image build "
            "(docs/image-build.md).\r\n"
            "wpeinit\r\n"
            "set PATH=%PATH%;X:\\Program Files\\Debugging Tools for Windows (x64)\r\n"
            "set _NT_SYMBOL_PATH=X:\\Symbols\r\n"
            "echo Contoso DaRT 10.0.3 (x64)\r\n"
            "echo This recovery image expires on 2027-06-30. Do not use it after that date.\r\n"
            "drvload \"X:\\Drivers\\net\\e1d68x64.inf\"\r\n"
            "drvload \"X:\\Drivers\\storage\\iaStorAC.inf\"\r\n"
            "X:\\Windows\\System32\\erdc.exe\r\n");
  EXPECT_EQ(Sh("cat " + Quote(image + "/Windows/System32/winpeshl.ini")).out,
            "[LaunchApps]\r\n%SYSTEMROOT%\\System32\\cmd.exe, /k "
            "%SYSTEMROOT%\\System32\\startnet.cmd\r\n");

  // The manifest beside: the image's hash, and every input's hash as sha256sum computes it.
  auto manifest = Json(Sh("cat " + Quote(out + ".manifest.json")).out);
  EXPECT_EQ(manifest->getObject("image")->getValue<std::string>("sha256"), Sha256sum(out));
  EXPECT_EQ(manifest->getValue<std::string>("expires"), "2027-06-30");
  EXPECT_EQ(manifest->getObject("base")->getValue<std::string>("sha256"),
            Sha256sum(src + "/winpe.wim"));
  auto tools = manifest->getArray("tools");
  ASSERT_EQ(tools->size(), 2u);
  EXPECT_EQ(tools->getObject(0)->getValue<std::string>("sha256"), Sha256sum(src + "/Toolsx64.cab"));
  EXPECT_EQ(tools->getObject(1)->getValue<std::string>("sha256"),
            Sha256sum(src + "/sysinternals.zip"));
  size_t files_checked = 0;
  for (const char* key : {"tools", "drivers", "files"}) {
    auto list = manifest->getArray(key);
    for (size_t i = 0; i < list->size(); ++i) {
      auto files = list->getObject(i)->getArray("files");
      for (size_t f = 0; f < files->size(); ++f) {
        std::string path = files->getObject(f)->getValue<std::string>("path");
        std::replace(path.begin(), path.end(), '\\', '/');
        EXPECT_EQ(files->getObject(f)->getValue<std::string>("sha256"), Sha256sum(image + path))
            << path;
        ++files_checked;
      }
    }
  }
  EXPECT_EQ(files_checked, 3u + 2u + 4u + 2u);  // CAB, ZIP (Autoruns only), drivers, scripts
  auto drivers = manifest->getArray("drivers");
  auto inf = drivers->getObject(0)->getArray("infs")->getObject(0);
  EXPECT_EQ(inf->getValue<std::string>("class"), "Net");
  EXPECT_EQ(inf->getArray("architectures")->getElement<std::string>(0), "x64");
  // The image holds the same manifest, less what only exists once the image does.
  auto inside = Json(Sh("cat " + Quote(image + "/Lifeboat/build.json")).out);
  EXPECT_FALSE(inside->has("image"));
  EXPECT_EQ(inside->getArray("tools")->getObject(1)->getValue<std::string>("sha256"),
            Sha256sum(src + "/sysinternals.zip"));
  EXPECT_EQ(Tree(dir_.path()).find(".build-"), std::string::npos) << "staging left behind";
}

TEST_F(ImageBuildTest, TwoBuildsInDifferentFoldersAtDifferentTimesAreByteIdentical) {
  const std::string recipe = RelativeRecipe();
  TempDir other;
  // A copy of everything made now: new inodes, new modification times, another path.
  ASSERT_EQ(Sh("sleep 1.1 && cp -r " + Quote(dir_ / "src") + " " + Quote(recipe) + " " +
               Quote(other.path()))
                .exit_code,
            0);
  auto first = Build(recipe, dir_ / "first.wim");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  Sh("sleep 1.1");
  auto second = Build(other / "relative.yaml", other / "second.wim");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto cmp = Sh("cmp " + Quote(dir_ / "first.wim") + " " + Quote(other / "second.wim"));
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out;
  // The GUID is the inputs', not random: wimlib-imagex shows the same one.
  EXPECT_EQ(Sh("wimlib-imagex info " + Quote(dir_ / "first.wim") + " | grep GUID").out,
            Sh("wimlib-imagex info " + Quote(other / "second.wim") + " | grep GUID").out);
  auto info = Sh("wimlib-imagex info " + Quote(dir_ / "first.wim")).out;
  EXPECT_NE(info.find("Last Modification Time: Sat Jan 01 00:00:00 2000 UTC"), std::string::npos)
      << info;
  // A changed input changes the image.
  ASSERT_EQ(Sh("echo changed >> " + Quote(other / "src/scripts/collect.cmd")).exit_code, 0);
  auto third = Build(other / "relative.yaml", other / "third.wim");
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_NE(Sh("cmp -s " + Quote(dir_ / "first.wim") + " " + Quote(other / "third.wim")).exit_code,
            0);
}

TEST_F(ImageBuildTest, ABaseInsideAnIsoIsReadWithoutMountingIt) {
  ASSERT_EQ(
      Sh("mkdir -p " + Quote(dir_ / "iso/sources") + " && cp " + Quote(dir_ / "src/winpe.wim") +
         " " + Quote(dir_ / "iso/sources/boot.wim") + " && xorriso -as mkisofs -quiet -J -R -o " +
         Quote(dir_ / "src/dart10.iso") + " " + Quote(dir_ / "iso"))
          .exit_code,
      0);
  const std::string recipe = dir_ / "iso.yaml";
  Sh("sed 's|base: { image: .*|base: { iso: src/dart10.iso }|' " + Quote(RelativeRecipe()) + " > " +
     Quote(recipe));
  auto built = Build(recipe, dir_ / "from-iso.wim");
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_EQ(Sh("wimlib-imagex verify " + Quote(dir_ / "from-iso.wim")).exit_code, 0);
  auto manifest = Json(Sh("cat " + Quote(dir_ / "from-iso.wim.manifest.json")).out);
  EXPECT_EQ(manifest->getObject("base")->getValue<std::string>("kind"), "iso");
  EXPECT_EQ(manifest->getObject("base")->getValue<std::string>("sha256"),
            Sha256sum(dir_ / "src/dart10.iso"));
  // The same base, so the same files as a build from the WIM itself.
  auto direct = Build(RelativeRecipe(), dir_ / "direct.wim");
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(Sh("wimlib-imagex dir " + Quote(dir_ / "from-iso.wim") + " 1").out,
            Sh("wimlib-imagex dir " + Quote(dir_ / "direct.wim") + " 1").out);
}

struct BadRecipe {
  const char* name;
  const char* body;  // after name/version; "BASE" stands for a good base line
  int exit_code;
  const char* message;  // a part of what lifeboatctl says
  int line;             // the recipe line it names
};

class BadInputTest : public ImageBuildTest, public ::testing::WithParamInterface<BadRecipe> {};

TEST_P(BadInputTest, IsRefusedWithTheLineAndNothingIsWritten) {
  const BadRecipe& bad = GetParam();
  std::string body = bad.body;
  if (auto at = body.find("BASE"); at != std::string::npos)
    body.replace(at, 4, "base: { image: src/winpe.wim }");
  const std::string recipe = dir_ / "bad.yaml";
  ASSERT_EQ(
      Sh("printf '%s\\n' " + Quote("name: Bad\nversion: 1.0\n" + body) + " > " + Quote(recipe))
          .exit_code,
      0);
  const std::string out = dir_ / "bad.wim";
  auto r = Build(recipe, out);
  EXPECT_EQ(r.exit_code, bad.exit_code) << r.err;
  EXPECT_NE(r.err.find(bad.message), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:" + std::to_string(bad.line) + ":"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".manifest.json"));
  EXPECT_EQ(Sh("ls -a " + Quote(dir_.path()) + " | grep -c build-").out, "0\n") << "staging left";
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, BadInputTest,
    ::testing::Values(
        BadRecipe{"missing_base", "base: { image: src/nothing.wim }", 3, "not there", 3},
        BadRecipe{"base_not_a_wim", "base: { image: src/DartConfig.dat }", 3, "not a usable WIM",
                  3},
        BadRecipe{"index_beyond_images", "base: { image: src/winpe.wim, index: 4 }", 3,
                  "not an image 4", 3},
        BadRecipe{"unknown_key", "BASE\ncolour: red", 2, "unknown key 'colour'", 4},
        BadRecipe{"missing_tool", "BASE\ntools:\n  - { from: src/nothing.cab, take: [\"*\"] }", 3,
                  "not there", 5},
        BadRecipe{"tool_not_in_archive",
                  "BASE\ntools:\n  - { from: src/sysinternals.zip, take: [\"Nothing/*\"] }", 3,
                  "matches nothing", 5},
        BadRecipe{"missing_driver", "BASE\ndrivers: [ src/drivers/none ]", 3, "not there", 4},
        BadRecipe{"same_target_twice",
                  "BASE\nfiles:\n  - { from: src/DartConfig.dat, to: '\\a\\cfg.dat' }\n"
                  "  - { from: src/defs/mpasbase.vdm, to: '\\A\\CFG.DAT' }",
                  2, "puts one too", 6},
        BadRecipe{"target_over_startup",
                  "BASE\nfiles: [ { from: src/DartConfig.dat, to: "
                  "'\\Windows\\System32\\startnet.cmd' } ]",
                  2, "the build itself", 4},
        BadRecipe{"target_dotdot", "BASE\nfiles: [ { from: src/scripts, to: '\\..\\up' } ]", 2,
                  "leaves its folder", 4},
        BadRecipe{"target_drive_letter",
                  "BASE\nfiles: [ { from: src/scripts, to: 'X:\\Scripts' } ]", 2, "drive letter",
                  4},
        BadRecipe{"zip_member_dotdot", "BASE\ntools:\n  - { from: evil/dotdot.zip, take: [\"*\"] }",
                  3, "leaves its folder", 5},
        BadRecipe{"zip_member_absolute",
                  "BASE\ntools:\n  - { from: evil/absolute.zip, take: [\"*\"] }", 3, "is absolute",
                  5},
        BadRecipe{"zip_member_drive", "BASE\ntools:\n  - { from: evil/drive.zip, take: [\"*\"] }",
                  3, "drive letter", 5},
        BadRecipe{"cab_member_dotdot", "BASE\ntools:\n  - { from: evil/dotdot.cab, take: [\"*\"] }",
                  3, "leaves its folder", 5},
        BadRecipe{"damaged_zip", "BASE\ntools:\n  - { from: evil/damaged.zip, take: [\"*\"] }", 3,
                  "damaged", 5},
        BadRecipe{"truncated_cab", "BASE\ntools:\n  - { from: evil/truncated.cab, take: [\"*\"] }",
                  3, "damaged", 5},
        BadRecipe{"driver_for_arm64", "BASE\ndrivers: [ evil/arm64-driver ]", 3,
                  "is a driver for arm64, not for the base image's x64", 4},
        BadRecipe{"folder_with_a_link", "BASE\nfiles: [ { from: evil/linked, to: '\\L' } ]", 3,
                  "symbolic link", 4},
        BadRecipe{"bad_date", "BASE\nexpires: 2027-02-30", 2, "is not a date", 4},
        BadRecipe{"bad_yaml", "BASE\ntools: [ { from: x", 2, "not valid YAML", 5}),
    [](const auto& test) { return std::string(test.param.name); });

TEST_F(ImageBuildTest, ABaseWithoutABootableImageIsRefusedUnlessAnIndexIsNamed) {
  MakeTestWim(dir_ / "src/noboot.wim", "--variant no-boot-index");
  Sh("printf 'name: N\\nversion: 1\\nbase: { image: src/noboot.wim }\\n' > " +
     Quote(dir_ / "noboot.yaml"));
  auto r = Build(dir_ / "noboot.yaml", dir_ / "noboot-out.wim");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("has no bootable image"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "noboot-out.wim"));
  // Named, it is the start, and the result is bootable.
  Sh("printf 'name: N\\nversion: 1\\nbase: { image: src/noboot.wim, index: 1 }\\n' > " +
     Quote(dir_ / "noboot.yaml"));
  r = Build(dir_ / "noboot.yaml", dir_ / "noboot-out.wim");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(
      Sh("wimlib-imagex info " + Quote(dir_ / "noboot-out.wim")).out.find("Boot Index:     1"),
      std::string::npos);
}

}  // namespace
}  // namespace lifeboat::test
