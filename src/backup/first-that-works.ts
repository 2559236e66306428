/**
 * "Try each until one works", written once: replicas, addresses, hosts of the root record.
 */

/**
 * The result of `attempt` on the first candidate for which it resolves, trying them in order
 * (an async iterable is read lazily, so later candidates cost nothing once one works). Null
 * when every attempt rejected. A rejection only means "try the next one": each is passed to
 * `onFailure` (to count or log it), and the caller hears null when none worked.
 */
export async function firstThatWorks<T, R>(
  candidates: Iterable<T> | AsyncIterable<T>,
  attempt: (candidate: T) => Promise<R>,
  onFailure: (error: unknown, candidate: T) => void = () => {},
): Promise<R | null> {
  for await (const candidate of candidates) {
    try {
      return await attempt(candidate);
    } catch (err) {
      onFailure(err, candidate);
    }
  }
  return null;
}
