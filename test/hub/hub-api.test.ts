// The Hub's metadata calls (and one file answer) against a raw socket server answering exact bytes, as the fuzzer found
// them (fuzz target `hub`): every malformed answer ends in one clean QuantgateError line naming
// the request, never the library's own text, an uncaught exception or a hang.

import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { listCommitFiles, resolveCommit, type HubConnection } from '../../src/hub/hub-api.js';
import { downloadSnapshot } from '../../src/hub/snapshot.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { quantgateRejection } from '../helpers/rejection.js';

const REPO = { type: 'model' as const, id: 'org/tiny' };
const SHA = '7e41264e167b4d4ce9dea9e2ea33cc01f9b79795';
const STALL_MS = 300;
const REVISION_JSON = JSON.stringify({ _id: '7e41264e167b4d4ce9dea9e2', id: 'org/tiny', sha: SHA });
const LISTING_JSON = JSON.stringify([
  { type: 'file', oid: '2bca4099ca46ea25d5b5df22f3e99f26f1389ec5', size: 21, path: 'config.json' },
]);

/** An HTTP/1.1 200 answer with a chunked body of `json` in one chunk. */
const chunked = (json: string, extraHeaders = '') =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n${extraHeaders}transfer-encoding: chunked\r\n\r\n${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`;
const plain = (json: string) =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;

/** Answers each request, by its path, with the bytes `answer` gives (written at once, then closed), or runs them as a script. */
class RawHub {
  readonly requests: string[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<Socket>();

  constructor(answer: (path: string) => string | Buffer | ((socket: Socket) => Promise<void>)) {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      let head = '';
      const onData = (data: Buffer) => {
        head += data.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        this.requests.push(head);
        const reply = answer(head.split(' ')[1] ?? '');
        if (typeof reply === 'function') void reply(socket);
        else socket.end(reply);
      };
      socket.on('data', onData);
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  connection(): HubConnection {
    const hubUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return {
      hubUrl,
      token: undefined,
      policy: { attempts: 2, baseDelayMs: 1, stallTimeoutMs: STALL_MS },
      log: () => undefined,
      env: {},
    };
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let hub: RawHub | undefined;
async function serve(answer: ConstructorParameters<typeof RawHub>[0]): Promise<HubConnection> {
  hub = await new RawHub(answer).start();
  return hub.connection();
}
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});
afterAll(removeTempDirs);

/** Checks the one-line promise: no library text, no leaked internals. */
function expectCleanLine(message: string, what: RegExp): void {
  expect(message).toMatch(what);
  expect(message).not.toMatch(/undefined|NaN|\[object Object\]|[\r\n]/);
}

describe('Hub metadata answers', () => {
  test('a well-formed revision and listing are read, through a redirect, asking for identity encoding', async () => {
    const connection = await serve((path) =>
      path.includes('/org/old/')
        ? `HTTP/1.1 307 Temporary Redirect\r\nlocation: ${path.replace('/org/old/', '/org/tiny/')}\r\ncontent-length: 0\r\n\r\n`
        : path.includes('/revision/')
          ? chunked(REVISION_JSON)
          : plain(LISTING_JSON),
    );
    expect(await resolveCommit(connection, { type: 'model', id: 'org/old' }, 'main')).toBe(SHA);
    expect(await listCommitFiles(connection, REPO, SHA)).toEqual([
      { path: 'config.json', size: 21, blobName: '2bca4099ca46ea25d5b5df22f3e99f26f1389ec5' },
    ]);
    expect(hub!.requests[1]).toMatch(/^GET \/api\/models\/org\/tiny\/revision\/main/);
    expect(
      hub!.requests.every((request) => /\r\naccept-encoding: identity\r\n/i.test(request) && !/gzip/i.test(request)),
    ).toBe(true);
  });

  test('a revision answer without "sha" says so without echoing undefined', async () => {
    const connection = await serve(() => chunked(JSON.stringify({ id: 'org/tiny' })));
    const error = await quantgateRejection(resolveCommit(connection, REPO, 'main'));
    expectCleanLine(error.message, /^org\/tiny@main: the Hub did not answer with a 40-hex commit sha; check --hub-url/);
  });

  test('a listing file without a path, hash or size says so without echoing undefined', async () => {
    const connection = await serve(() => plain(JSON.stringify([{ type: 'file', size: 3 }])));
    expectCleanLine(
      (await quantgateRejection(listCommitFiles(connection, REPO, SHA))).message,
      /^org\/tiny@[0-9a-f]{40}: the Hub listing has a file without a path; check --hub-url/,
    );
    await hub!.close();
    const again = await serve(() => plain(JSON.stringify([{ type: 'file', path: 'a.json' }])));
    expectCleanLine(
      (await quantgateRejection(listCommitFiles(again, REPO, SHA))).message,
      /^org\/tiny@[0-9a-f]{40}: the Hub listing gives "a\.json" no valid hash and size; check --hub-url/,
    );
  });

  test.each([
    ['not JSON', 'HTTP/1.1 200 Ounked\r\n\r\n61ile', 'SyntaxError'],
    ['a JSON object, not a list', 'HTTP/1.1 200 \r\n\r\n{"pe":"t"}', 'TypeError'],
    ['a list of something else', plain('[1, null, "x"]'), 'TypeError'],
  ])(
    'a listing that is %s is one line naming the request, the library text kept as the cause',
    async (_, answer, library) => {
      const connection = await serve(() => answer);
      const error = await quantgateRejection(listCommitFiles(connection, REPO, SHA));
      expectCleanLine(
        error.message,
        /^org\/tiny@[0-9a-f]{40}: the Hub at http:\/\/127\.0\.0\.1:\d+ gave an answer quantgate cannot read; check --hub-url points at a Hugging Face Hub/,
      );
      // By name: jest's sandbox has its own SyntaxError and TypeError.
      expect((error.cause as Error).name).toBe(library);
    },
  );

  test.each([
    // The fuzzer's input: undici's parser threw an AssertionError outside any promise on it.
    [
      'a malformed last chunk',
      'HTTP/1.1 200 O\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n61\r\n' + LISTING_JSON + '\r\n0\r.000Z',
    ],
    [
      'a complete chunked answer with another answer after it',
      chunked(LISTING_JSON) + chunked('[]') + 'HTTP/1.1 200 OK\r\n\r\nmore',
    ],
    ['a chunked answer with bytes after its last chunk', chunked(LISTING_JSON).replace(/\r\n$/, '\r\ngarbage\r\n\r\n')],
  ])('%s ends in a clean result or error, never an uncaught exception', async (_, answer) => {
    const connection = await serve(() => answer);
    const result = await listCommitFiles(connection, REPO, SHA).then(
      (files) => files,
      (error: unknown) => error,
    );
    if (result instanceof Error) expectCleanLine(result.message, /^org\/tiny@[0-9a-f]{40}: /);
    else expect(result).toEqual([expect.objectContaining({ path: 'config.json' })]);
    // Anything thrown outside the promise would surface here, on the next turns of the event loop.
    await sleep(50);
  });

  test.each([
    [
      'cut short, then closed',
      (body: Buffer) => async (socket: Socket) => void socket.end(Buffer.concat([gzipHead(), body.subarray(0, 20)])),
    ],
    [
      'cut short, then silent',
      (body: Buffer) => async (socket: Socket) => {
        socket.write(Buffer.concat([gzipHead(), body.subarray(0, 20)]));
      },
    ],
    [
      'whole, from a server that ignores the identity encoding asked for',
      (body: Buffer) => async (socket: Socket) => void socket.end(Buffer.concat([gzipHead(), body])),
    ],
  ])('a gzip-encoded answer %s ends within the stall timeouts with a clean error', async (_, script) => {
    const connection = await serve(() => script(gzipSync(REVISION_JSON)));
    const started = Date.now();
    const error = await quantgateRejection(resolveCommit(connection, REPO, 'main'));
    expectCleanLine(error.message, /^org\/tiny@main: /);
    // Two tries, each at most one stall timeout, plus slack for a loaded machine.
    expect(Date.now() - started).toBeLessThan(2 * STALL_MS + 2000);
  });

  test('a file answered with 206 and no Content-Range is retried, then one line says what the server did', async () => {
    const connection = await serve((path) =>
      path.includes('/revision/')
        ? chunked(REVISION_JSON)
        : path.includes('/tree/')
          ? chunked(LISTING_JSON)
          : 'HTTP/1.1 206\r\n\r\n',
    );
    const error = await quantgateRejection(
      downloadSnapshot({
        repoId: REPO.id,
        hubUrl: connection.hubUrl,
        cacheDir: await makeTempDir(),
        env: {},
        retry: connection.policy,
      }),
    );
    expectCleanLine(
      error.message,
      /^org\/tiny@[0-9a-f]{40}: downloading config\.json failed 2 times, last: the server resumed at the wrong offset \(no Content-Range, wanted byte 0\); check the network/,
    );
  });
});

function gzipHead(): Buffer {
  return Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n\r\n', 'latin1');
}
