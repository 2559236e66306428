/**
 * Direct I/O (O_DIRECT) for shard-sized files: bytes go between our buffers and the disk
 * without passing through the page cache.
 *
 * Why: shards are written once and read back rarely (a host keeps other people's data; the
 * owner's copy serves repairs and restores), so caching them only evicts what the machine
 * does use. And filling the page cache costs CPU: on the 2-core VM the benchmarks run on, a
 * buffered write into memory the kernel has not touched lately costs ~3 s of system time per
 * GiB (the hypervisor backs each fresh page on first touch), against ~0.1 s for the same
 * write with O_DIRECT (docs/benchmarks.md, backup). A backup writes every shard four times.
 *
 * O_DIRECT needs the buffer address, file offset and length aligned to the device's block
 * size; ALIGN (4096) covers every common device. Buffers come from WebAssembly memories,
 * whose backing store is page-aligned (node has no other way to ask for alignment), pooled
 * because each one reserves address space. An unaligned write (a file's last partial block)
 * goes through a second, ordinary descriptor; a filesystem without O_DIRECT (tmpfs, some
 * FUSE mounts, non-Linux) gets ordinary I/O throughout. fsync works the same either way.
 */
import { constants, promises as fs } from 'node:fs';
import { wasm } from './webassembly.js';
import { writeFully } from './write-fully.js';

export const ALIGN = 4096;
const WASM_PAGE = 64 * 1024;
const MIB = 1024 * 1024;

let enabled = process.platform === 'linux' && typeof constants.O_DIRECT === 'number';

/** Turns direct I/O off (or back on) for files opened from now on: for tests of the fallback. */
export function setDirectIo(on: boolean): void {
  enabled = on && process.platform === 'linux' && typeof constants.O_DIRECT === 'number';
}

function isAligned(n: number): boolean {
  return n % ALIGN === 0;
}

const pools = new Map<number, Buffer[]>();
/** Spare buffers kept per size. */
const MAX_SPARE = 4;

/**
 * Pages for `bytes`: a power of two up to 1 MiB, whole MiB above (a 4 MiB chunk's scratch is
 * 5 MiB, not 8): few size classes, so the pools stay small, without doubling large buffers.
 */
function pagesFor(bytes: number): number {
  if (bytes > MIB) return Math.ceil(bytes / MIB) * (MIB / WASM_PAGE);
  let pages = 1;
  while (pages * WASM_PAGE < bytes) pages *= 2;
  return pages;
}

/** A page-aligned buffer of at least `bytes` (see pagesFor); give it back with releaseAligned. */
export function takeAligned(bytes: number): Buffer {
  const pages = pagesFor(bytes);
  const spare = pools.get(pages)?.pop();
  if (spare) return spare;
  return Buffer.from(new wasm.Memory({ initial: pages, maximum: pages }).buffer as ArrayBuffer);
}

/** Returns a buffer from takeAligned to the pool (the caller must not use it any more). */
export function releaseAligned(buf: Buffer): void {
  const pages = buf.buffer.byteLength / WASM_PAGE;
  if (buf.byteOffset !== 0 || !Number.isInteger(pages)) return;
  const list = pools.get(pages) ?? [];
  if (list.length < MAX_SPARE) list.push(Buffer.from(buf.buffer));
  pools.set(pages, list);
}

/** A new page-aligned SharedArrayBuffer of at least `bytes`, sized like takeAligned's (worker slots; their owner pools them). */
export function newAlignedShared(bytes: number): SharedArrayBuffer {
  const pages = pagesFor(bytes);
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true }).buffer as SharedArrayBuffer;
}

async function openDirect(file: string, flags: number): Promise<fs.FileHandle | null> {
  if (!enabled) return null;
  try {
    return await fs.open(file, flags | constants.O_DIRECT);
  } catch {
    // EINVAL: the filesystem has no O_DIRECT. Anything else is the caller's to see on the
    // ordinary descriptor.
    return null;
  }
}

/**
 * A new file written at positions from page-aligned buffers (takeAligned, hash slots): whole
 * blocks at aligned positions go direct, the rest through the ordinary descriptor.
 */
export class DirectWriteFile {
  private constructor(
    readonly handle: fs.FileHandle,
    private readonly direct: fs.FileHandle | null,
  ) {}

