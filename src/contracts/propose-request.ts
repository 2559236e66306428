/**
 * Sends a CONTRACT_PROPOSE and, when the host asks us to prove our address first
 * (`ADDRESS_UNPROVEN` with a cookie, address-cookies.ts), sends the same proposal once more
 * with the cookie. The answer is the host's ACCEPT or REJECT either way.
 */
import type { Address } from '../net/address.js';
import type { RpcEndpoint } from '../rpc/rpc.js';
import { Accept, Propose, Reject } from './messages.js';
import { RejectReason } from './policy.js';

type ProposeBody = { terms: Uint8Array; ownerSignature: Uint8Array };

export async function sendProposal(rpc: Pick<RpcEndpoint, 'requestAny'>, to: Address, body: ProposeBody, options: { retries: number }) {
  const answer = await rpc.requestAny(to, Propose, body, [Accept, Reject], options);
  if (answer.spec !== Reject) return answer;
  const { reason, cookie } = answer.body as { reason: number; cookie?: Uint8Array };
  if (reason !== RejectReason.ADDRESS_UNPROVEN || !cookie) return answer;
  return rpc.requestAny(to, Propose, { ...body, cookie }, [Accept, Reject], options);
}
