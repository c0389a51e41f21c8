#include "partition/layout_check.h"

#include <cstdio>

namespace lifeboat::partition {
namespace {

std::string Name(const Partition& p) { return "partition " + std::to_string(p.number); }

std::string Range(const Partition& p) {
  return "sectors " + std::to_string(p.start.value) + "-" +
         (p.size.count == 0 ? std::to_string(p.start.value) + " (empty)"
                            : std::to_string(p.End().value - 1));
}

std::string Hex(uint8_t type) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", type);
  return text;
}

bool IsLogical(const DiskModel& d, const Partition& p) {
  return d.label == LabelKind::kMbr && p.number > 4;
}

}  // namespace

std::vector<LayoutProblem> CheckLayout(const DiskModel& d) {
  std::vector<LayoutProblem> problems;
  auto add = [&](const char* rule, std::string message) {
    problems.push_back({rule, std::move(message)});
  };
  if (!d.unreadable_gpt.empty()) add("unreadable-gpt", d.unreadable_gpt);
  if (d.label == LabelKind::kNone) return problems;

  const Partition* container = nullptr;
  for (const auto& p : d.partitions)
    if (p.container) container = &p;

  for (const auto& p : d.partitions) {
    if (p.size.count == 0) {
      add("zero-length",
          Name(p) + " is a zero-length entry at sector " + std::to_string(p.start.value));
      continue;
    }
    // Written so that a start near 2^64 cannot wrap the sum round.
    if (p.start.value >= d.total.count || p.size.count > d.total.count - p.start.value) {
      add("past-end", Name(p) + " (" + Range(p) + ") runs past the end of the disk (" +
                          std::to_string(d.total.count) + " sectors)");
      continue;
    }
    if (d.label == LabelKind::kGpt &&
        (p.start < d.first_usable || p.End() > d.last_usable + Sectors{1})) {
      add("outside-usable", Name(p) + " (" + Range(p) + ") lies outside the GPT's usable sectors " +
                                std::to_string(d.first_usable.value) + "-" +
                                std::to_string(d.last_usable.value) +
                                ", where the partition entries and headers are");
    }
    if (d.label == LabelKind::kMbr && p.start.value == 0) {
      add("outside-usable", Name(p) + " starts at sector 0, which holds the MBR itself");
    }
    if (IsLogical(d, p)) {
      // A logical partition sits inside the extended one, after its own EBR sector.
      if (!container || p.start <= container->start || p.End() > container->End()) {
        add("logical-outside-extended",
            Name(p) + " (" + Range(p) + ") is a logical partition outside " +
                (container ? "the extended " + Name(*container) + " (" + Range(*container) + ")"
                           : std::string("any extended partition")));
      }
    }
  }

  // A crafted table can make every pair of its entries overlap: name the first pairs only, so
  // that the refusal stays readable and checking it stays linear in what it prints.
  constexpr size_t kOverlapsNamed = 16;
  size_t overlaps = 0;
  for (size_t i = 0; i < d.partitions.size(); ++i) {
    const Partition& a = d.partitions[i];
    for (size_t j = i + 1; j < d.partitions.size(); ++j) {
      const Partition& b = d.partitions[j];
      if (a.size.count == 0 || b.size.count == 0) continue;
      // The extended partition holds its logical partitions by design.
      if ((a.container && IsLogical(d, b)) || (b.container && IsLogical(d, a))) continue;
      const bool disjoint = a.start.value >= b.start.value + b.size.count ||
                            b.start.value >= a.start.value + a.size.count;
      if (!disjoint && ++overlaps <= kOverlapsNamed) {
        add("overlap",
            Name(a) + " (" + Range(a) + ") and " + Name(b) + " (" + Range(b) + ") overlap");
      }
    }
  }
  if (overlaps > kOverlapsNamed)
    add("overlap",
        "and " + std::to_string(overlaps - kOverlapsNamed) + " more pairs of partitions overlap");

  if (d.label == LabelKind::kGpt) {
    for (const auto& e : d.mbr_entries) {
      if (e.type == 0xEE || e.type == 0x00) continue;
      add("hybrid-mbr",
          "sector 0 holds a hybrid MBR: entry " + std::to_string(e.slot) + " (type " + Hex(e.type) +
              ", sectors " + std::to_string(e.start.value) + "-" +
              std::to_string(e.start.value + (e.size.count ? e.size.count - 1 : 0)) +
              ") sits beside the GPT's protective entry and would go stale when partitions "
              "move; make it a plain protective MBR again (gdisk: recovery menu, 'n') and try "
              "again");
    }
  }
  return problems;
}

std::string DescribeLayoutProblems(const DiskModel& d, const std::vector<LayoutProblem>& problems) {
  std::string text = d.path + ": the partition table is unsafe to change: ";
  for (size_t i = 0; i < problems.size(); ++i) text += (i ? "; " : "") + problems[i].message;
  return text;
}

Result<void> RequireSafeLayout(const DiskModel& disk) {
  auto problems = CheckLayout(disk);
  if (problems.empty()) return {};
  return Refuse("unsafe-partition-table",
                "unsafe-partition-table: " + DescribeLayoutProblems(disk, problems));
}

}  // namespace lifeboat::partition
