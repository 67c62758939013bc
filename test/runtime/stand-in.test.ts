import { createRequire } from 'node:module';
import * as standIn from '../../src/runtime/stand-in.js';
import { loadOnnxruntime } from '../../src/runtime/load.js';
import { resolvedOnnxruntime } from '../../src/runtime/location.js';
import { QuantgateError } from '../../src/common/errors.js';
import { silentProgress } from '../../src/common/progress.js';

const real = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');

describe('the onnxruntime-node stand-in of the bundle', () => {
  test('exports every name onnxruntime-node exports, and the default', () => {
    expect([...standIn.ONNXRUNTIME_EXPORTS].sort()).toEqual(Object.keys(real).sort());
    for (const name of standIn.ONNXRUNTIME_EXPORTS) expect(standIn).toHaveProperty(name);
    expect(standIn).toHaveProperty('default');
  });

  test('fails clearly when used before the action loaded onnxruntime', () => {
    expect(() => standIn.InferenceSession.create).toThrow(QuantgateError);
    expect(() => new standIn.Tensor('float32', [1], [1])).toThrow(
      "onnxruntime-node's Tensor was used before the action installed onnxruntime",
    );
  });

  test('loading binds every export to the package, live', async () => {
    // Here the package is resolvable beside the sources, as in a checkout after npm ci.
    expect(await loadOnnxruntime({ env: {}, progress: silentProgress })).toEqual({
      source: 'beside the action',
      location: resolvedOnnxruntime(),
    });
    for (const name of standIn.ONNXRUNTIME_EXPORTS) expect([name, standIn[name]]).toEqual([name, real[name]]);
    expect(standIn.default).toBe(real);
  });
});
