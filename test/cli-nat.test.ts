/**
 * `dbs start` without --host: it binds every interface, works out its address from what peers in
 * distinct networks see (127.0.1.1, 127.0.2.1, 127.0.3.1 are three /24s on loopback), and
 * `dbs status` says how others reach it. --no-map-port keeps it off the machine's real router.
 */
import { expect } from 'chai';
import path from 'node:path';
import { DEMO_TUNING, startPeerProcess, stopPeerProcess } from '../src/cli/demo.js';
import { dbs, eventually } from './helpers/cli.js';
import { tempDir } from './helpers/peers.js';

type PeerProcess = Awaited<ReturnType<typeof startPeerProcess>>;

describe('cli: dbs start without --host', function () {
  this.timeout(60_000);
  const work = tempDir('dbs-cli-nat-');
  const peers: PeerProcess[] = [];
  after(async () => {
    await Promise.all(peers.map((p) => stopPeerProcess(p)));
  });

  it('binds every interface, takes the address peers agree on, and shows how others reach it', async () => {
    const common = ['--port', '0', '--storage', '64MiB'];
    for (const host of ['127.0.1.1', '127.0.2.1', '127.0.3.1']) {
      const bootstrap = peers.length ? ['--bootstrap', peers[0]!.address] : [];
      peers.push(await startPeerProcess(host, path.join(work, host), ['--host', host, ...common, ...bootstrap, '--tuning', JSON.stringify(DEMO_TUNING)]));
    }
    const tuning = { ...DEMO_TUNING, dht: { ...DEMO_TUNING.dht, addressQuorum: 2 } };
    const home = await startPeerProcess('home', path.join(work, 'home'), [...common, '--no-map-port', '--bootstrap', ...peers.map((p) => p.address), '--tuning', JSON.stringify(tuning)]);
    peers.push(home);
    const data = ['--data', home.dataDir];
    let status: { address: string; reach: { reach: string; address: string | null; addressSource: string } } | undefined;
    await eventually(async () => {
      status = JSON.parse((await dbs(['status', ...data, '--json'])).stdout) as typeof status;
      return status!.reach.addressSource === 'observed';
    }, 'the home peer to adopt its address');
    expect(status!.reach).to.deep.include({ reach: 'public', addressSource: 'observed' });
    expect(status!.reach.address).to.match(/^127\.0\.0\.1:\d+$/);
    expect(status!.address).to.equal(status!.reach.address);
    const text = (await dbs(['status', ...data])).stdout;
    expect(text).to.match(/\nreach +public at 127\.0\.0\.1:\d+ \(as \d networks see it; UDP \w+, TCP \w+\)\n/);
    // dbs peers says how each is reached: the three it joined through answer it directly.
    const peersText = (await dbs(['peers', ...data])).stdout;
    expect(peersText).to.match(/NODE ID +ADDRESS +REACHED/);
    expect(peersText.match(/ direct\n/g)).to.have.length(3);
  });

  it('--friend must be a public key: refused with one line and the usage exit code', async () => {
    const bad = await dbs(['start', '--data', path.join(work, 'bad'), '--friend', 'not-a-key']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trim()).to.equal('dbs: --friend: friend "not-a-key" is not a public key (64 hex digits, as `dbs status` shows it)');
  });
});
