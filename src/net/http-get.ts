// One HTTP/1.1 GET whose body is read into a single reused buffer (the `onread` option of net and
// tls sockets) and handed to the caller synchronously. Blob transfers use it rather than node:http,
// which allocates a fresh 64 KiB Buffer for every socket read and passes it through two stream
// layers: on this project's 2-core machine that costs 0.9 core-seconds per GB received over
// loopback against 0.17 here, and 1.34 against 0.68 over TLS, which is most of the gap to curl.
// One request per connection (Connection: close) and identity encoding; redirects and retries
// are the caller's. Through a proxy (`proxyFor`), an https URL is reached through a CONNECT tunnel
// and an http URL is asked of the proxy in absolute form, as curl does; the body still lands in
// the one buffer. Every network failure is a TransientError; a refusing proxy is a QuantgateError
// that names it.

import net from 'node:net';
import tls from 'node:tls';
import { describeError, QuantgateError } from '../common/errors.js';
import { proxyFor, proxyLabel, proxyRefusal, type Proxy } from './proxy.js';
import { isTransientStatus, stallWatchdog, TransientError } from './retry.js';

export interface HttpGetOptions {
  /** Fails the request when no byte arrives for this long, before the answer or during the body. */
  stallTimeoutMs: number;
  /** Certificates to trust instead of Node's bundled ones (the tests' own https server and proxy). */
  ca?: string | Buffer;
  /** Where the proxy variables are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Ends the request, before the answer or during the body; the rejection is then the signal's reason. */
  signal?: AbortSignal;
}

export interface HttpGetResponse {
  status: number;
  statusMessage: string;
  /** Lower-case names; a repeated header's values are joined by ", ". */
  headers: Readonly<Record<string, string>>;
  /**
   * Hands the body to `consume` piece by piece and resolves at its end. A piece's memory is reused
   * once `consume` returns. An error `consume` throws ends the request and rejects unchanged.
   */
  readBody(consume: (bytes: Uint8Array) => void): Promise<void>;
  /** Closes the connection, leaving the body unread. */
  discard(): void;
}

const READ_BUFFER_BYTES = 1 << 20;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE = 4096;

