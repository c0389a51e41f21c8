// `--journal-mirror SOCKET` (apply, disk prepare): the journal's mirror (JournalStore::Mirror)
// when the journal lives in a RAM disk. After each write the agent asks the keeper listening on
// the Unix socket SOCKET — the contact of a service visit (agent/contact/journal_keeper.h), which
// stores the copy with the controller — to keep the copy, and waits for its answer.
//
// The exchange, one per connection: the agent sends "keep <path of the copy>\n"; the keeper
// answers "ok\n" once the copy is safe, or "error <why>\n".
#pragma once

#include <string>

#include "agent/journal_store.h"

namespace lifeboat::agent {

// How long the agent waits for an answer: the keeper retries an unreachable controller for a
// while before it says no.
constexpr int kJournalMirrorTimeoutSeconds = 180;

JournalStore::Mirror JournalMirrorAt(const std::string& socket_path);

}  // namespace lifeboat::agent
