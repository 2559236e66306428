/** Positional writes that never stop short. */
import type { promises as fs } from 'node:fs';

/** Short writes happen (a full disk, a signal): loops until all of `data` is at `position`. */
export async function writeFully(file: fs.FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('the disk accepted no bytes');
    done += bytesWritten;
  }
}
