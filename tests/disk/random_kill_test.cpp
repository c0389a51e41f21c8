// Random kill -9 (issue 12): a fixed, pseudo-random list of kill points across `disk prepare` and
// `apply` on GPT and MBR disks: step boundaries, inside NTFS shrink (its launch), inside the
// partition move's copy, inside the image write and between the BCD backup and the new store.
// After each kill, running the same command again must converge to exactly the disk of an
// uninterrupted run, read with tools Lifeboat did not write: the layout (sfdisk --json), the
// SHA-256 of every file on the Windows volume (ntfs-3g), the installed WIM (ntfscat) and the
// decoded BCD store (hivexml).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "tests/support/bcd_oracle.h"
#include "tests/support/test_support.h"

namespace lifeboat::test {
namespace {

struct Scenario {
  std::string label;  // gpt or mbr
  bool apply = false;
};

struct KillPoint {
  std::string scenario;  // "gpt-prepare", "mbr-apply", ...
  std::string point;     // LIFEBOAT_TEST_CRASH_AT
};

void PrintTo(const KillPoint& k, std::ostream* os) { *os << k.scenario << " at " << k.point; }

const std::map<std::string, Scenario> kScenarios = {{"gpt-prepare", {"gpt", false}},
                                                    {"mbr-prepare", {"mbr", false}},
                                                    {"gpt-apply", {"gpt", true}},
                                                    {"mbr-apply", {"mbr", true}}};

// Every point where the agent can be made to kill itself in a scenario. Prepare's steps: 0 backup,
// 1 shrink, 2 resize, 3 move (WinRE's 100 MiB in chunks of at most 4 MiB), 4 retarget (what
// names WinRE), 5 create, 6 format.
std::vector<std::string> Candidates(bool apply) {
  std::vector<std::string> points;
  for (int step = 0; step <= 6; ++step)
    for (const char* when : {"before", "after"})
      points.push_back(std::to_string(step) + ":" + when);
  points.push_back("1:launched");
  for (int chunk = 1; chunk <= 16; ++chunk) points.push_back("3:chunk:" + std::to_string(chunk));
  if (apply) {
    for (const char* step : {"prepare-partition", "write-image", "verify-image", "edit-bcd",
                             "verify-bcd", "remove-old", "record"})
      for (const char* when : {"before", "after"})
        points.push_back(std::string("apply:") + step + ":" + when);
    points.push_back("apply:write-image:chunk:1");
    points.push_back("apply:edit-bcd:backed-up");
  }
  return points;
}

// 11 points per scenario, 44 in all, drawn with a fixed seed: the same list on every run.
std::vector<KillPoint> KillPoints() {
  std::vector<KillPoint> list;
  std::mt19937 random(20261201);
  for (const auto& [name, scenario] : kScenarios) {
    auto points = Candidates(scenario.apply);
    std::shuffle(points.begin(), points.end(), random);
    points.resize(11);
    for (const auto& p : points) list.push_back({name, p});
  }
  return list;
}

// What a run leaves on the disk, read with independent tools.
struct FinalState {
  std::string layout;
  std::string windows_files;
  std::string wim_sha256;
  std::string store;
  bool operator==(const FinalState&) const = default;
};

class RandomKillTest : public ::testing::TestWithParam<KillPoint> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    references_ = new std::map<std::string, FinalState>;
    MakeTestWim(*dir_ / "image.wim", "--size-mb 12");
    // 2 GiB disks with too little free space for a 512 MiB partition: Windows is shrunk and
    // WinRE moved down.
    for (const char* label : {"gpt", "mbr"}) {
      MakeWindowsDisk(*dir_ / (std::string(label) + ".img"),
                      std::string("--label ") + label +
                          " --disk-size 2G --windows-size 1400M --winre-size 100M --fill-mb 8");
    }
    for (const auto& [name, scenario] : kScenarios) {
      const std::string reference = Copy(name, "reference");
      auto r = Run(name, reference, *dir_ / (name + "-reference-state"), "");
      ASSERT_EQ(r.exit_code, 0) << name << ": " << r.out << r.err;
      (*references_)[name] = Read(name, reference);
    }
  }
  static void TearDownTestSuite() {
    delete references_;
    delete dir_;
  }

