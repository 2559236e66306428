/**
 * A set of chunk IDs built for prune: every chunk a kept snapshot needs, a million of them in
 * 64 MiB. The IDs are stored side by side in one Uint8Array (open addressing, linear probing),
 * not as a JS Set of hex strings: that measured ~96 bytes per entry against ~67 here (32-byte
 * slots, at most 70% full; docs/benchmarks.md, prune-plan), and, more to the point, a million
 * strings are a million objects for the garbage collector to trace on every major collection,
 * where this is three typed arrays.
 * Chunk IDs are keyed hashes (HMAC-SHA-256), uniform already: their first bytes are the hash.
 * Exact: whole IDs are compared. Each entry also has a "seen" bit, so the planner can tell
 * which needed chunks no shard in the index held (then nothing may be pruned), and, in a set
 * made `withValues`, a 32-bit number (`dbs stats`' unique bytes: which snapshot needs it).
 */

/** Fill at which the table doubles: linear probing stays short below ~0.7. */
const MAX_LOAD = 0.7;
const INITIAL_SLOTS = 1024;

export class ChunkIdSet {
  private slots: number;
  private keys: Uint8Array;
  private used: Uint8Array;
  private seen: Uint8Array;
  private values: Int32Array | null;
  private count = 0;

  /** `idBytes`: the length of every ID (32 for this project's chunk IDs); `withValues`: a number per ID. */
  constructor(readonly idBytes = 32, expected = 0, withValues = false) {
    let slots = INITIAL_SLOTS;
    while (expected > slots * MAX_LOAD) slots *= 2;
    this.slots = slots;
    this.keys = new Uint8Array(slots * idBytes);
    this.used = new Uint8Array(slots >>> 3);
    this.seen = new Uint8Array(slots >>> 3);
    this.values = withValues ? new Int32Array(slots) : null;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table (for reports and the memory benchmark). */
  get bytes(): number {
    return this.keys.byteLength + this.used.byteLength + this.seen.byteLength + (this.values?.byteLength ?? 0);
  }

  /** The number stored with `id`, undefined if `id` is not in the set (a set made `withValues`). */
  value(id: Uint8Array): number | undefined {
    const values = this.valuesOrThrow();
    this.check(id);
    const slot = this.find(id);
    return this.bit(this.used, slot) ? values[slot] : undefined;
  }

  /** Stores `value` with `id`, adding `id` if it is not in the set yet (a set made `withValues`). */
  setValue(id: Uint8Array, value: number): void {
    this.add(id);
    this.valuesOrThrow()[this.find(id)] = value;
  }

  private valuesOrThrow(): Int32Array {
    if (!this.values) throw new Error('this ChunkIdSet was made without values');
    return this.values;
  }

  add(id: Uint8Array): boolean {
    this.check(id);
    if (this.count + 1 > this.slots * MAX_LOAD) this.grow();
    const slot = this.find(id);
    if (this.bit(this.used, slot)) return false;
    this.keys.set(id, slot * this.idBytes);
    this.used[slot >>> 3]! |= 1 << (slot & 7);
    this.count++;
    return true;
  }

  has(id: Uint8Array): boolean {
    this.check(id);
    return this.bit(this.used, this.find(id));
  }

  /**
   * Marks `id` as found in a shard. Returns 'first' the first time, 'again' for a later copy
   * (a duplicate: that copy is not needed), 'absent' if no kept snapshot needs it.
   */
  markSeen(id: Uint8Array): 'first' | 'again' | 'absent' {
    this.check(id);
    const slot = this.find(id);
    if (!this.bit(this.used, slot)) return 'absent';
    if (this.bit(this.seen, slot)) return 'again';
    this.seen[slot >>> 3]! |= 1 << (slot & 7);
    return 'first';
  }

  /** Forgets every `markSeen`, so the set can be planned against again. */
  resetSeen(): void {
    this.seen.fill(0);
  }

  /** How many IDs were never marked seen. */
  unseen(): number {
    let n = 0;
    for (let i = 0; i < this.used.length; i++) {
      let missing = this.used[i]! & ~this.seen[i]!;
      while (missing) {
        n += missing & 1;
        missing >>>= 1;
      }
    }
    return n;
  }

  private check(id: Uint8Array): void {
    if (id.length !== this.idBytes) throw new RangeError(`a chunk ID is ${this.idBytes} bytes, not ${id.length}`);
  }

  private bit(bits: Uint8Array, slot: number): boolean {
    return (bits[slot >>> 3]! & (1 << (slot & 7))) !== 0;
  }

  /** The slot holding `id`, or the empty slot where it would go. */
  private find(id: Uint8Array): number {
    const mask = this.slots - 1;
    let slot = ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) & mask;
    for (;;) {
      if (!this.bit(this.used, slot)) return slot;
      if (this.equalAt(slot, id)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private equalAt(slot: number, id: Uint8Array): boolean {
    const base = slot * this.idBytes;
    for (let i = 0; i < this.idBytes; i++) if (this.keys[base + i] !== id[i]) return false;
    return true;
  }

  private grow(): void {
    const { keys, used, seen, values, slots } = this;
    this.slots = slots * 2;
    this.keys = new Uint8Array(this.slots * this.idBytes);
    this.used = new Uint8Array(this.slots >>> 3);
    this.seen = new Uint8Array(this.slots >>> 3);
    this.values = values ? new Int32Array(this.slots) : null;
    for (let s = 0; s < slots; s++) {
      if (!(used[s >>> 3]! & (1 << (s & 7)))) continue;
      const id = keys.subarray(s * this.idBytes, (s + 1) * this.idBytes);
      const slot = this.find(id);
      this.keys.set(id, slot * this.idBytes);
      this.used[slot >>> 3]! |= 1 << (slot & 7);
      if (seen[s >>> 3]! & (1 << (s & 7))) this.seen[slot >>> 3]! |= 1 << (slot & 7);
      if (values) this.values![slot] = values[s]!;
    }
  }
}
