import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { startRangeServer, type RangeServer } from './range-server.js';

const content = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
let dir: string;
const servers: RangeServer[] = [];
const start = async (options: Parameters<typeof startRangeServer>[0]) => {
  const server = await startRangeServer(options);
  servers.push(server);
  return server;
};

beforeAll(async () => {
  dir = await makeTempDir();
  await writeFile(join(dir, 'data.bin'), content);
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await removeTempDirs();
});

const body = async (response: Response) => Buffer.from(await response.arrayBuffer());

describe('range server', () => {
  it('serves a folder, whole files and single ranges, and logs requests and bytes', async () => {
    const server = await start({ root: dir });
    const whole = await fetch(server.urlFor('/data.bin'));
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(await body(whole)).toEqual(content);

    const part = await fetch(server.urlFor('data.bin'), { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(await body(part)).toEqual(content.subarray(10, 20));

    expect(await body(await fetch(server.urlFor('/data.bin'), { headers: { Range: 'bytes=990-' } }))).toEqual(
      content.subarray(990),
    );
    expect(await body(await fetch(server.urlFor('/data.bin'), { headers: { Range: 'bytes=-5' } }))).toEqual(
      content.subarray(995),
    );
    expect(await body(await fetch(server.urlFor('/data.bin'), { headers: { Range: 'bytes=900-5000' } }))).toEqual(
      content.subarray(900),
    );

    expect(server.requests.map(({ method, status, bytes }) => [method, status, bytes])).toEqual([
      ['GET', 200, 1000],
      ['GET', 206, 10],
      ['GET', 206, 10],
      ['GET', 206, 5],
      ['GET', 206, 100],
    ]);
    expect(server.requests[1]).toMatchObject({ path: '/data.bin', range: 'bytes=10-19' });
    expect(server.bytesSent()).toBe(1125);
    server.reset();
    expect(server.requests).toEqual([]);
  });

  it('answers HEAD with the size, 416 for unsatisfiable ranges, 404 outside what it serves', async () => {
    const server = await start({ files: { '/x/y.bin': join(dir, 'data.bin') } });
    const head = await fetch(server.urlFor('/x/y.bin'), { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('1000');
    expect(server.bytesSent()).toBe(0);
    const unsatisfiable = await fetch(server.urlFor('/x/y.bin'), { headers: { Range: 'bytes=1000-' } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe('bytes */1000');
    expect((await fetch(server.urlFor('/data.bin'))).status).toBe(404);
    expect((await fetch(server.urlFor('/x/../../etc/passwd'))).status).toBe(404);
  });

  it('ignores an invalid or multi-part range and serves the whole file', async () => {
    const server = await start({ root: dir });
    expect((await fetch(server.urlFor('/data.bin'), { headers: { Range: 'bytes=20-10' } })).status).toBe(200);
    expect((await fetch(server.urlFor('/data.bin'), { headers: { Range: 'bytes=0-1,5-6' } })).status).toBe(200);
  });

  it('sends ETags and honours If-None-Match and If-Range', async () => {
    const server = await start({ root: dir, etag: true });
    const etag = (await fetch(server.urlFor('/data.bin'), { method: 'HEAD' })).headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect((await fetch(server.urlFor('/data.bin'), { headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect(
      (await fetch(server.urlFor('/data.bin'), { headers: { Range: 'bytes=0-9', 'If-Range': etag } })).status,
    ).toBe(206);
    expect(
      (await fetch(server.urlFor('/data.bin'), { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } })).status,
    ).toBe(200);
  });

  it('can ignore ranges, or inject faults', async () => {
    const noRanges = await start({ root: dir, ranges: false });
    const response = await fetch(noRanges.urlFor('/data.bin'), { headers: { Range: 'bytes=0-9' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('accept-ranges')).toBeNull();
    expect((await body(response)).length).toBe(1000);

    let failures = 1;
    const flaky = await start({ root: dir, fault: () => (failures-- > 0 ? 503 : undefined) });
    expect((await fetch(flaky.urlFor('/data.bin'))).status).toBe(503);
    expect((await fetch(flaky.urlFor('/data.bin'))).status).toBe(200);
    expect(flaky.requests.map(({ status }) => status)).toEqual([503, 200]);

    const dropping = await start({ root: dir, fault: () => 'drop' });
    await expect(fetch(dropping.urlFor('/data.bin'))).rejects.toThrow('fetch failed');
    expect(dropping.requests).toHaveLength(1);
  });
});
