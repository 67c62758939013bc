// Asynchronous work over a list with a cap on how much of it is in flight at once.

/**
 * Calls `work` on every item, at most `limit` at a time, starting them in list order. After the
 * first failure no new item starts; the calls in flight are awaited, then that failure is thrown.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
}

/**
 * Yields what `source` yields, asking it for the next item as soon as one is handed out, so that
 * producing the next item (reading and decoding audio) overlaps the consumer's work on this one
 * (inference, which runs on onnxruntime's threads). One item is held ahead at most.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let ahead = iterator.next();
  let done = false;
  try {
    while (true) {
      const result = await ahead;
      if (result.done) {
        done = true;
        return;
      }
      ahead = iterator.next();
      // A consumer that stops early never awaits this one; its failure is then not the run's.
      ahead.catch(() => undefined);
      yield result.value;
    }
  } finally {
    if (!done) await iterator.return?.();
  }
}

/**
 * `work` on each item of `source`, at most `limit` at a time, yielding the results in the source's
 * order: for many small reads (an utterance's file each) whose latency, not their bytes, is the cost.
 * A failure is thrown where its item's result would be yielded; the calls still in flight are left
 * to settle, unobserved.
 */
export async function* mapAhead<T, U>(
  source: AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<U>,
): AsyncGenerator<U> {
  const pending: Promise<U>[] = [];
  try {
    for await (const item of source) {
      const result = work(item);
      result.catch(() => undefined);
      pending.push(result);
      if (pending.length >= limit) yield await pending.shift()!;
    }
    while (pending.length > 0) yield await pending.shift()!;
  } finally {
    pending.length = 0;
  }
}
