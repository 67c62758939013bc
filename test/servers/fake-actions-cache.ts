// A local stand-in (127.0.0.1, random port) for the GitHub Actions cache service as @actions/cache
// v6 talks to it: the v2 Twirp JSON service github.actions.results.api.v1.CacheService
// (CreateCacheEntry, FinalizeCacheEntryUpload, GetCacheEntryDownloadURL), selected by
// ACTIONS_CACHE_SERVICE_V2 and found at ACTIONS_RESULTS_URL. Upload and download URLs are signed
// URLs of a FakeAzureBlob it starts, where each entry's archive lives. An entry is found by its
// exact key within the same version (the hash of the cached paths and compression method);
// quantgate passes no restore keys, so prefix matching is left out.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeAzureBlob } from './fake-azure-blob.js';

const SERVICE = '/twirp/github.actions.results.api.v1.CacheService/';

interface Entry {
  id: number;
  key: string;
  version: string;
  finalized: boolean;
}

export class FakeActionsCache {
  /** Twirp method names, in the order they arrived. */
  readonly calls: string[] = [];
  /** When set, CreateCacheEntry refuses, as the service does for a run whose token is read-only. */
  readOnly = false;
  private readonly entries: Entry[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly blobs: FakeAzureBlob,
  ) {
    server.on('request', (request, response) => {
      this.handle(request, response).catch((error: unknown) => response.destroy(error instanceof Error ? error : new Error(String(error))));
    });
  }

  static async start(): Promise<FakeActionsCache> {
    const cache = new FakeActionsCache(http.createServer(), await FakeAzureBlob.start());
    await new Promise<void>((resolve) => cache.server.listen(0, '127.0.0.1', resolve));
    return cache;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** The variables a runner sets that make @actions/cache use this service. */
  get env(): Record<string, string> {
    return { ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_RESULTS_URL: this.url, ACTIONS_RUNTIME_TOKEN: 'fake-runtime-token' };
  }

  /** Keys of the entries saved and finalized so far. */
  get savedKeys(): string[] {
    return this.entries.filter((entry) => entry.finalized).map((entry) => entry.key);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await this.blobs.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const body = await readBody(request);
    if (request.method !== 'POST' || !url.pathname.startsWith(SERVICE)) return reply(response, 404, { code: 'bad_route', msg: `no route for ${request.method} ${url.pathname}` });
    const method = url.pathname.slice(SERVICE.length);
    this.calls.push(method);
    const input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    const key = String(input.key ?? '');
    const version = String(input.version ?? '');
    switch (method) {
      case 'CreateCacheEntry': {
        if (this.readOnly) return reply(response, 200, { ok: false, message: 'cache write denied: the token of this run is read-only' });
        if (this.entries.some((entry) => entry.key === key && entry.version === version)) return reply(response, 200, { ok: false, message: `cache entry ${key} already exists` });
        const entry: Entry = { id: this.entries.length + 1, key, version, finalized: false };
        this.entries.push(entry);
        return reply(response, 200, { ok: true, signed_upload_url: this.blobs.signedUrl(blobName(entry)) });
      }
      case 'FinalizeCacheEntryUpload': {
        const entry = this.entries.find((candidate) => candidate.key === key && candidate.version === version && !candidate.finalized);
        if (!entry || this.blobs.read(blobName(entry))?.byteLength !== Number(input.size_bytes)) return reply(response, 200, { ok: false, message: 'the upload is incomplete' });
        entry.finalized = true;
        return reply(response, 200, { ok: true, entry_id: String(entry.id) });
      }
      case 'GetCacheEntryDownloadURL': {
        const match = this.entries.find((entry) => entry.finalized && entry.key === key && entry.version === version);
        return reply(response, 200, match ? { ok: true, signed_download_url: this.blobs.signedUrl(blobName(match)), matched_key: match.key } : { ok: false, signed_download_url: '', matched_key: '' });
      }
      default:
        return reply(response, 404, { code: 'bad_route', msg: `no method ${method}` });
    }
  }
}

function blobName(entry: Entry): string {
  return `actions-cache/${entry.id}`;
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
