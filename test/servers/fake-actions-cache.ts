// A local stand-in (127.0.0.1, random port) for the GitHub Actions cache service as @actions/cache
// v6 talks to it: the v2 Twirp JSON service github.actions.results.api.v1.CacheService
// (CreateCacheEntry, FinalizeCacheEntryUpload, GetCacheEntryDownloadURL), selected by
// ACTIONS_CACHE_SERVICE_V2 and found at ACTIONS_RESULTS_URL. Upload and download URLs are signed
// URLs of a FakeAzureBlob it starts, where each entry's archive lives. An entry is found by its
// exact key within the same version (the hash of the cached paths and compression method), else,
// as the service does, by the newest entry whose key starts with one of the restore keys.

import { FakeAzureBlob } from './fake-azure-blob.js';
import { TwirpService, twirpError, twirpOk, type TwirpReply } from './twirp-service.js';

interface Entry {
  id: number;
  key: string;
  version: string;
  finalized: boolean;
}

export class FakeActionsCache extends TwirpService {
  /** When set, CreateCacheEntry refuses, as the service does for a run whose token is read-only. */
  readOnly = false;
  private readonly entries: Entry[] = [];

  private constructor(blobs: FakeAzureBlob) {
    super('github.actions.results.api.v1.CacheService', blobs);
  }

  static async start(): Promise<FakeActionsCache> {
    const cache = new FakeActionsCache(await FakeAzureBlob.start());
    await cache.listen();
    return cache;
  }

  /** The variables a runner sets that make @actions/cache use this service. */
  get env(): Record<string, string> {
    return {
      ACTIONS_CACHE_SERVICE_V2: 'True',
      ACTIONS_RESULTS_URL: this.url,
      ACTIONS_RUNTIME_TOKEN: 'fake-runtime-token',
    };
  }

  /** Keys of the entries saved and finalized so far. */
  get savedKeys(): string[] {
    return this.entries.filter((entry) => entry.finalized).map((entry) => entry.key);
  }

  protected answer(method: string, input: Record<string, unknown>): TwirpReply {
    const key = String(input.key ?? '');
    const version = String(input.version ?? '');
    switch (method) {
      case 'CreateCacheEntry': {
        if (this.readOnly)
          return twirpOk({ ok: false, message: 'cache write denied: the token of this run is read-only' });
        if (this.entries.some((entry) => entry.key === key && entry.version === version))
          return twirpOk({ ok: false, message: `cache entry ${key} already exists` });
        const entry: Entry = { id: this.entries.length + 1, key, version, finalized: false };
        this.entries.push(entry);
        return twirpOk({ ok: true, signed_upload_url: this.blobs.signedUrl(blobName(entry)) });
      }
      case 'FinalizeCacheEntryUpload': {
        const entry = this.entries.find(
          (candidate) => candidate.key === key && candidate.version === version && !candidate.finalized,
        );
        if (!entry || this.blobs.read(blobName(entry))?.byteLength !== Number(input.size_bytes))
          return twirpOk({ ok: false, message: 'the upload is incomplete' });
        entry.finalized = true;
        return twirpOk({ ok: true, entry_id: String(entry.id) });
      }
      case 'GetCacheEntryDownloadURL': {
        const usable = this.entries.filter((entry) => entry.finalized && entry.version === version);
        const prefixes = Array.isArray(input.restore_keys) ? (input.restore_keys as string[]) : [];
        const match =
          usable.find((entry) => entry.key === key) ??
          prefixes.map((prefix) => usable.findLast((entry) => entry.key.startsWith(prefix))).find(Boolean);
        return twirpOk(
          match
            ? { ok: true, signed_download_url: this.blobs.signedUrl(blobName(match)), matched_key: match.key }
            : { ok: false, signed_download_url: '', matched_key: '' },
        );
      }
      default:
        return twirpError(404, 'bad_route', `no method ${method}`);
    }
  }
}

function blobName(entry: Entry): string {
  return `actions-cache/${entry.id}`;
}
