/**
 * Migration: hosts that failed an audit (lost or altered data), kept for good, so that an
 * owner that restarts still never places a shard on them again (src/contracts/host-failures.ts).
 */
export const HOST_FAILURES_MIGRATION = `
  CREATE TABLE host_failures (
    key             BLOB PRIMARY KEY,           -- the host's public key
    failed_audits   INTEGER NOT NULL,           -- audits it failed (lost or altered data)
    first_failed_at INTEGER NOT NULL,           -- ms
    last_failed_at  INTEGER NOT NULL            -- ms
  );
`;
