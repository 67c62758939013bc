// Which proxy, if any, a request goes through, read from the environment as curl and the Actions
// toolkit's @actions/http-client read it: https_proxy / HTTPS_PROXY for https URLs, http_proxy /
// HTTP_PROXY for http URLs (the lower-case name wins; an https URL never falls back to
// HTTP_PROXY), a proxy address without a scheme meaning http://, and no_proxy / NO_PROXY as a
// comma- or space-separated list of hosts that bypass it: `*` for every host, `example.com` or
// `.example.com` for that domain and its subdomains, `host:port` for one port only, an IP
// address, or an IP range in CIDR notation. Unlike @actions/http-client, loopback addresses are
// not exempted by themselves (curl does not exempt them either): list `localhost,127.0.0.1` in
// NO_PROXY to reach local services directly.

import { BlockList, isIP } from 'node:net';
import { QuantgateError } from '../common/errors.js';

export interface Proxy {
  /** The proxy's address, credentials included (never print it: see `proxyLabel`). */
  url: URL;
  /** The environment variable it was read from, for messages. */
  variable: string;
}

/** The proxy to reach `target` through, or undefined to connect directly. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): Proxy | undefined {
  const names =
    target.protocol === 'https:'
      ? ['https_proxy', 'HTTPS_PROXY']
      : target.protocol === 'http:'
        ? ['http_proxy', 'HTTP_PROXY']
        : [];
  const variable = names.find((name) => env[name]?.trim());
  if (variable === undefined || bypassesProxy(target, env)) return undefined;
  return { url: parseProxyAddress(env[variable]!.trim(), variable), variable };
}

/** The proxy as messages show it: its address without credentials, and where it was set. */
export function proxyLabel(proxy: Proxy): string {
  return `the proxy ${proxy.url.protocol}//${proxy.url.host} (${proxy.variable})`;
}

/** The one-line error for a proxy that answers a request, or a tunnel to `target`, with a refusal. */
export function proxyRefusal(proxy: Proxy, target: URL, status: number, statusText = ''): QuantgateError {
  const answer = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  const fix =
    status === 407
      ? `put the proxy's user name and password in ${proxy.variable} (http://user:password@host:port)`
      : `ask for ${target.host} to be allowed through the proxy`;
  return new QuantgateError(
    `${proxyLabel(proxy)} refused the connection to ${target.host} (${answer}); ${fix}, or list ${target.hostname} in NO_PROXY to connect directly`,
  );
}

function parseProxyAddress(value: string, variable: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    const shown = value.replace(/\/\/[^/@]*@/, '//***@');
    throw new QuantgateError(
      `${variable}="${shown}" is not a proxy address quantgate can use; give an http:// or https:// proxy, e.g. ${variable}=http://proxy.example.com:3128, or unset it`,
    );
  }
  return url;
}

/** True when no_proxy / NO_PROXY lists `target`'s host (and port, where an entry names one). */
export function bypassesProxy(target: URL, env: NodeJS.ProcessEnv = process.env): boolean {
  const list = [env.no_proxy, env.NO_PROXY].find((value) => value?.trim()) ?? '';
  const host = target.hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  return list
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => entryMatches(entry.toLowerCase(), host, port));
}

function entryMatches(entry: string, host: string, port: number): boolean {
  if (entry === '*') return true;
  const { name, entryPort } = splitPort(entry);
  if (entryPort !== undefined && entryPort !== port) return false;
  const slash = name.indexOf('/');
  if (slash !== -1) return inRange(host, name.slice(0, slash), Number(name.slice(slash + 1)));
  const domain = name.replace(/^\*?\./, '').replace(/\.$/, '');
  if (domain === '') return false;
  if (isIP(domain) || isIP(host)) return domain === host;
  return host === domain || host.endsWith(`.${domain}`);
}

/** `host:port`, `[v6]:port` or a bare name, IPv6 address or CIDR range. */
function splitPort(entry: string): { name: string; entryPort?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { name: bracketed[1]!, ...(bracketed[2] !== undefined && { entryPort: Number(bracketed[2]) }) };
  const withPort = /^([^:]+):(\d+)$/.exec(entry);
  if (withPort) return { name: withPort[1]!, entryPort: Number(withPort[2]) };
  return { name: entry };
}

function inRange(host: string, network: string, prefix: number): boolean {
  const family = isIP(network);
  if (
    family === 0 ||
    isIP(host) !== family ||
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > (family === 4 ? 32 : 128)
  )
    return false;
  const range = new BlockList();
  range.addSubnet(network, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return range.check(host, family === 4 ? 'ipv4' : 'ipv6');
}
