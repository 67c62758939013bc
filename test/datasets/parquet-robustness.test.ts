// Malformed parquet, one test per class of fault a mutation fuzzer found in hyparquet 1.33 (see
// docs/ROBUSTNESS.md): each input is built byte by byte (craft-parquet.ts), and each must end in
// one QuantgateError naming the file, the row group and the cause, within seconds, with this
// process alive.

import { jest } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { ChildFault, IsolatedProcess } from '../../src/common/isolated-process.js';
import { openDataset } from '../../src/datasets/dataset.js';
import { openParquetSource } from '../../src/datasets/parquet.js';
import type { DatasetSource } from '../../src/datasets/source.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';
import {
  DATA_PAGE_V2,
  OPTIONAL,
  PLAIN,
  REQUIRED,
  SNAPPY,
  UNCOMPRESSED,
  concat,
  craftParquet,
  dataPageHeader,
  page,
  plainByteArrays,
  rleRun,
  snappyLiteral,
  v1Levels,
  type CraftedColumn,
  type CraftedFile,
  type ThriftFields,
} from './craft-parquet.js';

const AUDIO = new TextEncoder().encode('RIFF-not-really-audio');
let dir: string;
beforeAll(async () => {
  dir = await makeTempDir();
});
afterAll(removeTempDirs);

/** The one audio value, as a v1 PLAIN page of a required column. */
function audioColumn(): CraftedColumn {
  const body = plainByteArrays([AUDIO]);
  return {
    name: 'audio',
    repetition: REQUIRED,
    codec: UNCOMPRESSED,
    values: 1,
    pages: page(dataPageHeader(1, body.length), body),
  };
}

/** The transcript column (optional, so it has definition levels) with the given pages. */
function textColumn(pages: Uint8Array, codec = UNCOMPRESSED): CraftedColumn {
  return { name: 'text', repetition: OPTIONAL, utf8: true, codec, values: 1, pages };
}

const goodTextPage = () => {
  const body = concat(v1Levels(rleRun(1, 1)), plainByteArrays(['HELLO WORLD']));
  return page(dataPageHeader(1, body.length), body);
};

/** A v2 data page of one value whose definition levels are `levels`; `v2` changes its header. */
function textPageV2(levels: Uint8Array, v2: ThriftFields = {}): Uint8Array {
  const body = concat(levels, plainByteArrays(['HELLO WORLD']));
  const header = {
    1: { i32: PLAIN },
    2: { i32: 0 },
    3: { i32: 1 },
    4: { i32: PLAIN },
    5: { i32: levels.length },
    6: { i32: 0 },
    7: { bool: false },
    ...v2,
  };
  return page(
    { 1: { i32: DATA_PAGE_V2 }, 2: { i32: body.length }, 3: { i32: body.length }, 8: { struct: header } },
    body,
  );
}
// The page type field is 1 and num_values is field 1 of the v2 header; fix what the spread above set.
const v2 = (levels: Uint8Array, changes: ThriftFields = {}) => textPageV2(levels, { 1: { i32: 1 }, ...changes });

let fileNumber = 0;
async function write(file: Partial<CraftedFile> & { text?: CraftedColumn }): Promise<string> {
  const path = join(dir, `crafted-${fileNumber++}.parquet`);
  await writeFile(
    path,
    craftParquet({ rows: 1, columns: [audioColumn(), file.text ?? textColumn(goodTextPage())], ...file }),
  );
  return path;
}

/** Opens the file and loads every record; the error it ends with, and how long that took. */
async function readAllOf(
  path: string,
  signal?: AbortSignal,
): Promise<{ error: Error | undefined; ms: number; records: { id: string; text: string }[] }> {
  const start = Date.now();
  const records: { id: string; text: string }[] = [];
  let source: DatasetSource | undefined;
  try {
    source = await openParquetSource({ files: [path], signal });
    for await (const record of source.records(0, source.size))
      records.push({ id: record.id, text: (await record.load()).text });
    return { error: undefined, ms: Date.now() - start, records };
  } catch (error) {
    return { error: error as Error, ms: Date.now() - start, records };
  } finally {
    await source?.close();
  }
}

/** Every message the tests provoke: one line, no internals. */
function expectCleanMessage(error: Error | undefined): string {
  expect(error).toBeInstanceOf(QuantgateError);
  const message = error!.message;
  expect(message).not.toMatch(/undefined|NaN|\[object Object\]|\n/);
  return message;
}

