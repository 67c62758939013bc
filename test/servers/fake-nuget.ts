// A local stand-in for a NuGet v3 feed (127.0.0.1, random port) serving what the CUDA installer
// reads from api.nuget.org: the service index, the flat container (a package's version list and
// its .nupkg) and the registration leaf pointing to the catalog entry that publishes the package's
// SHA-512 and size. Packages are zips built in memory with `buildZip` (test/helpers/zip.ts). Faults per test: corrupt
// package bytes, a dropped connection, an unpublished hash, an error status; every request is logged.

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalServer } from './local-server.js';

export interface FakePackage {
  id: string;
  version: string;
  nupkg: Buffer;
}

export type NugetFault =
  /** the .nupkg is served with one byte flipped */
  | { kind: 'corrupt'; times?: number }
  /** the .nupkg's connection drops halfway */
  | { kind: 'truncate'; times?: number }
  /** the path answers with `status` */
  | { kind: 'status'; path: RegExp; status: number; times?: number }
  /** the catalog entry publishes no packageHash */
  | { kind: 'no-hash' };

export class FakeNuget {
  readonly requests: string[] = [];
  private faults: (NugetFault & { left: number })[] = [];
  private readonly server = new LocalServer((request, response) => this.handle(request, response));

  private constructor(private readonly packages: readonly FakePackage[]) {}

  static async start(packages: readonly FakePackage[]): Promise<FakeNuget> {
    const nuget = new FakeNuget(packages);
    await nuget.server.listen();
    return nuget;
  }

  get origin(): string {
    return this.server.origin;
  }

  /** The service index, what QUANTGATE_NUGET_URL points to. */
  get indexUrl(): string {
    return `${this.origin}/v3/index.json`;
  }

  inject(fault: NugetFault): void {
    this.faults.push({ ...fault, left: 'times' in fault && fault.times !== undefined ? fault.times : Infinity });
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = decodeURIComponent(new URL(request.url ?? '/', this.origin).pathname);
    this.requests.push(path);
    const statusFault = this.take((fault) => fault.kind === 'status' && fault.path.test(path));
    if (statusFault?.kind === 'status') return void response.writeHead(statusFault.status).end('fault');

    const json = (body: unknown) =>
      void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === '/v3/index.json') {
      return json({
        version: '3.0.0',
        resources: [
          { '@id': `${this.origin}/v3/flat/`, '@type': 'PackageBaseAddress/3.0.0' },
          { '@id': `${this.origin}/v3/registration/`, '@type': 'RegistrationsBaseUrl/3.6.0' },
          { '@id': `${this.origin}/v3/search`, '@type': 'SearchQueryService' },
        ],
      });
    }
    let match = /^\/v3\/flat\/([^/]+)\/index\.json$/.exec(path);
    if (match) {
      const versions = this.packages
        .filter((pkg) => pkg.id.toLowerCase() === match![1])
        .map((pkg) => pkg.version.toLowerCase());
      return versions.length > 0 ? json({ versions }) : void response.writeHead(404).end();
    }
    match = /^\/v3\/flat\/([^/]+)\/([^/]+)\/([^/]+)\.nupkg$/.exec(path);
    if (match) {
      const pkg = this.find(match[1], match[2]);
      if (!pkg || match[3] !== `${match[1]}.${match[2]}`) return void response.writeHead(404).end();
      const body = Buffer.from(pkg.nupkg);
      if (this.take((fault) => fault.kind === 'corrupt')) body[body.length >> 1] ^= 0xff;
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      if (this.take((fault) => fault.kind === 'truncate'))
        return void response.write(body.subarray(0, body.length >> 1), () => response.destroy());
      return void response.end(body);
    }
    match = /^\/v3\/registration\/([^/]+)\/([^/]+)\.json$/.exec(path);
    if (match && this.find(match[1], match[2])) {
      return json({
        '@id': `${this.origin}${path}`,
        catalogEntry: `${this.origin}/v3/catalog/${match[1]}.${match[2]}.json`,
        packageContent: `${this.origin}/v3/flat/${match[1]}/${match[2]}/${match[1]}.${match[2]}.nupkg`,
        listed: true,
      });
    }
    match = /^\/v3\/catalog\/(.+)\.json$/.exec(path);
    const pkg = match && this.packages.find((each) => `${each.id}.${each.version}`.toLowerCase() === match![1]);
    if (pkg) {
      const hash = this.faults.some((fault) => fault.kind === 'no-hash')
        ? {}
        : { packageHash: createHash('sha512').update(pkg.nupkg).digest('base64'), packageHashAlgorithm: 'SHA512' };
      return json({
        '@type': ['PackageDetails', 'catalog:Permalink'],
        id: pkg.id,
        version: pkg.version,
        packageSize: pkg.nupkg.length,
        ...hash,
      });
    }
    response.writeHead(404).end();
  }

  private find(lowerId: string, lowerVersion: string): FakePackage | undefined {
    return this.packages.find((pkg) => pkg.id.toLowerCase() === lowerId && pkg.version.toLowerCase() === lowerVersion);
  }

  private take(matches: (fault: NugetFault) => boolean): NugetFault | undefined {
    const fault = this.faults.find((each) => each.left > 0 && matches(each));
    if (fault) fault.left--;
    return fault;
  }
}
