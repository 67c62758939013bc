// What the local stand-ins for the GitHub Actions results services (the cache and the artifact
// service) share: Twirp JSON methods under /twirp/<service>/ at ACTIONS_RESULTS_URL, every call
// recorded, and a FakeAzureBlob whose signed URLs carry the uploads and downloads.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeAzureBlob } from './fake-azure-blob.js';
import { LocalServer, readBody } from './local-server.js';

export interface TwirpReply {
  status: number;
  body: unknown;
}

export function twirpOk(body: unknown): TwirpReply {
  return { status: 200, body };
}

/** Twirp's error form: an HTTP error status with a code and a message. */
export function twirpError(status: number, code: string, msg: string): TwirpReply {
  return { status, body: { code, msg } };
}

export abstract class TwirpService {
  /** Twirp method names, in the order they arrived. */
  readonly calls: string[] = [];
  private readonly server = new LocalServer((request, response) => this.serve(request, response));

  /** `service` is the Twirp service's full name, e.g. github.actions.results.api.v1.CacheService. */
  protected constructor(
    private readonly service: string,
    readonly blobs: FakeAzureBlob,
  ) {}

  get url(): string {
    return `${this.server.origin}/`;
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.blobs.close();
  }

  protected listen(): Promise<void> {
    return this.server.listen();
  }

  /** The reply to one call of `method`, whose JSON input is `input`. */
  protected abstract answer(method: string, input: Record<string, unknown>, request: IncomingMessage): TwirpReply;

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', this.url).pathname;
    const prefix = `/twirp/${this.service}/`;
    const body = await readBody(request);
    let reply: TwirpReply;
    if (request.method !== 'POST' || !path.startsWith(prefix)) {
      reply = twirpError(404, 'bad_route', `no route for ${request.method} ${path}`);
    } else {
      const method = path.slice(prefix.length);
      this.calls.push(method);
      reply = this.answer(method, JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>, request);
    }
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(reply.body));
  }
}
