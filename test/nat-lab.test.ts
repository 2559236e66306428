/**
 * The NAT lab itself (test/helpers/nat-lab.ts): each router kind behaves as the NAT it stands for,
 * checked with real datagrams and connections through the kernel's NAT. The NAT traversal tests
 * build on these promises, so they are checked on their own first.
 *
 * Needs root, nftables, miniupnpd and miniupnpc (`upnpc`); skips with the reason otherwise
 * (.ci/run installs them).
 */
import { expect } from 'chai';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createNatLab, type Home, type LabHost, type NatLab, natLabUnavailable } from './helpers/nat-lab.js';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'nat-probe.js');
const ECHO_PORT = 7000;
const execFileAsync = promisify(execFile);

interface Seen {
  host?: string;
  port?: number;
  error?: string;
}

async function ask(from: LabHost, proto: 'udp' | 'tcp', to: string, port: number, localPort?: number): Promise<Seen> {
  const args = ['netns', 'exec', from.ns, process.execPath, PROBE, 'ask', proto, to, String(port)];
  if (localPort) args.push(String(localPort));
  const { stdout } = await execFileAsync('ip', args, { timeout: 5000 });
  return JSON.parse(stdout.trim()) as Seen;
}

async function echo(at: LabHost, port: number, bind = at.address): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', at.ns, process.execPath, PROBE, 'echo', bind, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.once('line', (line) => (line === 'ready' ? resolve() : reject(new Error(`echo said ${line}`))));
    child.once('exit', (code) => reject(new Error(`echo exited with ${code}`)));
  });
  return child;
}

async function upnpc(home: Home, ...args: string[]): Promise<string> {
  // miniupnpd needs a moment after start to listen; discovery is retried for up to ~3 s.
  let last = '';
  for (let attempt = 0; attempt < 6; attempt++) {
    try {
      const { stdout } = await execFileAsync('ip', ['netns', 'exec', home.host.ns, 'upnpc', ...args], { timeout: 10_000 });
      if (!/No IGD UPnP Device found/.test(stdout)) return stdout;
      last = stdout;
    } catch (err) {
      last = String((err as { stdout?: string }).stdout ?? err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`upnpc found no IGD: ${last.slice(-200)}`);
}

describe('NAT lab: router namespaces behave as the NATs they stand for', function () {
  this.timeout(60_000);
  const unavailable = natLabUnavailable(['upnp']);
  let lab: NatLab | undefined;
  const children: ChildProcess[] = [];
  let pub1: LabHost;
  let pub2: LabHost;
  const homes = {} as Record<'cone' | 'symmetric' | 'upnp' | 'noUdp', Home>;

  before(async function () {
    if (unavailable) return this.skip();
    lab = createNatLab();
    pub1 = lab.addPublicHost();
    pub2 = lab.addPublicHost();
    homes.cone = lab.addHome('cone', { udpTimeoutSeconds: 20 });
    homes.symmetric = lab.addHome('symmetric');
    homes.upnp = lab.addHome('upnp');
    homes.noUdp = lab.addHome('no-udp');
    children.push(await echo(pub1, ECHO_PORT), await echo(pub2, ECHO_PORT));
  });

  after(() => {
    for (const c of children) c.kill('SIGKILL');
    lab?.close();
  });

  it('cone: keeps the source port for every destination, and lets in only answers', async () => {
    const a = await ask(homes.cone.host, 'udp', pub1.address, ECHO_PORT, 7101);
    const b = await ask(homes.cone.host, 'udp', pub2.address, ECHO_PORT, 7101);
    expect(a).to.deep.equal({ host: homes.cone.router.wan, port: 7101 });
    expect(b).to.deep.equal({ host: homes.cone.router.wan, port: 7101 });
    children.push(await echo(homes.cone.host, 7102));
    // Nobody at home sent to pub1 from 7102: the router drops pub1's datagram.
    expect(await ask(pub1, 'udp', homes.cone.router.wan, 7102)).to.deep.equal({ error: 'timeout' });
    // The short UDP timeout is in force in this router only.
    expect(lab!.conntrack(homes.cone)).to.match(/udp\s+17\s+(1\d|20)\s/);
  });

  it('symmetric: a new random port for each destination', async () => {
    const a = await ask(homes.symmetric.host, 'udp', pub1.address, ECHO_PORT, 7201);
    const b = await ask(homes.symmetric.host, 'udp', pub2.address, ECHO_PORT, 7201);
    expect(a.host).to.equal(homes.symmetric.router.wan);
    expect(b.host).to.equal(homes.symmetric.router.wan);
    expect(a.port).to.be.a('number');
    expect(a.port).to.not.equal(b.port);
    expect([a.port, b.port]).to.not.include(7201);
  });

  it('no-udp: TCP goes out through the NAT, UDP not at all', async () => {
    expect(await ask(homes.noUdp.host, 'udp', pub1.address, ECHO_PORT)).to.deep.equal({ error: 'timeout' });
    const seen = await ask(homes.noUdp.host, 'tcp', pub1.address, ECHO_PORT);
    expect(seen.host).to.equal(homes.noUdp.router.wan);
  });

  it('upnp: miniupnpd maps a UDP and a TCP port that the internet can reach', async () => {
    const home = homes.upnp;
    children.push(await echo(home.host, 7300));
    const udp = await upnpc(home, '-e', 'dbs lab', '-a', home.host.address, '7300', '7300', 'UDP');
    expect(udp).to.include(`external ${home.router.wan}:7300 UDP is redirected to internal ${home.host.address}:7300`);
    await upnpc(home, '-e', 'dbs lab', '-a', home.host.address, '7300', '7300', 'TCP');
    // Unsolicited, from the internet, straight through the mapping to the home host.
    expect(await ask(pub1, 'udp', home.router.wan, 7300, 7302)).to.deep.equal({ host: pub1.address, port: 7302 });
    expect(await ask(pub1, 'tcp', home.router.wan, 7300, 7303)).to.deep.equal({ host: pub1.address, port: 7303 });
  });
});
