// Proxies: which one a URL goes through (the variables and NO_PROXY rules of curl and
// @actions/http-client), and that every kind of request of the project really goes through it:
// the Hub client (metadata through fetch, blobs through httpGet), httpGet's CONNECT tunnel for
// https, and dataset range reads. A local forward proxy counts what passes; the Hub is reached as
// `localhost` and its CDN as `127.0.0.1`, two names for the same machine, so NO_PROXY can tell
// them apart.

import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { openRandomAccess } from '../../src/datasets/random-access.js';
import { downloadSnapshot } from '../../src/hub/snapshot.js';
import { httpGet } from '../../src/net/http-get.js';
import { bypassesProxy, proxyFor } from '../../src/net/proxy.js';
import { TransientError } from '../../src/net/retry.js';
import { watchedFetch } from '../../src/net/fetch.js';
import { createGitHubClient } from '../../src/publish/github.js';
import { watchedGet } from '../../src/net/watched-get.js';
import { QuantgateError } from '../../src/common/errors.js';
import { FakeHub } from '../servers/fake-hub.js';
import { ForwardProxy } from '../servers/forward-proxy.js';
import { startRangeServer } from '../servers/range-server.js';
import { LocalServer, unreachableUrl } from '../servers/local-server.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { quantgateRejection } from '../helpers/rejection.js';

const FAST_RETRY = { attempts: 2, baseDelayMs: 5, stallTimeoutMs: 2000 };
const TLS = { cert: readFileSync(fixture('tls', 'cert.pem')), key: readFileSync(fixture('tls', 'key.pem')) };

