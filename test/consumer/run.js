#!/usr/bin/env node
/**
 * Consumer test (`npm run test:consumer`, not part of jest): packs nestjs-im as
 * npm would publish it, installs the tarball with a plain `npm install` into a
 * fresh Nest 11 app and a fresh Nest 12 app, type-checks the app's source with
 * the CommonJS tsconfig (node10 resolution) and with `nodenext`, both without
 * skipLibCheck and without ioredis installed, and runs its smoke test under
 * `node --test` (Jest on Node 20 cannot load Nest 12's ES modules; Node 20.19+
 * can require() them).
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '../..');
const APP = path.join(__dirname, 'app');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// Each variant is what that major's `nest new` starter uses, its TypeScript line included.
// `module: commonjs` resolves as node10 by default up to TypeScript 5 and as bundler from
// TypeScript 6, which deprecates node10: there node10 is checked explicitly as well.
const VARIANTS = [
  { name: 'nest11', nest: '^11.0.0', typescript: '~5.9.3', node10Flags: null },
  { name: 'nest12', nest: '^12.0.0', typescript: '^6.0.2', node10Flags: ['--moduleResolution', 'node10', '--ignoreDeprecations', '6.0'] },
];
const only = process.argv.slice(2);

function run(label, cmd, args, cwd, timeoutMs) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
    throw new Error(`${label} failed after ${secs} s (${why}): ${cmd} ${args.join(' ')} in ${cwd}`);
  }
  console.log(`  ok  ${label} (${secs} s)`);
  return r.stdout;
}

function nodeAtLeast(major, minor) {
  const [ma, mi] = process.versions.node.split('.').map(Number);
  return ma > major || (ma === major && mi >= minor);
}

function consumerPackageJson(variant, tarball) {
  return {
    name: `nestjs-im-consumer-${variant.name}`,
    private: true,
    dependencies: {
      '@nestjs/common': variant.nest,
      '@nestjs/core': variant.nest,
      '@nestjs/microservices': variant.nest,
      '@nestjs/platform-ws': variant.nest,
      '@nestjs/websockets': variant.nest,
      'nestjs-im': `file:${tarball}`,
      'reflect-metadata': '^0.2.2',
      rxjs: '^7.8.1',
    },
    // As in a `nest new` project: nestjs-im/testing needs @nestjs/testing; the public types use Node's.
    devDependencies: {
      '@nestjs/testing': variant.nest,
      '@types/node': '^20.19.0',
      typescript: variant.typescript,
    },
  };
}

function checkVariant(variant, work, tarball) {
  console.log(`${variant.name}: Nest ${variant.nest}, TypeScript ${variant.typescript}`);
  const dir = path.join(work, variant.name);
  fs.cpSync(APP, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(consumerPackageJson(variant, tarball), null, 2));
  run('npm install', NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir, 300_000);
  const installed = (name) => fs.existsSync(path.join(dir, 'node_modules', name, 'package.json'));
  const version = (name) => JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  // The type checks below must prove that the published types need no optional peer.
  if (installed('ioredis')) throw new Error(`${variant.name}: ioredis got installed; the type check would not prove it is optional`);
  console.log(`      @nestjs/core ${version('@nestjs/core')}, typescript ${version('typescript')}, no ioredis`);
  const tsc = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  // nestjs-im and nestjs-im/client must reach no optional peer's types (nestjs-im/testing needs @nestjs/testing).
  const entryFiles = run('tsc --listFilesOnly, nestjs-im and nestjs-im/client', process.execPath,
    [tsc, '--listFilesOnly', '--module', 'nodenext', '--types', 'node', '--experimentalDecorators', 'src/app.module.ts', 'src/chat-client.ts'], dir, 120_000);
  for (const entry of ['index.d.ts', 'client/index.d.ts']) {
    if (!entryFiles.includes(path.join('node_modules', 'nestjs-im', 'dist', 'lib', entry).split(path.sep).join('/'))) {
      throw new Error(`${variant.name}: nestjs-im's ${entry} is not among the files the entry points reach:\n${entryFiles}`);
    }
  }
  const reached = entryFiles.split('\n').filter((file) => /node_modules[\\/](ioredis|@nestjs[\\/]testing)[\\/]/.test(file));
  if (reached.length > 0) throw new Error(`${variant.name}: the main or client types reach an optional peer: ${reached.join(', ')}`);
  const commonjs = variant.node10Flags ? 'tsc, module commonjs (default resolution: bundler)' : 'tsc, module commonjs (default resolution: node10)';
  run(commonjs, process.execPath, [tsc, '-p', 'tsconfig.commonjs.json'], dir, 120_000);
  if (variant.node10Flags) {
    run('tsc, module commonjs, moduleResolution node10', process.execPath, [tsc, '-p', 'tsconfig.commonjs.json', '--noEmit', ...variant.node10Flags], dir, 120_000);
  }
  run('tsc, module nodenext', process.execPath, [tsc, '-p', 'tsconfig.nodenext.json'], dir, 120_000);
  run('smoke under node --test', process.execPath, ['--test', '--test-timeout=60000', 'dist/smoke.test.js'], dir, 120_000);
}

function main() {
  if (!nodeAtLeast(20, 19)) throw new Error(`Node ${process.versions.node}: the consumer test needs Node >= 20.19 (require() of Nest 12's ES modules)`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nestjs-im-consumer-'));
  try {
    console.log(`packing nestjs-im into ${work}`);
    run('npm pack (prepack builds dist)', NPM, ['pack', '--pack-destination', work], REPO, 300_000);
    const tarball = fs.readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack wrote no tarball');
    for (const variant of VARIANTS) {
      if (only.length === 0 || only.includes(variant.name)) checkVariant(variant, work, path.join(work, tarball));
    }
  } finally {
    if (!process.env.KEEP_CONSUMER) fs.rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
  console.log('consumer test passed');
}

try {
  main();
} catch (err) {
  console.error(`consumer test FAILED: ${err.message}`);
  process.exit(1);
}