/** Sends the GET and resolves once the status line and headers have arrived. */
export async function httpGet(
  url: string,
  headers: Record<string, string>,
  options: HttpGetOptions,
): Promise<HttpGetResponse> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new QuantgateError(
      `cannot download ${target.protocol}//${target.host}: only http: and https: URLs are supported; check --hub-url or HF_ENDPOINT`,
    );
  const proxy = proxyFor(target, options.env);
  const requestHead = encodeRequestHead(target, headers, proxy);
  options.signal?.throwIfAborted();
  return new Promise((resolveHead, rejectHead) => {
    let phase: 'head' | 'waiting' | 'body' | 'done' = 'head';
    let head = '';
    let early = new Uint8Array(0);
    let framing: BodyFraming;
    let consumer: (bytes: Uint8Array) => void = () => undefined;
    let body: { resolve: () => void; reject: (error: unknown) => void } | undefined;
    let failure: unknown;
    let closed = false;
    let socket: net.Socket | undefined;

    const onread = { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: onRead };
    const watchdog = stallWatchdog(options.stallTimeoutMs, fail);
    const connecting = new AbortController();
    const onAbort = () => fail(options.signal!.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    connect(target, proxy, { onread }, options, watchdog.touch, connecting.signal).then((connected) => {
      socket = connected;
      if (phase === 'done') return void socket.destroy();
      socket.on('error', (error) =>
        fail(error instanceof TransientError ? error : new TransientError(describeError(error))),
      );
      socket.on('close', () => {
        closed = true;
        if (phase === 'head') fail(new TransientError('the connection closed before the answer ended'));
        else if (phase === 'body') endAtClose();
      });
      socket.write(requestHead);
    }, fail);

    function onRead(count: number, buffer: Buffer): boolean {
      watchdog.touch();
      const bytes = buffer.subarray(0, count);
      if (phase === 'head') return readHead(bytes);
      if (phase === 'body') return deliver(bytes);
      return false;
    }

    function readHead(bytes: Uint8Array): boolean {
      let known = head.length;
      // latin1 keeps one character per byte, so offsets in `head` are offsets in the stream.
      head += Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
      for (;;) {
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) {
          if (head.length > MAX_HEAD_BYTES)
            fail(new TransientError(`the answer's headers exceed ${MAX_HEAD_BYTES / 1024} KiB`));
          return phase === 'head';
        }
        let parsed: ParsedHead;
        try {
          parsed = parseHead(head.slice(0, end));
          if (proxy && parsed.status === 407) throw proxyRefusal(proxy, target, parsed.status, parsed.statusMessage);
          if (parsed.status >= 100 && parsed.status < 200) {
            // An interim answer (100 Continue, 103 Early Hints): the real one follows.
            head = head.slice(end + 4);
            known -= end + 4;
            continue;
          }
          framing = framingFor(parsed);
        } catch (error) {
          fail(error);
          return false;
        }
        // What followed the head in this read is the body's start; it is copied, as the buffer is reused.
        early = bytes.slice(end + 4 - known);
        phase = 'waiting';
        resolveHead({ ...parsed, readBody, discard });
        return false;
      }
    }

    function readBody(consume: (bytes: Uint8Array) => void): Promise<void> {
      if (phase !== 'waiting') return Promise.reject(failure ?? new Error('the body was already read or discarded'));
      phase = 'body';
      consumer = consume;
      return new Promise((resolve, reject) => {
        body = { resolve, reject };
        if ((early.byteLength > 0 || framing.complete) && !deliver(early)) return;
        if (closed) endAtClose();
        else socket!.resume();
      });
    }

    function endAtClose(): void {
      if (framing.endsAtClose) complete();
      else fail(new TransientError('the connection closed before the body ended'));
    }

    /** Passes one read on to the framing; false stops reading (the body ended or failed). */
    function deliver(bytes: Uint8Array): boolean {
      try {
        if (!framing.feed(bytes, consumer)) return true;
      } catch (error) {
        fail(error);
        return false;
      }
      complete();
      return false;
    }

    function complete(): void {
      if (phase === 'done') return;
      phase = 'done';
      stop();
      body?.resolve();
    }

    function discard(): void {
      fail(new Error('the body was discarded'));
    }

    function fail(error: unknown): void {
      if (phase === 'done') return;
      const before = phase;
      phase = 'done';
      failure = error;
      stop();
      if (before === 'head') rejectHead(error);
      else body?.reject(error);
    }

    function stop(): void {
      watchdog.stop();
      options.signal?.removeEventListener('abort', onAbort);
      connecting.abort();
      socket?.destroy();
    }
  });
}

type ReadOptions = Pick<net.TcpSocketConnectOpts, 'onread'>;

/**
 * A socket on which the request can be written: connected to the server, or to the proxy for an
 * absolute-form request, or tunnelled through the proxy and then secured. `touch` hears every
 * byte before the request; `cancel` destroys what is being opened.
 */
