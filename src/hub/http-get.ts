// One HTTP/1.1 GET whose body is read into a single reused buffer (the `onread` option of net and
// tls sockets) and handed to the caller synchronously. Blob transfers use it rather than node:http,
// which allocates a fresh 64 KiB Buffer for every socket read and passes it through two stream
// layers: on this project's 2-core machine that costs 0.9 core-seconds per GB received over
// loopback against 0.17 here, and 1.34 against 0.68 over TLS, which is most of the gap to curl.
// One request per connection (Connection: close) and identity encoding; redirects, retries and
// proxies are the caller's. Every network failure is a TransientError.

import net from 'node:net';
import tls from 'node:tls';
import { describeError, QuantgateError } from '../common/errors.js';
import { stallWatchdog, TransientError } from './retry.js';

export interface HttpGetOptions {
  /** Fails the request when no byte arrives for this long, before the answer or during the body. */
  stallTimeoutMs: number;
  /** Certificates to trust instead of Node's bundled ones (the tests' own https server). */
  ca?: string | Buffer;
  /** Closes the connection when aborted; the request then rejects with the signal's reason. */
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
export async function httpGet(url: string, headers: Record<string, string>, options: HttpGetOptions): Promise<HttpGetResponse> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new QuantgateError(`cannot download ${target.protocol}//${target.host}: only http: and https: URLs are supported; check --hub-url or HF_ENDPOINT`);
  const requestHead = encodeRequestHead(target, headers);
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

    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
    const onread = { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: onRead };
    // tls.connect takes `onread` too (Node's documentation says so; @types/node omits it).
    const tlsOptions: tls.ConnectionOptions & Pick<net.TcpSocketConnectOpts, 'onread'> = { host, port, onread, ...(net.isIP(host) ? {} : { servername: host }), ...(options.ca && { ca: options.ca }) };
    const socket = target.protocol === 'https:' ? tls.connect(tlsOptions) : net.connect({ host, port, onread });
    const watchdog = stallWatchdog(options.stallTimeoutMs, () => fail(new TransientError(`no data for ${options.stallTimeoutMs / 1000}s`)));
    const onAbort = () => fail(options.signal!.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => socket.write(requestHead));
    socket.on('error', (error) => fail(error instanceof TransientError ? error : new TransientError(describeError(error))));
    socket.on('close', () => {
      closed = true;
      if (phase === 'head') fail(new TransientError('the connection closed before the answer ended'));
      else if (phase === 'body') endAtClose();
    });

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
          if (head.length > MAX_HEAD_BYTES) fail(new TransientError(`the answer's headers exceed ${MAX_HEAD_BYTES / 1024} KiB`));
          return phase === 'head';
        }
        let parsed: ParsedHead;
        try {
          parsed = parseHead(head.slice(0, end));
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
        else socket.resume();
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
      watchdog.stop();
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
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
      watchdog.stop();
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (before === 'head') rejectHead(error);
      else body?.reject(error);
    }
  });
}

function encodeRequestHead(target: URL, headers: Record<string, string>): string {
  const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `host: ${target.host}`, 'accept-encoding: identity', 'connection: close'];
  for (const [name, value] of Object.entries(headers)) {
    // A line break would let a value smuggle in headers of its own.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
      throw new QuantgateError(`the request header ${JSON.stringify(name)} has characters HTTP forbids; check the value given for it (a token with a stray line break?)`);
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
  if (!match) throw new TransientError(`the server's answer is not HTTP/1.1 (it starts ${JSON.stringify(statusLine.slice(0, 40))})`);
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0) throw new TransientError(`the server sent a malformed header line ${JSON.stringify(field.slice(0, 40))}`);
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
  const codings = headers['transfer-encoding']?.toLowerCase().split(',').map((coding) => coding.trim());
  if (codings?.at(-1) === 'chunked') return chunkedFraming();
  const length = headers['content-length'];
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw new TransientError(`the server sent a malformed content-length ${JSON.stringify(length)}`);
    return lengthFraming(Number(length));
  }
  return { endsAtClose: true, complete: false, feed: (bytes, deliver) => (bytes.byteLength > 0 && deliver(bytes), false) };
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
          if (!size) throw new TransientError(`the chunked body has a malformed size line ${JSON.stringify(text.slice(0, 40))}`);
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
