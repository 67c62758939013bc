// A script for the isolated-process tests, run as its own Node process: a request that fails, then
// close(), with nothing else holding the event loop; it must print "closed" and exit 0.

import { IsolatedProcess } from '../../src/common/isolated-process.js';

const child = new IsolatedProcess({ entry: new URL(process.env.FAULT_CHILD!), heapMb: 64, stallMs: 10_000 });
await child.request('refuse', null, async () => undefined).catch(() => undefined);
await child.close();
console.log('closed');
