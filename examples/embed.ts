/**
 * Embedding a backup peer in an application: the app runs its own peer (here with three
 * friends' peers beside it, all on 127.0.0.1), backs up its data folder, lists snapshots and
 * restores one. In a real app the friends run elsewhere and `bootstrap` names one of them.
 *
 *   npm run example:embed
 *
 * With the package installed, import from 'distributed-backup-system' instead of '../src/index.js'.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Peer } from '../src/index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'dbs-embed-'));
const friends: Peer[] = [];
let app: Peer | undefined;
try {
  // Three friends, each offering 64 MiB. Every peer that wants backups must offer space too.
  for (let i = 0; i < 3; i++) {
    friends.push(await Peer.start({ dataDir: path.join(work, `friend-${i}`), storage: 64 * 2 ** 20, ...(i > 0 ? { bootstrap: [friends[0]!.address] } : {}) }));
  }

  app = await Peer.start({
    dataDir: path.join(work, 'app-peer'), // identity.key (0600), peer.db, shards/
    storage: 64 * 2 ** 20,
    bootstrap: [friends[0]!.address],
  });
  if (app.identityCreated) console.log(`Show this to your user once, it is the only way back in:\n  ${app.recoveryKey}\n`);
  app.on('maintenance', (r) => console.log(`maintenance: ${r.audited} audits, ${r.replaced} replicas re-created`));

  const data = path.join(work, 'app-data');
  mkdirSync(data);
  writeFileSync(path.join(data, 'settings.json'), JSON.stringify({ theme: 'dark', saved: new Date().toISOString() }));
  writeFileSync(path.join(data, 'journal.txt'), 'Dear diary, today I backed up onto my friends.\n'.repeat(1000));

  const snap = await app.backup(data, { replicas: 3, onProgress: (p) => p.phase === 'done' && console.log(`backed up ${p.files} files, ${p.bytes} bytes`) });
  console.log(`snapshot ${snap.id}: ${snap.shards} shards, each on 3 friends (shortfall ${snap.shortfall})`);
  console.log('snapshots:', (await app.snapshots()).map((s) => s.id));

  const dest = path.join(work, 'restored');
  const restored = await app.restore(snap.id, dest);
  const same = readFileSync(path.join(dest, 'journal.txt')).equals(readFileSync(path.join(data, 'journal.txt')));
  console.log(`restored ${restored.files} files; identical: ${same}; incomplete: ${restored.incomplete.length}`);
  console.log('status:', JSON.stringify(app.status().contracts));
  if (!same) process.exitCode = 1;
} finally {
  await app?.stop();
  await Promise.all(friends.map((f) => f.stop()));
  rmSync(work, { recursive: true, force: true });
}
