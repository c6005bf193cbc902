/**
 * The README's TypeScript examples stay true:
 * - every ```ts block is type-checked against the library's source, with the
 *   imports an editor would add (the blocks show no import lines for brevity)
 *   and an ambient prelude declaring the application's own services;
 * - the Testing section's example, a complete Jest file, is run as written:
 *   its `describe` registers real tests here.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** A fenced ```ts block and the README line its code starts on. */
interface Block {
  code: string;
  line: number;
  section: string;
}

function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('## ')) section = lines[i].slice(3).trim();
    if (lines[i].trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    blocks.push({ code: lines.slice(start, end).join('\n'), line: start + 1, section });
    i = end;
  }
  return blocks;
}

/**
 * What the snippets use but the application would define itself. Kept to
 * signatures the examples need; the library's own names are never declared here.
 */
const PRELUDE = `
declare class UsersService { checkToken(userId: string, token?: string): Promise<boolean>; }
declare class CommandDto { id: string; }
declare class StatusCommandDto { status: string; }
declare class BlockCommandDto { user: string; }
declare class BlockListService { isBlocked(owner: string, sender: string): boolean; block(owner: string, user: string): void; }
declare class UnknownUserError extends Error {}
declare const NO_SUCH_USER: number;
declare const MessageType: { readonly STATUS: number; readonly BLOCK: number };
declare const token: string;
declare function render(from: string | undefined, text: string | undefined): void;
declare function showKicked(code: number, reason?: string): void;
declare const url: string;
declare function showReconnecting(attempt: number, delayMs: number): void;
declare function showOnline(): void;
declare function showLogin(code: number): void;
declare function markFailed(fp: string, errorCode: number): void;
declare class AppModule { static register(o: { udp: boolean }): import('@nestjs/common').DynamicModule; }
`;

/** Modules whose exports may be auto-imported, in order of preference. */
const IMPORTABLE = ['nestjs-im', 'nestjs-im/client', 'nestjs-im/testing', '@nestjs/common', '@willsoto/nestjs-prometheus', '@nestjs/terminus'];

