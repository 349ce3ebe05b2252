/**
 * The built package (CommonJS, as `npm run build` makes it) works when a real app imports it:
 *
 * - nest11-cjs: a CommonJS app on NestJS 11 (`require('nestjs-pgqueue')`);
 * - nest12-esm: an ES module app on NestJS 12, whose packages are ESM-only ("type": "module").
 *   The library's `require('@nestjs/common')` then loads ES modules through require(esm)
 *   (Node >= 20.19), and the app's `import { ... } from 'nestjs-pgqueue'` needs named exports
 *   that Node's cjs-module-lexer can see in the compiled barrel.
 *
 * beforeAll builds lib/ with tsconfig.build.json into a scratch directory inside the repository
 * (.tmp/compat-<random>/, git-ignored) and lays out two throw-away projects there. Their sources are
 * test/compat/apps/*; they are plain JavaScript (decorators applied by calling them), so nothing
 * but the library is compiled. Everything the apps do not carry in their own node_modules
 * (pg, rxjs, reflect-metadata, Nest 11) resolves upward to the repository's node_modules.
 *
 * NestJS 12 comes from test/compat/nest12 (a `file:` devDependency with its own package.json):
 * @nestjs/core 12 peers on @nestjs/common ^12, which an npm alias next to the root's Nest 11
 * cannot satisfy (ERESOLVE). Its packages are COPIED into the ESM app: a symlink would resolve to
 * its real path, where the repository root's Nest 11 could leak in.
 *
 * No network at test time. Set PGQUEUE_KEEP_COMPAT_DIR=1 to keep the scratch directory.
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/database';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const APPS_DIR = path.join(__dirname, 'apps');
const NEST12_MODULES = path.join(__dirname, 'nest12', 'node_modules');
const PACKAGE_NAME = 'nestjs-pgqueue';

interface RunResult {
  code: number | string | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface ResolvedFrom {
  fromApp: string;
  fromLibrary: string;
}

interface AppReport {
  moduleSystem: string;
  nestCoreVersion: string;
  nestCommonVersion: string;
  resolved: Record<'@nestjs/core' | '@nestjs/common', ResolvedFrom>;
  exports: Record<'PgQueueModule' | 'QueueService' | 'JobHandler', string>;
  job: { status: string; result: unknown; lastError: unknown };
  /** The ES module app only: nestjs-pgqueue/testing, imported through the package's "exports". */
  testing?: { QueueTester: string; drained: string[] };
}

/** Runs a process to its end; never rejects (the exit code is part of the result). */
function run(file: string, args: string[], options: ExecFileOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', ...options }, (error, stdout, stderr) => {
      const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({
        code: failure ? (failure.code ?? null) : 0,
        signal: failure?.signal ?? null,
        stdout: String(stdout),
        stderr: String(stderr),
        ms: Date.now() - started,
      });
    });
  });
}