async function connect(
  target: URL,
  proxy: Proxy | undefined,
  read: ReadOptions,
  options: HttpGetOptions,
  touch: () => void,
  cancel: AbortSignal,
): Promise<net.Socket> {
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  const secure = target.protocol === 'https:';
  if (proxy === undefined) return opened(open(host, port, secure, read, options.ca), cancel);
  const proxyHost = proxy.url.hostname.replace(/^\[(.*)\]$/, '$1');
  const proxyPort = Number(proxy.url.port) || (proxy.url.protocol === 'https:' ? 443 : 80);
  const proxyTls = proxy.url.protocol === 'https:';
  const label = proxyLabel(proxy);
  if (!secure) return opened(open(proxyHost, proxyPort, proxyTls, read, options.ca), cancel, label);

  const tunnel = await opened(open(proxyHost, proxyPort, proxyTls, {}, options.ca), cancel, label);
  try {
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    tunnel.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n${proxyAuthorization(proxy)}\r\n`);
    const status = await tunnelAnswer(tunnel, touch, cancel, label);
    if (status.code < 200 || status.code > 299) {
      if (isTransientStatus(status.code))
        throw new TransientError(
          `${label} could not open a tunnel to ${target.host} (HTTP ${status.code} ${status.message})`.trim(),
        );
      throw proxyRefusal(proxy, target, status.code, status.message);
    }
  } catch (error) {
    tunnel.destroy();
    throw error;
  }
  return opened(open(host, port, true, read, options.ca, tunnel), cancel);
}

function open(
  host: string,
  port: number,
  secure: boolean,
  read: ReadOptions,
  ca: HttpGetOptions['ca'],
  over?: net.Socket,
): net.Socket {
  if (!secure) return net.connect({ host, port, ...read });
  // tls.connect takes `onread` too (Node's documentation says so; @types/node omits it).
  const tlsOptions: tls.ConnectionOptions & ReadOptions = {
    host,
    port,
    ...read,
    ...(net.isIP(host) ? {} : { servername: host }),
    ...(ca && { ca }),
    ...(over && { socket: over }),
  };
  const socket = tls.connect(tlsOptions);
  if (over && read.onread) {
    // Over an existing socket (a tunnel) tls.connect ignores `onread`: reads arrive as 'data' events, in buffers of their own.
    const { callback } = read.onread;
    socket.on('data', (chunk: Buffer) => {
      if (!callback(chunk.byteLength, chunk)) socket.pause();
    });
  }
  return socket;
}

/** Resolves once `socket` is connected (and secured), rejecting with a TransientError (naming the proxy, when it is one) if it fails first. */
function opened(socket: net.Socket, cancel: AbortSignal, proxyName?: string): Promise<net.Socket> {
  const event = socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect';
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown) => {
      socket.off(event, onConnect).off('error', settle).off('close', onClose);
      cancel.removeEventListener('abort', onCancel);
      if (error === undefined) return resolve(socket);
      socket.destroy();
      const problem = describeError(error);
      reject(
        error instanceof TransientError
          ? error
          : new TransientError(proxyName ? `${problem} (connecting to ${proxyName})` : problem),
      );
    };
    const onConnect = () => settle();
    const onClose = () => settle(new Error('the connection closed while it was being opened'));
    const onCancel = () => settle(new Error('cancelled'));
    socket.once(event, onConnect).once('error', settle).once('close', onClose);
    cancel.addEventListener('abort', onCancel, { once: true });
  });
}

/** Reads the proxy's answer to CONNECT, up to its blank line, leaving the tunnel paused for TLS. */
function tunnelAnswer(
  tunnel: net.Socket,
  touch: () => void,
  cancel: AbortSignal,
  label: string,
): Promise<{ code: number; message: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const settle = (error: unknown, answer?: { code: number; message: string }) => {
      tunnel.off('data', onData).off('error', settle).off('close', onClose);
      cancel.removeEventListener('abort', onCancel);
      tunnel.pause();
      if (answer) resolve(answer);
      else
        reject(
          error instanceof TransientError || error instanceof QuantgateError
            ? error
            : new TransientError(`${describeError(error)} (tunnelling through ${label})`),
        );
    };
    const onData = (data: Buffer) => {
      touch();
      text += data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) {
        if (text.length > MAX_HEAD_BYTES)
          settle(new TransientError(`${label} answered CONNECT with over ${MAX_HEAD_BYTES / 1024} KiB of headers`));
        return;
      }
      const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(text.slice(0, text.indexOf('\r\n')));
      if (!match) return settle(new TransientError(`${label} answered CONNECT with something other than HTTP/1.1`));
      // The proxy speaks first only to answer; bytes after its blank line would belong to TLS, which has not begun.
      if (end + 4 !== text.length) return settle(new TransientError(`${label} sent data after its answer to CONNECT`));
      settle(undefined, { code: Number(match[1]), message: match[2] ?? '' });
    };
    const onClose = () => settle(new Error('the proxy closed the connection before answering CONNECT'));
    const onCancel = () => settle(new Error('cancelled'));
    tunnel.on('data', onData).once('error', settle).once('close', onClose);
    cancel.addEventListener('abort', onCancel, { once: true });
  });
}

function proxyAuthorization(proxy: Proxy): string {
  if (!proxy.url.username && !proxy.url.password) return '';
  const credentials = `${decodeURIComponent(proxy.url.username)}:${decodeURIComponent(proxy.url.password)}`;
  return `proxy-authorization: Basic ${Buffer.from(credentials).toString('base64')}\r\n`;
}

/** The request's head; to a proxy, an http URL is asked for in absolute form with the proxy's credentials. */
function encodeRequestHead(target: URL, headers: Record<string, string>, proxy: Proxy | undefined): string {
  const viaProxy = proxy !== undefined && target.protocol === 'http:';
  const requestTarget = viaProxy
    ? `${target.protocol}//${target.host}${target.pathname}${target.search}`
    : `${target.pathname}${target.search}`;
  const lines = [
    `GET ${requestTarget} HTTP/1.1`,
    `host: ${target.host}`,
    'accept-encoding: identity',
    'connection: close',
  ];
  if (viaProxy) lines.push(...proxyAuthorization(proxy).split('\r\n').filter(Boolean));
  for (const [name, value] of Object.entries(headers)) {
    // A line break would let a value smuggle in headers of its own.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
      throw new QuantgateError(
        `the request header ${JSON.stringify(name)} has characters HTTP forbids; check the value given for it (a token with a stray line break?)`,
      );
    }
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

interface ParsedHead {
  status: number;
  statusMessage: string;
  headers: Record<string, string>;
}

function parseHead(text: string): ParsedHead {
  const [statusLine = '', ...fields] = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match)
    throw new TransientError(
      `the server's answer is not HTTP/1.1 (it starts ${JSON.stringify(statusLine.slice(0, 40))})`,
    );
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0)
      throw new TransientError(`the server sent a malformed header line ${JSON.stringify(field.slice(0, 40))}`);
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(match[1]), statusMessage: match[2] ?? '', headers };
}

