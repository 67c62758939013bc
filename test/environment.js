// The jest environment of quantgate's tests: Node's, except that typed arrays and ArrayBuffer are
// the host realm's. Native addons (onnxruntime-node) create their outputs in the host realm and
// check inputs with `instanceof`, which fails against the sandbox's own copies of these classes.
// Proxy variables of the machine running the tests are dropped: the tests' servers are local, and
// the proxy tests set their own.
import { TestEnvironment } from 'jest-environment-node';

const HOST_CLASSES = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];

export default class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of HOST_CLASSES) this.global[name] = globalThis[name];
    for (const name of PROXY_VARIABLES) delete this.global.process.env[name];
  }
}