  /** Creates `file` (never overwrites: 'wx'); `direct` false: ordinary writes only. */
  static async create(file: string, mode = 0o600, direct = true): Promise<DirectWriteFile> {
    const handle = await fs.open(file, 'wx', mode);
    try {
      return new DirectWriteFile(handle, direct ? await openDirect(file, constants.O_WRONLY) : null);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get isDirect(): boolean {
    return this.direct !== null;
  }

  /** Writes all of `data` at `position`; `data` must start on a page boundary (an aligned buffer or a view at its start). */
  async write(data: Uint8Array, position: number): Promise<void> {
    const direct = this.direct && isAligned(position) ? this.direct : null;
    // The aligned head may go direct; a partial last block goes through the page cache.
    const head = direct ? data.length - (data.length % ALIGN) : 0;
    if (head > 0) await writeFully(direct!, data.subarray(0, head), position);
    if (head < data.length) await writeFully(this.handle, data.subarray(head), position + head);
  }

  /** Makes everything written durable (one fsync covers both descriptors: it is per file). */
  async sync(): Promise<void> {
    await this.handle.sync();
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled([this.direct?.close(), this.handle.close()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }
}

/**
 * A file read at positions, direct where the filesystem allows. `readAt` reads through an
 * aligned window when direct and hands back a view of the bytes asked for.
 */
export class DirectReadFile {
  private constructor(
    private readonly handle: fs.FileHandle,
    readonly isDirect: boolean,
  ) {}

  /** `direct` false: an ordinary descriptor (a file just written through the page cache is read from it). */
  static async open(file: string, direct = true): Promise<DirectReadFile> {
    const handle = direct ? await openDirect(file, constants.O_RDONLY) : null;
    if (handle) return new DirectReadFile(handle, true);
    return new DirectReadFile(await fs.open(file, 'r'), false);
  }

  /**
   * Reads up to `length` bytes at `position` into `scratch` (from takeAligned, at least
   * `windowFor(position, length)` bytes when direct); returns a view of the bytes read, shorter
   * only at the end of the file.
   */
  async readAt(scratch: Buffer, position: number, length: number): Promise<Buffer> {
    if (!this.isDirect) {
      const { bytesRead } = await this.handle.read(scratch, 0, length, position);
      return scratch.subarray(0, bytesRead);
    }
    const start = position - (position % ALIGN);
    const window = windowFor(position, length);
    if (scratch.length < window) throw new Error('scratch buffer is smaller than the aligned window');
    let got = 0;
    // A direct read stops short only at the end of the file (or on a signal): loop on aligned steps.
    while (got < window) {
      const { bytesRead } = await this.handle.read(scratch, got, window - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (!isAligned(got)) break;
    }
    const skip = position - start;
    return scratch.subarray(skip, Math.max(skip, Math.min(got, skip + length)));
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Scratch bytes that hold the aligned window of `length` bytes at any position. */
export function windowBound(length: number): number {
  return length + 2 * ALIGN;
}

/** Bytes of the aligned window that covers `length` bytes at `position`. */
export function windowFor(position: number, length: number): number {
  const start = position - (position % ALIGN);
  const end = position + length;
  return Math.ceil((end - start) / ALIGN) * ALIGN;
}

/** Staging buffer of a DirectAppender. */
const STAGE_BYTES = MIB;

/**
 * A new file written front to back (a restored file): bytes gather in an aligned staging
 * buffer that goes out in direct writes; the last partial block goes through the page cache.
 */
export class DirectAppender {
  private fill = 0;
  private position = 0;

  private constructor(
    private readonly file: DirectWriteFile,
    private stage: Buffer | null,
  ) {}

  /** `direct` false: ordinary writes through one descriptor, each append written as it comes (for small files). */
  static async create(file: string, mode = 0o600, direct = true): Promise<DirectAppender> {
    const out = await DirectWriteFile.create(file, mode, direct);
    return new DirectAppender(out, out.isDirect ? takeAligned(STAGE_BYTES) : null);
  }

  /** Bytes appended so far. */
  get size(): number {
    return this.position + this.fill;
  }

  /** Appends `data`, any buffer (staged, or written as it is when there is no direct I/O); the caller may reuse it once this resolves. */
  async append(data: Uint8Array): Promise<void> {
    const stage = this.stage;
    if (!stage) {
      await this.file.write(data, this.position);
      this.position += data.length;
      return;
    }
    for (let off = 0; off < data.length; ) {
      const n = Math.min(stage.length - this.fill, data.length - off);
      stage.set(data.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === stage.length) await this.flushStage();
    }
  }

  /** Writes what is staged, makes the file durable (unless `sync: false`: the caller syncs it later) and closes it. */
  async finish(options: { sync?: boolean } = {}): Promise<void> {
    if (this.fill > 0) await this.flushStage();
    if (options.sync !== false) await this.file.sync();
    await this.close();
  }

  /** Closes without syncing (the caller removes the file). */
  async close(): Promise<void> {
    if (this.stage) releaseAligned(this.stage);
    this.stage = null;
    await this.file.close();
  }

  private async flushStage(): Promise<void> {
    await this.file.write(this.stage!.subarray(0, this.fill), this.position);
    this.position += this.fill;
    this.fill = 0;
  }
}
