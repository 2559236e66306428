/**
 * Streams a file into a socket with two reused buffers: the next piece is read while the
 * previous one is being written, and a buffer is filled again only once the socket has
 * handed it to the kernel. A read stream allocates a new buffer per read instead, which for
 * shards uploaded to several hosts is the owner's largest source of garbage. The file is read
 * with direct I/O where the filesystem allows (shards are written that way and are not in the
 * page cache; a buffered read would fill it: util/direct-io.ts).
 */
import type { Socket } from 'node:net';
import { DirectReadFile, releaseAligned, takeAligned } from '../util/direct-io.js';

const PIECE = 1024 * 1024;

/** Sends the whole file (as it is on disk now); resolves with the bytes sent. Does not end the socket. */
export async function sendFile(socket: Socket, file: string, onBytes: (n: number) => void = () => {}): Promise<number> {
  const handle = await DirectReadFile.open(file);
  const buffers = [takeAligned(PIECE), takeAligned(PIECE)];
  const writes: (Promise<void> | null)[] = [null, null];
  let sent = 0;
  try {
    for (let i = 0; ; i ^= 1) {
      // This buffer's previous write must be done before it is filled again.
      await writes[i];
      const piece = await handle.readAt(buffers[i]!, sent, PIECE);
      const bytesRead = piece.length;
      if (bytesRead === 0) break;
      writes[i] = write(socket, piece);
      // A write failure surfaces when the buffer comes round again, or at the end.
      writes[i]!.catch(() => {});
      sent += bytesRead;
      onBytes(bytesRead);
      // A short read is the end of the file (and the next position would not be aligned).
      if (bytesRead < PIECE) break;
    }
    await Promise.all(writes);
    return sent;
  } finally {
    // Never close the file (or let the buffers go) under a write the socket still holds.
    await Promise.allSettled(writes);
    await handle.close();
    for (const b of buffers) releaseAligned(b);
  }
}

function write(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || !socket.writable) return reject(socket.errored ?? new Error('the connection is closed'));
    socket.write(data, (err) => (err ? reject(err) : resolve()));
  });
}
