// A local HTTP server for tests of anything that downloads: serves a folder or a map of URL paths
// to files, honours single Range requests (206, or 416 when unsatisfiable), optionally sends
// ETags and answers If-None-Match / If-Range, and records every request and the bytes it sent.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { LocalServer } from './local-server.js';

export interface RangeServerOptions {
  /** Serve the files under this folder at their relative paths. */
  root?: string;
  /** Serve these files: URL path (e.g. "/data/a.parquet") → local file. Checked before `root`. */
  files?: Record<string, string>;
  /** Send an ETag (derived from size and modification time) and honour If-None-Match / If-Range. */
  etag?: boolean;
  /** When false, ignore Range headers and always send the whole file, like some servers do. */
  ranges?: boolean;
  /**
   * Fault injection: answer a request with this status instead of serving it, or 'drop' to close
   * the connection without an answer; undefined serves it.
   */
  fault?: (request: LoggedRequest) => number | 'drop' | undefined;
}

export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
}

export interface RangeServer {
  /** Base URL, e.g. "http://127.0.0.1:40123". */
  readonly url: string;
  urlFor(path: string): string;
  /** Every request so far, in order. */
  readonly requests: LoggedRequest[];
  /** Body bytes sent so far. */
  bytesSent(): number;
  /** Forgets the requests so far. */
  reset(): void;
  close(): Promise<void>;
}

export async function startRangeServer(options: RangeServerOptions): Promise<RangeServer> {
  const requests: LoggedRequest[] = [];
  const server = new LocalServer((request, response) => handle(request, response, options, requests));
  await server.listen();
  const url = server.origin;
  return {
    url,
    urlFor: (path) => `${url}${path.startsWith('/') ? '' : '/'}${path}`,
    requests,
    bytesSent: () => requests.reduce((sum, entry) => sum + entry.bytes, 0),
    reset: () => void requests.splice(0),
    close: () => server.close(),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  options: RangeServerOptions,
  requests: LoggedRequest[],
): Promise<void> {
  const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
  const entry: LoggedRequest = {
    method: request.method ?? 'GET',
    path,
    status: 0,
    bytes: 0,
    ...(request.headers.range ? { range: request.headers.range } : {}),
  };
  requests.push(entry);
  const send = (status: number, headers: Record<string, string | number> = {}) => {
    entry.status = status;
    response.writeHead(status, headers);
  };

  const injected = options.fault?.(entry);
  if (injected === 'drop') {
    request.socket.destroy();
    return;
  }
  if (injected !== undefined) {
    send(injected);
    response.end();
    return;
  }
  if (entry.method !== 'GET' && entry.method !== 'HEAD') {
    send(405, { Allow: 'GET, HEAD' });
    response.end();
    return;
  }
  const file = resolveFile(path, options);
  const info = file ? await stat(file).catch(() => undefined) : undefined;
  if (!file || !info?.isFile()) {
    send(404);
    response.end();
    return;
  }

  const size = info.size;
  const etag = options.etag ? `"${size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"` : undefined;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    ...(options.ranges === false ? {} : { 'Accept-Ranges': 'bytes' }),
    ...(etag ? { ETag: etag } : {}),
  };
  if (etag && request.headers['if-none-match'] === etag) {
    send(304, headers);
    response.end();
    return;
  }

  let start = 0;
  let end = size - 1;
  let status = 200;
  const ifRange = request.headers['if-range'];
  const rangeApplies = options.ranges !== false && request.headers.range && (!ifRange || ifRange === etag);
  if (rangeApplies) {
    const range = parseRange(request.headers.range!, size);
    if (range === 'unsatisfiable') {
      send(416, { ...headers, 'Content-Range': `bytes */${size}` });
      response.end();
      return;
    }
    if (range) {
      ({ start, end } = range);
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  const length = Math.max(0, end - start + 1);
  send(status, { ...headers, 'Content-Length': length });
  if (entry.method === 'HEAD' || length === 0) {
    response.end();
    return;
  }
  const stream = createReadStream(file, { start, end });
  stream.on('data', (chunk) => {
    entry.bytes += chunk.length;
  });
  stream.pipe(response);
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    response.on('close', resolve);
  });
}

function resolveFile(path: string, options: RangeServerOptions): string | undefined {
  const mapped = options.files?.[path];
  if (mapped) return mapped;
  if (!options.root) return undefined;
  const relative = normalize(path).replace(/^[/\\]+/, '');
  if (relative.split(sep).includes('..')) return undefined;
  return join(options.root, relative);
}

/** A single "bytes=a-b", "bytes=a-" or "bytes=-n" range; undefined (serve whole) for anything else. */
function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? Infinity : Number(match[2]);
  if (last < start) return undefined; // an invalid range is ignored, not refused (RFC 9110 §14.1.1)
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(last, size - 1) };
}
