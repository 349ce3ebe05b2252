import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The package ships dist/ only, so its source maps carry the TypeScript they map to (inlineSources): a stack trace
 * under `node --enable-source-maps`, or in Sentry, points at lines of lib/ that the package itself contains.
 */
describe('source maps of the built package', () => {
  const outDir = path.join(REPO_ROOT, '.tmp', `maps-${randomBytes(4).toString('hex')}`);

  beforeAll(async () => {
    await run(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: REPO_ROOT });
  }, 120_000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('embeds the sources each map names', () => {
    const map = JSON.parse(readFileSync(path.join(outDir, 'validation', 'job-input.js.map'), 'utf8')) as {
      sources: string[];
      sourcesContent?: string[];
    };
    expect(map.sources).toHaveLength(1);
    expect(map.sources[0]).toMatch(/\/lib\/validation\/job-input\.ts$/);
    expect(map.sourcesContent?.[0]).toBe(readFileSync(path.join(REPO_ROOT, 'lib', 'validation', 'job-input.ts'), 'utf8'));
  });

  it('gives stack traces in TypeScript lines under --enable-source-maps', async () => {
    const script = `try { require(${JSON.stringify(path.join(outDir, 'validation', 'job-input.js'))}).validateJobType(''); } catch (e) { console.log(e.stack); }`;
    const { stdout } = await run(process.execPath, ['--enable-source-maps', '-e', script], { cwd: REPO_ROOT });
    expect(stdout).toContain('InvalidJobTypeError');
    expect(stdout).toMatch(/lib[/\\]validation[/\\]job-input\.ts:\d+:\d+/);
  });
});
