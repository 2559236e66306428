/**
 * Request/response over datagrams, shared by every UDP protocol of a peer (DHT, contracts).
 *
 * - Requests carry a random 8-byte transaction ID; a response is accepted only from the
 *   address the request went to, with that ID, and of the expected type (or ERROR).
 * - Each request has a per-attempt timeout and a number of retransmits (same ID, so a late
 *   answer to the first attempt still counts), and at most `maxInFlight` are outstanding.
 * - Every incoming datagram is decoded and validated first; malformed ones, ones whose claimed
 *   sender ID is not SHA-1 of their source address, unexpected responses and requests over a
 *   source's rate are dropped and counted. Nothing a peer sends can throw out of the handler.
 * - Read-only requests (BEP 43, the envelope's `ro`) are the one exception to the ID check: a
 *   node that does not know its reachable address yet cannot claim the ID of it. They are
 *   answered but never reported as contacts, so they never enter a routing table.
 * - Every reply carries the address its request came from (`ip`), and answers that carry one
 *   are reported to `onObserved` listeners: how a node behind NAT learns its external address.
 *
 * The requests waiting for answers (retransmits, timeouts) are kept by outstanding.ts; the
 * ERROR reply and RpcError are in errors.ts.
 */
import PQueue from 'p-queue';
import { type Address, formatAddress } from '../net/address.js';
import { type Contact, contactFromAddress } from '../net/node-id.js';
import { bytesEqual } from '../util/bytes.js';
import { decodeMessage, encodeMessage, type Envelope, type MessageSpec } from '../wire/codec.js';
import type { Clock } from '../util/clock.js';
import { type RateLimit, RateLimiter } from '../util/rate-limiter.js';
import { sourceKey } from '../util/ip.js';
import type { Transport } from '../transport/transport.js';
import { type ErrorBody, ErrorReply, RpcError } from './errors.js';
import { type Answer, newTxid, OutstandingRequests } from './outstanding.js';

export { type ErrorBody, ErrorReply, RpcError } from './errors.js';

/**
 * Settings of an endpoint. All are required: the endpoint has no defaults of its own; the
 * DHT, which creates the endpoint every UDP protocol of a peer shares, supplies them from
 * its options (src/dht/constants.ts DEFAULTS: requestTimeoutMs, retries, maxInFlight,
 * maxQueued, rateLimit).
 */
export interface RpcOptions {
  clock: Clock;
  /** Time to wait for each attempt, in ms. */
  timeoutMs: number;
  /** Retransmits after the first attempt. */
  retries: number;
  /** Requests outstanding at once; more wait in the queue. */
  maxInFlight: number;
  /** Requests allowed to wait for a free in-flight slot before new ones are refused. */
  maxQueued: number;
  /** Per-source-IP limit on incoming requests; null for none. */
  rateLimit: RateLimit | null;
}

/**
 * Counters of an endpoint. Every received datagram is counted in `received` and in exactly
 * one of: droppedMalformed, droppedSpoofed, droppedUnexpected, rateLimited, requestsHandled,
 * responsesAccepted.
 */
export interface RpcStats {
  sent: number;
  received: number;
  requestsHandled: number;
  responsesAccepted: number;
  droppedMalformed: number;
  droppedSpoofed: number;
  droppedUnexpected: number;
  rateLimited: number;
  timeouts: number;
  retransmits: number;
  handlerErrors: number;
  /** Requests handled that came from read-only nodes (a subset of requestsHandled). */
  readOnlyRequests: number;
  requestsInFlight: number;
  requestsQueued: number;
}

export interface Reply {
  spec: MessageSpec<any>;
  body: unknown;
}

/** Answers one kind of request: return the reply, or undefined to stay silent. */
export type RequestHandler<B> = (body: B, from: Contact, envelope: Envelope<B>) => Reply | undefined | Promise<Reply | undefined>;

