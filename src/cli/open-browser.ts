/**
 * Opens a URL in the user's browser where the system has an opener (`xdg-open` on Linux,
 * `open` on macOS). Resolves false when there is none; the caller prints the address anyway.
 */
import { spawn } from 'node:child_process';

export function openBrowser(url: string): Promise<boolean> {
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  return new Promise((resolve) => {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
