// The GitHub Actions cache key of a planned snapshot. It names the repo and commit and hashes the
// exact file set (paths, sizes, blob hashes after the globs), so runs that want different files of
// one commit, or a dataset and a model of the same name, never share an entry.

import { createHash } from 'node:crypto';
import type { SnapshotPlan } from './plan.js';

export function actionsCacheKey(plan: SnapshotPlan): string {
  const { repo } = plan.cache;
  const fileSet = [...plan.files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((file) => `${file.path}\t${file.size}\t${file.blobName}\n`)
    .join('');
  const fileSetHash = createHash('sha256').update(fileSet).digest('hex').slice(0, 16);
  return `quantgate-hf-${repo.type}-${repo.id.replace('/', '--')}-${plan.revision}-${fileSetHash}`;
}