describe('crafted parquet files', () => {
  it('the well-formed one reads (so each test below isolates one fault)', async () => {
    const { error, records } = await readAllOf(await write({}));
    expect(error).toBeUndefined();
    expect(records).toEqual([{ id: '0', text: 'HELLO WORLD' }]);
    const v2Page = await readAllOf(await write({ text: textColumn(v2(rleRun(1, 1))) }));
    expect(v2Page.error).toBeUndefined();
    expect(v2Page.records).toEqual([{ id: '0', text: 'HELLO WORLD' }]);
  });
});

describe('schema child counts (hyparquet: TypeError in schemaTree)', () => {
  it('a root claiming more children than the schema lists', async () => {
    const path = await write({ rootChildren: 3 });
    const message = expectCleanMessage((await readAllOf(path)).error);
    expect(message).toBe(
      `${path} is not a readable parquet file (schema element "schema" declares 3 children, but only 2 elements follow it); download it again`,
    );
  });

  it('a negative child count', async () => {
    const message = expectCleanMessage((await readAllOf(await write({ rootChildren: -1 }))).error);
    expect(message).toContain('(schema element "schema" declares -1 children)');
  });

  it('a root claiming fewer children than the schema lists', async () => {
    const message = expectCleanMessage((await readAllOf(await write({ rootChildren: 1 }))).error);
    expect(message).toContain('(its schema has 1 elements past the end of the tree its root declares)');
  });
});

describe('row counts', () => {
  it('a negative num_rows is refused, not taken as the dataset size', async () => {
    const message = expectCleanMessage((await readAllOf(await write({ rows: -48, groupRows: -48 }))).error);
    expect(message).toContain('(its footer declares -48 rows)');
  });

  it("a num_rows that disagrees with the row groups'", async () => {
    const message = expectCleanMessage((await readAllOf(await write({ rows: 5, groupRows: 1 }))).error);
    expect(message).toContain('(its footer declares 5 rows, but its row groups hold 1)');
  });

  it("a row group's num_rows that disagrees with its columns' values", async () => {
    const path = await write({ rows: 5, groupRows: 5 });
    const message = expectCleanMessage((await readAllOf(path)).error);
    expect(message).toBe(
      `${path}, row group 0: column "audio" holds 1 values, but its row group declares 5 rows; the file is corrupt — download it again`,
    );
  });
});

describe('a DataPageHeaderV2 without repetition_levels_byte_length (hyparquet: endless loop)', () => {
  // The levels start with a run of zero values: once hyparquet's offset is NaN it reads that
  // first byte forever.
  const levels = concat(rleRun(0, 1), rleRun(1, 1));

  it('is refused by the page checks in well under a second of work, with a precise message', async () => {
    const path = await write({ text: textColumn(v2(levels, { 6: undefined })) });
    const { error, ms } = await readAllOf(path);
    const message = expectCleanMessage(error);
    expect(message).toBe(
      `${path}, row group 0: column "text", page 0: its data page v2 header has no repetition levels byte length; the file is corrupt — download it again`,
    );
    expect(ms).toBeLessThan(5000);
  });

  it('unchecked, hangs hyparquet, and the watchdog still ends it within its bound', async () => {
    const path = await write({ text: textColumn(v2(levels, { 6: undefined })) });
    const unchecked = new IsolatedProcess({
      entry: new URL('./unchecked-parquet-child.js', import.meta.url),
      heapMb: 128,
      stallMs: 1500,
    });
    try {
      await unchecked.request('ready', null, async () => undefined);
      const start = Date.now();
      const error = await unchecked.request('read', path, async () => undefined).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ChildFault);
      expect((error as ChildFault).fault).toBe('stalled');
      expect(Date.now() - start).toBeLessThan(5000);
    } finally {
      await unchecked.close();
    }
  });
});

describe('a huge run-length count in the definition levels (hyparquet: V8 fatal "invalid size")', () => {
  const HUGE = 2 ** 31 - 1;

  it('in levels the checks can see (v2, or uncompressed v1) is refused precisely', async () => {
    const v2Message = expectCleanMessage(
      (await readAllOf(await write({ text: textColumn(v2(rleRun(HUGE, 1))) }))).error,
    );
    expect(v2Message).toContain(
      `row group 0: column "text", page 0: its definition levels repeat a value ${HUGE} times, past the page's 1 values; the file is corrupt`,
    );
    const body = concat(v1Levels(rleRun(HUGE, 1)), plainByteArrays(['HELLO WORLD']));
    const v1Message = expectCleanMessage(
      (await readAllOf(await write({ text: textColumn(page(dataPageHeader(1, body.length), body)) }))).error,
    );
    expect(v1Message).toContain(`its definition levels repeat a value ${HUGE} times`);
  });

  it('inside a compressed page, kills only the reader process: a clean error, and this process lives on', async () => {
    const body = concat(v1Levels(rleRun(HUGE, 1)), plainByteArrays(['HELLO WORLD']));
    const compressed = snappyLiteral(body);
    const path = await write({
      text: textColumn(page(dataPageHeader(1, body.length, compressed.length), compressed), SNAPPY),
    });
    const { error, ms } = await readAllOf(path);
    const message = expectCleanMessage(error);
    expect(message).toBe(
      `${path}, row group 0: decoding it needed more than the reader's 512 MB of memory; the file is corrupt — download it again`,
    );
    expect(ms).toBeLessThan(60_000);
    // Still here, and still reading.
    expect((await readAllOf(await write({}))).records).toHaveLength(1);
  }, 90_000);
});

