import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ChildFailure, ChildFault, IsolatedProcess } from '../../src/common/isolated-process.js';
import { repoRoot } from '../helpers/paths.js';

const entry = new URL('./fault-child.js', import.meta.url);
const noCalls = async () => {
  throw new Error('no call expected');
};
const started: IsolatedProcess[] = [];
function isolated(options: { heapMb?: number; stallMs?: number } = {}): IsolatedProcess {
  const child = new IsolatedProcess({ entry, heapMb: options.heapMb ?? 128, stallMs: options.stallMs ?? 10_000 });
  started.push(child);
  return child;
}
afterAll(async () => {
  await Promise.all(started.map((child) => child.close()));
});

async function timed<T>(work: Promise<T>): Promise<{ error: unknown; ms: number }> {
  const start = Date.now();
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, ms: Date.now() - start };
}

describe('IsolatedProcess', () => {
  it("answers requests, typed arrays and bigints intact, and serves the child's calls", async () => {
    const child = isolated();
    const value = { bytes: new Uint8Array([1, 2, 3]), count: 5n };
    expect(await child.request('echo', value, noCalls)).toEqual(value);
    expect(await child.request('double', 21, async (call, args) => (call === 'fetch' ? args : undefined))).toBe(42);
  });

  it("passes on the child's verdict, and a library's text apart from ours", async () => {
    const child = isolated();
    const refused = await child.request('refuse', null, noCalls).catch((error: unknown) => error);
    expect(refused).toEqual(new ChildFailure('the input declares -1 items', undefined));
    const wrapped = (await child.request('wrap', null, noCalls).catch((error: unknown) => error)) as ChildFailure;
    expect(wrapped.verdict).toBe('its header is malformed');
    expect(wrapped.library).toMatch(/^TypeError: Cannot read properties of undefined/);
  });

  it("passes on an error of the parent's own call as it is", async () => {
    const child = isolated();
    const failure = new Error('network down');
    await expect(child.request('double', 1, async () => Promise.reject(failure))).rejects.toBe(failure);
    expect(await child.request('echo', 'again', noCalls)).toBe('again');
  });

  it('kills a child that makes no progress within the bound, then starts a fresh one', async () => {
    const child = isolated({ stallMs: 1000 });
    await child.request('echo', 'warm', noCalls);
    const { error, ms } = await timed(child.request('spin', null, noCalls));
    expect(error).toBeInstanceOf(ChildFault);
    expect((error as ChildFault).fault).toBe('stalled');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(5000);
    expect(await child.request('echo', 'after', noCalls)).toBe('after');
  });

  it('lets work run past the bound while it reports progress', async () => {
    const child = isolated({ stallMs: 1500 });
    await child.request('echo', 'warm', noCalls);
    expect(await child.request('slowButMoving', 4500, noCalls)).toBe('done');
  });

  it('survives a child that exhausts its heap (a V8 fatal error there)', async () => {
    const child = isolated({ heapMb: 64 });
    const { error } = await timed(child.request('grow', null, noCalls));
    expect(error).toBeInstanceOf(ChildFault);
    expect((error as ChildFault).fault).toBe('out of memory');
    expect((error as ChildFault).detail).toMatch(/heap out of memory/);
  });

  it('survives a child that aborts', async () => {
    const { error } = await timed(isolated().request('abort', null, noCalls));
    expect((error as ChildFault).fault).toBe('crashed');
    expect((error as ChildFault).detail).toMatch(/^signal SIGABRT/);
  });

  it("stops a busy child at once when the request's signal aborts; a request without it starts a fresh one", async () => {
    const controller = new AbortController();
    const child = isolated({ stallMs: 60_000 });
    await child.request('echo', 'warm', noCalls, controller.signal);
    const pending = timed(child.request('spin', null, noCalls, controller.signal));
    setTimeout(() => controller.abort(new Error('stopped by the test')), 200);
    const { error, ms } = await pending;
    expect((error as Error).message).toBe('stopped by the test');
    expect(ms).toBeLessThan(2000);
    await expect(child.request('echo', 'later', noCalls, controller.signal)).rejects.toThrow('stopped by the test');
    expect(await child.request('echo', 'another user', noCalls)).toBe('another user');
  });

  it("leaves the child alone when a finished request's signal aborts", async () => {
    const controller = new AbortController();
    const child = isolated();
    expect(await child.request('echo', 'first user', noCalls, controller.signal)).toBe('first user');
    const second = child.request('slowButMoving', 600, noCalls);
    setTimeout(() => controller.abort(new Error('the first user stopped')), 100);
    expect(await second).toBe('done');
  });

  it('waits for the child to exit on close, even when nothing else holds the event loop', async () => {
    const script = await build({
      entryPoints: [fileURLToPath(new URL('./close-and-exit.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    // Run from the repository root, so that the script finds esbuild to bundle the child's sources.
    const run = spawnSync(process.execPath, ['--input-type=module', '-'], {
      cwd: repoRoot,
      input: script.outputFiles[0]!.text,
      env: { ...process.env, FAULT_CHILD: entry.href },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect({ status: run.status, stdout: run.stdout.trim() }).toEqual({ status: 0, stdout: 'closed' });
  });
});
