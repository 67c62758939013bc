// A local stand-in (127.0.0.1, random port) for the GitHub Actions results service as
// @actions/artifact v6 talks to it inside a job: the Twirp JSON service
// github.actions.results.api.v1.ArtifactService (CreateArtifact, FinalizeArtifact, ListArtifacts,
// GetSignedArtifactURL) at ACTIONS_RESULTS_URL, authorised by ACTIONS_RUNTIME_TOKEN, a JWT whose
// `scp` claim carries the run's and the job's backend ids. Upload and download URLs are signed
// URLs of a FakeAzureBlob it starts, where the artifact's zip lives.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { FakeAzureBlob } from './fake-azure-blob.js';
import { TwirpService, twirpError, twirpOk, type TwirpReply } from './twirp-service.js';

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
  /** When the client asked the artifact to expire (its retention), if it did. */
  expiresAt?: Date;
}

export class FakeArtifactService extends TwirpService {
  readonly artifacts: FakeArtifact[] = [];
  readonly runBackendId = randomUUID();
  readonly jobBackendId = randomUUID();
  readonly runtimeToken = fakeJwt({
    scp: `Actions.GenericRead:${randomUUID()} Actions.Results:${this.runBackendId}:${this.jobBackendId}`,
  });

  private constructor(blobs: FakeAzureBlob) {
    super('github.actions.results.api.v1.ArtifactService', blobs);
  }

  static async start(): Promise<FakeArtifactService> {
    const service = new FakeArtifactService(await FakeAzureBlob.start());
    await service.listen();
    return service;
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

  protected answer(method: string, input: Record<string, unknown>, request: IncomingMessage): TwirpReply {
    if (request.headers.authorization !== `Bearer ${this.runtimeToken}`)
      return twirpError(401, 'unauthenticated', 'invalid runtime token');
    if (
      input.workflow_run_backend_id !== this.runBackendId ||
      input.workflow_job_run_backend_id !== this.jobBackendId
    ) {
      return twirpError(403, 'permission_denied', 'backend ids do not match the token');
    }
    const inRun = this.artifacts.filter(
      (artifact) => artifact.finalized && artifact.runBackendId === this.runBackendId,
    );
    switch (method) {
      case 'CreateArtifact': {
        const name = String(input.name ?? '');
        if (input.version !== 7)
          return twirpError(400, 'invalid_argument', `unsupported artifact version ${String(input.version)}`);
        if (inRun.some((artifact) => artifact.name === name))
          return twirpError(409, 'already_exists', `an artifact with the name ${name} already exists on this run`);
        const artifact: FakeArtifact = {
          id: 1000 + this.artifacts.length,
          name,
          runBackendId: this.runBackendId,
          jobBackendId: this.jobBackendId,
          size: 0,
          finalized: false,
          createdAt: new Date(),
        };
        if (typeof input.expires_at === 'string') artifact.expiresAt = new Date(input.expires_at);
        this.artifacts.push(artifact);
        return twirpOk({ ok: true, signed_upload_url: this.blobs.signedUrl(blobName(artifact)) });
      }
      case 'FinalizeArtifact': {
        const artifact = this.artifacts.find((candidate) => candidate.name === input.name && !candidate.finalized);
        const uploaded = artifact && this.blobs.read(blobName(artifact));
        if (!artifact || !uploaded || uploaded.byteLength !== Number(input.size))
          return twirpOk({ ok: false, artifact_id: '0' });
        artifact.finalized = true;
        artifact.size = uploaded.byteLength;
        if (typeof input.hash === 'string') artifact.digest = input.hash;
        return twirpOk({ ok: true, artifact_id: String(artifact.id) });
      }
      case 'ListArtifacts': {
        const nameFilter = input.name_filter as string | undefined;
        const idFilter = input.id_filter as string | undefined;
        const listed = inRun.filter(
          (artifact) =>
            (nameFilter === undefined || artifact.name === nameFilter) &&
            (idFilter === undefined || String(artifact.id) === idFilter),
        );
        return twirpOk({
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
        if (!artifact) return twirpError(404, 'not_found', `no artifact named ${String(input.name)}`);
        return twirpOk({ signed_url: this.blobs.signedUrl(blobName(artifact)) });
      }
      default:
        return twirpError(404, 'bad_route', `no method ${method}`);
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
