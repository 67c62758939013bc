// Writes a safetensors file as a stream: the header is laid out up front from the tensor list, then
// each tensor's bytes arrive in order, in chunks of any size, so a multi-gigabyte file never sits in
// memory. The output appears only once every tensor has received exactly its byte length.
//
// The header is what the reference writer produces for the same order: compact JSON with
// `__metadata__` first, then each tensor's dtype, shape and data_offsets, padded with spaces to a
// multiple of 8 bytes. Tensors are stored in the order given (the reference sorts them by dtype and
// name first); offsets are contiguous.

import { writeAtomic } from '../common/atomic.js';
import { MAX_HEADER_BYTES, SAFETENSORS_DTYPE_BITS, type SafetensorsDtype } from './safetensors.js';

export interface SafetensorsTensorSpec {
  name: string;
  dtype: SafetensorsDtype;
  /** Outermost dimension first. */
  shape: readonly number[];
}

export interface SafetensorsSink {
  /**
   * Appends `bytes` (little-endian) to tensor `name`. Tensors must be filled in the order given,
   * and each call awaited before the next; `bytes` must stay unchanged until then.
   */
  write(name: string, bytes: Uint8Array): Promise<void>;
}

/** Writes `path` atomically: `fill` streams every tensor's data into the sink. */
export async function writeSafetensors(
  path: string,
  tensors: readonly SafetensorsTensorSpec[],
  fill: (sink: SafetensorsSink) => Promise<void>,
  options: { metadata?: Readonly<Record<string, string>> } = {},
): Promise<void> {
  const byteLengths = tensors.map(tensorByteLength);
  const header = encodeHeader(tensors, byteLengths, options.metadata);
  await writeAtomic(path, async (file) => {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.byteLength));
    await file.write(length);
    await file.write(header);

    let current = 0; // the tensor being filled
    let received = 0; // its bytes so far
    let writing = false;
    const skipFilled = (until?: string) => {
      while (current < tensors.length && received === byteLengths[current] && tensors[current]!.name !== until) {
        current++;
        received = 0;
      }
    };
    const shortfall = () =>
      `tensor "${tensors[current]!.name}" received ${received} of its ${byteLengths[current]} bytes`;

    await fill({
      async write(name, bytes) {
        if (writing) throw new Error(`safetensors writes to ${path} overlap; await each write before the next`);
        skipFilled(name);
        if (current === tensors.length)
          throw new Error(`data for tensor "${name}" arrived for ${path}, which has no such tensor left to fill`);
        if (tensors[current]!.name !== name)
          throw new Error(`data for tensor "${name}" arrived while ${shortfall()}; fill tensors in order`);
        if (received + bytes.byteLength > byteLengths[current]!) {
          throw new Error(
            `tensor "${name}" received ${received + bytes.byteLength} bytes, more than its ${byteLengths[current]}`,
          );
        }
        writing = true;
        try {
          await file.write(bytes);
        } finally {
          writing = false;
        }
        received += bytes.byteLength;
      },
    });
    skipFilled();
    if (current < tensors.length) throw new Error(`${path} is incomplete: ${shortfall()}`);
  });
}

function tensorByteLength(tensor: SafetensorsTensorSpec): number {
  const bitsPerElement: number | undefined = SAFETENSORS_DTYPE_BITS[tensor.dtype];
  if (bitsPerElement === undefined)
    throw new Error(`tensor "${tensor.name}" has dtype ${tensor.dtype}, which is not a safetensors dtype`);
  if (!tensor.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0))
    throw new Error(
      `tensor "${tensor.name}" has shape ${JSON.stringify(tensor.shape)}; dimensions must be non-negative integers`,
    );
  const bits = tensor.shape.reduce((product, dim) => product * dim, 1) * bitsPerElement;
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0)
    throw new Error(
      `tensor "${tensor.name}" (${tensor.dtype} ${JSON.stringify(tensor.shape)}) does not fill a whole, addressable number of bytes`,
    );
  return bits / 8;
}

function encodeHeader(
  tensors: readonly SafetensorsTensorSpec[],
  byteLengths: readonly number[],
  metadata: Readonly<Record<string, string>> | undefined,
): Uint8Array {
  // Built entry by entry: an object would move integer-like tensor names to the front.
  const entries = metadata === undefined ? [] : [`"__metadata__":${JSON.stringify(metadata)}`];
  const names = new Set<string>();
  let offset = 0;
  tensors.forEach((tensor, index) => {
    if (tensor.name === '__metadata__' || names.has(tensor.name))
      throw new Error(`tensor name "${tensor.name}" is reserved or repeated; safetensors names must be unique`);
    names.add(tensor.name);
    const end = offset + byteLengths[index]!;
    entries.push(
      `${JSON.stringify(tensor.name)}:{"dtype":"${tensor.dtype}","shape":${JSON.stringify(tensor.shape)},"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  });
  const json = Buffer.from(`{${entries.join(',')}}`);
  const padded = Buffer.alloc(Math.ceil(json.byteLength / 8) * 8, ' ');
  json.copy(padded);
  if (padded.byteLength > MAX_HEADER_BYTES)
    throw new Error(
      `the safetensors header would take ${padded.byteLength} bytes, more than the format's ${MAX_HEADER_BYTES}`,
    );
  return padded;
}
