// Shared fixtures: a real Uniform server per worker (the release binary on port 0 with a fresh
// data directory), its captured log, and a page that fails the test on any console error,
// uncaught page error or failed request; `withOwnServer` for specs that need a server per test,
// the REST API token header, and the helpers for logging in, hydration, refused calls and the
// Integrations table's rows.
import { test as base, expect, type Page } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

/** Debian's psql (postgresql package), to create a database per PostgreSQL-backed server. */
const PSQL = process.env.PSQL ?? '/usr/lib/postgresql/15/bin/psql';
export const binary =
  process.env.UNIFORM_BIN ?? path.resolve(__dirname, '../../target/release/uniform');

/** The `admin` password of every server the browser tests start. */
export const ADMIN_PASSWORD = 'e2e admin password 42';

export type Uniform = {
  /** `http://127.0.0.1:<port>` */
  url: string;
  dataDir: string;
  /** Everything the server has logged so far. */
  log: () => string;
  stop: () => Promise<void>;
};

/** Starts the release binary on port 0 and resolves once it logs the address it listens on. */
export async function startUniform(extraEnv: Record<string, string> = {}): Promise<Uniform> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'uniform-e2e-'));
  const admin = process.env.UNIFORM_E2E_DATABASE_URL;
  if (admin) {
    // PostgreSQL-backed: a fresh database on the test server, and the test master key.
    const name = `e2e_${randomUUID().replace(/-/g, '')}`;
    execFileSync(PSQL, [admin, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `CREATE DATABASE ${name}`]);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    extraEnv = {
      UNIFORM_DATABASE_URL: url.toString(),
      UNIFORM_MASTER_KEY: 'dGVzdC1tYXN0ZXIta2V5LWZvci1wb3N0Z3Jlcy0wMSE=',
      ...extraEnv,
    };
  }
  const child = spawn(binary, ['--bind', '127.0.0.1:0', '--data-dir', dataDir], {
    env: {
      ...process.env,
      RUST_LOG: 'info',
      UNIFORM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  const lines = readline.createInterface({ input: child.stderr });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within 15 s:\n${log}`)), 15_000);
    child.on('exit', (code) => reject(new Error(`uniform exited with ${code}:\n${log}`)));
    lines.on('line', (line) => {
      log += line + '\n';
      const match = line.match(/listening on (http:\/\/[0-9.:]+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  return {
    url,
    dataDir,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Collects what would show up red in the browser's developer tools. */
function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`HTTP ${response.status()} ${response.url()}`);
  });
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText;
    // A fetch cut short by a navigation is normal browsing, not a failure.
    if (reason !== 'net::ERR_ABORTED') problems.push(`request failed: ${request.url()} ${reason}`);
  });
  return problems;
}

export const test = base.extend<{ browserProblems: string[] }, { uniform: Uniform }>({
  uniform: [
    async ({}, use) => {
      const uniform = await startUniform();
      await use(uniform);
      await uniform.stop();
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ uniform }, use) => {
    await use(uniform.url);
  },
  browserProblems: async ({ page }, use) => {
    const problems = watchForErrors(page);
    await use(problems);
    expect(problems, 'the browser reported errors').toEqual([]);
  },
});

/**
 * `test` with a server of its own per test (`own`, fresh data directory, started with
 * `extraEnv`) that the page's relative URLs go to.
 */
export function withOwnServer(extraEnv: Record<string, string> = {}) {
  return test.extend<{ own: Uniform }>({
    own: async ({}, use) => {
      const uniform = await startUniform(extraEnv);
      await use(uniform);
      await uniform.stop();
    },
    baseURL: async ({ own }, use) => {
      await use(own.url);
    },
  });
}

/** The REST API token the server generated into its data directory, as request headers. */
export function apiHeaders(uniform: Uniform): Record<string, string> {
  return { 'x-token': readFileSync(path.join(uniform.dataDir, 'api-token'), 'utf8').trim() };
}

/** Logs in as `admin` through the login form, starting from `path`. */
export async function login(page: Page, path = '/uniform/integrations'): Promise<void> {
  await page.goto(path);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`${path.replace(/[?]/g, '\\?')}$`));
}

/** Resolves once the wasm has hydrated the page (the frame's marker flips to "true"). */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator('[data-hydrated="true"]')).toHaveCount(1);
}

/**
 * Takes out of `problems` what the browser reports about a refused call to `endpoint`: an error
 * answer is how a server function says no, and Chromium logs every error answer in the console.
 */
export async function takeRefusal(problems: string[], endpoint: string): Promise<void> {
  const aboutIt = (problem: string) =>
    problem.includes(endpoint) ||
    problem.startsWith('console: Failed to load resource: the server responded with a status of');
  await expect.poll(() => problems.some(aboutIt)).toBe(true);
  problems.splice(0, problems.length, ...problems.filter((problem) => !aboutIt(problem)));
}

/**
 * The Integrations table's row of the integration `name`, found by its name link. Not by the
 * row's text: until a page's chunk has loaded, the page before it stays on screen, and the
 * Secrets page's row of a secret scoped `keptn-webhook-service` would match that.
 */
export function integrationRow(page: Page, name = 'webhook-service') {
  return page.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) });
}

export { expect };
