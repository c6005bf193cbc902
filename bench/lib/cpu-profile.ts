import { readFileSync } from 'fs';
import * as path from 'path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The functions with the most self time in a `--cpu-prof` profile, as Markdown lines. */
export function profileTop(file: string, limit = 25): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const f = byId.get(id)?.callFrame;
    if (!f) return;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit);
  return [
    `Self time, ${path.basename(file)} (${(total / 1e6).toFixed(1)} s sampled):`,
    '',
    '| % | ms | function |',
    '|---|---|---|',
    ...top.map(([k, us]) => `| ${((100 * us) / total).toFixed(1)} | ${Math.round(us / 1000)} | \`${k}\` |`),
  ];
}
