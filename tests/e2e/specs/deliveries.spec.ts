// The delivery log: a real HTTP receiver on 127.0.0.1 (allow-listed; see ../slack.ts) stands in
// for Slack and answers what the test tells it to. A delivery Slack refuses (400
// invalid_payload) shows as failed in the log with Slack's reason, its detail shows the request
// as sent (the secret in the URL as ***), and once the receiver accepts again "Redeliver" turns
// it delivered without a reload; "Retry all failed" on the Integrations page does the same for
// every failed delivery of a subscription.
import path from 'node:path';
import type { APIRequestContext } from '@playwright/test';
import { apiHeaders, expect, login, waitForHydration, type Uniform, integrationRow } from '../fixtures';
import { seedWalkthrough, sendEvaluationFinished, test } from '../slack';

test.use({ receiverAnswer: { status: 400, body: 'invalid_payload' } });

/** The identifier part of the Slack URL, kept in the secret. */
const IDENTIFIER = 'SeCrEtIdEnTiFiEr42';
const PAYLOAD =
  '{"text": "Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}."}';

/** The statuses of all deliveries, newest first, from the REST API. */
async function statuses(request: APIRequestContext, uniform: Uniform): Promise<string[]> {
  const answer = await request.get('/api/v1/deliveries', { headers: apiHeaders(uniform) });
  return (await answer.json()).deliveries.map((d: { status: string }) => d.status);
}

