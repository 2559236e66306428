/**
 * The shards a restore reads from: each one located once (our local copy, or a verified
 * download), downloads running a few at a time ahead of the files that need them, and the
 * shard files kept open while chunks are read out of them (one open per shard, not per chunk).
 * Memory stays flat: downloads stream to disk, reads take one chunk at a time.
 */
import { closeSync, openSync } from 'node:fs';
import PQueue from 'p-queue';
import { toHex } from '../util/bytes.js';
import { DirectReadFile } from '../util/direct-io.js';
import { readFullySync } from '../util/read-fully.js';
import { RESTORE_DOWNLOADS, RESTORE_OPEN_SHARDS, SYNC_READ_BYTES } from './constants.js';

export interface RestoreShardsOptions {
  /** Shards fetched at once (default RESTORE_DOWNLOADS). */
  downloads: number;
  /** Shard files kept open at once (default RESTORE_OPEN_SHARDS); the least recently used idle one is closed past that. */
  maxOpen: number;
}

interface OpenFile {
  handle: Promise<DirectReadFile>;
  /** An ordinary descriptor for small chunks (see `read`), opened on first use. */
  buffered: number | null;
  users: number;
  lastUsed: number;
}

export class RestoreShards {
  private readonly files = new Map<string, Promise<string | null>>();
  private readonly queue: PQueue;
  private readonly open = new Map<string, OpenFile>();
  private readonly maxOpen: number;
  private tick = 0;
  /** Shards whose locator rejected (each then counts as having no replica). */
  failedLocates = 0;

  constructor(
    /** The path of a verified local file holding the shard, or null if no replica can supply it. */
    private readonly locate: (hash: Uint8Array) => Promise<string | null>,
    options: Partial<RestoreShardsOptions> = {},
  ) {
    this.queue = new PQueue({ concurrency: options.downloads ?? RESTORE_DOWNLOADS });
    this.maxOpen = options.maxOpen ?? RESTORE_OPEN_SHARDS;
  }

  /** Starts locating these shards, in this order, a few at a time. */
  prefetch(hashes: Iterable<Uint8Array>): void {
    for (const hash of hashes) void this.file(hash);
  }

  /** Where the shard is (located once; later calls share the answer). */
  file(hash: Uint8Array): Promise<string | null> {
    const key = toHex(hash);
    let file = this.files.get(key);
    if (!file) {
      // A locator that fails is the same as no replica: the files that need the shard are
      // reported incomplete; each such failure is counted.
      file = this.queue.add(() =>
        this.locate(hash).catch(() => {
          this.failedLocates++;
          return null;
        }),
      ) as Promise<string | null>;
      this.files.set(key, file);
    }
    return file;
  }

  /**
   * `length` bytes at `offset` of a located shard file: a view into `scratch`, a page-aligned
   * buffer (a crypto worker slot) of at least `windowBound(length)`. Shard files are read with
   * direct I/O where the filesystem allows, through an aligned window around the bytes asked
   * for: our own copies and downloads alike are written direct, so neither is in the page cache.
   */
  async read(file: string, offset: number, length: number, scratch: Buffer): Promise<Buffer> {
    const entry = this.acquire(file);
    try {
      // Small chunks (small files' chunks) with a synchronous read through the page cache: they
      // come in the order they were packed, so the kernel's readahead has the next ones in
      // memory and a read is a copy, where a direct read per chunk went to the device each time
      // and through the thread pool (the restore's largest item for small files).
      if (length <= SYNC_READ_BYTES) return readFully((entry.buffered ??= openSync(file, 'r')), scratch, offset, length);
      const handle = await entry.handle;
      const bytes = await handle.readAt(scratch, offset, length);
      if (bytes.length !== length) throw new Error('shard is shorter than its index says');
      return bytes;
    } finally {
      entry.users--;
      entry.lastUsed = ++this.tick;
    }
  }

  /** Closes every open shard file (after waiting for the downloads still running). */
  async close(): Promise<void> {
    this.queue.clear();
    await this.queue.onIdle();
    const handles = [...this.open.values()].map((e) => e.handle);
    for (const e of this.open.values()) closeBuffered(e);
    this.open.clear();
    // Read-only handles: a failed open or close loses nothing.
    await Promise.all(handles.map((h) => h.then((x) => x.close()).catch(() => {})));
  }

  private acquire(file: string): OpenFile {
    let entry = this.open.get(file);
    if (!entry) {
      const created: OpenFile = { handle: DirectReadFile.open(file), buffered: null, users: 1, lastUsed: 0 };
      // A failed open is not cached: the next read tries again.
      created.handle.catch(() => {
        if (this.open.get(file) === created) this.open.delete(file);
      });
      this.open.set(file, created);
      this.evict();
      return created;
    }
    entry.users++;
    return entry;
  }

  private evict(): void {
    while (this.open.size > this.maxOpen) {
      let oldest: [string, OpenFile] | null = null;
      for (const e of this.open) if (e[1].users === 0 && (!oldest || e[1].lastUsed < oldest[1].lastUsed)) oldest = e;
      if (!oldest) return;
      this.open.delete(oldest[0]);
      closeBuffered(oldest[1]);
      // Read-only: a failed close loses nothing.
      void oldest[1].handle.then((h) => h.close()).catch(() => {});
    }
  }
}

/** `length` bytes at `offset` of `fd` into the front of `scratch`; a shard shorter than that throws as a short direct read does. */
function readFully(fd: number, scratch: Buffer, offset: number, length: number): Buffer {
  if (readFullySync(fd, scratch, 0, length, offset) !== length) throw new Error('shard is shorter than its index says');
  return scratch.subarray(0, length);
}

function closeBuffered(entry: OpenFile): void {
  if (entry.buffered === null) return;
  const fd = entry.buffered;
  entry.buffered = null;
  // Read-only: a failed close loses nothing.
  try {
    closeSync(fd);
  } catch {}
}