describe("hyparquet's own error text stays out of the message", () => {
  const debug = process.env.QUANTGATE_DEBUG;
  afterEach(() => {
    if (debug === undefined) delete process.env.QUANTGATE_DEBUG;
    else process.env.QUANTGATE_DEBUG = debug;
  });

  it('a footer without its schema ("Cannot read properties of undefined")', async () => {
    const message = expectCleanMessage((await readAllOf(await write({ footer: { 2: undefined } }))).error);
    expect(message).toMatch(/ is not a readable parquet file \(its footer metadata is malformed\); download it again$/);
  });

  it('an unknown page type ("page type: undefined")', async () => {
    const bad = goodTextPage();
    bad[1] = 7 * 2; // the zigzag varint of field 1, the page type
    const message = expectCleanMessage((await readAllOf(await write({ text: textColumn(bad) }))).error);
    expect(message).toContain(
      'row group 0: column "text", page 0: its header declares page type 7, outside 0 to 3; the file is corrupt',
    );
  });

  it('a value longer than its page: our words, and the library text only with QUANTGATE_DEBUG=1', async () => {
    const body = concat(v1Levels(rleRun(1, 1)), new Uint8Array([200, 0, 0, 0]), new TextEncoder().encode('SHORT'));
    const path = await write({ text: textColumn(page(dataPageHeader(1, body.length), body)) });
    delete process.env.QUANTGATE_DEBUG;
    const message = expectCleanMessage((await readAllOf(path)).error);
    expect(message).toBe(
      `${path}, row group 0: the parquet decoder rejected its data; the file is corrupt or uses a parquet feature this reader lacks — download it again or re-save it with snappy compression`,
    );

    process.env.QUANTGATE_DEBUG = '1';
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((text) => {
      written.push(String(text));
      return true;
    });
    try {
      expect(expectCleanMessage((await readAllOf(path)).error)).toBe(message);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(/^debug: parquet reader: \w*Error: /m);
  });
});

describe('an AbortSignal', () => {
  it('stops a read in progress at once, killing the reader process; a source open beside it reads on', async () => {
    const body = concat(v1Levels(rleRun(2 ** 31 - 1, 1)), plainByteArrays(['HELLO WORLD']));
    const compressed = snappyLiteral(body);
    const path = await write({
      text: textColumn(page(dataPageHeader(1, body.length, compressed.length), compressed), SNAPPY),
    });
    const beside = await openParquetSource({ files: [await write({})] });
    const controller = new AbortController();
    const source = await openParquetSource({ files: [path], signal: controller.signal });
    try {
      const reading = (async () => {
        for await (const record of source.records(0, 1)) await record.load();
      })();
      setTimeout(() => controller.abort(new Error('stopped')), 300);
      const start = Date.now();
      await expect(reading).rejects.toThrow('stopped');
      expect(Date.now() - start).toBeLessThan(2000);
      // Its footer was read by the process that was killed; a fresh one reads it again.
      const texts = [];
      for await (const record of beside.records(0, 1)) texts.push((await record.load()).text);
      expect(texts).toEqual(['HELLO WORLD']);
    } finally {
      await Promise.all([source.close(), beside.close()]);
    }
  });

  it('given to openDataset, reaches the parquet reader', async () => {
    const controller = new AbortController();
    const dataset = await openDataset(
      { kind: 'parquet', files: [await write({})] },
      { sampleRate: 16000, signal: controller.signal },
    );
    try {
      controller.abort(new Error('stopped before reading'));
      const read = async () => {
        for await (const item of dataset) expect(item).toBeDefined();
      };
      await expect(read()).rejects.toThrow('stopped before reading');
    } finally {
      await dataset.close();
    }
  });
});
