// A child for the isolated-process tests: each method misbehaves the way a parser of bad bytes can.

import { QuantgateError } from '../../src/common/errors.js';
import { serveParent } from '../../src/common/isolated-process.js';

serveParent({
  echo: async (params: unknown) => params,
  double: async (params: number, context) => 2 * ((await context.call('fetch', params)) as number),
  refuse: async () => {
    throw new QuantgateError('the input declares -1 items');
  },
  wrap: async () => {
    throw new Error('its header is malformed', {
      cause: new TypeError("Cannot read properties of undefined (reading 'map')"),
    });
  },
  spin: async () => {
    for (;;);
  },
  slowButMoving: async (params: number, context) => {
    const end = Date.now() + params;
    while (Date.now() < end) context.progress();
    return 'done';
  },
  grow: async () => {
    const values: number[] = [];
    for (;;) values.push(1);
  },
  abort: async () => process.abort(),
});
