/**
 * src/util/misaligned-write.ts on a real file: aligned buffers written at positions off the page
 * grid, side by side and out of order, read back byte for byte (direct where the file system
 * allows, the ordinary descriptor otherwise).
 */
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DirectWriteFile, releaseAligned, takeAligned } from '../src/util/direct-io.js';
import { writeAtAnyOffset } from '../src/util/misaligned-write.js';
import { pseudoRandom } from './helpers/erasure.js';
import { tempDir } from './helpers/temp.js';

describe('writes at any offset of a direct-I/O file', function () {
  this.timeout(20_000);
  const dir = tempDir('dbs-misaligned-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const base of [0, 8, 4088, 4096 + 1000, 2_617_552]) {
    it(`pieces of 1 MiB slots from offset ${base}, written out of order, read back exactly`, async () => {
      const file = path.join(dir, `f-${base}`);
      const out = await DirectWriteFile.create(file);
      const bytes = pseudoRandom(3 * 2 ** 20 + 12_345, base + 1);
      const slots = [0, 1, 2, 3].map((i) => bytes.subarray(i * 2 ** 20, (i + 1) * 2 ** 20)).filter((s) => s.length > 0);
      try {
        // Last slot first, then the rest at once: neighbours share a page at every boundary.
        const write = async (i: number) => {
          const buf = takeAligned(slots[i]!.length);
          try {
            buf.set(slots[i]!);
            await writeAtAnyOffset(out, buf.subarray(0, slots[i]!.length), base + i * 2 ** 20);
          } finally {
            releaseAligned(buf);
          }
        };
        await write(slots.length - 1);
        await Promise.all(slots.slice(0, -1).map((_, i) => write(i)));
      } finally {
        await out.close();
      }
      const got = readFileSync(file);
      expect(got.length).to.equal(base + bytes.length);
      expect(got.subarray(base).equals(bytes)).to.equal(true);
      expect(got.subarray(0, base).every((b) => b === 0)).to.equal(true);
    });
  }
});
