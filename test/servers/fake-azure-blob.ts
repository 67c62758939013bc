// A local stand-in (127.0.0.1, random port) for Azure Blob Storage reached through SAS URLs, as
// @azure/storage-blob's BlockBlobClient and plain HTTP downloaders use them: Put Blob (one PUT),
// Put Block + Put Block List (uploadStream / large uploadData), Get Blob with Range or x-ms-range,
// and Get Blob Properties (HEAD). URLs are path-style, as for the Azurite emulator:
// /<account>/<container>/<blob>. A request without the signature this store issued for that blob
// is refused with 403, so a test proves the client used the signed URL it was handed. Blobs are
// kept in memory: tests move small files.

import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalServer, readBody } from './local-server.js';

const ACCOUNT = 'devstoreaccount1';

interface StoredBlob {
  data: Buffer;
  contentType: string;
  etag: string;
  modified: Date;
}

export interface BlobRequest {
  method: string;
  /** "<container>/<blob>" */
  blob: string;
  /** PutBlob, PutBlock, PutBlockList, GetBlob or GetBlobProperties. */
  operation: string;
  status: number;
}

export class FakeAzureBlob {
  /** Every request, in the order it arrived. */
  readonly requests: BlobRequest[] = [];
  /** While true, uploads are received but never answered: a stalled upload. */
  holdUploads = false;
  private readonly blobs = new Map<string, StoredBlob>();
  private readonly uncommitted = new Map<string, Map<string, Buffer>>();
  private readonly signingKey = randomBytes(16);
  private etagCounter = 0;
  private readonly server = new LocalServer((request, response) => this.handle(request, response));

  private constructor() {}

  static async start(): Promise<FakeAzureBlob> {
    const store = new FakeAzureBlob();
    await store.server.listen();
    return store;
  }

  get origin(): string {
    return this.server.origin;
  }

  /** A SAS URL granting access to `blob` ("<container>/<name>"), as a service would hand out. */
  signedUrl(blob: string): string {
    const path = `/${ACCOUNT}/${blob.split('/').map(encodeURIComponent).join('/')}`;
    return `${this.origin}${path}?sv=2024-08-04&sr=b&sp=rcw&sig=${encodeURIComponent(this.signature(blob))}`;
  }

  /** The committed content of `blob`, if any. */
  read(blob: string): Buffer | undefined {
    return this.blobs.get(blob)?.data;
  }

  /** Replaces the content of `blob`, e.g. to serve a corrupted copy. */
  write(blob: string, data: Buffer, contentType = 'application/octet-stream'): void {
    this.blobs.set(blob, { data, contentType, etag: this.nextEtag(), modified: new Date() });
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.origin);
    const [account, ...rest] = url.pathname.slice(1).split('/').map(decodeURIComponent);
    const blob = rest.join('/');
    const comp = url.searchParams.get('comp');
    const method = request.method ?? 'GET';
    const operation =
      method === 'PUT'
        ? comp === 'block'
          ? 'PutBlock'
          : comp === 'blocklist'
            ? 'PutBlockList'
            : 'PutBlob'
        : method === 'HEAD'
          ? 'GetBlobProperties'
          : 'GetBlob';
    const entry: BlobRequest = { method, blob, operation, status: 0 };
    this.requests.push(entry);
    const reply = (status: number, headers: Record<string, string> = {}, body?: Buffer | string) => {
      entry.status = status;
      response.writeHead(status, {
        'x-ms-request-id': randomBytes(8).toString('hex'),
        'x-ms-version': '2024-08-04',
        ...headers,
      });
      response.end(method === 'HEAD' ? undefined : body);
    };
    const fail = (status: number, code: string) =>
      reply(
        status,
        { 'x-ms-error-code': code, 'content-type': 'application/xml' },
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`,
      );

    const body = await readBody(request);
    if (this.holdUploads && method === 'PUT') return;
    if (account !== ACCOUNT || blob === '') return fail(400, 'InvalidUri');
    if (url.searchParams.get('sig') !== this.signature(blob)) return fail(403, 'AuthenticationFailed');

    if (operation === 'PutBlock') {
      const blockId = url.searchParams.get('blockid') ?? '';
      if (!this.uncommitted.has(blob)) this.uncommitted.set(blob, new Map());
      this.uncommitted.get(blob)!.set(blockId, body);
      return reply(201, { 'content-length': '0' });
    }
    if (operation === 'PutBlockList') {
      const blocks = this.uncommitted.get(blob) ?? new Map<string, Buffer>();
      const ids = [...body.toString('utf8').matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)<\//g)].map(
        (match) => match[1]!,
      );
      if (ids.some((id) => !blocks.has(id))) return fail(400, 'InvalidBlockList');
      this.write(blob, Buffer.concat(ids.map((id) => blocks.get(id)!)), headerText(request, 'x-ms-blob-content-type'));
      this.uncommitted.delete(blob);
      return reply(201, { etag: this.blobs.get(blob)!.etag, 'content-length': '0' });
    }
    if (operation === 'PutBlob') {
      this.write(blob, body, headerText(request, 'x-ms-blob-content-type') ?? headerText(request, 'content-type'));
      return reply(201, { etag: this.blobs.get(blob)!.etag, 'content-length': '0' });
    }

    const stored = this.blobs.get(blob);
    if (!stored) return fail(404, 'BlobNotFound');
    const common = {
      etag: stored.etag,
      'last-modified': stored.modified.toUTCString(),
      'content-type': stored.contentType,
      'accept-ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
    };
    const rangeHeader = headerText(request, 'x-ms-range') ?? headerText(request, 'range');
    if (rangeHeader === undefined)
      return reply(200, { ...common, 'content-length': String(stored.data.byteLength) }, stored.data);
    const range = /^bytes=(\d+)-(\d*)$/.exec(rangeHeader);
    const size = stored.data.byteLength;
    if (!range || Number(range[1]) >= size)
      return reply(416, { 'content-range': `bytes */${size}`, 'x-ms-error-code': 'InvalidRange' });
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    const slice = stored.data.subarray(start, end + 1);
    reply(
      206,
      { ...common, 'content-length': String(slice.byteLength), 'content-range': `bytes ${start}-${end}/${size}` },
      slice,
    );
  }

  private signature(blob: string): string {
    return createHmac('sha256', this.signingKey).update(blob).digest('base64');
  }

  private nextEtag(): string {
    return `"0x8D${(++this.etagCounter).toString(16).padStart(12, '0').toUpperCase()}"`;
  }
}

function headerText(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
