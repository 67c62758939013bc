import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import https from 'node:https';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet, type HttpGetResponse } from '../../src/net/http-get.js';
import { TransientError } from '../../src/net/retry.js';
import { unreachableUrl } from '../servers/local-server.js';
import { fixture } from '../helpers/paths.js';

const STALL_MS = 2000;
const TLS = { cert: readFileSync(fixture('tls', 'cert.pem')), key: readFileSync(fixture('tls', 'key.pem')) };

/** A server that reads the request head, records it, and answers with `script` on the raw socket. */
class RawServer {
  readonly requests: string[] = [];
  readonly closed: Promise<void>[] = [];
  private readonly server: net.Server;

  private constructor(script: (socket: Socket) => void | Promise<void>, secure: boolean) {
    const onSocket = (socket: Socket) => {
      this.closed.push(once(socket, 'close').then(() => undefined));
      socket.on('error', () => undefined);
      let head = '';
      const onData = (data: Buffer) => {
        head += data.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        this.requests.push(head);
        void script(socket);
      };
      socket.on('data', onData);
    };
    this.server = secure ? tls.createServer(TLS, onSocket) : net.createServer(onSocket);
  }

  static async start(
    script: (socket: Socket) => void | Promise<void>,
    options: { secure?: boolean } = {},
  ): Promise<RawServer> {
    const server = new RawServer(script, options.secure ?? false);
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  url(host = '127.0.0.1', path = '/file?x=1'): string {
    const scheme = this.server instanceof tls.Server ? 'https' : 'http';
    return `${scheme}://${host}:${(this.server.address() as AddressInfo).port}${path}`;
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Writes the parts one by one, each in its own packet. */
async function writeInParts(socket: Socket, parts: (string | Buffer)[]): Promise<void> {
  for (const part of parts) {
    socket.write(part);
    await sleep(5);
  }
}

async function bodyOf(response: HttpGetResponse, pieces: number[] = []): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await response.readBody((bytes) => {
    pieces.push(bytes.byteLength);
    chunks.push(Buffer.from(bytes));
  });
  return Buffer.concat(chunks);
}

const servers: RawServer[] = [];
async function serve(
  script: (socket: Socket) => void | Promise<void>,
  options: { secure?: boolean } = {},
): Promise<RawServer> {
  const server = await RawServer.start(script, options);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('httpGet', () => {
  test('sends one GET with the given headers and reads a content-length body that arrives in pieces', async () => {
    const body = Buffer.from('0123456789'.repeat(300_000));
    const server = await serve((socket) =>
      writeInParts(socket, [
        `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Linked: a\r\nx-linked: b\r\n\r\n`,
        body.subarray(0, 7),
        body.subarray(7),
      ]),
    );
    const response = await httpGet(
      server.url(),
      { authorization: 'Bearer t', range: 'bytes=0-' },
      { stallTimeoutMs: STALL_MS },
    );
    expect(response.status).toBe(200);
    expect(response.statusMessage).toBe('OK');
    expect(response.headers['content-length']).toBe(String(body.length));
    expect(response.headers['x-linked']).toBe('a, b');
    const pieces: number[] = [];
    expect((await bodyOf(response, pieces)).equals(body)).toBe(true);
    expect(pieces.length).toBeGreaterThan(1);
    const [request] = server.requests;
    expect(request).toMatch(/^GET \/file\?x=1 HTTP\/1\.1\r\n/);
    expect(request).toContain(`host: 127.0.0.1:${new URL(server.url()).port}\r\n`);
    expect(request).toContain('authorization: Bearer t\r\n');
    expect(request).toContain('range: bytes=0-\r\n');
    expect(request).toContain('connection: close\r\n');
    expect(request).toContain('accept-encoding: identity\r\n');
  });

  test('parses a head that arrives a few bytes at a time, with the body starting in the same packet as its end', async () => {
    const head = 'HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 5-9/10\r\ncontent-length: 5\r\n\r\n';
    const parts = [...head.slice(0, -3).match(/.{1,7}/gs)!, `${head.slice(-3)}ab`, 'cde'];
    const server = await serve((socket) => writeInParts(socket, parts));
    const response = await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    expect(response.status).toBe(206);
    expect(response.headers['content-range']).toBe('bytes 5-9/10');
    expect((await bodyOf(response)).toString()).toBe('abcde');
  });

  test('decodes a chunked body split anywhere, with chunk extensions and a trailer', async () => {
    const encoded =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=x\r\nhello\r\n1A\r\n' +
      'abcdefghijklmnopqrstuvwxyz' +
      '\r\n0\r\nx-checksum: 1\r\n\r\n';
    const server = await serve((socket) => writeInParts(socket, encoded.match(/.{1,4}/gs)!));
    const response = await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    expect((await bodyOf(response)).toString()).toBe('helloabcdefghijklmnopqrstuvwxyz');
  });

  test('reads a body without a length until the connection closes', async () => {
    const server = await serve(async (socket) => {
      await writeInParts(socket, ['HTTP/1.1 200 OK\r\n\r\nfirst ', 'second']);
      socket.end();
    });
    expect((await bodyOf(await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS }))).toString()).toBe(
      'first second',
    );
  });

  test('skips an interim 100 Continue answer', async () => {
    const server = await serve((socket) =>
      writeInParts(socket, ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok']),
    );
    const response = await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    expect(response.status).toBe(200);
    expect((await bodyOf(response)).toString()).toBe('ok');
  });

  test('a redirect answer can be discarded, which closes its connection', async () => {
    const server = await serve((socket) =>
      writeInParts(socket, [
        'HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\ncontent-length: 100000\r\n\r\n',
        'x'.repeat(10),
      ]),
    );
    const response = await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/elsewhere');
    response.discard();
    await Promise.all(server.closed);
    await expect(bodyOf(response)).rejects.toThrow('the body was discarded');
  });

  test('a 204 answer has an empty body', async () => {
    const server = await serve((socket) => writeInParts(socket, ['HTTP/1.1 204 No Content\r\n\r\n']));
    expect((await bodyOf(await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS }))).byteLength).toBe(0);
  });

  test('a connection that closes midway through the body fails transiently, after handing over what arrived', async () => {
    const server = await serve(async (socket) => {
      await writeInParts(socket, ['HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n', 'x'.repeat(40)]);
      socket.destroy();
    });
    const response = await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    let received = 0;
    const failure = response.readBody((bytes) => void (received += bytes.byteLength));
    await expect(failure).rejects.toThrow(new TransientError('the connection closed before the body ended'));
    expect(received).toBe(40);
  });

  test('a server that stops sending is cut off after the stall timeout, before or during the body', async () => {
    const silent = await serve(() => undefined);
    await expect(httpGet(silent.url(), {}, { stallTimeoutMs: 200 })).rejects.toThrow(
      new TransientError('no data for 0.2 s'),
    );
    const stalled = await serve((socket) => writeInParts(socket, ['HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nxx']));
    const response = await httpGet(stalled.url(), {}, { stallTimeoutMs: 200 });
    await expect(bodyOf(response)).rejects.toThrow(new TransientError('no data for 0.2 s'));
  });

  test('a refused connection fails transiently', async () => {
    const failure = httpGet(await unreachableUrl(), {}, { stallTimeoutMs: STALL_MS });
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
  });

  test.each([
    ['a non-HTTP answer', 'SSH-2.0-OpenSSH\r\n\r\n', /not HTTP\/1\.1 \(it starts "SSH-2\.0-OpenSSH"\)/],
    ['a malformed header line', 'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /malformed header line "no colon here"/],
    [
      'a malformed content-length',
      'HTTP/1.1 200 OK\r\ncontent-length: 12abc\r\n\r\n',
      /malformed content-length "12abc"/,
    ],
  ])('%s fails transiently, naming what was wrong', async (_, answer, message) => {
    const server = await serve((socket) => writeInParts(socket, [answer]));
    const failure = httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    await expect(failure).rejects.toBeInstanceOf(TransientError);
    await expect(failure).rejects.toThrow(message);
  });

  test('a malformed chunk size fails the body transiently', async () => {
    const server = await serve((socket) =>
      writeInParts(socket, ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n']),
    );
    const response = await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    await expect(bodyOf(response)).rejects.toThrow(
      new TransientError('the chunked body has a malformed size line "zz"'),
    );
  });

  test('an error thrown by the consumer ends the request and comes back unchanged', async () => {
    const server = await serve((socket) =>
      writeInParts(socket, ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345', '67890']),
    );
    const response = await httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    const diskFull = new Error('ENOSPC');
    await expect(
      response.readBody(() => {
        throw diskFull;
      }),
    ).rejects.toBe(diskFull);
    await Promise.all(server.closed);
  });

  test('refuses header values that would smuggle in lines of their own', async () => {
    const server = await serve(() => undefined);
    await expect(
      httpGet(server.url(), { authorization: 'Bearer t\r\nx-evil: 1' }, { stallTimeoutMs: STALL_MS }),
    ).rejects.toThrow(
      'the request header "authorization" has characters HTTP forbids; check the value given for it (a token with a stray line break?)',
    );
    expect(server.requests).toEqual([]);
  });

  test('refuses a URL that is neither http nor https', async () => {
    await expect(httpGet('ftp://mirror.example/file', {}, { stallTimeoutMs: STALL_MS })).rejects.toThrow(
      'cannot download ftp://mirror.example: only http: and https: URLs are supported; check --hub-url or HF_ENDPOINT',
    );
  });

  test('speaks TLS, checking the certificate against the name in the URL', async () => {
    const body = Buffer.alloc(200_000, 7);
    const server = await serve(
      (socket) => writeInParts(socket, [`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`, body]),
      { secure: true },
    );
    for (const host of ['127.0.0.1', 'localhost']) {
      const response = await httpGet(server.url(host), {}, { stallTimeoutMs: STALL_MS, ca: TLS.cert });
      expect((await bodyOf(response)).equals(body)).toBe(true);
    }
    const untrusted = httpGet(server.url(), {}, { stallTimeoutMs: STALL_MS });
    await expect(untrusted).rejects.toBeInstanceOf(TransientError);
    await expect(untrusted).rejects.toThrow(/self-signed certificate/);
  });

  test('reads what node:https serves, chunked or not', async () => {
    const server = https.createServer(TLS, (request, response) => {
      if (request.url === '/chunked') {
        response.write('one ');
        response.end('two');
      } else {
        response.end('plain');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `https://localhost:${(server.address() as AddressInfo).port}`;
    try {
      expect(
        (await bodyOf(await httpGet(`${origin}/chunked`, {}, { stallTimeoutMs: STALL_MS, ca: TLS.cert }))).toString(),
      ).toBe('one two');
      expect(
        (await bodyOf(await httpGet(`${origin}/plain`, {}, { stallTimeoutMs: STALL_MS, ca: TLS.cert }))).toString(),
      ).toBe('plain');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
