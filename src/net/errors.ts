// What a failed request says about itself. fetch reports every network failure as "fetch failed"
// or "terminated" and keeps the socket's error (ECONNREFUSED, other side closed, …) one or two
// `cause` levels down; that innermost error is the one worth a user's reading.

import { describeError } from '../common/errors.js';

/** The innermost cause of `error`, described (`ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`). */
export function networkProblem(error: unknown): string {
  let inner = error;
  while (inner instanceof Error && inner.cause !== undefined && inner.cause !== null) inner = inner.cause;
  return describeError(inner);
}
