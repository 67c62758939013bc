// What `onnxruntime-node` is inside the bundled action. scripts/bundle.mjs resolves every import of
// the package to this module, because the action ships without node_modules: the real package is
// installed at run time (install.ts) and then bound here. The exports are live bindings, so the
// engines' ordinary `import { InferenceSession } from 'onnxruntime-node'` sees the real package
// once `bindOnnxruntime` has run, and a clear error before.

import type * as Onnxruntime from 'onnxruntime-node';
import { QuantgateError } from '../common/errors.js';

type OnnxruntimeModule = typeof Onnxruntime;

/** Every export of onnxruntime-node (a test compares this list with the installed package). */
export const ONNXRUNTIME_EXPORTS = [
  'InferenceSession',
  'Tensor',
  'env',
  'listSupportedBackends',
  'registerBackend',
  'TRACE',
  'TRACE_FUNC_BEGIN',
  'TRACE_FUNC_END',
  'TRACE_EVENT_BEGIN',
  'TRACE_EVENT_END',
] as const satisfies readonly (keyof OnnxruntimeModule)[];

export let InferenceSession: OnnxruntimeModule['InferenceSession'] = unbound('InferenceSession');
export let Tensor: OnnxruntimeModule['Tensor'] = unbound('Tensor');
export let env: OnnxruntimeModule['env'] = unbound('env');
export let listSupportedBackends: OnnxruntimeModule['listSupportedBackends'] = unbound('listSupportedBackends');
export let registerBackend: OnnxruntimeModule['registerBackend'] = unbound('registerBackend');
export let TRACE: OnnxruntimeModule['TRACE'] = unbound('TRACE');
export let TRACE_FUNC_BEGIN: OnnxruntimeModule['TRACE_FUNC_BEGIN'] = unbound('TRACE_FUNC_BEGIN');
export let TRACE_FUNC_END: OnnxruntimeModule['TRACE_FUNC_END'] = unbound('TRACE_FUNC_END');
export let TRACE_EVENT_BEGIN: OnnxruntimeModule['TRACE_EVENT_BEGIN'] = unbound('TRACE_EVENT_BEGIN');
export let TRACE_EVENT_END: OnnxruntimeModule['TRACE_EVENT_END'] = unbound('TRACE_EVENT_END');
let wholeModule: OnnxruntimeModule = unbound('the default export');
export { wholeModule as default };

/** Makes every export above the real package's. */
export function bindOnnxruntime(module: OnnxruntimeModule): void {
  ({
    InferenceSession,
    Tensor,
    env,
    listSupportedBackends,
    registerBackend,
    TRACE,
    TRACE_FUNC_BEGIN,
    TRACE_FUNC_END,
    TRACE_EVENT_BEGIN,
    TRACE_EVENT_END,
  } = module);
  wholeModule = module;
}

/** A value that fails, naming `name`, on any use: onnxruntime was needed where the action did not install it. */
function unbound<T>(name: string): T {
  const fail = (): never => {
    throw new QuantgateError(
      `onnxruntime-node's ${name} was used before the action installed onnxruntime (a bug in quantgate's action; please report it); meanwhile use engine: command`,
    );
  };
  return new Proxy(function unboundOnnxruntime() {}, { get: fail, apply: fail, construct: fail, has: fail }) as T;
}
