// The HTTP plumbing every local stand-in of the tests shares: a server on 127.0.0.1 at a port the
// system picks, whose handler may be async (an error it throws drops that one connection instead of
// the test run), closed together with the connections still open; request bodies read whole; and
// the address of a service that is down.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export class LocalServer {
  private readonly server: http.Server;

  constructor(handle: RequestHandler) {
    this.server = http.createServer(async (request, response) => {
      try {
        await handle(request, response);
      } catch (error) {
        response.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Resolves once the server listens, so that `origin` is known. */
  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  /** e.g. "http://127.0.0.1:40123", without a trailing slash. */
  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Closing a server that is already closed is not an error: a test may close one to make a service go down. */
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The address of a service that is down: a port on 127.0.0.1 that nothing listens on. */
export async function unreachableUrl(): Promise<string> {
  const server = new LocalServer(() => undefined);
  await server.listen();
  const url = `${server.origin}/`;
  await server.close();
  return url;
}
