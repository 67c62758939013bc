// A local stand-in (127.0.0.1, random port) for the npm registry's tarball downloads
// (`/<name>/-/<name without scope>-<version>.tgz`), serving tarballs a test builds, counting
// requests, and failing on demand (an error status, or other bytes than it was given).

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LockedPackage } from '../../../src/action/onnxruntime/install.js';
import { tarballUrl } from '../../../src/action/onnxruntime/install.js';

export type RegistryFault = { kind: 'status'; status: number; times: number } | { kind: 'replace'; body: Buffer };

export class FakeNpmRegistry {
  /** Paths requested, in order. */
  readonly requests: string[] = [];
  private readonly tarballs = new Map<string, Buffer>();
  private readonly faults = new Map<string, RegistryFault>();

  private constructor(private readonly server: http.Server) {
    server.on('request', (request, response) => {
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
    });
  }

  static async start(): Promise<FakeNpmRegistry> {
    const registry = new FakeNpmRegistry(http.createServer());
    await new Promise<void>((resolve) => registry.server.listen(0, '127.0.0.1', resolve));
    return registry;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** Serves `tarball` as `name@version` and returns the package as a lockfile pins it. */
  publish(name: string, version: string, tarball: Buffer): LockedPackage {
    this.tarballs.set(this.pathOf({ name, version }), tarball);
    return { name, version, integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}` };
  }

  fail(pkg: Pick<LockedPackage, 'name' | 'version'>, fault: RegistryFault): void {
    this.faults.set(this.pathOf(pkg), fault);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private pathOf(pkg: Pick<LockedPackage, 'name' | 'version'>): string {
    return new URL(tarballUrl(this.url, pkg)).pathname;
  }
}
