// A local stand-in for a NuGet v3 feed (127.0.0.1, random port) serving what the CUDA installer
// reads from api.nuget.org: the service index, the flat container (a package's version list and
// its .nupkg) and the registration leaf pointing to the catalog entry that publishes the package's
// SHA-512 and size. Packages are zips built in memory with `buildZip`. Faults per test: corrupt
// package bytes, a dropped connection, an unpublished hash, an error status; every request is logged.

import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/engines/zip-reader.js';

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Default deflate. */
  method?: 'store' | 'deflate';
}

/**
 * A zip archive as .NET and Python write them: local headers and data, the central directory, the
 * end record. With `zip64`, every size and offset goes through zip64 extra fields and the zip64
 * end records, as writers do for archives over 4 GiB.
 */
export function buildZip(files: readonly ZipInput[], options: { zip64?: boolean; comment?: string } = {}): Buffer {
  const zip64 = options.zip64 ?? false;
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const push = (part: Buffer) => {
    parts.push(part);
    offset += part.length;
  };
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const method = file.method === 'store' ? 0 : 8;
    const data = method === 8 ? deflateRawSync(file.data) : Buffer.from(file.data);
    const crc = crc32(file.data);
    const localOffset = offset;
    const wide = (value: number) => (zip64 ? 0xffffffff : value);

    const localExtra = zip64 ? extraField([file.data.length, data.length]) : Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(wide(data.length), 18);
    local.writeUInt32LE(wide(file.data.length), 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    push(Buffer.concat([local, name, localExtra, data]));

    const centralExtra = zip64 ? extraField([file.data.length, data.length, localOffset]) : Buffer.alloc(0);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(zip64 ? 45 : 20, 4);
    entry.writeUInt16LE(zip64 ? 45 : 20, 6);
    entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt16LE(method, 10);
    entry.writeUInt16LE(0x21, 14);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(wide(data.length), 20);
    entry.writeUInt32LE(wide(file.data.length), 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt16LE(centralExtra.length, 30);
    entry.writeUInt32LE(wide(localOffset), 42);
    central.push(Buffer.concat([entry, name, centralExtra]));
  }
  const directory = Buffer.concat(central);
  const directoryOffset = offset;
  push(directory);
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(files.length), 24);
    record.writeBigUInt64LE(BigInt(files.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset), 8);
    locator.writeUInt32LE(1, 16);
    push(Buffer.concat([record, locator]));
  }
  const comment = Buffer.from(options.comment ?? '', 'utf8');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : files.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : files.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : directoryOffset, 16);
  end.writeUInt16LE(comment.length, 20);
  push(Buffer.concat([end, comment]));
  return Buffer.concat(parts);
}

function extraField(values: readonly number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, i) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i));
  return extra;
}

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

  private constructor(
    private readonly server: http.Server,
    private readonly packages: readonly FakePackage[],
  ) {}

  static async start(packages: readonly FakePackage[]): Promise<FakeNuget> {
    let nuget: FakeNuget | undefined;
    const server = http.createServer((request, response) => nuget!.handle(request, response));
    nuget = new FakeNuget(server, packages);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return nuget;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The service index, what QUANTGATE_NUGET_URL points to. */
  get indexUrl(): string {
    return `${this.origin}/v3/index.json`;
  }

  inject(fault: NugetFault): void {
    this.faults.push({ ...fault, left: 'times' in fault && fault.times !== undefined ? fault.times : Infinity });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = decodeURIComponent(new URL(request.url ?? '/', this.origin).pathname);
    this.requests.push(path);
    const statusFault = this.take((fault) => fault.kind === 'status' && fault.path.test(path));
    if (statusFault?.kind === 'status') return void response.writeHead(statusFault.status).end('fault');

    const json = (body: unknown) => void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
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
      const versions = this.packages.filter((pkg) => pkg.id.toLowerCase() === match![1]).map((pkg) => pkg.version.toLowerCase());
      return versions.length > 0 ? json({ versions }) : void response.writeHead(404).end();
    }
    match = /^\/v3\/flat\/([^/]+)\/([^/]+)\/([^/]+)\.nupkg$/.exec(path);
    if (match) {
      const pkg = this.find(match[1], match[2]);
      if (!pkg || match[3] !== `${match[1]}.${match[2]}`) return void response.writeHead(404).end();
      const body = Buffer.from(pkg.nupkg);
      if (this.take((fault) => fault.kind === 'corrupt')) body[body.length >> 1] ^= 0xff;
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      if (this.take((fault) => fault.kind === 'truncate')) return void response.write(body.subarray(0, body.length >> 1), () => response.destroy());
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
      const hash = this.faults.some((fault) => fault.kind === 'no-hash') ? {} : { packageHash: createHash('sha512').update(pkg.nupkg).digest('base64'), packageHashAlgorithm: 'SHA512' };
      return json({ '@type': ['PackageDetails', 'catalog:Permalink'], id: pkg.id, version: pkg.version, packageSize: pkg.nupkg.length, ...hash });
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
