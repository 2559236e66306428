/**
 * Migration: what retention must remember across restarts.
 * - unrecorded_contracts: contracts known only by host and ID (the head shard's, read from the
 *   root record on a new machine: no catalog segment can record the contracts of the shard it
 *   is written in). Prune cancels them once their shard is gone or kept by recorded contracts
 *   (src/backup/unrecorded-contracts.ts); without this they stay on hosts until they lapse.
 * - retention_pace: when retention that runs itself (`dbs watch --keep-*`) last ran, so a
 *   restarted daemon keeps the pace instead of running at once (src/retention/pacer.ts).
 */
export const RETENTION_STATE_MIGRATION = `
  CREATE TABLE unrecorded_contracts (
    id        BLOB PRIMARY KEY,                 -- contract ID
    host      BLOB NOT NULL,                    -- the host's public key
    shard     BLOB NOT NULL,                    -- the shard it keeps
    added_at  INTEGER NOT NULL                  -- ms
  );
  CREATE TABLE retention_pace (
    one          INTEGER PRIMARY KEY CHECK (one = 1),
    last_run_at  INTEGER,                       -- ms; NULL: never ran
    backups      INTEGER NOT NULL               -- backups since that run
  );
`;
