// The fake is checked against the real client it imitates: @azure/storage-blob (installed with
// @actions/artifact and @actions/cache, which upload and download through it).
import { BlockBlobClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { FakeAzureBlob } from './fake-azure-blob.js';

let store: FakeAzureBlob;

beforeAll(async () => {
  store = await FakeAzureBlob.start();
});
afterAll(async () => {
  await store.close();
});

async function bytesOf(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('FakeAzureBlob', () => {
  test('takes a single-shot upload and serves it whole, in ranges and as properties', async () => {
    const data = randomBytes(5000);
    const client = new BlockBlobClient(store.signedUrl('container/single.bin'));
    await client.uploadData(data, { blobHTTPHeaders: { blobContentType: 'application/x-test' } });
    expect(store.read('container/single.bin')).toEqual(data);
    expect(await bytesOf((await client.download()).readableStreamBody)).toEqual(data);
    expect(await bytesOf((await client.download(1000, 500)).readableStreamBody)).toEqual(data.subarray(1000, 1500));
    const properties = await client.getProperties();
    expect(properties.contentLength).toBe(5000);
    expect(properties.contentType).toBe('application/x-test');
    expect(store.requests.map((request) => `${request.operation} ${request.status}`)).toEqual([
      'PutBlob 201',
      'GetBlob 200',
      'GetBlob 206',
      'GetBlobProperties 200',
    ]);
  });

  test('assembles a streamed upload from its blocks in the committed order', async () => {
    const data = randomBytes(3 * 1024 + 17);
    const client = new BlockBlobClient(store.signedUrl('container/nested/streamed.bin'));
    await client.uploadStream(Readable.from([data.subarray(0, 2000), data.subarray(2000)]), 1024, 2);
    expect(store.read('container/nested/streamed.bin')).toEqual(data);
    const operations = store.requests
      .filter((request) => request.blob === 'container/nested/streamed.bin')
      .map((request) => request.operation);
    expect(operations).toEqual(['PutBlock', 'PutBlock', 'PutBlock', 'PutBlock', 'PutBlockList']);
  });

  test('refuses a URL without the signature it issued, and unknown blobs and ranges', async () => {
    const signed = new URL(store.signedUrl('container/single.bin'));
    signed.searchParams.set('sig', 'forged');
    await expect(new BlockBlobClient(signed.toString()).download()).rejects.toMatchObject({ statusCode: 403 });
    await expect(new BlockBlobClient(store.signedUrl('container/absent.bin')).download()).rejects.toMatchObject({
      statusCode: 404,
    });
    await expect(new BlockBlobClient(store.signedUrl('container/single.bin')).download(6000)).rejects.toMatchObject({
      statusCode: 416,
    });
  });
});
