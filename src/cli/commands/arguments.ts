/**
 * Commander's argument parsers for option values: each turns a parse error into commander's
 * InvalidArgumentError, so a bad value is a usage error (exit 2) with one readable line.
 */
import { InvalidArgumentError } from 'commander';
import { parseScheme } from '../../erasure/layout.js';
import { parseUiAddress } from '../ui-address.js';
import { parseDuration, parseSize } from '../units.js';

/** Runs `parse`, reporting its error as a bad option value. */
function asArgument<A, T>(parse: (value: A) => T): (value: A) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** A size such as `10GiB` (units.ts), in bytes. */
export const size = asArgument(parseSize);

/** A duration such as `30s` (units.ts), in milliseconds. */
export const duration = asArgument(parseDuration);

/** `--ui [host:port]`: commander passes `true` when the option is given without a value. */
export const uiAddress = asArgument(parseUiAddress);

/** Commander's way to take an option more than once. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function wholeNumber(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${text}" is not a whole number`);
  return n;
}

/** `--erasure K/N`, checked here so a bad one is one readable usage line. */
export function schemeText(value: string): string {
  try {
    const { k, n } = parseScheme(value);
    return `${k}/${n}`;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}
