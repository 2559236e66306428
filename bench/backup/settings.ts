/**
 * The settings of bench:backup in one place: the network's shape, what each peer offers, and the
 * issue's goals the report checks, each with its unit and why it has that value.
 */
import { PEER_NODE_FLAGS } from '../../src/cli/node-flags.js';

export const KiB = 1024;
export const MiB = 2 ** 20;
export const GiB = 2 ** 30;
/** Host processes beside the owner: replicas 3 plus one, so a placement always has a spare candidate. */
export const HOSTS = 4;
/** What every peer offers to keep for others, bytes: more than any run stores on one host. */
export const STORAGE = 8 * GiB;
/**
 * Reciprocity credit the hosts give one network prefix before it must keep data for them, bytes. All five
 * processes share 127.0.0.0/24, and the default (256 MiB) would refuse the owner after 256 MiB.
 */
export const ALLOWANCE = 1024 * GiB;
/** The goals: our backup time at most 1.5x restic's, our restore no slower than restic's ... */
export const GOAL_BACKUP_RATIO = 1.5;
export const GOAL_RESTORE_RATIO = 1.0;
/** ... and the owner's peak RSS under 200 MB (bytes) with one 4 GiB file. */
export const GOAL_OWNER_RSS = 200e6;
/** The data set and the big file when no flag says otherwise, MiB: the sizes the issue names. */
export const DEFAULT_SIZE_MIB = 1024;
export const DEFAULT_BIG_FILE_MIB = 4096;
/** Peer processes run with the node flags `dbs` runs with (src/cli/node-flags.ts), unless DBS_BENCH_NODE_DEFAULTS is set. */
export const PEER_FLAGS: readonly string[] = process.env.DBS_BENCH_NODE_DEFAULTS ? [] : [...PEER_NODE_FLAGS];
