// The image build's pure parts, one by one: image paths, INF reading, recipe parsing and the build
// plan. The whole build, with real WIMs, CABs and ZIPs, is in tests/compose/image_build_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/utf16.h"
#include "compose/build_plan.h"
#include "compose/image_builder.h"
#include "compose/image_path.h"
#include "compose/inf_file.h"
#include "compose/input_scan.h"
#include "compose/recipe.h"

namespace lifeboat::compose {
namespace {

// --- image paths -------------------------------------------------------------------------------

TEST(ImagePathTest, SpellingsOfOnePathAgree) {
  for (const char* written : {"\\Scripts", "/Scripts", "Scripts", "Scripts\\", "\\\\Scripts//"})
    EXPECT_EQ(ImagePath(written).value_or("refused"), "\\Scripts") << written;
  EXPECT_EQ(ImagePath("/").value_or("refused"), "\\");
  EXPECT_EQ(ImagePath("Program Files/Debugging Tools for Windows (x64)").value_or("refused"),
            "\\Program Files\\Debugging Tools for Windows (x64)");
}

TEST(ImagePathTest, PathsThatLeaveTheRootOrNameStreamsAreRefused) {
  for (const char* written : {"..\\Windows", "\\Scripts\\..\\..\\x", "X:\\Windows", "C:", "a:b",
                              "\\Scripts\\.", "name.", "name ", "a*b", "a?b", "a|b", "a<b", "a\"b",
                              "a\x01"
                              "b"}) {
    auto path = ImagePath(written);
    EXPECT_FALSE(path) << written << " gave " << path.value_or("");
    if (!path) {
      EXPECT_EQ(path.error().code, ErrorCode::kInvalidArgument) << written;
    }
  }
}

// Found by fuzz/compose_fuzz.cpp: a component that starts with ".." is a name, not a climb; bytes
// that are not UTF-8 are refused here rather than by wimlib when the image is written.
TEST(ImagePathTest, NamesMustBeUtf8AndMayStartWithDots) {
  EXPECT_EQ(ImagePath("Program Files/DaRT/..tools/x.exe").value_or("refused"),
            "\\Program Files\\DaRT\\..tools\\x.exe");
  EXPECT_EQ(ImagePath("Tools/caf\xc3\xa9").value_or("refused"), "\\Tools\\caf\xc3\xa9");
  auto bad = ImagePath("Program Files/DART/..\xd8\xff/x.exe");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not valid UTF-8"), std::string::npos);
  EXPECT_FALSE(RelativeComponents("a/\xc0\xaf"));  // an overlong '/'
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x9b\x9f lifeboat"));
  for (const char* bad_text : {"\x80", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf"})
    EXPECT_FALSE(IsValidUtf8(bad_text)) << bad_text;
}

TEST(ImagePathTest, MembersMayNotChooseWhereTheyLand) {
  EXPECT_EQ(RelativeComponents("Autoruns/Autoruns64.exe").value_or(std::vector<std::string>{}),
            (std::vector<std::string>{"Autoruns", "Autoruns64.exe"}));
  EXPECT_EQ(RelativeComponents("DaRT\\Tools\\a.exe").value_or(std::vector<std::string>{}),
            (std::vector<std::string>{"DaRT", "Tools", "a.exe"}));
  for (const char* member :
       {"/etc/passwd", "\\Windows\\x", "../x", "a/../../x", "C:\\x", "a/b:stream", ""})
    EXPECT_FALSE(RelativeComponents(member)) << member;
}

TEST(ImagePathTest, JoinKeyAndParent) {
  EXPECT_EQ(JoinImagePath("\\", {"a", "b"}), "\\a\\b");
  EXPECT_EQ(JoinImagePath("\\Drivers\\net", {"e1d.inf"}), "\\Drivers\\net\\e1d.inf");
  EXPECT_EQ(ImagePathKey("\\Windows\\System32\\StartNet.CMD"), "\\windows\\system32\\startnet.cmd");
  EXPECT_EQ(ParentImagePath("\\A\\B"), "\\A");
  EXPECT_EQ(ParentImagePath("\\A"), "\\");
  EXPECT_EQ(ParentImagePath("\\"), "");
}

// --- INF files ---------------------------------------------------------------------------------

std::string Utf16LeWithBom(const std::string& ascii) {
  std::string bytes = "\xFF\xFE";
  for (char c : ascii) {
    bytes += c;
    bytes += '\0';
  }
  return bytes;
}

constexpr const char* kNetInf =
    "; Intel network driver (a comment; with [Manufacturer] in it)\r\n"
    "[Version]\r\n"
    "Signature = \"$WINDOWS NT$\"\r\n"
    "Class = Net\r\n"
    "\r\n"
    "[Manufacturer]\r\n"
    "%Intel% = Intel, NTamd64.10.0...16299, NTarm64\r\n"
    "\r\n"
    "[Intel.NTamd64.10.0...16299]\r\n"
    "%E1D% = E1D.ndi, PCI\\VEN_8086&DEV_15B8\r\n";

TEST(InfFileTest, ArchitecturesComeFromTheManufacturerDecorations) {
  for (const std::string& bytes :
       {std::string(kNetInf), Utf16LeWithBom(kNetInf), "\xEF\xBB\xBF" + std::string(kNetInf)}) {
    auto inf = ReadInf(bytes);
    ASSERT_TRUE(inf) << inf.error().message;
    EXPECT_EQ(inf->architectures, (std::set<std::string>{"x64", "arm64"}));
    EXPECT_EQ(inf->driver_class, "Net");
  }
}

TEST(InfFileTest, UndecoratedModelsAreX86AndContinuationLinesJoin) {
  auto inf = ReadInf(
      "[version]\nclass=SCSIAdapter\n[manufacturer]\n%Mfg% = Models, \\\n  NTx86\n"
      "%Other% = Old\n");
  ASSERT_TRUE(inf) << inf.error().message;
  EXPECT_EQ(inf->architectures, (std::set<std::string>{"x86"}));
  EXPECT_EQ(inf->driver_class, "SCSIAdapter");
}

TEST(InfFileTest, AnInfWithoutModelsIsNotADriverPackage) {
  for (const char* text : {"[Version]\nClass=Net\n", "[Manufacturer]\n; nothing\n", ""}) {
    auto inf = ReadInf(text);
    ASSERT_FALSE(inf) << text;
    EXPECT_EQ(inf.error().code, ErrorCode::kUnsupported);
  }
  EXPECT_EQ(InfArchitecture("x64"), "amd64");
  EXPECT_EQ(InfArchitecture("arm64"), "arm64");
  EXPECT_EQ(InfArchitecture("x86"), "x86");
}

// --- recipes -----------------------------------------------------------------------------------

constexpr const char* kRecipe = R"(name: Contoso DaRT
version: 10.0.3
description: DaRT tools and drivers
base: { image: src/winpe.wim, index: 2 }
tools:
  - { from: /src/Toolsx64.cab, take: ["*"] }
  - { from: sysinternals.zip, take: ["Autoruns/*"], to: \Tools }
drivers:
  - drivers/net
  - { from: drivers/storage, to: \Drivers\Storage }
files:
  - { from: scripts, to: \Scripts }
debugging_tools: debuggers/x64
definitions: { from: defs, to: \Defs }
symbols: symbols
startup:
  run: X:\Program Files\DaRT\RecoveryTools.exe
  config:
    - { from: DartConfig.dat, to: \Windows\System32\DartConfig.dat }
expires: 2027-06-30
)";

TEST(RecipeTest, EveryKeyIsReadWithItsLine) {
  auto recipe = ParseRecipe(kRecipe, "/r/recipe.yaml", "/r");
  ASSERT_TRUE(recipe) << recipe.error().message;
  EXPECT_EQ(recipe->name, "Contoso DaRT");
  EXPECT_EQ(recipe->version, "10.0.3");
  EXPECT_EQ(recipe->base.index, 2u);
  EXPECT_EQ(recipe->Resolve(recipe->base.image), "/r/src/winpe.wim");
  EXPECT_EQ(recipe->base.image.line, 4);
  ASSERT_EQ(recipe->tools.size(), 2u);
  EXPECT_EQ(recipe->Resolve(recipe->tools[0].from), "/src/Toolsx64.cab");
  EXPECT_EQ(recipe->tools[0].to, "\\");
  EXPECT_EQ(recipe->tools[1].to, "\\Tools");
  EXPECT_EQ(recipe->tools[1].take, (std::vector<std::string>{"Autoruns/*"}));
  EXPECT_EQ(recipe->tools[1].from.line, 7);
  ASSERT_EQ(recipe->drivers.size(), 2u);
  EXPECT_EQ(recipe->drivers[0].to, "");  // the default, \Drivers\net, is the plan's to choose
  EXPECT_EQ(recipe->drivers[1].to, "\\Drivers\\Storage");
  ASSERT_TRUE(recipe->definitions);
  EXPECT_EQ(recipe->definitions->to, "\\Defs");
  EXPECT_EQ(recipe->startup_run, "X:\\Program Files\\DaRT\\RecoveryTools.exe");
  ASSERT_EQ(recipe->startup_config.size(), 1u);
  EXPECT_EQ(recipe->expires, "2027-06-30");
  EXPECT_EQ(recipe->Where(12), "/r/recipe.yaml:12");
}

struct RecipeMistakeCase {
  const char* name;
  std::string text;
  int line;
  const char* says;
};

class RecipeMistakeTest : public testing::TestWithParam<RecipeMistakeCase> {};

TEST_P(RecipeMistakeTest, IsRefusedNamingTheLineAndTheKey) {
  auto recipe = ParseRecipe(GetParam().text, "recipe.yaml", "/r");
  ASSERT_FALSE(recipe);
  EXPECT_EQ(recipe.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(recipe.error().message.find("recipe.yaml:" + std::to_string(GetParam().line) + ":"),
            std::string::npos)
      << recipe.error().message;
  EXPECT_NE(recipe.error().message.find(GetParam().says), std::string::npos)
      << recipe.error().message;
}

const std::string kHead = "name: N\nversion: 1.0\nbase: { image: b.wim }\n";

INSTANTIATE_TEST_SUITE_P(
    Recipes, RecipeMistakeTest,
    testing::Values(
        RecipeMistakeCase{"unknown_key", kHead + "tool:\n  - x\n", 4, "unknown key"},
        RecipeMistakeCase{"repeated_key", kHead + "name: M\n", 4, "name"},
        RecipeMistakeCase{"bad_version", "name: N\nversion: 1.0/../2\nbase: { image: b.wim }\n", 2,
                          "version"},
        RecipeMistakeCase{"bad_date", kHead + "expires: 2027-02-30\n", 4, "expires"},
        RecipeMistakeCase{"both_bases", "name: N\nversion: 1.0\nbase: { image: a, iso: b }\n", 3,
                          "base"},
        RecipeMistakeCase{"take_missing", kHead + "tools:\n  - { from: t.zip }\n", 5, "take"},
        RecipeMistakeCase{"escaping_target", kHead + "files:\n  - { from: a, to: ..\\x }\n", 5,
                          "files"},
        RecipeMistakeCase{"drive_letter", kHead + "symbols: { from: s, to: 'C:\\Symbols' }\n", 4,
                          "symbols"},
        RecipeMistakeCase{"file_without_to", kHead + "files:\n  - { from: a }\n", 5, "to"},
        RecipeMistakeCase{"index_zero", "name: N\nversion: 1.0\nbase: { image: b, index: 0 }\n", 3,
                          "base.index"},
        RecipeMistakeCase{"multi_line_run", kHead + "startup:\n  run: \"a\\nb\"\n", 5,
                          "startup.run"},
        RecipeMistakeCase{"yaml_syntax", kHead + "tools: [\n", 5, ""},
        RecipeMistakeCase{"missing_base", "name: N\nversion: 1.0\n", 1, "base"}),
    [](const testing::TestParamInfo<RecipeMistakeCase>& param) { return param.param.name; });

// --- the build plan ----------------------------------------------------------------------------

InputEntry File(const std::string& path) { return {path, 10, ArchiveMember::Kind::kFile, {}}; }

InputEntry Inf(const std::string& path, std::set<std::string> architectures) {
  InputEntry entry = File(path);
  entry.inf = Result<InfInfo>(InfInfo{std::move(architectures), "Net"});
  return entry;
}

Input MakeInput(InputRole role, InputKind kind, const std::string& written, int line,
                std::vector<InputEntry> entries, std::vector<std::string> take = {},
                std::string to = "") {
  Input input;
  input.role = role;
  input.from = {written, line};
  input.path = "/src/" + written;
  input.kind = kind;
  input.entries = std::move(entries);
  input.take = std::move(take);
  input.to = std::move(to);
  return input;
}

Recipe PlanRecipe() {
  Recipe recipe;
  recipe.file = "recipe.yaml";
  recipe.name = "Contoso DaRT";
  recipe.version = "10.0.3";
  recipe.startup_run = "X:\\Program Files\\DaRT\\RecoveryTools.exe";
  recipe.expires = "2027-06-30";
  return recipe;
}

std::vector<Input> PlanInputs() {
  return {
      MakeInput(InputRole::kTool, InputKind::kArchive, "Toolsx64.cab", 5,
                {File("Program Files/DaRT/RecoveryTools.exe"), File("Program Files/DaRT/x.dll"),
                 File("Readme.txt")},
                {"program files/*"}),
      MakeInput(InputRole::kTool, InputKind::kArchive, "sysinternals.zip", 6,
                {File("Autoruns/Autoruns64.exe"), File("Procmon/Procmon.exe")}, {"Autoruns"}),
      MakeInput(InputRole::kDriver, InputKind::kFolder, "drivers/net", 8,
                {Inf("e1d.inf", {"x64"}), File("e1d.sys")}),
      MakeInput(InputRole::kDebuggingTools, InputKind::kFolder, "debuggers/x64", 10,
                {File("cdb.exe")}),
      MakeInput(InputRole::kSymbols, InputKind::kFolder, "symbols", 11, {File("ntkrnlmp.pdb")}),
      MakeInput(InputRole::kConfig, InputKind::kFile, "DartConfig.dat", 13, {File("")}, {},
                "\\Windows\\System32\\DartConfig.dat"),
  };
}

std::vector<std::string> Targets(const BuildPlan& plan) {
  std::vector<std::string> targets;
  for (const auto& placement : plan.placements) targets.push_back(placement.target);
  return targets;
}

TEST(BuildPlanTest, EveryTakenFileHasItsPlaceAndStartUpLoadsTheDrivers) {
  auto plan = MakeBuildPlan(PlanRecipe(), "x64", PlanInputs());
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(Targets(*plan), (std::vector<std::string>{
                                "\\Autoruns\\Autoruns64.exe",
                                "\\Drivers\\net\\e1d.inf",
                                "\\Drivers\\net\\e1d.sys",
                                "\\Program Files\\DaRT\\RecoveryTools.exe",
                                "\\Program Files\\DaRT\\x.dll",
                                "\\Program Files\\Debugging Tools for Windows (x64)\\cdb.exe",
                                "\\Symbols\\ntkrnlmp.pdb",
                                "\\Windows\\System32\\DartConfig.dat",
                            }));
  ASSERT_EQ(plan->driver_loads.size(), 1u);
  EXPECT_EQ(plan->driver_loads[0].inf, "\\Drivers\\net\\e1d.inf");
  EXPECT_EQ(plan->startnet_cmd,
            "@echo off\r\n"
            "rem Start-up of Contoso DaRT 10.0.3, written by lifeboatctl image build "
            "(docs/image-build.md).\r\n"
            "wpeinit\r\n"
            "set PATH=%PATH%;X:\\Program Files\\Debugging Tools for Windows (x64)\r\n"
            "set _NT_SYMBOL_PATH=X:\\Symbols\r\n"
            "echo Contoso DaRT 10.0.3 (x64)\r\n"
            "echo This recovery image expires on 2027-06-30. Do not use it after that date.\r\n"
            "drvload \"X:\\Drivers\\net\\e1d.inf\"\r\n"
            "X:\\Program Files\\DaRT\\RecoveryTools.exe\r\n");
  EXPECT_NE(plan->winpeshl_ini.find("startnet.cmd"), std::string::npos);
}

TEST(BuildPlanTest, FoldersKeepTheSpellingTheyWereFirstGiven) {
  auto inputs = PlanInputs();
  inputs.push_back(MakeInput(InputRole::kFile, InputKind::kFolder, "more", 14,
                             {File("DART/extra.exe")}, {}, "\\PROGRAM FILES"));
  auto plan = MakeBuildPlan(PlanRecipe(), "x64", inputs);
  ASSERT_TRUE(plan) << plan.error().message;
  const auto targets = Targets(*plan);
  EXPECT_NE(std::find(targets.begin(), targets.end(), "\\Program Files\\DaRT\\extra.exe"),
            targets.end());
}

struct PlanRefusal {
  const char* name;
  Input extra;
  ErrorCode code;
  const char* says;
};

class PlanRefusalTest : public testing::TestWithParam<PlanRefusal> {};

TEST_P(PlanRefusalTest, IsRefusedNamingTheInput) {
  auto inputs = PlanInputs();
  inputs.push_back(GetParam().extra);
  auto plan = MakeBuildPlan(PlanRecipe(), "x64", inputs);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, GetParam().code) << plan.error().message;
  EXPECT_NE(plan.error().message.find("recipe.yaml:20:"), std::string::npos)
      << plan.error().message;
  EXPECT_NE(plan.error().message.find(GetParam().says), std::string::npos) << plan.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Plans, PlanRefusalTest,
    testing::Values(PlanRefusal{"same_file_other_case",
                                MakeInput(InputRole::kFile, InputKind::kFolder, "dup", 20,
                                          {File("autoruns/AUTORUNS64.EXE")}, {}, "\\"),
                                ErrorCode::kInvalidArgument, "where"},
                    PlanRefusal{"file_over_a_folder",
                                MakeInput(InputRole::kConfig, InputKind::kFile, "f", 20, {File("")},
                                          {}, "\\Drivers\\NET"),
                                ErrorCode::kInvalidArgument, "a folder for other inputs"},
                    PlanRefusal{"folder_under_a_file",
                                MakeInput(InputRole::kFile, InputKind::kFolder, "f", 20,
                                          {File("x")}, {}, "\\Windows\\System32\\DartConfig.dat"),
                                ErrorCode::kInvalidArgument, "to be a folder"},
                    PlanRefusal{"the_builds_own_file",
                                MakeInput(InputRole::kConfig, InputKind::kFile, "s.cmd", 20,
                                          {File("")}, {}, "\\windows\\system32\\STARTNET.cmd"),
                                ErrorCode::kInvalidArgument, "the build itself"},
                    PlanRefusal{"member_escapes",
                                MakeInput(InputRole::kTool, InputKind::kArchive, "evil.zip", 20,
                                          {File("../../Windows/System32/x.dll")}),
                                ErrorCode::kUnsupported, "member"},
                    PlanRefusal{"take_matches_nothing",
                                MakeInput(InputRole::kTool, InputKind::kArchive, "t.zip", 20,
                                          {File("a.exe")}, {"b*"}),
                                ErrorCode::kNotFound, "matches nothing"},
                    PlanRefusal{"driver_for_another_architecture",
                                MakeInput(InputRole::kDriver, InputKind::kFolder, "drivers/arm", 20,
                                          {Inf("a.inf", {"arm64"})}),
                                ErrorCode::kUnsupported, "NTamd64"},
                    PlanRefusal{"driver_without_inf",
                                MakeInput(InputRole::kDriver, InputKind::kFolder, "drivers/empty",
                                          20, {File("a.sys")}),
                                ErrorCode::kNotFound, "no .inf"},
                    PlanRefusal{"link_in_an_archive",
                                MakeInput(InputRole::kTool, InputKind::kArchive, "l.zip", 20,
                                          {{"link", 0, ArchiveMember::Kind::kOther, {}}}),
                                ErrorCode::kUnsupported, "link or special file"},
                    PlanRefusal{
                        "file_without_a_target",
                        MakeInput(InputRole::kFile, InputKind::kFile, "a.txt", 20, {File("")}),
                        ErrorCode::kInvalidArgument, "needs `to`"}),
    [](const testing::TestParamInfo<PlanRefusal>& param) { return param.param.name; });

// A 4 GiB image is not built in a test (it would take minutes and 8 GiB of disk); the rule is.
TEST(ResultWarningsTest, AnImageTooLargeForFat32IsSaidToBe) {
  EXPECT_TRUE(ResultWarnings("a.wim", kFat32FileLimit).empty());
  const auto warnings = ResultWarnings("a.wim", kFat32FileLimit + 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("a.wim is larger than 4 GiB"), std::string::npos);
  EXPECT_NE(warnings[0].find("FAT32"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::compose
