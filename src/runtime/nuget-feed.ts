// Fetches one package version from a NuGet v3 feed. The service index names the flat container,
// where the .nupkg lies, and the registrations, whose leaf for the version points to the catalog
// entry that publishes the package's size and SHA-512. The .nupkg streams to disk, hashed as it
// arrives, and is kept only when it matches what the feed published; transient failures (network
// errors, 5xx, stalls, corrupt bytes) are retried with backoff.

import { writeAtomic } from '../common/atomic.js';
import { QuantgateError, describeError } from '../common/errors.js';
import { silentProgress, type Progress } from '../common/progress.js';
import {
  DEFAULT_RETRY_POLICY,
  RetriesExhaustedError,
  TransientError,
  retrying,
  type RetryPolicy,
} from '../net/retry.js';
import { saveWithSha512, watchedGet } from '../net/watched-get.js';

export const NUGET_ORG_INDEX = 'https://api.nuget.org/v3/index.json';

export interface NugetPackage {
  id: string;
  version: string;
}

export interface PackageLocation {
  package: NugetPackage;
  url: string;
  /** What the feed's catalog publishes; undefined where the feed publishes nothing. */
  size?: number;
  /** Base64, as NuGet writes it. */
  sha512?: string;
}

export interface FeedOptions {
  retry?: RetryPolicy;
  /** Ends every error message: what the user can do about a feed that fails. */
  fix?: string;
  progress?: Progress;
}

const DEFAULT_FIX = 'check the network and the feed URL';

/** Where `pkg` lies on the feed at `indexUrl`, and the size and hash the feed publishes for it. */
export async function locatePackage(
  indexUrl: string,
  pkg: NugetPackage,
  options: FeedOptions = {},
): Promise<PackageLocation> {
  const fix = options.fix ?? DEFAULT_FIX;
  const index = await getJson(indexUrl, 'the service index', options);
  const resources = objectField(index, 'resources');
  if (!Array.isArray(resources))
    throw new QuantgateError(`${indexUrl} is not a NuGet v3 service index (it lists no resources); ${fix}`);
  const resource = (type: string) =>
    resources.find((entry) => objectField(entry, '@type') === type)?.['@id'] as unknown;
  const flat = resource('PackageBaseAddress/3.0.0');
  if (typeof flat !== 'string')
    throw new QuantgateError(
      `${indexUrl} has no PackageBaseAddress/3.0.0 resource, so it cannot serve packages; ${fix}`,
    );

  const id = pkg.id.toLowerCase();
  const version = pkg.version.toLowerCase();
  const versions = objectField(
    await getJson(`${withSlash(flat)}${id}/index.json`, `the versions of ${pkg.id}`, options, { missingOk: true }),
    'versions',
  );
  if (!Array.isArray(versions) || !versions.includes(version)) {
    throw new QuantgateError(`the NuGet feed ${indexUrl} has no ${pkg.id} ${pkg.version}; ${fix}`);
  }
  const registrations = ['RegistrationsBaseUrl/3.6.0', 'RegistrationsBaseUrl/3.4.0', 'RegistrationsBaseUrl']
    .map(resource)
    .find((url) => typeof url === 'string') as string | undefined;
  const integrity = registrations
    ? await publishedIntegrity(`${withSlash(registrations)}${id}/${version}.json`, options)
    : {};
  return { package: pkg, url: `${withSlash(flat)}${id}/${version}/${id}.${version}.nupkg`, ...integrity };
}

/** Downloads the package to `path` (atomically), refusing bytes whose size or SHA-512 differ from what the feed published. */
export async function downloadPackage(
  location: PackageLocation,
  path: string,
  options: FeedOptions = {},
): Promise<void> {
  const progress = options.progress ?? silentProgress;
  const label = `Downloading ${location.package.id} ${location.package.version}`;
  await withRetries(`${label} from ${location.url}`, options, () =>
    writeAtomic(path, async (file) => {
      await watchedGet(
        location.url,
        options.retry ?? DEFAULT_RETRY_POLICY,
        async (body, contentLength) => {
          const expectedSize = location.size ?? contentLength;
          const sha512 = await saveWithSha512(body, file, progress, label, expectedSize);
          if (expectedSize !== undefined && file.bytesWritten !== expectedSize) {
            throw new TransientError(`received ${file.bytesWritten} bytes, not the ${expectedSize} the feed announced`);
          }
          if (location.sha512 !== undefined && sha512 !== location.sha512) {
            throw new TransientError(
              `the download's SHA-512 ${sha512} is not the ${location.sha512} the feed publishes`,
            );
          }
        },
        { refused: feedRefused },
      );
    }),
  );
}

/** The size and SHA-512 the catalog publishes, through the version's registration leaf; {} when the feed has none. */
async function publishedIntegrity(leafUrl: string, options: FeedOptions): Promise<{ size?: number; sha512?: string }> {
  const catalogUrl = objectField(
    await getJson(leafUrl, 'the registration leaf', options, { missingOk: true }),
    'catalogEntry',
  );
  if (typeof catalogUrl !== 'string') return {};
  const entry = await getJson(catalogUrl, 'the catalog entry', options, { missingOk: true });
  const size = objectField(entry, 'packageSize');
  const hash = objectField(entry, 'packageHash');
  const algorithm = objectField(entry, 'packageHashAlgorithm');
  return {
    ...(Number.isSafeInteger(size) && { size: size as number }),
    ...(typeof hash === 'string' &&
      typeof algorithm === 'string' &&
      algorithm.toUpperCase() === 'SHA512' && { sha512: hash }),
  };
}

async function getJson(url: string, what: string, options: FeedOptions, { missingOk = false } = {}): Promise<unknown> {
  const answer = await withRetries(`reading ${what} ${url}`, options, () =>
    watchedGet(
      url,
      options.retry ?? DEFAULT_RETRY_POLICY,
      async (body) => {
        const parts: Buffer[] = [];
        for await (const chunk of body) parts.push(Buffer.from(chunk));
        return Buffer.concat(parts).toString('utf8');
      },
      { missingOk, refused: feedRefused },
    ),
  );
  if (!answer) return undefined;
  try {
    return JSON.parse(answer.result);
  } catch (error) {
    throw new QuantgateError(`${what} ${url} is not JSON (${describeError(error)}); ${options.fix ?? DEFAULT_FIX}`, {
      cause: error,
    });
  }
}

function feedRefused(problem: string): QuantgateError {
  return new QuantgateError(`the feed answered ${problem}`);
}

async function withRetries<T>(what: string, options: FeedOptions, attempt: () => Promise<T>): Promise<T> {
  const progress = options.progress ?? silentProgress;
  try {
    return await retrying(options.retry ?? DEFAULT_RETRY_POLICY, attempt, { what, log: (line) => progress.info(line) });
  } catch (error) {
    if (error instanceof RetriesExhaustedError) {
      throw new QuantgateError(
        `${what} failed ${error.attempts === 1 ? 'once' : `${error.attempts} times`} (last: ${error.lastCause}); ${options.fix ?? DEFAULT_FIX}`,
        { cause: error },
      );
    }
    if (error instanceof QuantgateError)
      throw new QuantgateError(`${what}: ${error.message}; ${options.fix ?? DEFAULT_FIX}`, { cause: error });
    throw error;
  }
}

function objectField(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
