/**
 * Typed, bounded reads from an untrusted decoded map. Every getter either returns a value
 * of the promised type and size or throws MalformedMessageError, so handlers never see junk.
 */
export class MalformedMessageError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MalformedMessageError';
  }
}

export class Fields {
  private readonly map: Record<string, unknown>;

  constructor(raw: unknown) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) {
      throw new MalformedMessageError('message is not a map');
    }
    const proto = Object.getPrototypeOf(raw);
    if (proto !== Object.prototype && proto !== null) throw new MalformedMessageError('message is not a plain map');
    this.map = raw as Record<string, unknown>;
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.map, key) && this.map[key] !== undefined && this.map[key] !== null;
  }

  private get(key: string): unknown {
    if (!this.has(key)) throw new MalformedMessageError(`missing field "${key}"`);
    return this.map[key];
  }

  /** Bytes of exactly `length`, or within [min, max]. */
  bytes(key: string, size: number | { min?: number; max: number }): Uint8Array {
    const v = this.get(key);
    if (!(v instanceof Uint8Array)) throw new MalformedMessageError(`field "${key}" is not bytes`);
    if (typeof size === 'number') {
      if (v.length !== size) throw new MalformedMessageError(`field "${key}" must be ${size} bytes`);
    } else if (v.length < (size.min ?? 0) || v.length > size.max) {
      throw new MalformedMessageError(`field "${key}" has bad length ${v.length}`);
    }
    return v;
  }

  optionalBytes(key: string, size: number | { min?: number; max: number }): Uint8Array | undefined {
    return this.has(key) ? this.bytes(key, size) : undefined;
  }

  /** A non-negative safe integer no larger than `max`. */
  uint(key: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
      throw new MalformedMessageError(`field "${key}" is not an integer in [0, ${max}]`);
    }
    return v;
  }

  optionalUint(key: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
    return this.has(key) ? this.uint(key, max) : undefined;
  }

  string(key: string, maxLength: number): string {
    const v = this.get(key);
    if (typeof v !== 'string' || v.length > maxLength) throw new MalformedMessageError(`field "${key}" is not a string of at most ${maxLength}`);
    return v;
  }

  optionalString(key: string, maxLength: number): string | undefined {
    return this.has(key) ? this.string(key, maxLength) : undefined;
  }

  /** A list of at most `maxItems` byte strings of exactly `itemSize` bytes each. */
  bytesList(key: string, itemSize: number, maxItems: number): Uint8Array[] {
    const v = this.get(key);
    if (!Array.isArray(v) || v.length > maxItems || !v.every((item) => item instanceof Uint8Array && item.length === itemSize)) {
      throw new MalformedMessageError(`field "${key}" is not a list of at most ${maxItems} ${itemSize}-byte strings`);
    }
    return v as Uint8Array[];
  }

  boolean(key: string): boolean {
    const v = this.get(key);
    if (typeof v !== 'boolean') throw new MalformedMessageError(`field "${key}" is not a boolean`);
    return v;
  }
}
