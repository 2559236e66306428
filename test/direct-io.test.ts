import { expect } from 'chai';
import { createCipheriv, createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ALIGN, DirectAppender, DirectReadFile, DirectWriteFile, releaseAligned, setDirectIo, takeAligned, windowFor } from '../src/util/direct-io.js';
import { tempDir } from './helpers/temp.js';

function seeded(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

const SIZES = [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, 1024 * 1024, 1024 * 1024 + 3, 3 * 1024 * 1024 - 7];

for (const direct of [true, false]) {
  describe(`direct I/O helpers (${direct ? 'O_DIRECT where the filesystem has it' : 'ordinary I/O fallback'})`, function () {
    this.timeout(20_000);
    let dir: string;

    before(() => {
      setDirectIo(direct);
      dir = tempDir('dbs-direct-');
    });
    after(async () => {
      setDirectIo(true);
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('appends pieces of any size and reads back the same bytes', async () => {
      for (const size of SIZES) {
        const data = seeded(`a${size}`, size);
        const file = path.join(dir, `append-${size}`);
        const out = await DirectAppender.create(file);
        // Uneven pieces: staging boundaries fall inside them.
        for (let off = 0, step = 777; off < size; off += step, step = step * 3 + 1) await out.append(data.subarray(off, Math.min(size, off + step)));
        expect(out.size).to.equal(size);
        await out.finish();
        expect((await fs.readFile(file)).equals(data), `size ${size}`).to.equal(true);
      }
    });

    it('writes slots at positions (aligned heads, a buffered tail) and reads any range through an aligned window', async () => {
      const size = 2 * 1024 * 1024 + 5;
      const data = seeded('slots', size);
      const file = path.join(dir, 'slots');
      const out = await DirectWriteFile.create(file);
      if (!direct) expect(out.isDirect).to.equal(false);
      const slot = takeAligned(1024 * 1024);
      for (let off = 0; off < size; off += slot.length) {
        const n = Math.min(slot.length, size - off);
        data.copy(slot, 0, off, off + n);
        await out.write(slot.subarray(0, n), off);
      }
      releaseAligned(slot);
      await out.sync();
      await out.close();
      expect((await fs.readFile(file)).equals(data)).to.equal(true);

      const reader = await DirectReadFile.open(file);
      const scratch = takeAligned(windowFor(ALIGN - 1, 1024 * 1024) + ALIGN);
      try {
        for (const [pos, len] of [[0, 10], [ALIGN - 1, 2], [12345, 1024 * 1024], [size - 3, 3], [size - 3, 100]] as const) {
          const got = await reader.readAt(scratch, pos, len);
          expect(got.equals(data.subarray(pos, Math.min(size, pos + len))), `${pos}+${len}`).to.equal(true);
        }
        expect((await reader.readAt(scratch, size, 10)).length).to.equal(0);
      } finally {
        releaseAligned(scratch);
        await reader.close();
      }
    });

    it('never overwrites: creating an existing file fails', async () => {
      const file = path.join(dir, 'exists');
      await fs.writeFile(file, 'x');
      let error: unknown = null;
      await DirectWriteFile.create(file).catch((e: unknown) => (error = e));
      expect((error as NodeJS.ErrnoException | null)?.code).to.equal('EEXIST');
    });
  });
}
