/** Errors of the web page's server: each refusal has a code callers and tests branch on, and an HTTP status. */

export type UiErrorCode =
  | 'NO_TOKEN'
  | 'BAD_TOKEN'
  | 'BAD_HOST'
  | 'CROSS_ORIGIN'
  | 'BAD_CSRF'
  | 'NOT_FOUND'
  | 'BAD_REQUEST'
  | 'TOO_MANY_STREAMS'
  | 'REMOTE_NOT_ALLOWED';

const STATUS: Record<UiErrorCode, number> = {
  NO_TOKEN: 401,
  BAD_TOKEN: 403,
  BAD_HOST: 421,
  CROSS_ORIGIN: 403,
  BAD_CSRF: 403,
  NOT_FOUND: 404,
  BAD_REQUEST: 400,
  TOO_MANY_STREAMS: 503,
  REMOTE_NOT_ALLOWED: 400,
};

export class UiError extends Error {
  readonly status: number;
  constructor(
    readonly code: UiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UiError';
    this.status = STATUS[code];
  }
}
