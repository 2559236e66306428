/**
 * Streams a file into a socket with two reused buffers: the next piece is read while the
 * previous one is being written, and a buffer is filled again only once the socket has
 * handed it to the kernel. A read stream allocates a new buffer per read instead, which for
 * shards uploaded to several hosts is the owner's largest source of garbage.
 */
import { promises as fs } from 'node:fs';
import type { Socket } from 'node:net';

const PIECE = 1024 * 1024;

/** Sends the whole file (as it is on disk now); resolves with the bytes sent. Does not end the socket. */
export async function sendFile(socket: Socket, file: string, onBytes: (n: number) => void = () => {}): Promise<number> {
  const handle = await fs.open(file, 'r');
  const buffers = [Buffer.allocUnsafe(PIECE), Buffer.allocUnsafe(PIECE)];
  const writes: (Promise<void> | null)[] = [null, null];
  let sent = 0;
  try {
    for (let i = 0; ; i ^= 1) {
      // This buffer's previous write must be done before it is filled again.
      await writes[i];
      const { bytesRead } = await handle.read(buffers[i]!, 0, PIECE, sent);
      if (bytesRead === 0) break;
      writes[i] = write(socket, buffers[i]!.subarray(0, bytesRead));
      // A write failure surfaces when the buffer comes round again, or at the end.
      writes[i]!.catch(() => {});
      sent += bytesRead;
      onBytes(bytesRead);
    }
    await Promise.all(writes);
    return sent;
  } finally {
    // Never close the file (or let the buffers go) under a write the socket still holds.
    await Promise.allSettled(writes);
    await handle.close();
  }
}

function write(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || !socket.writable) return reject(socket.errored ?? new Error('the connection is closed'));
    socket.write(data, (err) => (err ? reject(err) : resolve()));
  });
}
