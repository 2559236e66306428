/**
 * A hostile proposer on its own UDP socket: it sends PROPOSEs (and owner CANCELs) to a target,
 * does the address-proof round trip (ADDRESS_UNPROVEN + cookie, then the same PROPOSE with the
 * cookie) as an honest owner does, so its proposals reach the host's checks and its policy,
 * and reads each answer by transaction ID. Silence is an answer too: 'NO_ANSWER' after
 * `timeoutMs` (the test counts it; a healthy target leaves none).
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { signCancel } from '../../src/contracts/contract.js';
import { Accept, Cancel, Cancelled, Propose, Reject } from '../../src/contracts/messages.js';
import { reasonName, RejectReason } from '../../src/contracts/refusals.js';
import type { Address } from '../../src/net/address.js';
import { nodeIdFromAddress } from '../../src/net/node-id.js';
import { decodeMessage, encodeMessage, type Envelope, type MessageSpec } from '../../src/wire/codec.js';
import type { HostileProposal } from './propose-fuzzer.js';

export type ProposeAnswer = 'ACCEPT' | ReturnType<typeof reasonName> | 'NO_ANSWER';

export class ProposeClient {
  private readonly waiting = new Map<string, (env: Envelope | null) => void>();
  /** Address proofs done (cookies sent back). */
  cookieRoundTrips = 0;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: Address,
    private readonly target: Address,
    private readonly timeoutMs: number,
  ) {
    socket.on('message', (msg) => {
      let env: Envelope;
      try {
        env = decodeMessage(msg);
      } catch {
        return;
      }
      const key = Buffer.from(env.txid).toString('hex');
      this.waiting.get(key)?.(env);
      this.waiting.delete(key);
    });
  }

  static async open(host: string, target: Address, timeoutMs = 3_000): Promise<ProposeClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    return new ProposeClient(socket, { host, port: socket.address().port }, target, timeoutMs);
  }

  private request<B>(spec: MessageSpec<B>, body: B): Promise<Envelope | null> {
    const tx = randomBytes(8);
    const key = tx.toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        resolve(null);
      }, this.timeoutMs);
      this.waiting.set(key, (env) => {
        clearTimeout(timer);
        resolve(env);
      });
      this.socket.send(encodeMessage(spec, tx, nodeIdFromAddress(this.address), body), this.target.port, this.target.host);
    });
  }

  /** Sends the proposal (with the address proof if asked for) and says what the host answered. */
  async propose(p: Pick<HostileProposal, 'terms' | 'ownerSignature'>): Promise<ProposeAnswer> {
    const body = { terms: p.terms, ownerSignature: p.ownerSignature };
    let env = await this.request(Propose, body);
    const first = env?.body as { reason?: number; cookie?: Uint8Array } | undefined;
    if (env?.spec === Reject && first?.reason === RejectReason.ADDRESS_UNPROVEN && first.cookie) {
      this.cookieRoundTrips++;
      env = await this.request(Propose, { ...body, cookie: first.cookie });
    }
    if (!env) return 'NO_ANSWER';
    if (env.spec === Accept) return 'ACCEPT';
    if (env.spec === Reject) return reasonName((env.body as { reason: number }).reason);
    throw new Error(`unexpected answer to PROPOSE: type ${env.type}`);
  }

  /** Cancels the proposal's contract as its owner; true once the host confirmed. */
  async cancel(p: HostileProposal): Promise<boolean> {
    const env = await this.request(Cancel, { contractId: p.id, signature: signCancel(p.owner, p.id) });
    return env?.spec === Cancelled;
  }

  close(): void {
    for (const w of this.waiting.values()) w(null);
    this.waiting.clear();
    this.socket.close();
  }
}