/** Splits a block at blank lines outside braces: each chunk is a declaration, a statement or a class member. */
function topLevelChunks(code: string): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let depth = 0;
  for (const line of code.split('\n')) {
    if (line.trim() === '' && depth === 0) {
      if (current.length) chunks.push(current.join('\n'));
      current = [];
      continue;
    }
    current.push(line);
    for (const ch of line.replace(/(['"`]).*?\1/g, '')) {
      if (ch === '{' || ch === '(') depth++;
      else if (ch === '}' || ch === ')') depth--;
    }
  }
  if (current.length) chunks.push(current.join('\n'));
  return chunks;
}

/** A decorated method shown without its class: decorators, then `name(` (a decorated class starts `export class`/`class`). */
function isClassMember(chunk: string): boolean {
  const lines = chunk.split('\n').map((l) => l.trim());
  const firstCode = lines.find((l) => !l.startsWith('@') && !l.startsWith('//'));
  return lines[0].startsWith('@') && firstCode !== undefined && /^(async\s+)?[A-Za-z_$][\w$]*\s*\(/.test(firstCode);
}

function hasTopLevelAwait(code: string): boolean {
  const sf = ts.createSourceFile('x.ts', code, ts.ScriptTarget.ES2022, true);
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (ts.isAwaitExpression(node)) found = true;
    else ts.forEachChild(node, visit);
  };
  ts.forEachChild(sf, visit);
  return found;
}

/**
 * Turns a block into a compilable module: its import lines stay on top; method
 * fragments go into a class whose other members are left open (`any`);
 * statements with top-level `await` go into an async function.
 */
function wrap(block: Block): string {
  const lines = block.code.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import ')).join('\n');
  const chunks = topLevelChunks(body);
  const members = chunks.filter(isClassMember);
  const rest = chunks.filter((c) => !isClassMember(c)).join('\n\n');
  const statements = hasTopLevelAwait(rest) ? `export async function readmeSnippet(): Promise<void> {\n${rest}\n}` : rest;
  const fragmentClass = members.length
    ? `\n\n@Injectable()\nexport class ReadmeFragment {\n  [member: string]: any;\n${members.join('\n\n')}\n}`
    : '';
  return `${imports.join('\n')}\n${statements}${fragmentClass}\nexport {};\n`;
}

const OPTIONS: ts.CompilerOptions = (() => {
  const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return { ...parsed.options, noEmit: true, types: ['node', 'jest'], skipLibCheck: true };
})();

/** Compiles the given files (and what they import) and returns the diagnostics of those files. */
function compile(files: Map<string, string>, oldProgram?: ts.Program): { program: ts.Program; diagnostics: ts.Diagnostic[] } {
  const host = ts.createCompilerHost(OPTIONS);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => files.get(path.resolve(f)) ?? readFile(f);
  host.fileExists = (f) => files.has(path.resolve(f)) || ts.sys.fileExists(f);
  host.getSourceFile = (f, lang, onError) => {
    const text = files.get(path.resolve(f));
    return text !== undefined ? ts.createSourceFile(f, text, lang, true) : getSourceFile(f, lang, onError);
  };
  const program = ts.createProgram([...files.keys()], OPTIONS, host, oldProgram);
  const diagnostics = [...files.keys()].flatMap((f) => {
    const sf = program.getSourceFile(f);
    return sf ? [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)] : [];
  });
  return { program, diagnostics };
}

function format(d: ts.Diagnostic): string {
  const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  return `${d.file ? path.basename(d.file.fileName) : ''}${where ? `:${where.line + 1}` : ''} TS${d.code}: ${text}`;
}

/** Names each importable module exports, read from its types. */
function exportsOf(program: ts.Program, helperFile: string): Map<string, string> {
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(helperFile) as ts.SourceFile;
  const owner = new Map<string, string>();
  for (const stmt of sf.statements) {
    if (!ts.isImportDeclaration(stmt)) continue;
    const moduleName = (stmt.moduleSpecifier as ts.StringLiteral).text;
    const symbol = checker.getSymbolAtLocation(stmt.moduleSpecifier);
    if (!symbol) throw new Error(`cannot resolve ${moduleName}`);
    for (const e of checker.getExportsOfModule(symbol)) if (!owner.has(e.name)) owner.set(e.name, moduleName);
  }
  return owner;
}

const blocks = tsBlocks(README);
const fileOf = (i: number) => path.join(ROOT, 'test', 'e2e', `__readme_block_${i}.ts`);
const preludeFile = path.join(ROOT, 'test', 'e2e', '__readme_prelude.d.ts');

describe('README TypeScript examples', () => {
  it('has examples, including the testing kit', () => {
    expect(blocks.length).toBeGreaterThan(5);
    expect(blocks.filter((b) => b.section === 'Testing' && b.code.includes('describe('))).toHaveLength(1);
  });

  it('every ```ts block type-checks against the library, with the imports an editor would add', () => {
    const helperFile = path.join(ROOT, 'test', 'e2e', '__readme_exports.ts');
    const files = new Map<string, string>([[preludeFile, PRELUDE]]);
    files.set(helperFile, IMPORTABLE.map((m, i) => `import * as m${i} from '${m}';`).join('\n') + '\nexport {};\n');
    blocks.forEach((b, i) => files.set(fileOf(i), wrap(b)));
    const first = compile(files);
    const owner = exportsOf(first.program, helperFile);

    // Add an import for every name the block uses without declaring, as an editor's quick fix would.
    const missing = new Map<number, Set<string>>();
    for (const d of first.diagnostics) {
      if (d.code !== 2304 && d.code !== 2552) continue; // "Cannot find name"
      const name = ts.flattenDiagnosticMessageText(d.messageText, '\n').match(/Cannot find name '([^']+)'/)?.[1];
      const index = blocks.findIndex((_, i) => d.file?.fileName && path.resolve(d.file.fileName) === fileOf(i));
      if (name && owner.has(name) && index >= 0) (missing.get(index) ?? missing.set(index, new Set()).get(index))!.add(name);
    }
    files.delete(helperFile);
    for (const [i, names] of missing) {
      const byModule = new Map<string, string[]>();
      for (const n of names) byModule.set(owner.get(n)!, [...(byModule.get(owner.get(n)!) ?? []), n]);
      const imports = [...byModule].map(([m, ns]) => `import { ${ns.join(', ')} } from '${m}';`).join('\n');
      files.set(fileOf(i), `${imports}\n${files.get(fileOf(i))}`);
    }
    const { diagnostics } = compile(files, first.program);
    const report = diagnostics.map((d) => {
      const i = blocks.findIndex((_, k) => d.file && path.resolve(d.file.fileName) === fileOf(k));
      return `README line ${i >= 0 ? blocks[i].line : '?'} (${i >= 0 ? blocks[i].section : ''}): ${format(d)}`;
    });
    expect(report).toEqual([]);
  }, 300_000); // two whole-program type-checks: over a minute on a busy 2-core machine
});

describe('README testing example, run as written', () => {
  const example = blocks.find((b) => b.section === 'Testing' && b.code.includes('describe('));
  if (!example) throw new Error('README: no testing example');
  const js = ts.transpileModule(example.code, {
    compilerOptions: { ...OPTIONS, module: ts.ModuleKind.CommonJS, noEmit: false, sourceMap: false, declaration: false },
  }).outputText;
  // Runs with this file's `require` (so 'nestjs-im/testing' maps to the source) and Jest's globals.
  new Function('require', 'exports', js)(require, {});
});
