import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cycles, folderGraph, importGraph } from '../support/import-graph';

const LIB = path.resolve(__dirname, '../../lib');

describe('import graph of lib/', () => {
  const files = importGraph(LIB);

  it('reads the imports of lib (sanity: the graph is not empty)', () => {
    expect(files.size).toBeGreaterThan(50);
    expect(files.get('im.module.ts')).toContain(path.join('core', 'im-core.ts'));
  });

  it('has no import cycle between files', () => {
    expect(cycles(files)).toEqual([]);
  });

  it('has no cycle between folders', () => {
    expect(cycles(folderGraph(files))).toEqual([]);
  });
});

describe('the cycle check', () => {
  let dir: string;
  beforeAll(() => {
    // decorators → handlers → decorators, as lib had before the context types moved.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-graph-'));
    fs.mkdirSync(path.join(dir, 'decorators'));
    fs.mkdirSync(path.join(dir, 'handlers'));
    fs.writeFileSync(path.join(dir, 'decorators', 'a.ts'), "import type { B } from '../handlers/b';\nexport type A = B;\n");
    fs.writeFileSync(path.join(dir, 'handlers', 'b.ts'), "export type B = 1;\n");
    fs.writeFileSync(path.join(dir, 'handlers', 'c.ts'), "import { A } from '../decorators/a';\nexport const c: A = 1;\n");
    fs.writeFileSync(path.join(dir, 'handlers', 'd.ts'), "export * from './e';\n");
    fs.writeFileSync(path.join(dir, 'handlers', 'e.ts'), "export { d } from './d';\n");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds a folder cycle made of type-only imports, and a file cycle made of re-exports', () => {
    const files = importGraph(dir);
    expect(cycles(folderGraph(files))).toEqual([['decorators', 'handlers']]);
    expect(cycles(files)).toEqual([[path.join('handlers', 'd.ts'), path.join('handlers', 'e.ts')]]);
  });
});
