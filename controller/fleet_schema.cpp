// The controller database's schema, as numbered migrations (common/sqlite_file.h applies them).
#include "controller/store_session.h"

namespace lifeboat::controller {

// Each entry migrates from version i to i + 1. Append; never edit a released one.
std::vector<std::string> FleetMigrations(const Dialect& d) {
  const std::string id = d.id_column;
  return {
      "CREATE TABLE images("
      "  version TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
      "  name TEXT NOT NULL, description TEXT NOT NULL, architecture TEXT NOT NULL,"
      "  boot_index INTEGER NOT NULL, file_count INTEGER NOT NULL,"
      "  has_winload_efi INTEGER NOT NULL, has_winload_exe INTEGER NOT NULL,"
      "  has_boot_sdi INTEGER NOT NULL, blob_path TEXT NOT NULL,"
      "  published_at TEXT NOT NULL, retired INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX images_sha ON images(sha256);"
      "CREATE TABLE machines("
      "  id TEXT PRIMARY KEY, hostname TEXT NOT NULL, inventory TEXT NOT NULL,"
      "  installed_version TEXT NOT NULL, state TEXT NOT NULL, current_step TEXT NOT NULL,"
      "  last_seen TEXT NOT NULL, registered_at TEXT NOT NULL);"
      "CREATE TABLE machine_labels("
      "  machine_id TEXT NOT NULL REFERENCES machines(id), key TEXT NOT NULL, value TEXT NOT NULL,"
      "  PRIMARY KEY (machine_id, key));"
      "CREATE TABLE rollouts("
      "  id " +
          id +
          ", image_version TEXT NOT NULL REFERENCES images(version),"
          "  selector_all INTEGER NOT NULL, selector_machines TEXT NOT NULL, waves TEXT NOT NULL,"
          "  wait_seconds INTEGER NOT NULL, max_in_progress INTEGER NOT NULL,"
          "  failure_threshold INTEGER NOT NULL, max_retries INTEGER NOT NULL,"
          "  wave_ends TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL,"
          "  created_at TEXT NOT NULL, rollback_of INTEGER NOT NULL);"
          "CREATE TABLE rollout_labels("
          "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id), key TEXT NOT NULL,"
          "  value TEXT NOT NULL, PRIMARY KEY (rollout_id, key));"
          "CREATE TABLE rollout_members("
          "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),"
          "  machine_id TEXT NOT NULL REFERENCES machines(id), position INTEGER NOT NULL,"
          "  state TEXT NOT NULL, attempts INTEGER NOT NULL, finished_at TEXT NOT NULL,"
          "  previous_version TEXT NOT NULL, last_attempt_id INTEGER NOT NULL,"
          "  PRIMARY KEY (rollout_id, machine_id));"
          "CREATE INDEX rollout_members_machine ON rollout_members(machine_id);"
          "CREATE TABLE attempts("
          "  id " +
          id +
          ", rollout_id INTEGER NOT NULL REFERENCES rollouts(id),"
          "  machine_id TEXT NOT NULL REFERENCES machines(id), image_version TEXT NOT NULL,"
          "  state TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,"
          "  error TEXT NOT NULL, max_sequence INTEGER NOT NULL);"
          "CREATE INDEX attempts_machine ON attempts(machine_id);"
          "CREATE TABLE step_events("
          "  attempt_id INTEGER NOT NULL REFERENCES attempts(id), sequence INTEGER NOT NULL,"
          "  step TEXT NOT NULL, status TEXT NOT NULL, bytes_done INTEGER NOT NULL,"
          "  bytes_total INTEGER NOT NULL, message TEXT NOT NULL, at TEXT NOT NULL,"
          "  PRIMARY KEY (attempt_id, sequence));",
      "ALTER TABLE machines ADD COLUMN boot_recovery INTEGER NOT NULL DEFAULT 0;",
      // Signatures given at publish (ImageSignature; the signature as hex).
      "ALTER TABLE images ADD COLUMN signed_manifest TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE images ADD COLUMN signature TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE images ADD COLUMN signing_key_id TEXT NOT NULL DEFAULT '';",
      "CREATE TABLE operators("
      "  name TEXT PRIMARY KEY, role TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE,"
      "  created_at TEXT NOT NULL);",
      "CREATE TABLE audit("
      "  id " +
          id +
          ", at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,"
          "  outcome TEXT NOT NULL, detail TEXT NOT NULL, peer TEXT NOT NULL);",
      "CREATE TABLE enrollment_tokens("
      "  token_sha256 TEXT PRIMARY KEY, labels TEXT NOT NULL, expires_at INTEGER NOT NULL,"
      "  created_by TEXT NOT NULL, used_by TEXT NOT NULL DEFAULT '',"
      "  used_at TEXT NOT NULL DEFAULT '');"
      "CREATE TABLE revoked_machines("
      "  machine_id TEXT PRIMARY KEY, revoked_by TEXT NOT NULL, revoked_at TEXT NOT NULL);",
      // Offline machines are skipped past a deadline; a resumed halt accepts the failures seen;
      // rollouts of unsigned images are allowed only when asked for.
      "ALTER TABLE rollouts ADD COLUMN machine_deadline INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE rollouts ADD COLUMN allow_unsigned INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE rollouts ADD COLUMN accepted_failures INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE rollout_members ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;",
      // Machines known by their hardware (controller/identity_store.h). MACs and disk serials
      // are space-separated words.
      "CREATE TABLE machine_identities("
      "  machine_id TEXT PRIMARY KEY REFERENCES machines(id), smbios_uuid TEXT NOT NULL,"
      "  macs TEXT NOT NULL, disk_serials TEXT NOT NULL,"
      "  service_requested INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE pending_machines("
      "  id TEXT PRIMARY KEY, smbios_uuid TEXT NOT NULL, macs TEXT NOT NULL,"
      "  disk_serials TEXT NOT NULL, computer_name TEXT NOT NULL, inventory TEXT NOT NULL,"
      "  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, visits INTEGER NOT NULL,"
      "  peer TEXT NOT NULL);",
      // The journal of each machine serviced from a RAM disk (controller/identity_store.h).
      "CREATE TABLE agent_journals("
      "  machine_id TEXT PRIMARY KEY REFERENCES machines(id), journal BLOB NOT NULL,"
      "  saved_at TEXT NOT NULL);",
      // Enrollment tokens with several uses (a site's key), listed by id and revocable.
      "ALTER TABLE enrollment_tokens ADD COLUMN max_uses INTEGER NOT NULL DEFAULT 1;"
      "ALTER TABLE enrollment_tokens ADD COLUMN uses INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE enrollment_tokens ADD COLUMN created_at TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE enrollment_tokens ADD COLUMN revoked_at TEXT NOT NULL DEFAULT '';"
      "UPDATE enrollment_tokens SET uses = 1 WHERE used_by <> '';",
      // Operators' changes to machines' labels, applied again over what an agent reports when it
      // registers (FleetStore::ChangeLabels).
      "CREATE TABLE machine_label_changes("
      "  machine_id TEXT NOT NULL REFERENCES machines(id), key TEXT NOT NULL, value TEXT NOT NULL,"
      "  removed INTEGER NOT NULL, PRIMARY KEY (machine_id, key));",
      // Built images: their expiry and build manifest (docs/image-build.md).
      "ALTER TABLE images ADD COLUMN expires TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE images ADD COLUMN contents_sha256 TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE images ADD COLUMN build_manifest TEXT NOT NULL DEFAULT '';",
      // An operator's request that a machine's next network boot start a recovery image
      // (controller/network_recovery.h): the version, who asked, and its boot's folder token.
      "ALTER TABLE machine_identities ADD COLUMN recovery_version TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE machine_identities ADD COLUMN recovery_requested_by TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE machine_identities ADD COLUMN recovery_token TEXT NOT NULL DEFAULT '';",
      // ... and whether it boots the image's ISO over HTTP.
      "ALTER TABLE machine_identities ADD COLUMN recovery_iso INTEGER NOT NULL DEFAULT 0;",
      // The operator's site-wide network recovery entry (controller/site_entry.h): one row or none.
      "CREATE TABLE site_recovery_entry("
      "  id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL,"
      "  published_by TEXT NOT NULL, published_at TEXT NOT NULL,"
      "  timeout_seconds INTEGER NOT NULL);",
      // Rollouts that carry a job other than an install (common/rollout_job.h): those have no
      // image, so image_version becomes nullable (NULL: no image; it still refers to images).
      // SQLite changes no column constraint in place: the table is rebuilt.
      std::string(kRebuildsTables) +
          "CREATE TABLE rollouts_rebuilt("
          "  id " +
          id +
          ", job TEXT NOT NULL DEFAULT 'install', image_version TEXT REFERENCES images(version),"
          "  winre_free_bytes INTEGER NOT NULL DEFAULT 0,"
          "  winre_size_bytes INTEGER NOT NULL DEFAULT 0,"
          "  reclaim TEXT NOT NULL DEFAULT 'none',"
          "  selector_all INTEGER NOT NULL, selector_machines TEXT NOT NULL, waves TEXT NOT NULL,"
          "  wait_seconds INTEGER NOT NULL, max_in_progress INTEGER NOT NULL,"
          "  failure_threshold INTEGER NOT NULL, max_retries INTEGER NOT NULL,"
          "  wave_ends TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL,"
          "  created_at TEXT NOT NULL, rollback_of INTEGER NOT NULL,"
          "  machine_deadline INTEGER NOT NULL DEFAULT 0,"
          "  allow_unsigned INTEGER NOT NULL DEFAULT 0,"
          "  accepted_failures INTEGER NOT NULL DEFAULT 0);"
          "INSERT INTO rollouts_rebuilt(id, image_version, selector_all, selector_machines, waves,"
          "  wait_seconds, max_in_progress, failure_threshold, max_retries, wave_ends, state,"
          "  message, created_at, rollback_of, machine_deadline, allow_unsigned, accepted_failures)"
          "  SELECT id, image_version, selector_all, selector_machines, waves, wait_seconds,"
          "  max_in_progress, failure_threshold, max_retries, wave_ends, state, message,"
          "  created_at, rollback_of, machine_deadline, allow_unsigned, accepted_failures"
          "  FROM rollouts;"
          "DROP TABLE rollouts;"
          "ALTER TABLE rollouts_rebuilt RENAME TO rollouts;"
          // An attempt says what it did: its image_version is '' for a job without an image.
          "ALTER TABLE attempts ADD COLUMN job TEXT NOT NULL DEFAULT 'install';",
      // Webhook deliveries owed (controller/webhook_store.h).
      "CREATE TABLE webhook_deliveries("
      "  id " +
          id +
          ", event TEXT NOT NULL, rollout_id INTEGER NOT NULL, machine_id TEXT NOT NULL,"
          "  message TEXT NOT NULL, url TEXT NOT NULL, created_at TEXT NOT NULL,"
          "  state TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,"
          "  last_error TEXT NOT NULL, delivered_at TEXT NOT NULL);"
          "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);",
  };
}

}  // namespace lifeboat::controller
