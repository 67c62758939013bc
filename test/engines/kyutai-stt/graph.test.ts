import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { removeLiveTempPaths } from '../../../src/common/atomic.js';
import { disposeGraph, GraphWriter, WEIGHTS_FILE, type OnnxGraph } from '../../../src/engines/kyutai-stt/graph.js';
import { startSession } from '../../../src/engines/kyutai-stt/session.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

/** Identity on the first 128 of 256 columns. */
const LARGE = Float32Array.from({ length: 128 * 256 }, (_, i) => (i % 256 === i >> 8 ? 1 : 0));

async function writeGraph(): Promise<OnnxGraph> {
  return GraphWriter.write(async (g) => {
    const x = g.input('x', 'float32', ['rows', 128]);
    g.output(g.op('MatMul', [x, g.floatWeight('large', [128, 256], LARGE)]), 'y', 'float32');
    g.output(g.op('Add', [x, g.floatWeight('other', [128, 128], new Float32Array(128 * 128))]), 'z', 'float32');
    g.output(g.floatWeight('small', [2], Float32Array.of(1, 2)), 'w', 'float32');
  });
}

describe('GraphWriter', () => {
  it('streams large weights into an aligned weights file and keeps small ones inline', async () => {
    const graph = await writeGraph();
    try {
      const [large, other, small] = graph.model.graph!.initializer;
      expect(large!.rawData).toBeUndefined();
      expect(large!.externalData.map(({ key, value }) => `${key}=${value}`)).toEqual([
        `location=${WEIGHTS_FILE}`,
        'offset=0',
        `length=${LARGE.byteLength}`,
      ]);
      expect(other!.externalData.map(({ key, value }) => `${key}=${value}`)).toEqual([
        `location=${WEIGHTS_FILE}`,
        `offset=${1 << 17}`,
        `length=${128 * 128 * 4}`,
      ]);
      expect(small!.rawData?.length).toBe(8);
      const file = await readFile(join(graph.dir, WEIGHTS_FILE));
      expect(file.length).toBe((1 << 17) + 128 * 128 * 4);
      expect(new Float32Array(file.buffer.slice(file.byteOffset, file.byteOffset + LARGE.byteLength))).toEqual(LARGE);
    } finally {
      await disposeGraph(graph);
    }
    expect(existsSync(graph.dir)).toBe(false);
  });

  it('gives onnxruntime a model that reads its weights from the file; closing removes the files', async () => {
    const graph = await writeGraph();
    const session = await startSession(graph, 'cpu', 'test graph');
    try {
      const input = Float32Array.from({ length: 128 }, (_, i) => i);
      const { y, w } = await session.run({ x: new ort.Tensor('float32', input, [1, 128]) });
      expect(Array.from(y!.data as Float32Array)).toEqual([...Array.from(input), ...Array<number>(128).fill(0)]);
      expect(Array.from(w!.data as Float32Array)).toEqual([1, 2]);
    } finally {
      await session.close();
    }
    expect(existsSync(graph.dir)).toBe(false);
  });

  it('makes its folder where it is told, and leaves nothing there when writing the graph fails', async () => {
    const parent = await makeTempDir();
    const failing = GraphWriter.write(async (g) => {
      g.floatWeight('large', [128, 256], LARGE);
      expect(await readdir(parent)).toHaveLength(1);
      throw new Error('weights unreadable');
    }, parent);
    await expect(failing).rejects.toThrow('weights unreadable');
    expect(await readdir(parent)).toEqual([]);
  });

  it('names values uniquely and refuses an output name already taken', async () => {
    const graph = await GraphWriter.write(async (g) => {
      const x = g.input('x', 'float32', [1]);
      expect([g.name('x'), g.name('sum'), g.name('sum')]).toEqual(['x#1', 'sum', 'sum#1']);
      expect(() => g.output(x, 'sum', 'float32')).toThrow('graph value "sum" is already taken');
    });
    await disposeGraph(graph);
  });

  it('a forced stop removes the folder of a graph being written, weights file and all', async () => {
    const parent = await makeTempDir();
    let folder: string | undefined;
    await expect(
      GraphWriter.write(async (g) => {
        g.floatWeight('large', [128, 256], LARGE);
        folder = join(parent, (await readdir(parent))[0]!);
        expect(existsSync(join(folder, WEIGHTS_FILE))).toBe(true);
        removeLiveTempPaths();
        expect(existsSync(folder)).toBe(false);
        throw new Error('stopped');
      }, parent),
    ).rejects.toThrow('stopped');
    expect(folder).toMatch(/quantgate-graph-/);
  });

  it('the folder of a finished graph, still in use by its session, is removed by a forced stop too', async () => {
    const parent = await makeTempDir();
    const graph = await GraphWriter.write(
      async (g) => void g.output(g.floatWeight('large', [128, 256], LARGE), 'y', 'float32'),
      parent,
    );
    expect(existsSync(join(graph.dir, WEIGHTS_FILE))).toBe(true);
    removeLiveTempPaths();
    expect(await readdir(parent)).toEqual([]);
  });
});
