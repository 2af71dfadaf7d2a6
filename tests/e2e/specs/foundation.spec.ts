// The shell: landing page, navigation after hydration, server rendering, 404.
import { test, expect, login, waitForHydration } from '../fixtures';

test('lands on the Overview and navigates to Secrets without a reload', async ({
  page,
  browserProblems,
}) => {
  await login(page, '/uniform/secrets');
  await page.goto('/');
  await expect(page).toHaveURL(/\/uniform$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByRole('banner')).toContainText('Uniform');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Overview' })).toHaveAttribute('aria-current', 'page');
  await waitForHydration(page);

  // A full reload would wipe this marker; client-side navigation keeps it.
  await page.evaluate(() => ((window as unknown as { stillHere: string }).stillHere = 'yes'));
  await nav.getByRole('link', { name: 'Secrets' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Secrets' })).toBeVisible();
  await expect(page).toHaveURL(/\/uniform\/secrets$/);
  await expect(nav.getByRole('link', { name: 'Secrets' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.getByRole('link', { name: 'Overview' })).not.toHaveAttribute('aria-current', 'page');
  expect(await page.evaluate(() => (window as unknown as { stillHere?: string }).stillHere)).toBe('yes');

  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Secrets' })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { stillHere?: string }).stillHere)).toBeUndefined();
  expect(browserProblems).toEqual([]);
});

test('pages are server-rendered: they show without JavaScript', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  // The login form is a plain HTML form: it works without JavaScript too.
  await login(page, '/uniform/secrets');
  await expect(page.getByRole('heading', { level: 1, name: 'Secrets' })).toBeVisible();
  await expect(
    page.getByText('Secrets can be used to store sensitive data like credentials or URIs for integrations.'),
  ).toBeVisible();
  await context.close();
});

test('an unknown path shows "Page not found" with status 404', async ({ page }) => {
  await login(page);
  const response = await page.goto('/uniform/nothing-here');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
});
