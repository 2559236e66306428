/** How a peer child process (peer-child.ts, fuzz-target.ts) ends: the peer stops once, then the process exits 0. */
export function stopOnce(peer: { stop(): Promise<void> }): () => Promise<void> {
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await peer.stop().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  return stop;
}