  static std::string Copy(const std::string& scenario, const std::string& as) {
    const std::string disk = *dir_ / (scenario + "-" + as + ".img");
    EXPECT_EQ(Sh("cp --sparse=always " + Quote(*dir_ / (kScenarios.at(scenario).label + ".img")) +
                 " " + Quote(disk))
                  .exit_code,
              0);
    return disk;
  }
  static CommandResult Run(const std::string& scenario, const std::string& disk,
                           const std::string& state, const std::string& crash_at) {
    std::vector<std::string> args =
        kScenarios.at(scenario).apply
            ? std::vector<std::string>{"apply",     disk, "--image", *dir_ / "image.wim",
                                       "--version", "1"}
            : std::vector<std::string>{"disk", "prepare", disk};
    for (const std::string& a :
         {std::string("--size"), std::string("512M"), std::string("--state-dir"), state})
      args.push_back(a);
    return Agent(args, crash_at.empty() ? "" : "LIFEBOAT_TEST_CRASH_AT=" + Quote(crash_at));
  }
  static FinalState Read(const std::string& scenario, const std::string& disk) {
    const bool gpt = kScenarios.at(scenario).label == "gpt";
    FinalState s;
    const SfTable t = Sfdisk(disk);
    // The partition Lifeboat made: GPT "Lifeboat" by name, MBR the last one (slot 4).
    const SfPartition* lifeboat = nullptr;
    for (const auto& p : t.partitions)
      if (gpt ? p.name == "Lifeboat" : &p == &t.partitions.back()) lifeboat = &p;
    s.layout = t.label + " " + t.id + "\n";
    for (const auto& p : t.partitions) {
      // A new GPT partition gets a random GUID of its own in every run.
      const std::string uuid = gpt && &p == lifeboat ? "<new>" : p.uuid;
      s.layout += std::to_string(p.start) + " " + std::to_string(p.size) + " " + p.type + " " +
                  p.name + " " + p.attrs + " " + uuid + "\n";
    }
    const SfPartition& windows = t.partitions.at(gpt ? 2 : 1);
    s.windows_files = NtfsFileSums(disk, windows.start * 512, windows.size * 512);
    if (!kScenarios.at(scenario).apply || lifeboat == nullptr) return s;
    const std::string wim = disk + ".boot.wim";
    if (NtfsCat(disk, lifeboat->start * 512, lifeboat->size * 512, "/Recovery/Lifeboat/1/boot.wim",
                wim))
      s.wim_sha256 = Sh("sha256sum " + Quote(wim) + " | cut -c1-64").out;
    const std::string store = disk + ".bcd";
    if (CopyStoreOut(disk, store)) s.store = NormalizedStore(store, gpt ? lifeboat->uuid : "");
    Sh("rm -f " + Quote(wim) + " " + Quote(store));
    return s;
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::map<std::string, FinalState>* references_ = nullptr;
};

TEST_P(RandomKillTest, RerunConvergesToTheUninterruptedDisk) {
  const KillPoint& k = GetParam();
  std::string name = k.scenario + "-" + k.point;
  std::replace(name.begin(), name.end(), ':', '_');
  const std::string disk = Copy(k.scenario, name);
  const std::string state = *dir_ / (name + "-state");
  auto killed = Run(k.scenario, disk, state, k.point);
  ASSERT_EQ(killed.exit_code, 128 + 9) << "not killed at " << k.point << ": " << killed.err;
  auto rerun = Run(k.scenario, disk, state, "");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  const FinalState reference = references_->at(k.scenario);
  const FinalState converged = Read(k.scenario, disk);
  EXPECT_EQ(converged.layout, reference.layout);
  EXPECT_EQ(converged.windows_files, reference.windows_files) << "a Windows file changed";
  EXPECT_EQ(converged.wim_sha256, reference.wim_sha256);
  EXPECT_EQ(converged.store, reference.store);
  EXPECT_FALSE(reference.windows_files.empty());
  if (kScenarios.at(k.scenario).apply) {
    EXPECT_EQ(reference.wim_sha256.size(), 65u) << "the reference has its image";
    if (k.scenario == "gpt-apply") {
      EXPECT_NE(reference.store.find("<partition>"), std::string::npos)
          << "the boot entry names Lifeboat's partition";
    }
  }
  Sh("rm -rf " + Quote(disk) + " " + Quote(state));
}

INSTANTIATE_TEST_SUITE_P(FixedSeed, RandomKillTest, ::testing::ValuesIn(KillPoints()),
                         [](const auto& param_info) {
                           std::string n = param_info.param.scenario + "_" + param_info.param.point;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace lifeboat::test
