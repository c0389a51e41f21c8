// Lifeboat's boot entry taken out of a BCD store again (`lifeboat-agent remove`). Pure: it
// computes the objects to delete and the objects to save; store.h writes them.
//
// Every link the entry was given goes back to what it was: the boot manager's lists lose the
// loader (a list Lifeboat created and left empty goes away), and a Windows loader whose recovery
// sequence Lifeboat took over gets its own back, from the store as it was before Lifeboat was
// first installed (the agent's journal keeps it). Without that copy, Windows' own WinRE loader is
// found in the store when there is exactly one; otherwise the link is removed and a note says
// how Windows puts it back (reagentc /enable).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bcd/guid.h"
#include "bcd/store.h"

namespace lifeboat::bcd {

struct EntryRemoval {
  std::vector<Guid> remove;  // Lifeboat's own objects present in the store
  std::vector<Object> save;  // objects whose links change, as they must be
  std::vector<std::string> notes;

  [[nodiscard]] bool NothingToDo() const { return remove.empty() && save.empty(); }
};

// `before`: the store before Lifeboat's entry was first added, if known.
[[nodiscard]] EntryRemoval PlanEntryRemoval(const Store& store, const Guid& loader,
                                            const Guid& options, const Store* before);

// Deletes the objects (and their elements) from the store's hive; absent ones are skipped.
[[nodiscard]] Result<void> DeleteObjects(Hive& hive, const std::vector<Guid>& ids);

}  // namespace lifeboat::bcd
