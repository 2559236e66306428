/**
 * Our side of shard transfers as an owner: upload a shard to the host of one of our pending
 * contracts (the contract becomes active), download it back, and audit the host. The host's
 * address is the one the contract last saw it at.
 */
import type { Readable } from 'node:stream';
import type { Clock } from '../util/clock.js';
import { type Address, parseAddress } from '../net/address.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';
import type { ContractStore, StoredContract } from '../contracts/store.js';
import { type AuditOutcome, TRANSFER_CLIENT_DEFAULTS, TransferClient, type TransferClientOptions, type ShardTarget } from '../transfer/client.js';
import type { TrafficTotals } from '../transfer/socket-meter.js';
import type { ReceiveOptions } from '../transfer/verified-receive.js';
import type { SlotSink } from '../storage/parallel-hasher.js';
import type { ShardDigest } from '../storage/merkle.js';

export class OwnerTransfers {
  private readonly client: TransferClient;

  constructor(
    signing: SigningKeyPair,
    private readonly store: Pick<ContractStore, 'transition'>,
    private readonly clock: Clock,
    /** How to open a stream to a host (wiring.ts: punched for a host behind a NAT); default plain TCP. */
    connect?: TransferClientOptions['connect'],
  ) {
    this.client = new TransferClient(signing, { ...TRANSFER_CLIENT_DEFAULTS, ...(connect ? { connect } : {}) });
  }

  /** Bytes sent to and received from hosts so far (src/transfer/socket-meter.ts). */
  traffic(): TrafficTotals {
    return this.client.meter.totals();
  }

  /** Uploads the shard of one of our pending contracts to its host, from a file or a stream. */
  async upload(contract: StoredContract, source: string | (() => Readable)): Promise<void> {
    await this.client.put(hostAddress(contract), contract.contract, typeof source === 'string' ? source : source());
    if (!this.store.transition(contract.contract.id, ['pending'], 'active', this.clock.now())) {
      throw new Error('the contract lapsed or was cancelled while uploading');
    }
  }

  /** Downloads the shard of one of our contracts; the stream errors at its end if it does not verify. */
  fetch(contract: StoredContract): Promise<Readable> {
    return this.client.get(hostAddress(contract), contract.contract);
  }

  /** Downloads a shard from the host at `address` into a new file, verified; no file is left if it does not verify. */
  fetchToFile(address: Address, target: ShardTarget, file: string, options: { direct?: boolean } = {}): Promise<void> {
    return this.client.getFile(address, target, file, options);
  }

  /** Downloads a shard (a piece) from the host at `address` into `sink`, verified as it streams; resolves with its digest. */
  fetchInto(address: Address, target: ShardTarget, sink: SlotSink, options: ReceiveOptions = {}): Promise<ShardDigest> {
    return this.client.getInto(address, target, sink, options);
  }

  /** Audits the host of one of our contracts with `samples` fresh random leaves (at least 1). */
  audit(contract: StoredContract, samples: number): Promise<AuditOutcome> {
    return this.client.audit(hostAddress(contract), contract.contract, Math.max(1, samples));
  }
}

function hostAddress(contract: StoredContract): Address {
  if (!contract.counterpartAddress) throw new Error('no known address for this contract\'s host');
  return parseAddress(contract.counterpartAddress);
}
