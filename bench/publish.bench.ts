// Downloading a published model back: `downloadFromRelease` fetching 256 MiB of byte shards from a
// local stand-in for the releases API (manifest first, each shard checked for size and SHA-256 as
// it streams, all joined into one .gguf), timed against a plain download of the same shards
// concatenated into one file, and against that plus SHA-256 of every shard (the floor for a
// verified download). Shards are served from memory and files go to /dev/shm where it exists, so
// the figures measure this code rather than the network or the disk. The variants take turns; the
// median of three runs is reported.

import { createHash, randomFillSync } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { byteShardName } from '../src/formats/gguf/byte-shards.js';
import { downloadFromRelease } from '../src/publish/download.js';
import { createGitHubClient } from '../src/publish/github.js';
import { LocalServer } from '../test/servers/local-server.js';
import { median, seconds } from './measure.js';
import { inMemoryScratchDir } from './scratch.js';

const SHARDS = 8;
const SHARD_BYTES = 32 << 20;
const RUNS = 3;

interface Asset {
  id: number;
  name: string;
  data: Buffer;
}

function publishedShards(): Asset[] {
  const shards: Asset[] = Array.from({ length: SHARDS }, (_, index) => ({
    id: index + 1,
    name: byteShardName(index),
    data: randomFillSync(Buffer.alloc(SHARD_BYTES)),
  }));
  const manifest = {
    manifestVersion: 1,
    format: 'bytes',
    files: shards.map((shard) => ({
      path: shard.name,
      size: SHARD_BYTES,
      sha256: createHash('sha256').update(shard.data).digest('hex'),
    })),
    totalSize: SHARDS * SHARD_BYTES,
    tensorCount: 1,
    source: { repoId: 'bench/model' },
    tool: { name: 'quantgate', version: 'bench' },
  };
  return [...shards, { id: SHARDS + 1, name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }];
}

/** The three release endpoints a download uses; asset bytes are served directly instead of by redirect. */
async function releasesApi(assets: Asset[]): Promise<LocalServer> {
  const server = new LocalServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const json = (body: unknown) =>
      void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const asset = assets.find((candidate) => path === `/repos/bench/model/releases/assets/${candidate.id}`);
    if (path === '/repos/bench/model/releases/tags/v1')
      json({ id: 1, tag_name: 'v1', html_url: 'https://github.com/bench/model/releases/tag/v1', upload_url: '' });
    else if (path === '/repos/bench/model/releases/1/assets')
      json(assets.map((candidate) => ({ id: candidate.id, name: candidate.name, size: candidate.data.byteLength })));
    else if (asset)
      response
        .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(asset.data.byteLength) })
        .end(asset.data);
    else response.writeHead(404).end();
  });
  await server.listen();
  return server;
}

async function plainDownload(url: string, assets: Asset[], path: string, hashed: boolean): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (const asset of assets.filter((candidate) => candidate.name.startsWith('shard-'))) {
      const response = await fetch(`${url}/repos/bench/model/releases/assets/${asset.id}`);
      const hash = createHash('sha256');
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (hashed) hash.update(chunk);
        await handle.write(chunk);
      }
      hash.digest('hex');
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export const bench = {
  name: 'publish',
  summary:
    'download-release of 256 MiB of byte shards (verify + rebuild) vs a plain download, and vs plain download + SHA-256',
  run: async () => {
    const assets = publishedShards();
    const server = await releasesApi(assets);
    const url = server.origin;
    const dir = await inMemoryScratchDir('quantgate-bench-');
    const client = createGitHubClient({ apiUrl: url });
    const times = { plain: [] as number[], hashed: [] as number[], quantgate: [] as number[] };
    try {
      for (let run = 0; run < RUNS; run++) {
        times.plain.push(await seconds(() => plainDownload(url, assets, join(dir, 'plain.gguf'), false)));
        times.hashed.push(await seconds(() => plainDownload(url, assets, join(dir, 'hashed.gguf'), true)));
        times.quantgate.push(
          await seconds(() =>
            downloadFromRelease({ client, release: { owner: 'bench', repo: 'model', tag: 'v1' }, out: dir }),
          ),
        );
        await rm(join(dir, 'model.gguf'));
      }
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
    const mib = (SHARDS * SHARD_BYTES) / (1 << 20);
    const line = (label: string, value: number) =>
      `  ${label.padEnd(44)} ${value.toFixed(3)} s  ${(mib / value).toFixed(0)} MiB/s  ×${(value / median(times.plain)).toFixed(2)} of plain`;
    console.log(`download of ${SHARDS} byte shards, ${mib} MiB in all (median of ${RUNS}):`);
    console.log(line('plain download, concatenated', median(times.plain)));
    console.log(line('plain download + SHA-256 of each shard', median(times.hashed)));
    console.log(line('downloadFromRelease (verify + rebuild .gguf)', median(times.quantgate)));
  },
};
