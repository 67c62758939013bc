// fetch for the requests of the project that do not go through httpGet (dataset ranges, npm and
// NuGet packages, the GitHub API; blob transfers and Hub metadata use httpGet): undici's fetch
// with a dispatcher that sends each hop, redirects included, through the proxy `proxyFor` names
// for its URL (plain http in absolute form, https through a CONNECT tunnel) or straight to the
// server. `watchedFetch` adds the retry policy's rules for one try: a stall watchdog, transient
// answers and network failures as TransientErrors, and a refusing proxy as a QuantgateError that
// names it.

import type { Dispatcher, Pool, ProxyAgent } from 'undici';
import { QuantgateError } from '../common/errors.js';
import { networkProblem } from './errors.js';
import { proxyFor, proxyLabel, proxyRefusal, type Proxy } from './proxy.js';
import { isTransientStatus, stallWatchdog, TransientError } from './retry.js';

type Undici = typeof import('undici');

/** undici with the dispatchers built on it, loaded on the first request: a run that sends none (its results reused) does not pay for loading it. */
interface Transport {
  fetch: Undici['fetch'];
  /** Picks, for each request undici sends (each redirect hop too), the proxy or direct connection its origin wants. */
  router(env: NodeJS.ProcessEnv): Dispatcher;
}

let transport: Promise<Transport> | undefined;

function loadTransport(): Promise<Transport> {
  transport ??= import('undici').then((undici) => {
    const direct = new undici.Agent();
    const proxyAgents = new Map<string, ProxyAgent>();
    const agentFor = (proxy: Proxy): ProxyAgent => {
      let agent = proxyAgents.get(proxy.url.href);
      if (agent === undefined) {
        // proxyTunnel: false sends plain-http requests to the proxy in absolute form, as curl does.
        agent = new undici.ProxyAgent({
          uri: proxy.url.href,
          proxyTunnel: false,
          clientFactory: (origin, options) => judgingTunnels(new undici.Pool(origin, options), proxy),
        });
        proxyAgents.set(proxy.url.href, agent);
      }
      return agent;
    };
    class ProxyRouter extends undici.Dispatcher {
      constructor(private readonly env: NodeJS.ProcessEnv) {
        super();
      }

      override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
        const proxy = proxyFor(new URL(String(options.origin)), this.env);
        return (proxy ? agentFor(proxy) : direct).dispatch(options, handler);
      }
    }
    return { fetch: undici.fetch, router: (env) => new ProxyRouter(env) };
  });
  return transport;
}

/**
 * Makes the proxy's refusal of a CONNECT tunnel an error of ours: undici reports it with a message
 * only, and may report a later error in its place.
 */
function judgingTunnels(pool: Pool, proxy: Proxy): Pool {
  const connect = pool.connect.bind(pool) as (options: Dispatcher.ConnectOptions) => Promise<Dispatcher.ConnectData>;
  const judged = async (options: Dispatcher.ConnectOptions): Promise<Dispatcher.ConnectData> => {
    const answer = await connect(options);
    if (answer.statusCode === 200) return answer;
    answer.socket.destroy();
    const target = new URL(`https://${options.path}`);
    if (isTransientStatus(answer.statusCode))
      throw new TransientError(
        `${proxyLabel(proxy)} could not open a tunnel to ${target.host} (HTTP ${answer.statusCode})`,
      );
    throw proxyRefusal(proxy, target, answer.statusCode);
  };
  pool.connect = judged as Pool['connect'];
  return pool;
}

/**
 * fetch through the proxy the environment names for `url`. A proxy's refusal (407, 403) is a
 * QuantgateError naming the proxy; a failure to reach or pass the proxy is a TransientError naming
 * it; other failures are fetch's own.
 */
