// Runs a parser of untrusted bytes in a child process, so that no fault in it takes quantgate
// down: a V8 fatal error (heap exhausted, "invalid size") ends only the child, a parser that stops
// making progress is killed by a watchdog, and an AbortSignal kills it at once. Worker threads
// with `resourceLimits` do not give this: on Node 20 a worker that reaches its heap limit can still
// abort the whole process while it is torn down (see docs/ROBUSTNESS.md).
//
// One request runs at a time; each may carry its own AbortSignal, so that one process can serve
// several users in turn. The protocol over the IPC channel (advanced serialization, so typed
// arrays, ArrayBuffers and bigints pass as they are):
//   parent → child  { id, method, params }                a request
//   child → parent  { id, result } | { id, failure }      its answer
//   child → parent  { id, callId, call, args }            a question for the parent (bytes of a file)
//   parent → child  { callId, result } | { callId, failure }
//   child → parent  { id, progress: true }                still moving; resets the watchdog
// A failure is { verdict, library }: `verdict` says in the project's words what is wrong (a
// QuantgateError's message, or the message of an Error that wraps a library's error as its cause);
// `library` is the library's own text, which belongs only in debug output.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QuantgateError, describeError } from './errors.js';

export interface IsolatedProcessOptions {
  /** The child's entry module: its compiled `.js`, or from the TypeScript sources its `.ts` twin. */
  entry: URL;
  /** The child's V8 heap limit. */
  heapMb: number;
  /** The watchdog: a request that reports no progress for this long is killed. */
  stallMs: number;
}

/** The child reported a failure: its verdict on the input, and any library text behind it. */
export class ChildFailure extends Error {
  override readonly name = 'ChildFailure';
  constructor(
    /** In the project's words; undefined when only a library's text explains it. */
    readonly verdict: string | undefined,
    /** A library's own message and stack, for debug output. */
    readonly library: string | undefined,
  ) {
    super(verdict ?? library ?? 'failed');
  }
}

/** The child was stopped, or died, before it answered. */
export class ChildFault extends Error {
  override readonly name = 'ChildFault';
  constructor(
    readonly fault: 'stalled' | 'out of memory' | 'crashed',
    /** How it ended (exit code or signal) and the tail of its stderr, for debug output. */
    readonly detail: string,
  ) {
    super(`${fault}: ${detail}`);
  }
}

type CallHandler = (call: string, args: unknown) => Promise<unknown>;

interface Pending {
  id: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  onCall: CallHandler;
}

const STDERR_KEPT = 16 * 1024;

export class IsolatedProcess {
  private child: ChildProcess | undefined;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private watchdog: NodeJS.Timeout | undefined;
  private stderr = '';
  private readonly killAtExit = () => this.child?.kill('SIGKILL');

  constructor(private readonly options: IsolatedProcessOptions) {}

  /**
   * Sends one request (after any earlier one ends) and answers the child's calls with `onCall`.
   * Aborting `signal` kills the child while this request runs; a later request starts a fresh one.
   * Rejects with ChildFailure, ChildFault, the signal's reason, or what `onCall` threw.
   */
  request<T>(method: string, params: unknown, onCall: CallHandler, signal?: AbortSignal): Promise<T> {
    const run = this.queue.then(() => this.send(method, params, onCall, signal));
    this.queue = run.catch(() => undefined);
    return run as Promise<T>;
  }

  /** Ends the child; a later request starts a fresh one. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.discard(child);
    if (child.exitCode === null && child.signalCode === null) {
      // Waiting for the exit must hold the event loop, which the idle child no longer does.
      child.ref();
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  }

  private async send(method: string, params: unknown, onCall: CallHandler, signal?: AbortSignal): Promise<unknown> {
    signal?.throwIfAborted();
    const child = this.child ?? (await this.start(signal));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const onAbort = () => this.fail(child, signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (action: () => void) => {
        signal?.removeEventListener('abort', onAbort);
        this.disarm();
        this.pending = undefined;
        action();
      };
      this.pending = {
        id,
        resolve: (value) => settle(() => resolve(value)),
        reject: (error) => settle(() => reject(error)),
        onCall,
      };
      this.arm(child);
      child.send({ id, method, params });
    });
  }

  private async start(signal?: AbortSignal): Promise<ChildProcess> {
    const script = await childScript(this.options.entry);
    signal?.throwIfAborted();
    const args = [
      `--max-old-space-size=${this.options.heapMb}`,
      ...('path' in script ? [script.path] : ['--input-type=module', '-']),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ['source' in script ? 'pipe' : 'ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    if ('source' in script) child.stdin!.end(script.source);
    this.child = child;
    this.stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_KEPT);
    });
    child.on('message', (message: ChildMessage) => this.receive(child, message));
    child.on('exit', (code, signal) => this.exited(child, code, signal));
    child.on('error', (error) =>
      this.fail(child, new ChildFault('crashed', `could not start: ${describeError(error)}`)),
    );
    // An idle child must not keep quantgate alive; a pending request holds the watchdog timer.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    (child.stderr as { unref?: () => void }).unref?.();
    process.on('exit', this.killAtExit);
    return child;
  }

  private receive(child: ChildProcess, message: ChildMessage): void {
    const pending = this.pending;
    if (child !== this.child || !pending || message.id !== pending.id) return;
    if ('callId' in message) {
      // The parent's own work (reading bytes, perhaps over the network) is not the child's stall.
      this.disarm();
      pending.onCall(message.call, message.args).then(
        (result) => {
          if (this.pending !== pending) return;
          this.arm(child);
          child.send({ callId: message.callId, result });
        },
        (error: unknown) => {
          if (this.pending !== pending) return;
          // What the parent could not do fails the request as it is, not as the child reports it.
          this.fail(child, error);
        },
      );
    } else if ('progress' in message) {
      this.arm(child);
    } else if ('failure' in message) {
      pending.reject(new ChildFailure(message.failure.verdict, message.failure.library));
    } else {
      pending.resolve(message.result);
    }
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const outOfMemory = /out of memory|invalid size error|invalid array length|allocation failed/i.test(this.stderr);
    this.fail(
      child,
      new ChildFault(
        outOfMemory ? 'out of memory' : 'crashed',
        `${how}${this.stderr ? `; stderr: ${this.stderr.trim()}` : ''}`,
      ),
    );
  }

  /** Kills the child and rejects the pending request with `error`. */
  private fail(child: ChildProcess, error: unknown): void {
    if (child !== this.child) return;
    const pending = this.pending;
    this.discard(child);
    child.kill('SIGKILL');
    pending?.reject(error);
  }