describe('proxyFor', () => {
  const proxied = (url: string, env: NodeJS.ProcessEnv) => proxyFor(new URL(url), env)?.url.href;

  test('https URLs use https_proxy or HTTPS_PROXY, http URLs http_proxy or HTTP_PROXY, the lower-case name first', () => {
    const env = { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2', HTTP_PROXY: 'http://plain:3' };
    expect(proxyFor(new URL('https://huggingface.co/x'), env)).toEqual({
      url: new URL('http://lower:2'),
      variable: 'https_proxy',
    });
    expect(proxyFor(new URL('http://example.com/x'), env)).toEqual({
      url: new URL('http://plain:3'),
      variable: 'HTTP_PROXY',
    });
    expect(proxied('https://huggingface.co/', { HTTPS_PROXY: 'http://upper:1' })).toBe('http://upper:1/');
    // As in curl and @actions/http-client, an https URL does not fall back to HTTP_PROXY.
    expect(proxied('https://huggingface.co/', { HTTP_PROXY: 'http://plain:3' })).toBeUndefined();
    expect(proxied('https://huggingface.co/', {})).toBeUndefined();
    expect(proxied('https://huggingface.co/', { HTTPS_PROXY: '  ' })).toBeUndefined();
  });

  test('an address without a scheme means http://, and credentials are kept for the proxy but never shown', async () => {
    expect(proxied('https://huggingface.co/', { HTTPS_PROXY: 'proxy.corp:3128' })).toBe('http://proxy.corp:3128/');
    expect(proxied('https://huggingface.co/', { HTTPS_PROXY: 'http://me:s%40cret@proxy.corp:3128' })).toBe(
      'http://me:s%40cret@proxy.corp:3128/',
    );
    for (const value of ['socks5://proxy.corp:1080', 'http://', 'http://me:hunter2@[bad']) {
      const error = await quantgateRejection(
        Promise.resolve().then(() => proxyFor(new URL('https://huggingface.co/'), { HTTPS_PROXY: value })),
      );
      expect(error.message).toMatch(
        /^HTTPS_PROXY=".*" is not a proxy address quantgate can use; give an http:\/\/ or https:\/\/ proxy/,
      );
      expect(error.message).not.toContain('hunter2');
    }
  });

  test.each([
    ['*', 'https://huggingface.co/', true],
    ['huggingface.co', 'https://huggingface.co/', true],
    ['huggingface.co', 'https://cdn-lfs.huggingface.co/', true],
    ['.huggingface.co', 'https://huggingface.co/', true],
    ['.huggingface.co', 'https://cdn-lfs.huggingface.co/', true],
    ['*.huggingface.co', 'https://cdn-lfs.huggingface.co/', true],
    ['HuggingFace.CO', 'https://huggingface.co./', true],
    ['huggingface.co', 'https://nothuggingface.co/', false],
    ['face.co', 'https://huggingface.co/', false],
    ['example.com, huggingface.co', 'https://huggingface.co/', true],
    ['example.com huggingface.co', 'https://huggingface.co/', true],
    ['huggingface.co:443', 'https://huggingface.co/', true],
    ['huggingface.co:8443', 'https://huggingface.co/', false],
    ['huggingface.co:8443', 'https://huggingface.co:8443/', true],
    ['localhost', 'http://localhost:8080/', true],
    ['localhost', 'http://127.0.0.1:8080/', false],
    ['127.0.0.1', 'http://127.0.0.1:8080/', true],
    ['127.0.0.1', 'http://127.0.0.10/', false],
    ['10.0.0.0/8', 'http://10.1.2.3/', true],
    ['10.0.0.0/8', 'http://11.1.2.3/', false],
    ['10.0.0.0/8', 'http://ten.example/', false],
    ['::1', 'http://[::1]:8080/', true],
    ['[::1]:8080', 'http://[::1]:8080/', true],
    ['[::1]:8080', 'http://[::1]:9090/', false],
    ['fd00::/8', 'http://[fd12::5]/', true],
    ['', 'https://huggingface.co/', false],
  ])('NO_PROXY=%j for %s: bypassed %s', (list, url, bypassed) => {
    expect(bypassesProxy(new URL(url), { NO_PROXY: list })).toBe(bypassed);
    expect(
      proxied(url, { HTTPS_PROXY: 'http://proxy:1', HTTP_PROXY: 'http://proxy:1', no_proxy: list }) === undefined,
    ).toBe(bypassed);
  });

  test('no_proxy wins over NO_PROXY, and loopback addresses are proxied unless listed, as curl does', () => {
    expect(bypassesProxy(new URL('http://a.example/'), { no_proxy: 'a.example', NO_PROXY: 'b.example' })).toBe(true);
    expect(bypassesProxy(new URL('http://b.example/'), { no_proxy: 'a.example', NO_PROXY: 'b.example' })).toBe(false);
    expect(bypassesProxy(new URL('http://localhost/'), {})).toBe(false);
  });
});

describe('requests through a proxy', () => {
  let proxy: ForwardProxy;
  let hub: FakeHub;
  const REPO = 'kyutai/stt-tiny';
  const WEIGHTS = Buffer.alloc(300_000, 7);

  beforeEach(async () => {
    proxy = await ForwardProxy.start();
    hub = await FakeHub.start({ pageSize: 1 });
    hub.createRepo(REPO);
    await hub.commit(REPO, [
      { path: 'model.safetensors', content: WEIGHTS },
      { path: 'config.json', content: '{}' },
    ]);
  });
  afterEach(async () => {
    await Promise.all([proxy.close(), hub.close()]);
  });
  afterAll(removeTempDirs);

  const hubAt = (host: string) => hub.url.replace('127.0.0.1', host);
  const port = (url: string) => new URL(url).port;
  const download = async (env: NodeJS.ProcessEnv) =>
    downloadSnapshot({
      repoId: REPO,
      cacheDir: await makeTempDir(),
      hubUrl: hubAt('localhost'),
      env,
      retry: FAST_RETRY,
    });

  test('the Hub client sends its API calls, listing pages and blob downloads through HTTP_PROXY', async () => {
    const result = await download({ HTTP_PROXY: proxy.url() });
    expect(readFileSync(`${result.dir}/model.safetensors`).equals(WEIGHTS)).toBe(true);
    const targets = proxy.targets();
    // Everything the Hub and its CDN served came through the proxy, in absolute form.
    expect(targets).toHaveLength(hub.requests.length);
    expect(targets).toContain(`localhost:${port(hub.url)}`);
    expect(targets).toContain(`127.0.0.1:${port(hub.cdnUrl)}`);
    expect(proxy.requests.some((request) => request.path?.startsWith(`/api/models/${REPO}/revision/`))).toBe(true);
    expect(proxy.requests.some((request) => request.path?.startsWith('/cdn/'))).toBe(true);
  });

  test('hosts listed in NO_PROXY are reached directly, the others still through the proxy', async () => {
    await download({ HTTP_PROXY: proxy.url(), NO_PROXY: 'example.com,localhost' });
    expect(proxy.targets().some((target) => target.startsWith('localhost:'))).toBe(false);
    expect(proxy.targets()).toContain(`127.0.0.1:${port(hub.cdnUrl)}`);
    expect(hub.requests.some((request) => request.server === 'hub')).toBe(true);

    proxy.requests.splice(0);
    await download({ http_proxy: proxy.url(), no_proxy: `127.0.0.1:${port(hub.cdnUrl)}` });
    expect(proxy.targets()).not.toContain(`127.0.0.1:${port(hub.cdnUrl)}`);
    expect(proxy.targets()).toContain(`localhost:${port(hub.url)}`);

    proxy.requests.splice(0);
    await download({ HTTP_PROXY: proxy.url(), NO_PROXY: '*' });
    expect(proxy.requests).toEqual([]);
  });

  test('a proxy that wants a login gets it from the address, and one that refuses (407) is named in the error', async () => {
    const guarded = await ForwardProxy.start({ credentials: 'me:s3cret' });
    try {
      await download({ HTTP_PROXY: guarded.url('me:s3cret') });
      expect(guarded.targets().length).toBeGreaterThan(0);
      expect(
        guarded.requests.every(
          (request) => request.authorization === `Basic ${Buffer.from('me:s3cret').toString('base64')}`,
        ),
      ).toBe(true);

      const error = await quantgateRejection(download({ HTTP_PROXY: guarded.url('me:wrong') }));
      expect(error.message).toMatch(
        /^the proxy http:\/\/127\.0\.0\.1:\d+ \(HTTP_PROXY\) refused the connection to localhost:\d+ \(HTTP 407 Proxy Authentication Required\); put the proxy's user name and password in HTTP_PROXY/,
      );
      expect(error.message).toContain('or list localhost in NO_PROXY to connect directly');
      expect(error.message).not.toContain('wrong');

      // fetch's own CONNECT tunnel for https, refused before any TLS begins.
      const tunnel = await quantgateRejection(
        watchedFetch('https://localhost:8443/x', {}, { stallTimeoutMs: 2000, env: { HTTPS_PROXY: guarded.url() } }),
      );
      expect(tunnel.message).toMatch(
        /^the proxy http:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY\) refused the connection to localhost:8443 \(HTTP 407\); put the proxy's user name and password in HTTPS_PROXY/,
      );
      expect(guarded.requests.at(-1)).toMatchObject({ method: 'CONNECT', target: 'localhost:8443', refused: 407 });
    } finally {
      await guarded.close();
    }
  });

  test('httpGet asks a proxy for http URLs in absolute form; a 407 names the proxy', async () => {
    const guarded = await ForwardProxy.start({ credentials: 'me:s3cret' });
    try {
      const url = `${hub.url}/api/models/${REPO}/revision/main`;
      const response = await httpGet(url, {}, { stallTimeoutMs: 2000, env: { HTTP_PROXY: guarded.url('me:s3cret') } });
      expect(response.status).toBe(200);
      response.discard();
      expect(guarded.requests).toEqual([
        expect.objectContaining({
          method: 'GET',
          target: `127.0.0.1:${port(hub.url)}`,
          path: `/api/models/${REPO}/revision/main`,
        }),
      ]);
      const error = await quantgateRejection(
        httpGet(url, {}, { stallTimeoutMs: 2000, env: { HTTP_PROXY: guarded.url() } }),
      );
      expect(error.message).toMatch(
        /^the proxy http:\/\/127\.0\.0\.1:\d+ \(HTTP_PROXY\) refused the connection to 127\.0\.0\.1:\d+ \(HTTP 407 Proxy Authentication Required\)/,
      );
    } finally {
      await guarded.close();
    }
  });

  test('httpGet tunnels https through CONNECT and reads the body through it; a refused tunnel names the proxy', async () => {
    const body = Buffer.alloc(2_000_000, 3);
    const server = tls.createServer(TLS, (socket) => {
      socket.once('data', () =>
        socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`), body])),
      );
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `https://localhost:${(server.address() as AddressInfo).port}/blob`;
      const response = await httpGet(
        url,
        {},
        { stallTimeoutMs: 2000, ca: TLS.cert, env: { HTTPS_PROXY: proxy.url() } },
      );
      const chunks: Buffer[] = [];
      await response.readBody((bytes) => chunks.push(Buffer.from(bytes)));
      expect(Buffer.concat(chunks).equals(body)).toBe(true);
      expect(proxy.requests).toEqual([
        expect.objectContaining({ method: 'CONNECT', target: `localhost:${port(url)}` }),
      ]);

      const guarded = await ForwardProxy.start({ credentials: 'me:s3cret' });
      try {
        const error = await quantgateRejection(
          httpGet(url, {}, { stallTimeoutMs: 2000, ca: TLS.cert, env: { https_proxy: guarded.url('me:wrong') } }),
        );
        expect(error.message).toMatch(
          /^the proxy http:\/\/127\.0\.0\.1:\d+ \(https_proxy\) refused the connection to localhost:\d+ \(HTTP 407 Proxy Authentication Required\); put the proxy's user name and password in https_proxy/,
        );
      } finally {
        await guarded.close();
      }
      // NO_PROXY reaches the server directly.
      proxy.requests.splice(0);
      (
        await httpGet(
          url,
          {},
          { stallTimeoutMs: 2000, ca: TLS.cert, env: { HTTPS_PROXY: proxy.url(), NO_PROXY: 'localhost' } },
        )
      ).discard();
      expect(proxy.requests).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a proxy that cannot be reached is a transient failure that names it', async () => {
    const down = new URL(await unreachableUrl()).origin;
    const got = httpGet(`${hub.url}/x`, {}, { stallTimeoutMs: 2000, env: { HTTP_PROXY: down } });
    await expect(got).rejects.toThrow(TransientError);
    await expect(got).rejects.toThrow(
      `connect ECONNREFUSED ${down.slice('http://'.length)} (connecting to the proxy ${down} (HTTP_PROXY))`,
    );
    const fetched = watchedFetch(`${hub.url}/x`, {}, { stallTimeoutMs: 2000, env: { HTTP_PROXY: down } });
    await expect(fetched).rejects.toThrow(TransientError);
    await expect(fetched).rejects.toThrow(`(through the proxy ${down} (HTTP_PROXY))`);
  });

  test('dataset range reads go through the proxy unless NO_PROXY lists the host', async () => {
    const server = await startRangeServer({ files: { '/data.bin': fixture('tls', 'cert.pem') } });
    try {
      const expected = readFileSync(fixture('tls', 'cert.pem'));
      const file = await openRandomAccess(server.urlFor('/data.bin'), { env: { HTTP_PROXY: proxy.url() } });
      expect(Buffer.from(await file.slice(10, 50)).equals(expected.subarray(10, 50))).toBe(true);
      expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD', 'GET']);

      proxy.requests.splice(0);
      const direct = await openRandomAccess(server.urlFor('/data.bin'), {
        env: { HTTP_PROXY: proxy.url(), NO_PROXY: '127.0.0.1' },
      });
      expect(Buffer.from(await direct.slice(0, 5)).equals(expected.subarray(0, 5))).toBe(true);
      expect(proxy.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });

  test('package downloads (npm, NuGet) and the GitHub API go through the proxy too', async () => {
    const server = new LocalServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: request.url }));
    });
    await server.listen();
    try {
      const env = { HTTP_PROXY: proxy.url() };
      const readAll = async (body: AsyncIterable<Uint8Array>) => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of body) chunks.push(chunk);
        return Buffer.concat(chunks).toString();
      };
      const got = await watchedGet(`${server.origin}/pkg.tgz`, FAST_RETRY, readAll, {
        refused: (problem) => new QuantgateError(problem),
        env,
      });
      expect(got?.result).toBe('{"path":"/pkg.tgz"}');
      const client = createGitHubClient({ apiUrl: server.origin, env });
      const { data } = await client.request('GET /repos/{owner}/{repo}', { owner: 'o', repo: 'r' });
      expect(data).toEqual({ path: '/repos/o/r' });
      expect(proxy.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        'GET /pkg.tgz',
        'GET /repos/o/r',
      ]);
    } finally {
      await server.close();
    }
  });
});
