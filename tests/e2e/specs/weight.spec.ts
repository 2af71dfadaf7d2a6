// The weight of a first page load: everything the browser fetches for the login page and for
// the Overview (the page after login), with an empty cache, compressed as the server sends it
// (wasm, its lazily loaded chunks, JS, CSS, the HTML itself). Issue 15's budget: 400 KB.
// Sizes, not times: the figure is the same on a slow machine.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { binary, expect, login, test, waitForHydration } from '../fixtures';

const BUDGET = 400_000;

/** Loads `path` with the cache off and sums what came over the wire, per file. */
async function firstLoad(page: Page, path: string, ready: () => Promise<void>) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const files = new Map<string, number>();
  const pending: Promise<void>[] = [];
  const onResponse = (response: import('@playwright/test').Response) => {
    pending.push(
      response
        .request()
        .sizes()
        .then((sizes) => {
          const name = new URL(response.url()).pathname;
          files.set(name, (files.get(name) ?? 0) + sizes.responseBodySize + sizes.responseHeadersSize);
        })
        .catch(() => undefined),
    );
  };
  page.on('response', onResponse);
  await page.goto(path);
  await ready();
  await page.waitForLoadState('networkidle');
  page.off('response', onResponse);
  await Promise.all(pending);
  await cdp.detach();
  const total = [...files.values()].reduce((sum, bytes) => sum + bytes, 0);
  const list = [...files.entries()].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => `${bytes} ${name}`);
  console.log(`first load of ${path}: ${total} bytes\n  ${list.join('\n  ')}`);
  return { total, files };
}

test('a first page load transfers at most 400 KB, wasm chunks included', async ({ page, browserProblems }) => {
  const loginPage = await firstLoad(page, '/login', async () => {
    await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
  });
  expect(loginPage.total).toBeLessThanOrEqual(BUDGET);

  await login(page, '/uniform/secrets');
  // A new tab of the logged-in browser, so nothing the first one still loads is counted.
  const tab = await page.context().newPage();
  const overview = await firstLoad(tab, '/uniform', async () => {
    await expect(tab.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    await waitForHydration(tab);
  });
  // The page really ran its wasm: the main module and the Overview's own chunk came.
  expect([...overview.files.keys()].some((name) => name.endsWith('/uniform.wasm'))).toBe(true);
  expect([...overview.files.keys()].some((name) => name.includes('overview_route'))).toBe(true);
  expect(overview.total).toBeLessThanOrEqual(BUDGET);
  expect(browserProblems).toEqual([]);
});

test('the wasm goes out as the brotli file the build made, and decodes to the built wasm', async ({ request }) => {
  const built = path.join(path.dirname(binary), '..', 'site', 'pkg', 'uniform.wasm');
  const answer = await request.get('/pkg/uniform.wasm', { headers: { 'accept-encoding': 'br' } });
  expect(answer.status()).toBe(200);
  expect(answer.headers()['content-encoding']).toBe('br');
  expect(answer.headers()['content-type']).toBe('application/wasm');
  expect((await answer.body()).length).toBe(statSync(built).size);
  const plain = await request.get('/pkg/uniform.wasm', { headers: { 'accept-encoding': 'identity' } });
  expect(plain.headers()['content-encoding']).toBeUndefined();
  expect((await plain.body()).length).toBe(statSync(built).size);
});

test('the site files are checked with the server on every use, so an upgrade never mixes old and new chunks', async ({ request }) => {
  const answer = await request.get('/pkg/uniform.wasm', { headers: { 'accept-encoding': 'br' } });
  expect(answer.headers()['cache-control']).toBe('no-cache');
  const lastModified = answer.headers()['last-modified'];
  expect(lastModified).toBeTruthy();
  // Unchanged since the browser's copy: a 304 without a body, not the 220 KB again.
  const again = await request.get('/pkg/uniform.wasm', {
    headers: { 'accept-encoding': 'br', 'if-modified-since': lastModified },
  });
  expect(again.status()).toBe(304);
  expect((await again.body()).length).toBe(0);
});
