import { RepoCache } from '../../src/hub/cache-layout.js';
import { actionsCacheKey } from '../../src/hub/cache-key.js';
import type { SnapshotPlan } from '../../src/hub/plan.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const files = [
  { path: 'model.safetensors', size: 10, blobName: 'a'.repeat(64) },
  { path: 'config.json', size: 2, blobName: 'b'.repeat(40) },
];

function plan(overrides: Partial<SnapshotPlan> = {}, type: 'model' | 'dataset' = 'model'): SnapshotPlan {
  return {
    cache: new RepoCache('/cache', { type, id: 'kyutai/stt-1b-en_fr' }),
    requestedRevision: 'main',
    revision: COMMIT,
    files,
    ...overrides,
  };
}

describe('actionsCacheKey', () => {
  test('names the type, repo and commit, then hashes the file set', () => {
    expect(actionsCacheKey(plan())).toMatch(
      new RegExp(`^quantgate-hf-model-kyutai--stt-1b-en_fr-${COMMIT}-[0-9a-f]{16}$`),
    );
  });

  test('is the same for the same file set in any order, and differs when any file, the commit or the type differs', () => {
    const key = actionsCacheKey(plan());
    expect(actionsCacheKey(plan({ files: [...files].reverse() }))).toBe(key);
    expect(actionsCacheKey(plan({ requestedRevision: COMMIT }))).toBe(key);
    const variants = [
      plan({ files: files.slice(0, 1) }),
      plan({ files: [{ ...files[0]!, size: 11 }, files[1]!] }),
      plan({ files: [{ ...files[0]!, blobName: 'c'.repeat(64) }, files[1]!] }),
      plan({ files: [{ ...files[0]!, path: 'other.safetensors' }, files[1]!] }),
      plan({ revision: 'f'.repeat(40) }),
      plan({}, 'dataset'),
    ];
    expect(new Set([key, ...variants.map(actionsCacheKey)]).size).toBe(variants.length + 1);
  });
});
