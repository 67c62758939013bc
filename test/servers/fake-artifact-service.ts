// A local stand-in (127.0.0.1, random port) for the GitHub Actions results service as
// @actions/artifact v6 talks to it inside a job: the Twirp JSON service
// github.actions.results.api.v1.ArtifactService (CreateArtifact, FinalizeArtifact, ListArtifacts,
// GetSignedArtifactURL) at ACTIONS_RESULTS_URL, authorised by ACTIONS_RUNTIME_TOKEN, a JWT whose
// `scp` claim carries the run's and the job's backend ids. Upload and download URLs are signed
// URLs of a FakeAzureBlob it starts, where the artifact's zip lives.

import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeAzureBlob } from './fake-azure-blob.js';

const SERVICE = '/twirp/github.actions.results.api.v1.ArtifactService/';

export interface FakeArtifact {
  id: number;
  name: string;
  runBackendId: string;
  jobBackendId: string;
  size: number;
  /** `sha256:<hex>` of the zip, as the client reported it when finalizing. */
  digest?: string;
  finalized: boolean;
  createdAt: Date;
}

export class FakeArtifactService {
  /** Twirp method names, in the order they arrived. */
  readonly calls: string[] = [];
  readonly artifacts: FakeArtifact[] = [];
  readonly runBackendId = randomUUID();
  readonly jobBackendId = randomUUID();
  readonly runtimeToken = fakeJwt({ scp: `Actions.GenericRead:${randomUUID()} Actions.Results:${this.runBackendId}:${this.jobBackendId}` });

  private constructor(
    private readonly server: http.Server,
    readonly blobs: FakeAzureBlob,
  ) {
    server.on('request', (request, response) => {
      this.handle(request, response).catch((error: unknown) => response.destroy(error instanceof Error ? error : new Error(String(error))));
    });
  }

  static async start(): Promise<FakeArtifactService> {
    const service = new FakeArtifactService(http.createServer(), await FakeAzureBlob.start());
    await new Promise<void>((resolve) => service.server.listen(0, '127.0.0.1', resolve));
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** The variables a runner sets that make @actions/artifact use this service. */
  get env(): Record<string, string> {
    return { ACTIONS_RUNTIME_TOKEN: this.runtimeToken, ACTIONS_RESULTS_URL: this.url };
  }

  /** The uploaded zip of artifact `id`. */
  zipOf(id: number): Buffer | undefined {
    const artifact = this.artifacts.find((candidate) => candidate.id === id && candidate.finalized);
    return artifact && this.blobs.read(blobName(artifact));
  }

  /** A signed download URL for artifact `id`, as the REST API redirects to; undefined when unknown. */
  downloadUrl(id: number): string | undefined {
    const artifact = this.artifacts.find((candidate) => candidate.id === id && candidate.finalized);
    return artifact && this.blobs.signedUrl(blobName(artifact));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await this.blobs.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const body = await readBody(request);
    if (request.method !== 'POST' || !url.pathname.startsWith(SERVICE)) return twirpError(response, 404, 'bad_route', `no route for ${request.method} ${url.pathname}`);
    const method = url.pathname.slice(SERVICE.length);
    this.calls.push(method);
    if (request.headers.authorization !== `Bearer ${this.runtimeToken}`) return twirpError(response, 401, 'unauthenticated', 'invalid runtime token');
    const input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    if (input.workflow_run_backend_id !== this.runBackendId || input.workflow_job_run_backend_id !== this.jobBackendId) {
      return twirpError(response, 403, 'permission_denied', 'backend ids do not match the token');
    }
    const json = (output: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(output));
    };
    const inRun = this.artifacts.filter((artifact) => artifact.finalized && artifact.runBackendId === this.runBackendId);
    switch (method) {
      case 'CreateArtifact': {
        const name = String(input.name ?? '');
        if (input.version !== 7) return twirpError(response, 400, 'invalid_argument', `unsupported artifact version ${String(input.version)}`);
        if (inRun.some((artifact) => artifact.name === name)) return twirpError(response, 409, 'already_exists', `an artifact with the name ${name} already exists on this run`);
        const artifact: FakeArtifact = { id: 1000 + this.artifacts.length, name, runBackendId: this.runBackendId, jobBackendId: this.jobBackendId, size: 0, finalized: false, createdAt: new Date() };
        this.artifacts.push(artifact);
        return json({ ok: true, signed_upload_url: this.blobs.signedUrl(blobName(artifact)) });
      }
      case 'FinalizeArtifact': {
        const artifact = this.artifacts.find((candidate) => candidate.name === input.name && !candidate.finalized);
        const uploaded = artifact && this.blobs.read(blobName(artifact));
        if (!artifact || !uploaded || uploaded.byteLength !== Number(input.size)) return json({ ok: false, artifact_id: '0' });
        artifact.finalized = true;
        artifact.size = uploaded.byteLength;
        if (typeof input.hash === 'string') artifact.digest = input.hash;
        return json({ ok: true, artifact_id: String(artifact.id) });
      }
      case 'ListArtifacts': {
        const nameFilter = input.name_filter as string | undefined;
        const idFilter = input.id_filter as string | undefined;
        const listed = inRun.filter((artifact) => (nameFilter === undefined || artifact.name === nameFilter) && (idFilter === undefined || String(artifact.id) === idFilter));
        return json({
          artifacts: listed.map((artifact) => ({
            workflow_run_backend_id: artifact.runBackendId,
            workflow_job_run_backend_id: artifact.jobBackendId,
            database_id: String(artifact.id),
            name: artifact.name,
            size: String(artifact.size),
            created_at: artifact.createdAt.toISOString(),
            ...(artifact.digest === undefined ? {} : { digest: artifact.digest }),
          })),
        });
      }
      case 'GetSignedArtifactURL': {
        const artifact = inRun.find((candidate) => candidate.name === input.name);
        if (!artifact) return twirpError(response, 404, 'not_found', `no artifact named ${String(input.name)}`);
        return json({ signed_url: this.blobs.signedUrl(blobName(artifact)) });
      }
      default:
        return twirpError(response, 404, 'bad_route', `no method ${method}`);
    }
  }
}

function blobName(artifact: FakeArtifact): string {
  return `actions-results/${artifact.runBackendId}/${artifact.id}/${artifact.name}.zip`;
}

/** An unsigned JWT: @actions/artifact only decodes the claims, the service checks the whole string. */
function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

function twirpError(response: ServerResponse, status: number, code: string, msg: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ code, msg }));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
