// The jest environment of quantgate's tests: Node's, except that typed arrays and ArrayBuffer are
// the host realm's. Native addons (onnxruntime-node) create their outputs in the host realm and
// check inputs with `instanceof`, which fails against the sandbox's own copies of these classes.
import { TestEnvironment } from 'jest-environment-node';

const HOST_CLASSES = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

export default class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of HOST_CLASSES) this.global[name] = globalThis[name];
  }
}