export class RpcEndpoint {
  private readonly handlers = new Map<number, RequestHandler<any>>();
  private readonly outstanding: OutstandingRequests;
  private readonly queue: PQueue;
  private readonly limiter: RateLimiter | null;
  private readonly contactListeners: ((contact: Contact, kind: 'request' | 'response') => void)[] = [];
  private readonly observedListeners: ((observed: Address, reporter: Contact) => void)[] = [];
  private id: Uint8Array;
  private readOnlyMode = false;
  private readonly counters: Omit<RpcStats, 'requestsInFlight' | 'requestsQueued'> = {
    sent: 0,
    received: 0,
    requestsHandled: 0,
    responsesAccepted: 0,
    droppedMalformed: 0,
    droppedSpoofed: 0,
    droppedUnexpected: 0,
    rateLimited: 0,
    timeouts: 0,
    retransmits: 0,
    handlerErrors: 0,
    readOnlyRequests: 0,
  };
  private closed = false;

  constructor(
    readonly transport: Transport,
    localId: Uint8Array,
    private readonly options: RpcOptions,
  ) {
    this.id = localId;
    this.queue = new PQueue({ concurrency: options.maxInFlight });
    this.outstanding = new OutstandingRequests(transport, options.clock, this.counters);
    this.limiter = options.rateLimit ? new RateLimiter(options.rateLimit, options.clock) : null;
    transport.onDatagram((datagram, from) => this.receive(datagram, from));
  }

  /** The node ID our messages claim. */
  get localId(): Uint8Array {
    return this.id;
  }

  /** True while our requests go out marked read-only (we do not know our reachable address). */
  get readOnly(): boolean {
    return this.readOnlyMode;
  }

  /**
   * Changes the ID our messages claim and whether our requests are read-only: the DHT node
   * calls this when it adopts an external address (its ID follows the address).
   */
  setIdentity(localId: Uint8Array, readOnly: boolean): void {
    this.id = localId;
    this.readOnlyMode = readOnly;
  }

  /** Called for every answer that says where our request came from (`observed`), with who said it. */
  onObserved(listener: (observed: Address, reporter: Contact) => void): void {
    this.observedListeners.push(listener);
  }

  /** Registers the handler for requests of type `spec`. */
  handle<B>(spec: MessageSpec<B>, handler: RequestHandler<B>): void {
    this.handlers.set(spec.type, handler);
  }

  /** Called for every peer whose message passed validation and the address check. */
  onContact(listener: (contact: Contact, kind: 'request' | 'response') => void): void {
    this.contactListeners.push(listener);
  }

  /** Sends a request and resolves with the peer's response of type `expect`. */
  async request<Req, Res>(
    to: Address,
    spec: MessageSpec<Req>,
    body: Req,
    expect: MessageSpec<Res>,
    opts: { timeoutMs?: number; retries?: number } = {},
  ): Promise<{ body: Res; from: Contact }> {
    const res = await this.requestAny(to, spec, body, [expect], opts);
    return { body: res.body as Res, from: res.from };
  }

  /** Like `request`, for requests with several possible answers (e.g. ACCEPT or REJECT). */
  requestAny<Req>(
    to: Address,
    spec: MessageSpec<Req>,
    body: Req,
    expect: MessageSpec<any>[],
    opts: { timeoutMs?: number; retries?: number } = {},
  ): Promise<Answer> {
    if (this.closed) return Promise.reject(new RpcError('CLOSED', 'endpoint is closed'));
    if (this.queue.size >= this.options.maxQueued) {
      return Promise.reject(new RpcError('QUEUE_FULL', `more than ${this.options.maxQueued} requests waiting`));
    }
    const txid = newTxid();
    let datagram: Uint8Array;
    try {
      datagram = encodeMessage(spec, txid, this.id, body, { readOnly: this.readOnlyMode });
    } catch (err) {
      // Our own body does not encode (OversizedMessageError): the caller's error, not dropped.
      return Promise.reject(err);
    }
    const types = new Set(expect.map((e) => e.type));
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    const retries = opts.retries ?? this.options.retries;
    return this.queue.add(() => this.outstanding.send(txid, datagram, to, types, timeoutMs, retries)) as Promise<Answer>;
  }

