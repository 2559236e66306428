/**
 * The V8 settings a long-running peer process runs with: `dbs` passes them in its shebang, and
 * whatever starts peer processes (the demo, examples, benchmarks) passes them to node.
 *
 * --max-semi-space-size=1: V8's young generation grows to 2 x 16 MiB semi-spaces under a
 * steady stream of short-lived objects (a backup or restore makes millions), and keeps that
 * size; at 1 MiB the owner's peak RSS in a restore was ~30 MiB lower and its speed the same
 * (docs/benchmarks.md, backup). It can only be set when node starts, not from a library: an app
 * that embeds a Peer gets the same saving by running node with it.
 *
 * --heap-growing-percent=50: after each full collection V8 lets the old generation grow to up to
 * 4x what survived before collecting again. A backup or restore keeps little alive (~15-40 MiB at
 * 100,000 files) but promotes a steady stream of garbage, so the heap filled to ~150 MiB of mostly
 * dead objects. 1.5x keeps it near what is alive: restoring 100,000 small files in one process
 * peaked at 209 MiB RSS instead of 291, with the same CPU time (docs/benchmarks.md, backup);
 * full collections of a small live heap are cheap.
 */
export const PEER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--heap-growing-percent=50'];
