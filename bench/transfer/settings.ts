/**
 * The settings of bench:transfer in one place: where the two processes meet and the goals
 * the report checks, each with its unit.
 */

export const MiB = 2 ** 20;
/** Both processes are on loopback: the benchmark measures our code, not a network. */
export const HOST = '127.0.0.1';
/** The goals: our PUT and GET at least this share of the raw pipe's speed ... */
export const GOAL_RATIO = 0.8;
/** ... and a peak RSS under 150 MB (bytes) in each process. */
export const GOAL_RSS_BYTES = 150e6;
