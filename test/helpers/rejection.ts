// For tests of failures: the QuantgateError a promise rejects with, failing the test when it
// resolves instead or rejects with any other error (which would reach the user as a bug report).

import { QuantgateError } from '../../src/common/errors.js';

export async function quantgateRejection(promise: Promise<unknown>): Promise<QuantgateError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(QuantgateError);
  return error as QuantgateError;
}