function describeRun(what: string, result: RunResult): string {
  return `${what}: exit code ${result.code}, signal ${result.signal}, ${result.ms} ms\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function major(version: string): number {
  return Number(version.split('.')[0]);
}

/** Builds the library like `npm run build`, but into `packageDir/dist`, with a package.json taken from the repository's. */
async function buildPackage(packageDir: string): Promise<void> {
  const dist = path.join(packageDir, 'dist');
  const tsc = require.resolve('typescript/bin/tsc');
  const build = await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dist], { cwd: REPO_ROOT, timeout: 120_000 });
  if (build.code !== 0) throw new Error(describeRun('tsc -p tsconfig.build.json', build));

  const migrations = path.join(REPO_ROOT, 'lib', 'db', 'migrations');
  mkdirSync(path.join(dist, 'db', 'migrations'), { recursive: true });
  for (const file of readdirSync(migrations).filter((name) => name.endsWith('.sql'))) {
    cpSync(path.join(migrations, file), path.join(dist, 'db', 'migrations', file));
  }

  const root = readJson(path.join(REPO_ROOT, 'package.json'));
  const manifest: Record<string, unknown> = {};
  for (const key of ['name', 'version', 'license', 'main', 'types', 'exports', 'engines', 'dependencies', 'peerDependencies']) {
    if (root[key] !== undefined) manifest[key] = root[key];
  }
  writeJson(path.join(packageDir, 'package.json'), manifest);
}

function layOutApp(appDir: string, packageDir: string, entrySource: string, manifest: Record<string, unknown>): string {
  mkdirSync(path.join(appDir, 'node_modules'), { recursive: true });
  writeJson(path.join(appDir, 'package.json'), { private: true, ...manifest });
  cpSync(packageDir, path.join(appDir, 'node_modules', PACKAGE_NAME), { recursive: true });
  const entry = path.join(appDir, 'main.js');
  cpSync(path.join(APPS_DIR, entrySource), entry);
  return entry;
}

/** Node's lookup of `dependency` from inside `packageDir`, ignoring "exports" (only where the package lives). */
function locateDependency(packageDir: string, dependency: string): string | undefined {
  const lookup = createRequire(path.join(packageDir, 'package.json')).resolve.paths(dependency) ?? [];
  return lookup.map((dir) => path.join(dir, dependency)).find((dir) => existsSync(path.join(dir, 'package.json')));
}

function parseReport(result: RunResult): AppReport {
  const line = result.stdout.split('\n').find((l) => l.startsWith('COMPAT_RESULT '));
  if (!line) throw new Error(describeRun('no COMPAT_RESULT line', result));
  return JSON.parse(line.slice('COMPAT_RESULT '.length)) as AppReport;
}

describe('the built package under NestJS 11 (CommonJS) and NestJS 12 (ESM)', () => {
  const scratch = path.join(REPO_ROOT, '.tmp', `compat-${randomBytes(4).toString('hex')}`);
  const packageDir = path.join(scratch, 'package');
  const nest11Dir = path.join(scratch, 'nest11-cjs');
  const nest12Dir = path.join(scratch, 'nest12-esm');
  const databases: TestDatabase[] = [];
  let nest11Entry: string;
  let nest12Entry: string;

  beforeAll(async () => {
    if (!existsSync(path.join(NEST12_MODULES, '@nestjs', 'core', 'package.json'))) {
      throw new Error(
        `NestJS 12 is not installed in ${path.relative(REPO_ROOT, NEST12_MODULES)}: run \`npm install\` (devDependency nestjs-pgqueue-compat-nest12)`,
      );
    }
    mkdirSync(scratch, { recursive: true });
    await buildPackage(packageDir);

    nest11Entry = layOutApp(nest11Dir, packageDir, 'nest11-cjs.cjs', { name: 'compat-nest11-cjs' });

    // Nest 12 and whatever npm had to keep next to it (e.g. its own tslib); the rest of its
    // dependencies were hoisted to the repository's node_modules and resolve upward.
    mkdirSync(path.join(nest12Dir, 'node_modules'), { recursive: true });
    cpSync(NEST12_MODULES, path.join(nest12Dir, 'node_modules'), {
      recursive: true,
      dereference: true,
      filter: (source) => !['.bin', '.package-lock.json'].includes(path.basename(source)),
    });
    nest12Entry = layOutApp(nest12Dir, packageDir, 'nest12-esm.mjs', { name: 'compat-nest12-esm', type: 'module' });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(databases.map((db) => db.close()));
    if (!process.env.PGQUEUE_KEEP_COMPAT_DIR) rmSync(scratch, { recursive: true, force: true });
  });

  async function runApp(entry: string): Promise<{ result: RunResult; report: AppReport }> {
    const db = await createTestDatabase();
    databases.push(db);
    const result = await run(process.execPath, [entry], {
      cwd: path.dirname(entry),
      env: { ...process.env, DATABASE_URL: db.url, SCHEMA: db.schema },
      timeout: 50_000,
      killSignal: 'SIGKILL',
    });
    if (result.code !== 0) throw new Error(describeRun(path.relative(REPO_ROOT, entry), result));
    return { result, report: parseReport(result) };
  }

  it('the ESM app carries real copies of NestJS 12, whose own dependencies resolve to the versions it pins', () => {
    for (const name of ['@nestjs/common', '@nestjs/core']) {
      const dir = path.join(nest12Dir, 'node_modules', name);
      expect(lstatSync(dir).isSymbolicLink()).toBe(false);
      const manifest = readJson<{ version: string; type?: string; dependencies?: Record<string, string> }>(path.join(dir, 'package.json'));
      expect({ name, major: major(manifest.version), type: manifest.type }).toEqual({ name, major: 12, type: 'module' });

      for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
        const found = locateDependency(dir, dependency);
        expect({ dependency, found: found !== undefined }).toEqual({ dependency, found: true });
        const { version } = readJson<{ version: string }>(path.join(found!, 'package.json'));
        // Nest pins exact versions; check the pin where there is one.
        if (/^\d+\.\d+\.\d+$/.test(range)) expect({ dependency, version }).toEqual({ dependency, version: range });
      }
    }
  });

  it('runs a job in a CommonJS app on NestJS 11', async () => {
    const { report } = await runApp(nest11Entry);

    expect(report.moduleSystem).toBe('commonjs');
    expect(major(report.nestCoreVersion)).toBe(11);
    expect(major(report.nestCommonVersion)).toBe(11);
    for (const resolved of Object.values(report.resolved)) {
      expect(resolved.fromLibrary).toBe(resolved.fromApp); // one Nest, shared by the app and the library
      expect(resolved.fromApp.startsWith(path.join(REPO_ROOT, 'node_modules') + path.sep)).toBe(true);
    }
    expect(report.exports).toEqual({ PgQueueModule: 'function', QueueService: 'function', JobHandler: 'function' });
    expect(report.job).toEqual({ status: 'completed', result: { doubled: 42, attempt: 1, queueInjected: true }, lastError: null });
  });

  it('runs a job in an ES module app on NestJS 12 (ESM-only packages) with named imports of the CommonJS build', async () => {
    const { report } = await runApp(nest12Entry);

    expect(report.moduleSystem).toBe('esm');
    expect(major(report.nestCoreVersion)).toBe(12);
    expect(major(report.nestCommonVersion)).toBe(12);
    for (const resolved of Object.values(report.resolved)) {
      expect(resolved.fromLibrary).toBe(resolved.fromApp); // the library's require() gets the app's Nest 12, not the root's Nest 11
      expect(resolved.fromApp.startsWith(path.join(nest12Dir, 'node_modules') + path.sep)).toBe(true);
    }
    expect(report.exports).toEqual({ PgQueueModule: 'function', QueueService: 'function', JobHandler: 'function' });
    expect(report.testing?.QueueTester).toBe('function');
    expect(report.testing?.drained).toHaveLength(1);
    expect(report.job).toEqual({ status: 'completed', result: { doubled: 42, attempt: 1, queueInjected: true }, lastError: null });
  });
});
