// The Overview, the page after login: tiles, the chart of deliveries per 15 minutes and a row
// per webhook subscription move as deliveries settle, without a reload; the chart is drawn by
// the server, so it is there with JavaScript off. A real receiver on 127.0.0.1 stands in for Slack.
import path from 'node:path';
import { ADMIN_PASSWORD, expect, waitForHydration } from '../fixtures';
import { seedWalkthrough, sendEvaluationFinished, test } from '../slack';

const PAYLOAD = '{"text": "Evaluation in {{.data.stage}} finished."}';

test('the overview opens after login and its figures move after deliveries', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  await seedWalkthrough(request, own, receiver.url, { identifier: 'id-7', payload: PAYLOAD });
  // Logging in without `next` lands on the Overview.
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/uniform$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Overview' })).toHaveAttribute('aria-current', 'page');
  await waitForHydration(page);

  const tile = (label: string) =>
    page.getByRole('list', { name: 'Figures' }).getByRole('listitem').filter({ hasText: label }).locator('.stat-value');
  await expect(tile('Events (24 h)')).toHaveText('0');
  await expect(tile('Deliveries (24 h)')).toHaveText('0');
  await expect(tile('Success rate (24 h)')).toHaveText('—');
  const chart = page.getByRole('img', { name: 'Deliveries per 15 minutes, last 24 hours' });
  await expect(chart).toBeVisible();
  await expect(chart.locator('rect')).toHaveCount(0);
  const subscriptions = page.getByRole('table', { name: 'Subscriptions in the last 24 hours' });
  await expect(subscriptions.getByRole('row').nth(1)).toContainText('evaluation.finished · stages dev');

  await sendEvaluationFinished(request, own, { result: 'pass', score: 90 });
  await sendEvaluationFinished(request, own, { result: 'fail', score: 10 });
  await expect.poll(() => receiver.requests.length).toBe(2);
  // The open page catches up by itself.
  await expect(tile('Events (24 h)')).toHaveText('2');
  await expect(tile('Deliveries (24 h)')).toHaveText('2');
  await expect(tile('Success rate (24 h)')).toHaveText('100.0 %');
  await expect(tile('Waiting or retrying')).toHaveText('0');
  await expect(tile('Unread error events')).toHaveText('0');
  await expect(chart.locator('rect.bar-delivered')).toHaveCount(1);
  await expect(chart).toHaveAccessibleDescription(/2 delivered, 0 waiting or retrying, 0 failed/);
  const row = subscriptions.getByRole('row').nth(1);
  await expect(row.getByRole('cell').nth(1)).toHaveText('2');
  await expect(row.getByRole('cell').nth(2)).toHaveText('100.0 %');
  await expect(row.getByRole('cell').nth(4)).toHaveText(/^\d+ ms$/);
  await page.screenshot({ path: path.join(__dirname, '..', 'screenshots', 'overview.png'), fullPage: true });
  expect(browserProblems).toEqual([]);
});

test('the chart and the figures are there without JavaScript', async ({ browser, request, own, receiver }) => {
  await seedWalkthrough(request, own, receiver.url, { identifier: 'id-8', payload: PAYLOAD });
  await sendEvaluationFinished(request, own, { result: 'pass', score: 90 });
  await expect.poll(() => receiver.requests.length).toBe(1);
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: own.url });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/uniform$/);
  const chart = page.getByRole('img', { name: 'Deliveries per 15 minutes, last 24 hours' });
  await expect(chart.locator('rect.bar-delivered')).toHaveCount(1);
  await expect(
    page.getByRole('list', { name: 'Figures' }).getByRole('listitem').filter({ hasText: 'Deliveries (24 h)' }),
  ).toContainText('1');
  await context.close();
});
