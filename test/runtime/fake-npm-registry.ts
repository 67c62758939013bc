// A local stand-in (127.0.0.1, random port) for the npm registry's tarball downloads
// (`/<name>/-/<name without scope>-<version>.tgz`), serving tarballs a test builds, counting
// requests, and failing on demand (an error status, or other bytes than it was given).

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tarballUrl, type LockedPackage } from '../../src/runtime/install.js';
import { LocalServer } from '../servers/local-server.js';

export type RegistryFault = { kind: 'status'; status: number; times: number } | { kind: 'replace'; body: Buffer };

export class FakeNpmRegistry {
  /** Paths requested, in order. */
  readonly requests: string[] = [];
  private readonly tarballs = new Map<string, Buffer>();
  private readonly faults = new Map<string, RegistryFault>();
  private readonly server = new LocalServer((request, response) => this.handle(request, response));

  private constructor() {}

  static async start(): Promise<FakeNpmRegistry> {
    const registry = new FakeNpmRegistry();
    await registry.server.listen();
    return registry;
  }

  get url(): string {
    return `${this.server.origin}/`;
  }

  /** Serves `tarball` as `name@version` and returns the package as a lockfile pins it. */
  publish(name: string, version: string, tarball: Buffer): LockedPackage {
    this.tarballs.set(this.pathOf({ name, version }), tarball);
    return { name, version, integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}` };
  }

  fail(pkg: Pick<LockedPackage, 'name' | 'version'>, fault: RegistryFault): void {
    this.faults.set(this.pathOf(pkg), fault);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://registry').pathname);
    this.requests.push(path);
    const fault = this.faults.get(path);
    if (fault?.kind === 'status' && fault.times-- > 0) {
      response.writeHead(fault.status).end();
      return;
    }
    const body = fault?.kind === 'replace' ? fault.body : this.tarballs.get(path);
    if (body === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  }

  private pathOf(pkg: Pick<LockedPackage, 'name' | 'version'>): string {
    return new URL(tarballUrl(this.url, pkg)).pathname;
  }
}
