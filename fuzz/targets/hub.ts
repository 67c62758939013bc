// The Hub's HTTP answers: a snapshot download (revision, file listing, one file) from a raw socket
// server on 127.0.0.1 that answers each request with the bytes of the input's matching part.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { downloadSnapshot } from '../../src/hub/snapshot.js';
import { hubSeeds } from '../corpus.js';
import { unpackParts } from '../mutators.js';
import type { FuzzTarget } from '../target.js';

let answers: Uint8Array[] = [];
let server: Promise<{ server: Server; url: string }> | undefined;

/** The part answering a request: 0 the revision, 1 the listing, 2 any file. */
function answerFor(head: string): Uint8Array {
  const path = head.split(' ')[1] ?? '';
  const part = path.includes('/revision/') ? 0 : path.includes('/tree/') ? 1 : 2;
  return answers[part] ?? new Uint8Array(0);
}

function rawServer(): Promise<{ server: Server; url: string }> {
  server ??= new Promise((resolve) => {
    const listening = createServer((socket) => {
      let head = '';
      socket.on('data', (data: Buffer) => {
        if (head.includes('\r\n\r\n')) return;
        head += data.toString('latin1');
        if (head.includes('\r\n\r\n')) socket.end(answerFor(head));
      });
      socket.on('error', () => undefined);
    });
    listening.listen(0, '127.0.0.1', () => {
      const address = listening.address() as { port: number };
      listening.unref();
      resolve({ server: listening, url: `http://127.0.0.1:${address.port}` });
    });
  });
  return server;
}

export const hub: FuzzTarget = {
  name: 'hub',
  summary: "the Hub's HTTP answers to a snapshot download (downloadSnapshot against a raw socket server)",
  structure: 'http',
  seeds: hubSeeds,
  async parse(input, scratch) {
    const { url } = await rawServer();
    answers = unpackParts(input, 3);
    await downloadSnapshot({
      repoId: 'org/tiny',
      hubUrl: url,
      cacheDir: join(await scratch.folder(), 'cache'),
      env: {},
      retry: { attempts: 1, baseDelayMs: 0, stallTimeoutMs: 300 },
    });
  },
};