  private discard(child: ChildProcess): void {
    this.disarm();
    this.child = undefined;
    process.off('exit', this.killAtExit);
    child.removeAllListeners('message');
  }

  private arm(child: ChildProcess): void {
    this.disarm();
    this.watchdog = setTimeout(() => {
      this.fail(child, new ChildFault('stalled', `no progress for ${this.options.stallMs} ms`));
    }, this.options.stallMs);
  }

  private disarm(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }
}

type ChildMessage =
  | { id: number; result: unknown }
  | { id: number; failure: { verdict?: string; library?: string } }
  | { id: number; callId: number; call: string; args: unknown }
  | { id: number; progress: true };

/** What the child's handlers may ask of the parent while they work. */
export interface ChildContext {
  call(call: string, args: unknown): Promise<unknown>;
  /** Tells the parent's watchdog the work is moving; cheap to call often. */
  progress(): void;
}

const PROGRESS_INTERVAL_MS = 100;

/** The child's side: serves requests with `handlers` until the parent goes away. */
export function serveParent(
  handlers: Record<string, (params: never, context: ChildContext) => Promise<unknown>>,
): void {
  const send = (message: unknown) => process.send!(message);
  const calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  let nextCallId = 1;
  process.on('disconnect', () => process.exit(0));
  process.on(
    'message',
    (
      message: { id: number; method: string; params: never } | { callId: number; result?: unknown; failure?: string },
    ) => {
      if ('callId' in message) {
        const call = calls.get(message.callId);
        calls.delete(message.callId);
        if (message.failure !== undefined) call?.reject(new Error(message.failure));
        else call?.resolve(message.result);
        return;
      }
      const { id, method, params } = message;
      let lastProgress = 0;
      const context: ChildContext = {
        call: (call, args) =>
          new Promise((resolve, reject) => {
            const callId = nextCallId++;
            calls.set(callId, { resolve, reject });
            send({ id, callId, call, args });
          }),
        progress() {
          const now = Date.now();
          if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
          lastProgress = now;
          send({ id, progress: true });
        },
      };
      const handler = handlers[method];
      (handler ? handler(params, context) : Promise.reject(new Error(`no handler for ${method}`))).then(
        (result) => send({ id, result }),
        (error: unknown) => send({ id, failure: describeFailure(error) }),
      );
    },
  );
}

function describeFailure(error: unknown): { verdict?: string; library?: string } {
  const library = (value: unknown) => (value instanceof Error ? (value.stack ?? value.message) : String(value));
  if (error instanceof QuantgateError) return { verdict: error.message };
  if (error instanceof Error && error.cause !== undefined)
    return { verdict: error.message, library: library(error.cause) };
  return { library: library(error) };
}

type ChildScript = { path: string } | { source: string };
const bundled = new Map<string, Promise<string>>();

/**
 * The compiled entry beside this module (lib/, the bench build, the action bundle) runs as it is.
 * Run from the TypeScript sources (the tests), the entry is bundled with esbuild, a development
 * dependency, and fed to the child on stdin.
 */
async function childScript(entry: URL): Promise<ChildScript> {
  const path = fileURLToPath(entry);
  if (existsSync(path)) return { path };
  const source = path.replace(/\.js$/, '.ts');
  if (!existsSync(source)) throw new QuantgateError(`${path} is missing; reinstall quantgate`);
  if (!bundled.has(source)) bundled.set(source, bundleSource(source));
  return { source: await bundled.get(source)! };
}

async function bundleSource(path: string): Promise<string> {
  // A computed name keeps esbuild from bundling itself into the action.
  const compiler = 'esbuild';
  const esbuild = (await import(compiler)) as typeof import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
