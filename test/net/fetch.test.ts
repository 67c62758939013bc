// watchedFetch, one try of a request as the retry policy sees it: transient answers and stalls are
// TransientErrors, other answers are the caller's to judge, and a caller's abort ends the request
// at once with the abort's reason (httpGet too).

import { gzipSync } from 'node:zlib';
import { watchedFetch } from '../../src/net/fetch.js';
import { httpGet } from '../../src/net/http-get.js';
import { TransientError } from '../../src/net/retry.js';
import { LocalServer } from '../servers/local-server.js';

let server: LocalServer;
beforeEach(async () => {
  server = new LocalServer((request, response) => {
    if (request.url === '/hang') return;
    if (request.url === '/gzip-cut-short') {
      // Headers flushed, then a gzip body that stops midway: fetch decompresses it as it comes.
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.write(
        gzipSync(
          JSON.stringify({ sha: 'a'.repeat(40), files: Array.from({ length: 50 }, (_, i) => `file-${i}`) }),
        ).subarray(0, 40),
      );
      return;
    }
    if (request.url === '/slow-body') {
      response.writeHead(200, { 'content-length': '10' });
      response.write('12345');
      return;
    }
    const status = Number(request.url?.slice(1)) || 200;
    response.writeHead(status, { 'content-type': 'text/plain' }).end(`answer ${status}`);
  });
  await server.listen();
});
afterEach(() => server.close());

describe('watchedFetch', () => {
  test('a 2xx or 4xx answer is returned with its body; 408, 429 and 5xx are transient', async () => {
    const ok = await watchedFetch(`${server.origin}/200`, {}, { stallTimeoutMs: 2000, env: {} });
    expect(Buffer.from(await ok.bytes()).toString()).toBe('answer 200');
    const missing = await watchedFetch(`${server.origin}/404`, {}, { stallTimeoutMs: 2000, env: {} });
    expect(missing.status).toBe(404);
    await missing.cancel();
    for (const status of [408, 429, 500, 503]) {
      await expect(watchedFetch(`${server.origin}/${status}`, {}, { stallTimeoutMs: 2000, env: {} })).rejects.toThrow(
        TransientError,
      );
    }
  });

  test('no answer, or a body that stops, fails the try after the stall timeout', async () => {
    await expect(watchedFetch(`${server.origin}/hang`, {}, { stallTimeoutMs: 200, env: {} })).rejects.toThrow(
      new TransientError('no data for 0.2 s'),
    );
    const slow = await watchedFetch(`${server.origin}/slow-body`, {}, { stallTimeoutMs: 200, env: {} });
    await expect(slow.bytes()).rejects.toThrow(new TransientError('no data for 0.2 s'));
  });

  test('a gzip-encoded body that stops midway fails the try after the stall timeout, the decompression included', async () => {
    const started = Date.now();
    const cut = await watchedFetch(`${server.origin}/gzip-cut-short`, {}, { stallTimeoutMs: 200, env: {} });
    await expect(cut.bytes()).rejects.toThrow(new TransientError('no data for 0.2 s'));
    const iterated = await watchedFetch(`${server.origin}/gzip-cut-short`, {}, { stallTimeoutMs: 200, env: {} });
    await expect(
      (async () => {
        for await (const chunk of iterated.body) void chunk;
      })(),
    ).rejects.toThrow(TransientError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test("an abort ends the request at once with the abort's reason, before the answer or during the body", async () => {
    const reason = new Error('stopping: SIGTERM');
    const started = Date.now();
    await expect(
      watchedFetch(`${server.origin}/hang`, {}, { stallTimeoutMs: 30_000, env: {}, signal: AbortSignal.timeout(100) }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    const controller = new AbortController();
    const slow = await watchedFetch(
      `${server.origin}/slow-body`,
      {},
      { stallTimeoutMs: 30_000, env: {}, signal: controller.signal },
    );
    setTimeout(() => controller.abort(reason), 50);
    await expect(slow.bytes()).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('httpGet', () => {
  test("an abort ends the request with the abort's reason, before the answer or during the body", async () => {
    const reason = new Error('stopping: SIGTERM');
    const started = Date.now();
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 50);
    await expect(
      httpGet(`${server.origin}/hang`, {}, { stallTimeoutMs: 30_000, env: {}, signal: controller.signal }),
    ).rejects.toBe(reason);
    const during = new AbortController();
    const slow = await httpGet(
      `${server.origin}/slow-body`,
      {},
      { stallTimeoutMs: 30_000, env: {}, signal: during.signal },
    );
    setTimeout(() => during.abort(reason), 50);
    await expect(slow.readBody(() => undefined)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
