// A forward HTTP proxy on 127.0.0.1 for the proxy tests, as squid or a corporate proxy acts: plain
// http requests arrive in absolute form and are forwarded, https arrives as CONNECT and is
// tunnelled. It records what passes through it (method, target host, the credentials shown) and,
// given `credentials`, refuses everyone else with 407 as a proxy that wants a login does.

import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** `host:port` the client asked to reach. */
  target: string;
  /** The request's path (absolute-form requests only). */
  path?: string;
  /** The Proxy-Authorization header sent, if any. */
  authorization?: string;
  /** The status the proxy itself answered with, when it refused. */
  refused?: number;
}

export class ForwardProxy {
  readonly requests: ProxiedRequest[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly credentials: string | undefined) {
    this.server = http.createServer((request, response) => {
      const target = new URL(request.url ?? '/');
      const entry = this.record(request, target.host, `${target.pathname}${target.search}`);
      if (entry.refused) {
        response.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"' }).end();
        return;
      }
      const headers = { ...request.headers };
      delete headers['proxy-authorization'];
      const upstream = http.request(
        { host: target.hostname, port: target.port || 80, method: request.method, path: entry.path, headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
          answer.pipe(response);
          answer.on('error', () => response.destroy());
        },
      );
      upstream.on('error', () => response.destroy());
      response.on('close', () => upstream.destroy());
      request.pipe(upstream);
    });
    this.server.on('connect', (request: IncomingMessage, client: net.Socket, head: Buffer) => {
      this.track(client);
      client.on('error', () => undefined);
      const entry = this.record(request, request.url ?? '', undefined);
      if (entry.refused) {
        client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="test proxy"\r\ncontent-length: 0\r\n\r\n',
        );
        return;
      }
      const [host, port] = splitAuthority(request.url ?? '');
      const upstream = net.connect({ host, port }, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.byteLength > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      this.track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    this.server.on('connection', (socket: net.Socket) => this.track(socket));
  }

  /** `credentials` ("user:password"): the only login let through; without it everyone passes. */
  static async start(options: { credentials?: string } = {}): Promise<ForwardProxy> {
    const proxy = new ForwardProxy(options.credentials);
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    return proxy;
  }

  /** e.g. http://127.0.0.1:40123, or with `login` http://user:password@127.0.0.1:40123. */
  url(login?: string): string {
    return `http://${login ? `${login}@` : ''}127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The targets (`host:port`) of what passed through, refusals left out. */
  targets(): string[] {
    return this.requests.filter((request) => !request.refused).map((request) => request.target);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private record(request: IncomingMessage, target: string, path: string | undefined): ProxiedRequest {
    const authorization = request.headers['proxy-authorization'];
    const allowed =
      this.credentials === undefined || authorization === `Basic ${Buffer.from(this.credentials).toString('base64')}`;
    const entry: ProxiedRequest = {
      method: request.method ?? '',
      target,
      ...(path !== undefined && { path }),
      ...(authorization && { authorization }),
      ...(!allowed && { refused: 407 }),
    };
    this.requests.push(entry);
    return entry;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

function splitAuthority(authority: string): [string, number] {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(authority);
  return match ? [match[1]!, Number(match[2])] : [authority, 443];
}