  /** Sends a message outside any request (used for replies). */
  private send(spec: MessageSpec<any>, txid: Uint8Array, body: unknown, to: Address): void {
    try {
      this.transport.send(encodeMessage(spec, txid, this.id, body, { observed: to }), to);
      this.counters.sent++;
    } catch {
      // A reply our handler built does not encode: counted; the asker sees a lost reply.
      this.counters.handlerErrors++;
    }
  }

  private receive(datagram: Uint8Array, from: Address): void {
    if (this.closed) return;
    this.counters.received++;
    let envelope: Envelope;
    try {
      envelope = decodeMessage(datagram);
    } catch {
      // Only MalformedMessageError is expected here, but nothing a peer sends may escape.
      this.counters.droppedMalformed++;
      return;
    }
    const sender = contactFromAddress(from);
    // A read-only request's ID is not checked: see the header. Its sender stays out of tables.
    const readOnlyRequest = envelope.readOnly && !envelope.spec.isResponse;
    if (!readOnlyRequest && !bytesEqual(sender.id, envelope.senderId)) {
      this.counters.droppedSpoofed++;
      return;
    }
    if (envelope.spec.isResponse) {
      const p = this.outstanding.find(envelope.txid, sender);
      if (!p || (!p.expect.has(envelope.type) && envelope.type !== ErrorReply.type)) {
        this.counters.droppedUnexpected++;
        return;
      }
      this.counters.responsesAccepted++;
      this.emitContact(sender, 'response');
      if (envelope.observed) this.emitObserved(envelope.observed, sender);
      if (envelope.type === ErrorReply.type) {
        const e = envelope.body as ErrorBody;
        p.reject(new RpcError('REMOTE', `${formatAddress(sender)} refused: ${e.message} (code ${e.code})`, e.code));
      } else {
        p.resolve({ spec: envelope.spec, body: envelope.body, from: sender });
      }
      return;
    }
    if (this.limiter && !this.limiter.take(sourceKey(sender.host))) {
      this.counters.rateLimited++;
      return;
    }
    const handler = this.handlers.get(envelope.type);
    if (!handler) {
      this.counters.droppedUnexpected++;
      return;
    }
    this.counters.requestsHandled++;
    if (readOnlyRequest) this.counters.readOnlyRequests++;
    else this.emitContact(sender, 'request');
    let reply: Reply | undefined | Promise<Reply | undefined>;
    try {
      reply = handler(envelope.body, sender, envelope);
    } catch {
      // A handler that throws stays silent, like one that returns undefined; counted.
      this.counters.handlerErrors++;
      return;
    }
    Promise.resolve(reply).then(
      (r) => {
        if (r && !this.closed) this.send(r.spec, envelope.txid, r.body, sender);
      },
      () => {
        this.counters.handlerErrors++;
      },
    );
  }

  private emitContact(contact: Contact, kind: 'request' | 'response'): void {
    for (const l of this.contactListeners) {
      try {
        l(contact, kind);
      } catch {
        // One listener's fault must not keep the datagram from the others or the handler; counted.
        this.counters.handlerErrors++;
      }
    }
  }

  private emitObserved(observed: Address, reporter: Contact): void {
    for (const l of this.observedListeners) {
      try {
        l(observed, reporter);
      } catch {
        this.counters.handlerErrors++;
      }
    }
  }

  stats(): RpcStats {
    return { ...this.counters, requestsInFlight: this.outstanding.size, requestsQueued: this.queue.size };
  }

  /** Fails every outstanding request with CLOSED and closes the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Queued requests run, see `closed` and reject at once; outstanding ones fail here.
    this.outstanding.close();
    await this.transport.close();
  }
}
