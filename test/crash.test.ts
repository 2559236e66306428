import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { generateSigningKeyPair, signingKeyPairFromSeed } from '../src/crypto/ed25519.js';
import { ContractStore } from '../src/contracts/store.js';
import { openDatabase } from '../src/storage/database.js';
import { TransferClient } from '../src/transfer/client.js';
import { describeShard, signedContract } from './helpers/host-harness.js';
import { until } from './helpers/network.js';
import { MiB, tempDir } from './helpers/peers.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'host-child.js');

async function spawnHost(dir: string, port: number, seed: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [CHILD, dir, String(port), seed], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`host process exited early (${code})`)));
  });
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

function contractState(dir: string, id: Uint8Array): string | undefined {
  const db = openDatabase(path.join(dir, 'peer.db'));
  try {
    return new ContractStore(db).get(id)?.state;
  } finally {
    db.close();
  }
}

describe('a host killed with SIGKILL during an upload', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.kill('SIGKILL')));

  it('restarts with a consistent store: no partial shard, the contract still pending, and the upload can be redone', async () => {
    const dir = tempDir('dbs-crash-');
    const seed = randomBytes(32).toString('hex');
    const hostKeys = signingKeyPairFromSeed(Buffer.from(seed, 'hex'));
    const owner = generateSigningKeyPair();
    const data = randomBytes(32 * MiB);
    const d = describeShard(data);
    const contract = signedContract(hostKeys, owner, d);
    const db = openDatabase(path.join(dir, 'peer.db'));
    new ContractStore(db).insert({ contract, role: 'host', counterpartAddress: null, state: 'pending', reservedUntil: Date.now() + 600_000, now: Date.now() });
    db.close();

    const first = await spawnHost(dir, 0, seed);
    children.push(first.child);
    const address = { host: '127.0.0.1', port: first.port };
    const tmp = path.join(dir, 'shards', 'tmp');
    const partialSize = () => readdirSync(tmp).reduce((s, f) => s + statSync(path.join(tmp, f)).size, 0);

    // Stream the shard, and kill the host once a few MiB of it are on its disk.
    async function* source() {
      for (let off = 0; off < data.length; off += MiB) {
        if (off === 12 * MiB) {
          await until(() => partialSize() >= 4 * MiB, 'partial upload on disk');
          first.child.kill('SIGKILL');
          await new Promise((r) => first.child.once('exit', r));
        }
        yield data.subarray(off, off + MiB);
      }
    }
    const client = new TransferClient(owner);
    const err = await client.put(address, contract, Readable.from(source())).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    expect(readdirSync(tmp)).to.have.length(1);
    const shardFile = path.join(dir, 'shards', ...[0, 2].map((i) => Buffer.from(d.hash).toString('hex').slice(i, i + 2)), Buffer.from(d.hash).toString('hex'));
    expect(existsSync(shardFile)).to.equal(false);

    const second = await spawnHost(dir, first.port, seed);
    children.push(second.child);
    expect(readdirSync(tmp)).to.deep.equal([]);
    expect(existsSync(shardFile)).to.equal(false);
    expect(contractState(dir, contract.id)).to.equal('pending');

    await client.put(address, contract, Readable.from([data]));
    expect(contractState(dir, contract.id)).to.equal('active');
    expect(statSync(shardFile).size).to.equal(data.length);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});
