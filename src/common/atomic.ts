// Every file the pipeline writes appears whole or not at all: data goes to a temp name in the
// destination folder and is renamed into place only after it is complete and flushed. Every temp
// file or folder alive is recorded, so a run stopped by a signal can remove them all at once.

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { QuantgateError, describeError } from './errors.js';

/** A temp name beside `finalPath`, so the final rename never crosses file systems. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

const liveTempPaths = new Set<string>();

/**
 * Records a temp file or folder until `releaseTempPath` (once it was renamed or removed), so that
 * `removeLiveTempPaths` can delete it when a stopped run cannot unwind in time.
 */
export function holdTempPath(path: string): void {
  liveTempPaths.add(path);
}

export function releaseTempPath(path: string): void {
  liveTempPaths.delete(path);
}

/** Deletes every temp path still held, synchronously: the last thing a forced stop does before it exits. */
export function removeLiveTempPaths(): void {
  for (const path of liveTempPaths) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Best effort at exit: a path that cannot be removed now could not be removed later either.
    }
  }
  liveTempPaths.clear();
}

export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new QuantgateError(
      `cannot create output folder ${dir} (${describeError(error)}); choose a writable --out-dir`,
      { cause: error },
    );
  }
}

/** A file being written under a temp name; `commit` renames it into place, `abort` removes it. */
export class AtomicFile {
  private position = 0;
  private closed = false;

  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(finalPath: string): Promise<AtomicFile> {
    await ensureWritableDir(dirname(finalPath));
    const tempPath = tempPathFor(finalPath);
    holdTempPath(tempPath);
    try {
      return new AtomicFile(finalPath, tempPath, await open(tempPath, 'wx'));
    } catch (error) {
      releaseTempPath(tempPath);
      throw new QuantgateError(`cannot write ${finalPath} (${describeError(error)}); choose a writable output path`, {
        cause: error,
      });
    }
  }

  get bytesWritten(): number {
    return this.position;
  }

  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, offset, data.byteLength - offset, this.position);
      offset += bytesWritten;
      this.position += bytesWritten;
    }
  }

  async commit(): Promise<void> {
    await this.handle.sync();
    await this.close();
    await rename(this.tempPath, this.finalPath);
    releaseTempPath(this.tempPath);
  }

  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
    releaseTempPath(this.tempPath);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Writes `finalPath` through `fill`; on any error the temp file is removed and the error rethrown. */
export async function writeAtomic(finalPath: string, fill: (file: AtomicFile) => Promise<void>): Promise<void> {
  const file = await AtomicFile.create(finalPath);
  try {
    await fill(file);
    await file.commit();
  } catch (error) {
    await file.abort();
    throw wrapWriteError(finalPath, error);
  }
}

export async function writeFileAtomic(finalPath: string, data: Uint8Array | string): Promise<void> {
  await writeAtomic(finalPath, (file) => file.write(typeof data === 'string' ? Buffer.from(data) : data));
}

/** Copies `source` to `finalPath`, which appears whole or not at all. */
export async function copyFileAtomic(source: string, finalPath: string): Promise<void> {
  const temp = tempPathFor(finalPath);
  holdTempPath(temp);
  try {
    await copyFile(source, temp);
    await rename(temp, finalPath);
  } catch (error) {
    await rm(temp, { force: true });
    throw wrapWriteError(finalPath, error);
  } finally {
    releaseTempPath(temp);
  }
}

/**
 * Builds a whole folder under a temp name and renames it to `finalDir` at the end, replacing an
 * earlier folder of that name only once the new one is complete.
 */
export async function writeDirAtomic<T>(finalDir: string, fill: (tempDir: string) => Promise<T>): Promise<T> {
  await ensureWritableDir(dirname(finalDir));
  const tempDir = tempPathFor(finalDir);
  holdTempPath(tempDir);
  try {
    await mkdir(tempDir);
    const result = await fill(tempDir);
    await rm(finalDir, { recursive: true, force: true });
    await rename(tempDir, finalDir);
    return result;
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw wrapWriteError(finalDir, error);
  } finally {
    releaseTempPath(tempDir);
  }
}

function wrapWriteError(target: string, error: unknown): unknown {
  if (error instanceof QuantgateError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && ['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'EDQUOT', 'EFBIG'].includes(code)) {
    return new QuantgateError(
      `writing ${target} failed (${describeError(error)}); free space or choose a writable output path, then run again`,
      { cause: error },
    );
  }
  return error;
}
