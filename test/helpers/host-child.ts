/**
 * A shard host as its own process, for crash tests: `node host-child.js DIR PORT SEED_HEX`.
 * Prints {"port": N} once listening; exits cleanly on SIGTERM.
 */
import { signingKeyPairFromSeed } from '../../src/crypto/ed25519.js';
import { startHost } from './host-harness.js';

const [dir, port, seed] = process.argv.slice(2);
const host = await startHost({}, dir!, Number(port), signingKeyPairFromSeed(Buffer.from(seed!, 'hex')));
process.stdout.write(`${JSON.stringify({ port: host.address.port })}\n`);
process.on('SIGTERM', () => {
  void host.close().then(() => process.exit(0));
});
