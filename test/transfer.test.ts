import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { generateSigningKeyPair } from '../src/crypto/ed25519.js';
import { TransferClient } from '../src/transfer/client.js';
import { frame, Op, readFrame, signRequest, TransferError } from '../src/transfer/frames.js';
import { LEAF_SIZE } from '../src/storage/merkle.js';
import { contractFor, type Harness, randomFile, startHost, stateOf } from './helpers/host-harness.js';
import { MiB, tempDir } from './helpers/peers.js';
import { until } from './helpers/network.js';

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function codeOf(err: unknown): string {
  return err instanceof TransferError ? err.code : String(err);
}

/** Opens a raw connection and reads the host's hello; returns the socket and nonce. */
async function rawSession(host: Harness): Promise<{ socket: net.Socket; nonce: Uint8Array }> {
  const socket = net.connect(host.address.port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const hello = await readFrame(socket, 1024);
  return { socket, nonce: hello.bytes('nonce', 32) };
}

describe('shard transfer over real TCP', function () {
  this.timeout(60_000);
  const owner = generateSigningKeyPair();
  const client = new TransferClient(owner);
  const work = tempDir('dbs-data-');
  let host: Harness;

  beforeEach(async () => {
    host = await startHost({ idleTimeoutMs: 500 });
  });
  afterEach(() => host.close());

  for (const size of [0, 1, LEAF_SIZE, 24 * MiB + 3]) {
    it(`round-trips a ${size}-byte shard: PUT, verified and durable, then GET`, async () => {
      const { file, data } = randomFile(work, size);
      const contract = contractFor(host, owner, data);
      await client.put(host.address, contract, (await import('node:fs')).createReadStream(file));
      expect(stateOf(host, contract)).to.equal('active');
      expect(readFileSync(host.shards.shardPath(contract.terms.shardHash)).equals(data)).to.equal(true);
      const back = await collect(await client.get(host.address, contract));
      expect(back.equals(data)).to.equal(true);
      // The host counts a GET once its side of the pipe has finished, which may be a moment later.
      await until(() => host.server.counters.gets === 1, 'GET counted');
      expect(host.server.counters.puts).to.equal(1);
    });
  }

  it('uploads straight from a file path (two reused buffers) and refuses a file that is not the shard', async () => {
    const { file, data } = randomFile(work, 3 * MiB + 5);
    const contract = contractFor(host, owner, data);
    // A file with one byte changed in its second megabyte: sent whole, refused by the host.
    const altered = path.join(work, 'altered.bin');
    const copy = Buffer.from(data);
    copy[MiB + 7]! ^= 1;
    writeFileSync(altered, copy);
    expect(codeOf(await client.put(host.address, contract, altered).catch((e: unknown) => e))).to.equal('HASH_MISMATCH');
    expect(stateOf(host, contract)).to.equal('pending');
    await client.put(host.address, contract, file);
    expect(stateOf(host, contract)).to.equal('active');
    expect(readFileSync(host.shards.shardPath(contract.terms.shardHash)).equals(data)).to.equal(true);
    expect(host.server.counters.bytesIn).to.equal(2 * data.length);
  });

  it('downloads into a new file, verified, and removes a copy that does not verify', async () => {
    const { file, data } = randomFile(work, 2 * MiB + 333);
    const contract = contractFor(host, owner, data);
    await client.put(host.address, contract, file);
    const good = path.join(work, `good-${Date.now()}.part`);
    await client.getFile(host.address, contract, good);
    expect(readFileSync(good).equals(data)).to.equal(true);
    // An existing file is never overwritten (and not removed either).
    expect(await client.getFile(host.address, contract, good).catch((e: unknown) => e)).to.be.instanceOf(Error);
    expect(readFileSync(good).equals(data)).to.equal(true);
    // The host's copy rots: the download fails verification and leaves no file behind.
    const stored = host.shards.shardPath(contract.terms.shardHash);
    const fd = openSync(stored, 'r+');
    writeSync(fd, Buffer.from([data[MiB + 1]! ^ 0xff]), 0, 1, MiB + 1);
    closeSync(fd);
    const bad = path.join(work, `bad-${Date.now()}.part`);
    expect(codeOf(await client.getFile(host.address, contract, bad).catch((e: unknown) => e))).to.equal('VERIFY');
    expect(existsSync(bad)).to.equal(false);
  });

  it('refuses bytes whose hash differs from the contract, and keeps nothing', async () => {
    const { data } = randomFile(work, 3 * LEAF_SIZE);
    const contract = contractFor(host, owner, data);
    const other = Buffer.from(data);
    other[100]! ^= 1;
    const err = await client.put(host.address, contract, Readable.from([other])).catch((e: unknown) => e);
    expect(codeOf(err)).to.equal('HASH_MISMATCH');
    expect(stateOf(host, contract)).to.equal('pending');
    expect(await host.shards.has(contract.terms.shardHash)).to.equal(false);
    expect(readdirSync(path.join(host.dir, 'shards', 'tmp'))).to.deep.equal([]);
  });

  it('refuses a multi-megabyte upload with one flipped byte in its last write, and keeps nothing', async () => {
    // Spans several 1 MiB writes on the host; the flipped byte is in the final partial one.
    const { data } = randomFile(work, 5 * MiB + 1234);
    const contract = contractFor(host, owner, data);
    const other = Buffer.from(data);
    other[other.length - 10]! ^= 1;
    const err = await client.put(host.address, contract, Readable.from([other.subarray(0, 3 * MiB + 5), other.subarray(3 * MiB + 5)])).catch((e: unknown) => e);
    expect(codeOf(err)).to.equal('HASH_MISMATCH');
    expect(stateOf(host, contract)).to.equal('pending');
    expect(await host.shards.has(contract.terms.shardHash)).to.equal(false);
    expect(readdirSync(path.join(host.dir, 'shards', 'tmp'))).to.deep.equal([]);
  });

  it('refuses a stream longer than the contract after several full writes', async () => {
    const { data } = randomFile(work, 3 * MiB);
    const contract = contractFor(host, owner, data);
    const err = await client.put(host.address, contract, Readable.from([data, randomFile(work, 2 * MiB).data])).catch((e: unknown) => e);
    expect(codeOf(err)).to.equal('SIZE_MISMATCH');
    expect(stateOf(host, contract)).to.equal('pending');
    expect(readdirSync(path.join(host.dir, 'shards', 'tmp'))).to.deep.equal([]);
  });

  it('refuses a short stream and a long one', async () => {
    const { data } = randomFile(work, 2 * LEAF_SIZE);
    const contract = contractFor(host, owner, data);
    expect(codeOf(await client.put(host.address, contract, Readable.from([data.subarray(0, 1000)])).catch((e: unknown) => e))).to.equal('SIZE_MISMATCH');
    expect(codeOf(await client.put(host.address, contract, Readable.from([data, Buffer.from('x')])).catch((e: unknown) => e))).to.equal('SIZE_MISMATCH');
    expect(stateOf(host, contract)).to.equal('pending');
    expect(host.server.counters.refused.SIZE_MISMATCH).to.equal(2);
  });

  it('keeps nothing and acknowledges nothing when the connection is cut mid-upload', async () => {
    const { data } = randomFile(work, 8 * MiB);
    const contract = contractFor(host, owner, data);
    const { socket, nonce } = await rawSession(host);
    const sig = signRequest(owner, Op.PUT, contract.id, nonce);
    socket.write(frame({ op: Op.PUT, cid: contract.id, hash: contract.terms.shardHash, size: contract.terms.shardSize, sig, hsig: contract.hostSignature }));
    socket.write(data.subarray(0, 3 * MiB));
    await until(() => readdirSync(path.join(host.dir, 'shards', 'tmp')).length === 1, 'partial file');
    socket.destroy();
    // A close mid-upload reads as a short upload (FIN) or a lost connection (RST): either way refused.
    const refused = () => (host.server.counters.refused.CONNECTION_LOST ?? 0) + (host.server.counters.refused.SIZE_MISMATCH ?? 0);
    await until(() => refused() === 1, 'cut counted');
    await until(() => readdirSync(path.join(host.dir, 'shards', 'tmp')).length === 0, 'partial removed');
    expect(stateOf(host, contract)).to.equal('pending');
    expect(await host.shards.has(contract.terms.shardHash)).to.equal(false);
  });

  it("lets only the contract's owner GET; a stranger is refused", async () => {
    const { file, data } = randomFile(work, LEAF_SIZE + 5);
    const contract = contractFor(host, owner, data);
    await client.put(host.address, contract, (await import('node:fs')).createReadStream(file));
    const stranger = new TransferClient(generateSigningKeyPair());
    expect(codeOf(await stranger.get(host.address, contract).catch((e: unknown) => e))).to.equal('NOT_OWNER');
    expect(codeOf(await stranger.put(host.address, contract, Readable.from([data])).catch((e: unknown) => e))).to.equal('NOT_OWNER');
    // The owner itself, without the host's countersignature (a PROPOSE from a forged address), may not upload.
    const { hostSignature: _h, ...unsigned } = contractFor(host, owner, Buffer.from('another shard'));
    expect(codeOf(await client.put(host.address, unsigned, Readable.from([Buffer.from('another shard')])).catch((e: unknown) => e))).to.equal('NOT_OWNER');
    // A signature is bound to the host's nonce: replaying one on a new connection fails.
    const first = await rawSession(host);
    const sig = signRequest(owner, Op.GET, contract.id, first.nonce);
    first.socket.destroy();
    const second = await rawSession(host);
    second.socket.write(frame({ op: Op.GET, cid: contract.id, hash: contract.terms.shardHash, size: contract.terms.shardSize, sig }));
    const reply = await readFrame(second.socket, 1024);
    second.socket.destroy();
    expect(reply.string('code', 40)).to.equal('NOT_OWNER');
  });

  it('refuses an oversized header, a malformed one, and an unknown contract', async () => {
    const big = await rawSession(host);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(10 * MiB);
    big.socket.write(len);
    expect((await readFrame(big.socket, 1024)).string('code', 40)).to.equal('HEADER_TOO_LARGE');
    big.socket.destroy();

    const bad = await rawSession(host);
    bad.socket.write(frame({ op: 'PUT' }));
    expect((await readFrame(bad.socket, 1024)).string('code', 40)).to.equal('BAD_HEADER');
    bad.socket.destroy();

    const { data } = randomFile(work, 10);
    const contract = contractFor(host, owner, data);
    host.contracts.transition(contract.id, ['pending'], 'cancelled', Date.now());
    expect(codeOf(await client.put(host.address, contract, Readable.from([data])).catch((e: unknown) => e))).to.equal('WRONG_STATE');
    const unknown = { ...contract, id: new Uint8Array(32) };
    expect(codeOf(await client.get(host.address, unknown).catch((e: unknown) => e))).to.equal('UNKNOWN_CONTRACT');
  });

  it('drops a silent client after the idle timeout', async () => {
    const silent = await rawSession(host);
    const reply = await readFrame(silent.socket, 1024).catch((e: unknown) => e);
    silent.socket.destroy();
    expect(reply instanceof TransferError ? reply.code : (reply as { string: (k: string, n: number) => string }).string('code', 40)).to.be.oneOf(['IDLE_TIMEOUT', 'CONNECTION_LOST']);
    await until(() => host.server.counters.refused.IDLE_TIMEOUT === 1, 'idle timeout counted');
  });

  it('frees the connection slot as soon as a download ends', async () => {
    await host.close();
    host = await startHost({ maxConnectionsPerSource: 2, idleTimeoutMs: 30_000 });
    const { data } = randomFile(work, 3 * LEAF_SIZE);
    const contract = contractFor(host, owner, data);
    await client.put(host.address, contract, Readable.from([data]));
    // Five downloads in a row through two slots: each must give its slot back when done.
    for (let i = 0; i < 5; i++) expect((await collect(await client.get(host.address, contract))).equals(data)).to.equal(true);
    expect(host.server.counters.refused.BUSY ?? 0).to.equal(0);
  });

  it('caps connections per source', async () => {
    await host.close();
    host = await startHost({ maxConnectionsPerSource: 2, idleTimeoutMs: 2000 });
    const a = await rawSession(host);
    const b = await rawSession(host);
    const c = net.connect(host.address.port, '127.0.0.1');
    c.on('error', () => {});
    const reply = await readFrame(c, 1024);
    expect(reply.string('code', 40)).to.equal('BUSY');
    for (const s of [a.socket, b.socket, c]) s.destroy();
  });

  it('cuts off a sender that trickles below the minimum rate', async () => {
    await host.close();
    host = await startHost({ minBytesPerSecond: 1024 * 1024, rateWindowMs: 200, idleTimeoutMs: 5000 });
    const { data } = randomFile(work, 4 * MiB);
    const contract = contractFor(host, owner, data);
    const { socket, nonce } = await rawSession(host);
    socket.write(frame({ op: Op.PUT, cid: contract.id, hash: contract.terms.shardHash, size: contract.terms.shardSize, sig: signRequest(owner, Op.PUT, contract.id, nonce), hsig: contract.hostSignature }));
    let off = 0;
    const drip = setInterval(() => socket.write(data.subarray(off, (off += 1000))), 20);
    await until(() => host.server.counters.refused.SLOW_SENDER === 1, 'slow sender cut');
    clearInterval(drip);
    socket.destroy();
    expect(stateOf(host, contract)).to.equal('pending');
  });

  describe('audits', () => {
    it('pass on an intact shard and fail after a flipped byte, truncation or deletion', async () => {
      const { file, data } = randomFile(work, 40 * LEAF_SIZE + 123);
      const contract = contractFor(host, owner, data);
      await client.put(host.address, contract, (await import('node:fs')).createReadStream(file));
      const stored = host.shards.shardPath(contract.terms.shardHash);
      expect((await client.audit(host.address, contract, 8)).passed).to.equal(true);
      // Every leaf, so the damaged one is certainly asked for.
      expect((await client.audit(host.address, contract, 1000)).passed).to.equal(true);

      const fd = openSync(stored, 'r+');
      const one = Buffer.alloc(1);
      readSync(fd, one, 0, 1, 17 * LEAF_SIZE + 5);
      writeSync(fd, Buffer.from([one[0]! ^ 0xff]), 0, 1, 17 * LEAF_SIZE + 5);
      closeSync(fd);
      const flipped = await client.audit(host.address, contract, 1000);
      expect(flipped.passed).to.equal(false);
      expect(flipped.reason).to.match(/leaf 17/);

      writeFileSync(stored, data);
      expect((await client.audit(host.address, contract, 1000)).passed).to.equal(true);
      truncateSync(stored, 10 * LEAF_SIZE);
      expect((await client.audit(host.address, contract, 1000)).passed).to.equal(false);

      unlinkSync(stored);
      const gone = await client.audit(host.address, contract, 8);
      expect(gone.passed).to.equal(false);
      expect(gone.reason).to.equal('NOT_STORED');
      expect(existsSync(stored)).to.equal(false);
      expect(statSync(work).isDirectory()).to.equal(true);
    });
  });
});