/** How the body's end is found: a length, chunked coding, or the connection closing. */
interface BodyFraming {
  readonly endsAtClose: boolean;
  /** True once the body has ended. */
  readonly complete: boolean;
  /** Passes the body's bytes among `bytes` to `deliver`; true when the body has ended. */
  feed(bytes: Uint8Array, deliver: (payload: Uint8Array) => void): boolean;
}

function framingFor({ status, headers }: ParsedHead): BodyFraming {
  if (status === 204 || status === 304) return lengthFraming(0);
  const codings = headers['transfer-encoding']
    ?.toLowerCase()
    .split(',')
    .map((coding) => coding.trim());
  if (codings?.at(-1) === 'chunked') return chunkedFraming();
  const length = headers['content-length'];
  if (length !== undefined) {
    if (!/^\d+$/.test(length))
      throw new TransientError(`the server sent a malformed content-length ${JSON.stringify(length)}`);
    return lengthFraming(Number(length));
  }
  return {
    endsAtClose: true,
    complete: false,
    feed: (bytes, deliver) => (bytes.byteLength > 0 && deliver(bytes), false),
  };
}

function lengthFraming(length: number): BodyFraming {
  let left = length;
  return {
    endsAtClose: false,
    get complete() {
      return left === 0;
    },
    feed(bytes, deliver) {
      const take = Math.min(left, bytes.byteLength);
      if (take > 0) deliver(bytes.subarray(0, take));
      left -= take;
      return left === 0;
    },
  };
}

/** Decodes `transfer-encoding: chunked`: hex size lines, data, CRLF, and a trailer after the last (empty) chunk. */
function chunkedFraming(): BodyFraming {
  let state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  let line = '';
  let left = 0;
  return {
    endsAtClose: false,
    get complete() {
      return state === 'done';
    },
    feed(bytes, deliver) {
      let at = 0;
      while (at < bytes.byteLength && state !== 'done') {
        if (state === 'data') {
          const take = Math.min(left, bytes.byteLength - at);
          deliver(bytes.subarray(at, at + take));
          at += take;
          left -= take;
          if (left === 0) state = 'data-end';
          continue;
        }
        const newline = bytes.indexOf(10, at);
        const end = newline === -1 ? bytes.byteLength : newline;
        line += Buffer.from(bytes.buffer, bytes.byteOffset + at, end - at).toString('latin1');
        if (line.length > MAX_CHUNK_LINE) throw new TransientError('the chunked body has a line longer than 4 KiB');
        if (newline === -1) break;
        at = newline + 1;
        const text = line.endsWith('\r') ? line.slice(0, -1) : line;
        line = '';
        if (state === 'size') {
          const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(text);
          if (!size)
            throw new TransientError(`the chunked body has a malformed size line ${JSON.stringify(text.slice(0, 40))}`);
          left = Number.parseInt(size[1]!, 16);
          state = left === 0 ? 'trailer' : 'data';
        } else if (state === 'data-end') {
          if (text !== '') throw new TransientError('the chunked body has a chunk longer than its size line says');
          state = 'size';
        } else if (text === '') {
          state = 'done';
        }
      }
      return state === 'done';
    },
  };
}
