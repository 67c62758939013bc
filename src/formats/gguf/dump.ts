// A text dump of a GGUF in exactly the format of the golden reference dump (made with ggml's own
// reader): one header line, one line per key with its GGUF type id and value, one line per tensor
// with its type, shape padded to 4 dims, offset, size and the FNV-1a 64 hash of its bytes. Two
// files with equal dumps hold the same keys and tensors. Numbers print as C's printf would:
// f32 with %g, f64 with %.17g.

import { GGML_MAX_DIMS, GgufValueType } from './constants.js';
import type { GgufScalarType } from './metadata.js';
import type { GgufFile } from './reader.js';

export async function dumpGguf(file: GgufFile): Promise<string> {
  const lines = [
    `version ${file.version} alignment ${file.alignment} data_offset ${file.dataOffset} n_kv ${file.metadata.length} n_tensors ${file.tensors.length}`,
  ];
  for (const entry of file.metadata) {
    if (entry.type === GgufValueType.ARRAY) {
      const items = (entry.value as unknown[]).map((item) => ` ${formatValue(entry.itemType, item)}`).join('');
      lines.push(`kv ${entry.key} type=${entry.type} array<${entry.itemType}>[${entry.value.length}] =${items}`);
    } else {
      lines.push(`kv ${entry.key} type=${entry.type} = ${formatValue(entry.type, entry.value)}`);
    }
  }
  for (const tensor of file.tensors) {
    const ne = [...tensor.ne, ...Array<number>(GGML_MAX_DIMS - tensor.ne.length).fill(1)];
    const hash = new Fnv1a64();
    for await (const chunk of file.readChunks(tensor.name)) hash.update(chunk);
    lines.push(
      `tensor ${tensor.name} type=${tensor.type.toLowerCase()} ne=[${ne.join(',')}] off=${tensor.offset} size=${tensor.size} fnv=${hash.hex()}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function formatValue(type: GgufScalarType, value: unknown): string {
  switch (type) {
    case GgufValueType.STRING:
      return `"${value as string}"`;
    case GgufValueType.BOOL:
      return value ? '1' : '0';
    case GgufValueType.FLOAT32:
      return formatGeneral(value as number, 6);
    case GgufValueType.FLOAT64:
      return formatGeneral(value as number, 17);
    default:
      return String(value);
  }
}

/**
 * FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3 = 2^40 + 0x1b3) kept in four
 * 16-bit limbs, so every product stays exact in 32-bit integer arithmetic.
 */
class Fnv1a64 {
  private limbs = [0x2325, 0x8422, 0x9ce4, 0xcbf2];

  update(bytes: Uint8Array): void {
    let [h0, h1, h2, h3] = this.limbs as [number, number, number, number];
    for (let i = 0; i < bytes.length; i++) {
      h0 ^= bytes[i]!;
      // multiplying by 2^40 shifts limb k into limb k + 2 by 8 bits
      const t0 = h0 * 0x1b3;
      const t1 = h1 * 0x1b3 + (t0 >>> 16);
      const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
      const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
      h0 = t0 & 0xffff;
      h1 = t1 & 0xffff;
      h2 = t2 & 0xffff;
      h3 = t3 & 0xffff;
    }
    this.limbs = [h0, h1, h2, h3];
  }

  hex(): string {
    return this.limbs
      .map((limb) => limb.toString(16).padStart(4, '0'))
      .reverse()
      .join('');
  }
}

/** C's printf("%.<precision>g") as glibc prints it, rounding the exact binary value half to even. */
function formatGeneral(value: number, precision: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value < 0 ? '-inf' : 'inf';
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  if (value === 0) return `${sign}0`;
  const { digits, exponent } = roundSignificant(Math.abs(value), precision);
  const trimmed = (text: string) => text.replace(/0+$/, '');
  if (exponent < -4 || exponent >= precision) {
    const fraction = trimmed(digits.slice(1));
    const power = `${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
    return `${sign}${digits[0]}${fraction ? `.${fraction}` : ''}e${power}`;
  }
  const whole = exponent >= 0 ? digits.slice(0, exponent + 1) : '0';
  const fraction = trimmed(exponent >= 0 ? digits.slice(exponent + 1) : '0'.repeat(-exponent - 1) + digits);
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** The first `precision` significant decimal digits of a positive finite double, and the power of ten of the first. */
function roundSignificant(value: number, precision: number): { digits: string; exponent: number } {
  // A double is m·2^e exactly, so its decimal expansion is finite: m·5^-e digits scaled by 10^e.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const power2 = biased === 0 ? -1074 : biased - 1075;
  const exact = power2 >= 0 ? (mantissa << BigInt(power2)).toString() : (mantissa * 5n ** BigInt(-power2)).toString();
  let exponent = exact.length - 1 + Math.min(power2, 0);
  if (exact.length <= precision) return { digits: exact.padEnd(precision, '0'), exponent };
  let kept = exact.slice(0, precision);
  const dropped = exact.slice(precision);
  const half = dropped[0] === '5' && /^0*$/.test(dropped.slice(1));
  const roundUp = dropped[0]! > '5' || (dropped[0] === '5' && !half) || (half && Number(kept.at(-1)) % 2 === 1);
  if (roundUp) {
    kept = (BigInt(kept) + 1n).toString();
    if (kept.length > precision) {
      kept = kept.slice(0, precision);
      exponent++;
    }
  }
  return { digits: kept, exponent };
}