export async function proxiedFetch(
  url: string,
  init: RequestInit = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Response> {
  const target = new URL(url);
  const proxy = proxyFor(target, env);
  try {
    const { fetch, router } = await loadTransport();
    return (await fetch(url, { ...init, dispatcher: router(env) } as Parameters<
      Undici['fetch']
    >[1])) as unknown as Response;
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw failure(proxy, target, error);
  }
}

/** The error for a failed request: ours when the proxy refused it (on any hop), else fetch's, naming the proxy of the first hop. */
function failure(proxy: Proxy | undefined, target: URL, error: unknown): unknown {
  for (let inner = error; typeof inner === 'object' && inner !== null; inner = (inner as { cause?: unknown }).cause) {
    if (inner instanceof QuantgateError || inner instanceof TransientError) return inner;
  }
  if (proxy === undefined) return error;
  const problem = networkProblem(error);
  // A plain-http request refused by the proxy: undici says so in its message only.
  if (/Proxy Authentication Required \(407\)/.test(problem)) return proxyRefusal(proxy, target, 407);
  return new TransientError(`${problem} (through ${proxyLabel(proxy)})`, { cause: error });
}

export interface WatchedFetchOptions {
  /** The try fails when no byte arrives for this long, before the answer or during the body. */
  stallTimeoutMs: number;
  /** Where the proxy variables are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Ends the request; the rejection is then the signal's reason. */
  signal?: AbortSignal;
}

/** An answer whose body is still to be read, under the stall watchdog; read it, or cancel it. */
export interface WatchedResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The body, piece by piece; its failures are TransientErrors. */
  readonly body: AsyncIterable<Uint8Array>;
  bytes(): Promise<Uint8Array>;
  cancel(): Promise<void>;
}

/**
 * One try of a request: resolves with any answer that is not transient (the caller judges 4xx),
 * and rejects with a TransientError on a network failure, a stall or a 408/429/5xx answer.
 */
export async function watchedFetch(
  url: string,
  init: RequestInit,
  options: WatchedFetchOptions,
): Promise<WatchedResponse> {
  const controller = new AbortController();
  const watchdog = stallWatchdog(options.stallTimeoutMs, (error) => controller.abort(error));
  const onAbort = () => controller.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const finish = () => {
    watchdog.stop();
    options.signal?.removeEventListener('abort', onAbort);
  };
  const tryFailure = (error: unknown): unknown => {
    if (options.signal?.aborted) return options.signal.reason;
    if (controller.signal.reason instanceof TransientError) return controller.signal.reason;
    if (error instanceof TransientError || error instanceof QuantgateError) return error;
    return new TransientError(networkProblem(error), { cause: error });
  };
  options.signal?.throwIfAborted();

  let response: Response;
  try {
    response = await proxiedFetch(url, { ...init, signal: controller.signal }, options.env);
  } catch (error) {
    finish();
    throw tryFailure(error);
  }
  if (isTransientStatus(response.status)) {
    finish();
    await response.body?.cancel().catch(() => undefined);
    throw new TransientError(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  const source = response.body as unknown as AsyncIterable<Uint8Array> | null;
  if (source === null) finish();
  // Each read races the abort: undici does not always end a body it is decompressing when the
  // request is aborted (a gzip answer cut short hung past the stall timeout), so the watchdog and
  // the caller's signal end the read themselves.
  const aborted = new Promise<never>((_, reject) => {
    const onEnd = () => reject(controller.signal.reason);
    if (controller.signal.aborted) onEnd();
    else controller.signal.addEventListener('abort', onEnd, { once: true });
  });
  aborted.catch(() => undefined);
  async function* body(): AsyncGenerator<Uint8Array> {
    const chunks = source?.[Symbol.asyncIterator]();
    let ended = chunks === undefined;
    try {
      while (chunks) {
        const next = await Promise.race([chunks.next(), aborted]);
        if (next.done) {
          ended = true;
          return;
        }
        watchdog.touch();
        yield next.value;
      }
    } catch (error) {
      throw tryFailure(error);
    } finally {
      finish();
      // Left early (a failure, a stall, or a caller that stopped reading): the stream is cancelled
      // as a for-await loop would, without waiting on a read that may never end.
      if (!ended) void chunks?.return?.().catch(() => undefined);
    }
  }
  const pieces = body();
  return {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    body: pieces,
    async bytes() {
      const chunks: Uint8Array[] = [];
      for await (const chunk of pieces) chunks.push(chunk);
      return Buffer.concat(chunks);
    },
    async cancel() {
      finish();
      await response.body?.cancel().catch(() => undefined);
    },
  };
}