test('a refused delivery shows in the log and its detail, and Redeliver turns it delivered live', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  await seedWalkthrough(request, own, receiver.url, { identifier: IDENTIFIER, payload: PAYLOAD });
  await sendEvaluationFinished(request, own, { result: 'pass', score: 100 });
  await expect.poll(() => receiver.requests.length).toBe(1);
  expect(receiver.requests[0].path).toBe(`/services/T00000000/B00000000/${IDENTIFIER}`);
  await expect.poll(() => statuses(request, own)).toEqual(['failed']);

  // The failure is an unread error event of webhook-service.
  await login(page, '/uniform/secrets');
  await waitForHydration(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByText('1 unread error event')).toBeAttached();
  await nav.getByRole('link', { name: 'Integrations' }).click();
  await integrationRow(page).click();
  await expect(
    page.getByRole('region', { name: 'Error events' }).getByRole('row', { name: /evaluation/ }),
  ).toContainText('HTTP 400: invalid_payload');

  // Uniform → Deliveries: the row, failed, with Slack's reason.
  await nav.getByRole('link', { name: 'Deliveries' }).click();
  await expect(page).toHaveURL(/\/uniform\/deliveries$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Deliveries' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Deliveries' })).toHaveAttribute('aria-current', 'page');
  const table = page.getByRole('table', { name: 'Deliveries' });
  await expect(table.getByRole('columnheader')).toHaveText([
    'Time (UTC)',
    'Event',
    'Project / Stage / Service',
    'Status',
    'Attempts',
    'HTTP status',
    'Reason',
    'Duration',
    'Next retry',
    'Subscription',
    'Actions',
  ]);
  const rows = table.locator('tbody tr');
  await expect(rows).toHaveCount(1);
  const failedRow = rows.first();
  await expect(failedRow.getByRole('cell').nth(1)).toHaveText('evaluation.finished');
  await expect(failedRow.getByRole('cell').nth(2)).toHaveText('sockshop / dev / carts');
  await expect(failedRow.getByRole('cell').nth(3)).toHaveText('failed');
  await expect(failedRow.getByRole('cell').nth(4)).toHaveText('1');
  await expect(failedRow.getByRole('cell').nth(5)).toHaveText('400');
  await expect(failedRow.getByRole('cell').nth(6)).toContainText('invalid_payload');
  await expect(failedRow.getByRole('cell').nth(9)).toHaveText('evaluation.finished · stages dev');
  await expect(failedRow.getByRole('cell').nth(8)).toHaveText('—');

  // Live: a new event the receiver accepts appears on top, delivered, without a reload.
  await page.evaluate(() => ((window as unknown as { stillHere: string }).stillHere = 'yes'));
  receiver.answerWith(200, 'ok');
  await sendEvaluationFinished(request, own, { result: 'warning', score: 75 });
  await expect(rows).toHaveCount(2, { timeout: 15_000 });
  await expect(rows.first().getByRole('cell').nth(3)).toHaveText('delivered', { timeout: 15_000 });
  await expect(rows.first().getByRole('cell').nth(5)).toHaveText('200');
  await expect(rows.nth(1).getByRole('cell').nth(3)).toHaveText('failed');
  await page.screenshot({ path: path.join(__dirname, '..', 'screenshots', 'delivery-log.png') });

  // The status filter goes into the URL and survives a reload.
  const status = page.getByLabel('Status', { exact: true });
  await status.selectOption('failed');
  await expect(page).toHaveURL(/\/uniform\/deliveries\?status=failed$/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first().getByRole('cell').nth(3)).toHaveText('failed');
  expect(await page.evaluate(() => (window as unknown as { stillHere?: string }).stillHere)).toBe('yes');
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel('Status', { exact: true })).toHaveValue('failed');
  await expect(rows).toHaveCount(1);

  // The detail: the request as sent (the secret as ***) and Slack's answer.
  await rows.first().getByRole('link', { name: /Details/ }).click();
  await expect(page).toHaveURL(/\/uniform\/deliveries\/[^/?]+$/);
  const id = new URL(page.url()).pathname.split('/').pop() ?? '';
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Delivery ${id}`);
  const first = page.getByRole('region', { name: 'Attempt 1' });
  await expect(first).toContainText(`POST ${receiver.url}/services/T00000000/B00000000/***`);
  await expect(first.locator('pre').first()).toHaveText(
    '{"text": "Evaluation in dev finished with result pass and score 100."}',
  );
  await expect(first.getByRole('table', { name: 'Request headers' })).toContainText('application/json');
  await expect(first).toContainText('HTTP 400');
  await expect(first.locator('pre').nth(1)).toHaveText('invalid_payload');
  expect(await page.content()).not.toContain(IDENTIFIER);
  // The subscription by its task and filter, linking to its form, and to its deliveries.
  const subscriptionCell = page.locator('.delivery-summary div', { hasText: 'Subscription' }).locator('dd');
  await expect(subscriptionCell).toHaveText('evaluation.finished · stages dev · its deliveries');
  await expect(subscriptionCell.getByRole('link', { name: 'evaluation.finished · stages dev' })).toHaveAttribute(
    'href',
    /^\/uniform\/integrations\/[^/]+\/subscriptions\/[^/]+\/edit$/,
  );
  await expect(subscriptionCell.getByRole('link', { name: 'its deliveries' })).toHaveAttribute(
    'href',
    /^\/uniform\/deliveries\?subscription=/,
  );

  // Redeliver: the receiver accepts now, the status turns delivered without a reload.
  await page.evaluate(() => ((window as unknown as { stillHere: string }).stillHere = 'detail'));
  await page.getByRole('button', { name: 'Redeliver', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Delivery queued again.');
  const summary = page.locator('.delivery-summary');
  await expect(summary.locator('.status-pill')).toHaveText('delivered', { timeout: 15_000 });
  const second = page.getByRole('region', { name: 'Attempt 2' });
  await expect(second).toContainText('HTTP 200');
  await expect(second.locator('pre').nth(1)).toHaveText('ok');
  expect(await page.evaluate(() => (window as unknown as { stillHere?: string }).stillHere)).toBe('detail');
  expect(receiver.requests).toHaveLength(3);
  expect(receiver.requests[2].body).toBe('{"text": "Evaluation in dev finished with result pass and score 100."}');

  // Back in the log (still filtered by failed): nothing failed any more.
  await page.getByRole('link', { name: 'Back to the delivery log' }).click();
  await expect(page).toHaveURL(/\/uniform\/deliveries$/);
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1).getByRole('cell').nth(3)).toHaveText('delivered');
  expect(browserProblems).toEqual([]);
});

test('"Retry all failed" on the Integrations page sends every failed delivery again', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  const { subscriptionId } = await seedWalkthrough(request, own, receiver.url, {
    identifier: IDENTIFIER,
    payload: PAYLOAD,
  });
  await sendEvaluationFinished(request, own, { result: 'fail', score: 10 });
  await sendEvaluationFinished(request, own, { result: 'fail', score: 20 });
  await expect.poll(() => statuses(request, own)).toEqual(['failed', 'failed']);

  await login(page, '/uniform/integrations');
  await waitForHydration(page);
  await integrationRow(page).click();
  const tile = page.getByRole('region', { name: 'Subscriptions' });
  await tile.getByRole('button', { name: 'Retry all failed deliveries of subscription 1' }).click();
  const dialog = page.getByRole('dialog', { name: 'Retry failed deliveries confirmation' });
  await expect(dialog).toContainText('Retry 2 failed deliveries');
  // Cancel leaves them alone.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  expect(receiver.requests).toHaveLength(2);

  receiver.answerWith(200, 'ok');
  await tile.getByRole('button', { name: 'Retry all failed deliveries of subscription 1' }).click();
  await expect(dialog).toContainText('Retry 2 failed deliveries');
  await dialog.getByRole('button', { name: 'Retry' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole('status')).toContainText('2 deliveries queued again.');
  await expect.poll(() => statuses(request, own)).toEqual(['delivered', 'delivered']);

  // Nothing left to retry.
  await tile.getByRole('button', { name: 'Retry all failed deliveries of subscription 1' }).click();
  await expect(page.getByRole('status')).toContainText('No failed deliveries to retry.');
  await expect(dialog).toHaveCount(0);

  // "Deliveries" opens the log filtered by this subscription.
  await tile.getByRole('link', { name: 'Deliveries of subscription 1' }).click();
  await expect(page).toHaveURL(new RegExp(`/uniform/deliveries\\?subscription=${subscriptionId}$`));
  await expect(page.getByLabel('Subscription', { exact: true })).toHaveValue(subscriptionId);
  const rows = page.getByRole('table', { name: 'Deliveries' }).locator('tbody tr');
  await expect(rows).toHaveCount(2);
  for (const row of await rows.all()) {
    await expect(row.getByRole('cell').nth(3)).toHaveText('delivered');
    await expect(row.getByRole('cell').nth(4)).toHaveText('2');
  }
  expect(browserProblems).toEqual([]);
});
