/**
 * The host side of bench/transfer.ts, as its own process:
 *
 *   node dist/bench/host-process.js DIR SEED_HEX SHARD_FILE RAW_FILE
 *
 * Runs a shard host without the UDP side (SQLite contract store in DIR/peer.db, shard store
 * in DIR/shards, TransferServer on 127.0.0.1), plus plain TCP servers that are the
 * references the benchmark compares against:
 *
 * - discard:    reads everything, answers "ok" once the sender half-closes;
 * - sha256:     the same, with one SHA-256 pass over the bytes; answers the hex digest;
 * - file:       writes everything to RAW_FILE, fsyncs it, answers "ok";
 * - sha256File: one SHA-256 pass, written to RAW_FILE and fsynced; answers the hex digest;
 * - verifyFile: the host's hashing for a PUT without the protocol, on the main thread: the
 *               Merkle leaf hashes (ShardHasher), written to RAW_FILE and fsynced; answers
 *               shard ID + root;
 * - get:        streams SHARD_FILE (the stored shard) to whoever connects, then closes.
 *
 * Prints one JSON line {port, raw: {name: port}} once listening. Commands on stdin, one a
 * line: `gc` (collect garbage, answers {"gc": true}) and `stop`; `stop`, SIGTERM and the end
 * of stdin (the benchmark died) all print {"maxRSS": KiB} and exit.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ContractStore } from '../src/contracts/store.js';
import { signingKeyPairFromSeed } from '../src/crypto/ed25519.js';
import { openDatabase } from '../src/storage/database.js';
import { ShardHasher } from '../src/storage/merkle.js';
import { ShardStore } from '../src/storage/shard-store.js';
import { TransferServer } from '../src/transfer/server.js';

const MiB = 2 ** 20;
const HOST = '127.0.0.1';

const [dir, seedHex, shardFile, rawFile] = process.argv.slice(2);
if (!dir || !seedHex || !shardFile || !rawFile) throw new Error('usage: host-process.js DIR SEED_HEX SHARD_FILE RAW_FILE');

// Not bench/common.ts: it loads the whole library, which would inflate this process's RSS.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// --- the real host -----------------------------------------------------------------------------

// The key is not used by the transfer path; it is derived only so the process is a host like any other.
signingKeyPairFromSeed(Buffer.from(seedHex, 'hex'));
const db = openDatabase(path.join(dir, 'peer.db'));
const contracts = new ContractStore(db);
const shards = await ShardStore.open(path.join(dir, 'shards'));
const server = await TransferServer.listen(HOST, 0, shards, {
  get: (id) => contracts.get(id),
  stored: (c) => contracts.transition(c.contract.id, ['pending'], 'active', Date.now()),
});

// --- the raw references --------------------------------------------------------------------------

/** Reads a whole upload; resolves, once the sender has half-closed, with what to answer. */
type RawUpload = (socket: Socket) => Promise<string>;

const discard: RawUpload = async (socket) => {
  socket.resume();
  await finished(socket, { writable: false });
  return 'ok';
};

const sha256: RawUpload = async (socket) => {
  const hash = createHash('sha256');
  socket.on('data', (chunk: Buffer) => hash.update(chunk));
  await finished(socket, { writable: false });
  return hash.digest('hex');
};

/** Same file options as ShardStore.receive, so the disk sees the same writes. */
async function toFile(socket: Socket): Promise<void> {
  const out = createWriteStream(rawFile!, { flags: 'w', mode: 0o600, highWaterMark: MiB });
  socket.pipe(out);
  await finished(out);
  const handle = await fs.open(rawFile!, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const file: RawUpload = async (socket) => {
  await toFile(socket);
  return 'ok';
};

const sha256File: RawUpload = async (socket) => {
  const hash = createHash('sha256');
  socket.on('data', (chunk: Buffer) => hash.update(chunk));
  await toFile(socket);
  return hash.digest('hex');
};

const verifyFile: RawUpload = async (socket) => {
  const hasher = new ShardHasher();
  socket.on('data', (chunk: Buffer) => hasher.update(chunk));
  await toFile(socket);
  const d = hasher.digest();
  return Buffer.concat([d.hash, d.root]).toString('hex');
};

function serveUpload(handler: RawUpload): net.Server {
  return net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => {});
    handler(socket).then(
      (answer) => socket.end(answer),
      () => socket.destroy(),
    );
  });
}

/** Streams the stored shard with the owner's read size (1 MiB), like a plain file server would. */
function serveDownload(): net.Server {
  return net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => {});
    createReadStream(shardFile!, { highWaterMark: MiB })
      .on('error', () => socket.destroy())
      .pipe(socket);
  });
}

async function listen(s: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen({ host: HOST, port: 0 }, resolve);
  });
  return (s.address() as net.AddressInfo).port;
}

const raw = {
  discard: serveUpload(discard),
  sha256: serveUpload(sha256),
  file: serveUpload(file),
  sha256File: serveUpload(sha256File),
  verifyFile: serveUpload(verifyFile),
  get: serveDownload(),
};
const rawPorts: Record<string, number> = {};
for (const [name, s] of Object.entries(raw)) rawPorts[name] = await listen(s);

// --- talking to the benchmark ----------------------------------------------------------------------

function say(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  // Peak RSS since the benchmark last reset it (see resetPeak in transfer.ts), in KiB.
  say({ maxRSS: process.resourceUsage().maxRSS });
  void server.close().finally(() => {
    db.close();
    process.exit(0);
  });
  for (const s of Object.values(raw)) s.close();
}

process.on('SIGTERM', stop);
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line === 'gc') {
      gc();
      say({ gc: true });
    } else if (line === 'stop') stop();
  })
  .on('close', stop);

say({ port: server.port, raw: rawPorts });
