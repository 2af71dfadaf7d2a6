// The delivery log: a real HTTP receiver on 127.0.0.1 (allow-listed) stands in for Slack and
// answers what the test tells it to. A delivery Slack refuses (400 invalid_payload) shows as
// failed in the log with Slack's reason, its detail shows the request as sent (the secret in
// the URL as ***), and once the receiver accepts again "Redeliver" turns it delivered without
// a reload; "Retry all failed" on the Integrations page does the same for every failed
// delivery of a subscription.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { APIRequestContext } from '@playwright/test';
import { test as base, expect, login, startUniform, waitForHydration, type Uniform } from '../fixtures';

/** A stand-in for Slack: records what it receives and answers `status` with `body`. */
type Receiver = {
  url: string;
  bodies: string[];
  paths: string[];
  answer: { status: number; body: string };
  server: Server;
};

const test = base.extend<{ own: Uniform; receiver: Receiver }>({
  own: async ({}, use) => {
    const uniform = await startUniform({ UNIFORM_WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32' });
    await use(uniform);
    await uniform.stop();
  },
  baseURL: async ({ own }, use) => {
    await use(own.url);
  },
  receiver: async ({}, use) => {
    const bodies: string[] = [];
    const paths: string[] = [];
    const answer = { status: 400, body: 'invalid_payload' };
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        bodies.push(body);
        paths.push(request.url ?? '');
        response.writeHead(answer.status, { 'content-type': 'text/plain' });
        response.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await use({ url: `http://127.0.0.1:${port}`, bodies, paths, answer, server });
    // Uniform's client keeps its connection open: close it, or close() waits for it.
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  },
});

/** The identifier part of the Slack URL, kept in the secret. */
const IDENTIFIER = 'SeCrEtIdEnTiFiEr42';
const PAYLOAD =
  '{"text": "Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}."}';

function apiHeaders(uniform: Uniform): Record<string, string> {
  return { 'x-token': readFileSync(path.join(uniform.dataDir, 'api-token'), 'utf8').trim() };
}

/** The walkthrough's secret and subscription, through the REST API; returns the subscription id. */
async function seed(request: APIRequestContext, uniform: Uniform, receiver: Receiver): Promise<string> {
  const headers = apiHeaders(uniform);
  const secret = await request.post('/api/secrets/v1/secret', {
    headers,
    data: { name: 'slack-secret', scope: 'keptn-webhook-service', data: { 'webhook-identifier': IDENTIFIER } },
  });
  expect(secret.status()).toBe(201);
  const integrations = await (
    await request.get('/api/controlPlane/v1/uniform/registration?name=webhook-service', { headers })
  ).json();
  const created = await request.post(
    `/api/controlPlane/v1/uniform/registration/${integrations[0].id}/subscription`,
    {
      headers,
      data: {
        event: 'sh.keptn.event.evaluation.finished',
        filter: { stages: ['dev'] },
        webhook: {
          method: 'POST',
          url: `${receiver.url}/services/T00000000/B00000000/{{.secret.slack-secret.webhook-identifier}}`,
          payload: PAYLOAD,
        },
      },
    },
  );
  expect(created.status()).toBe(201);
  return (await created.json()).id;
}

/** Sends an evaluation.finished event for sockshop/dev/carts. */
async function sendEvent(request: APIRequestContext, uniform: Uniform, result: string, score: number) {
  const accepted = await request.post('/api/v1/event', {
    headers: apiHeaders(uniform),
    data: {
      type: 'sh.keptn.event.evaluation.finished',
      specversion: '1.0',
      source: 'lighthouse-service',
      data: { project: 'sockshop', stage: 'dev', service: 'carts', evaluation: { result, score } },
    },
  });
  expect(accepted.status()).toBe(200);
}

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
  await seed(request, own, receiver);
  await sendEvent(request, own, 'pass', 100);
  await expect.poll(() => receiver.bodies.length).toBe(1);
  expect(receiver.paths[0]).toBe(`/services/T00000000/B00000000/${IDENTIFIER}`);
  await expect.poll(() => statuses(request, own)).toEqual(['failed']);

  // The failure is an unread error event of webhook-service.
  await login(page, '/uniform/secrets');
  await waitForHydration(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByText('1 unread error event')).toBeAttached();
  await nav.getByRole('link', { name: 'Integrations' }).click();
  await page.getByRole('row', { name: /webhook-service/ }).click();
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
  await expect(failedRow.getByRole('cell').nth(8)).toHaveText('—');

  // Live: a new event the receiver accepts appears on top, delivered, without a reload.
  await page.evaluate(() => ((window as unknown as { stillHere: string }).stillHere = 'yes'));
  receiver.answer.status = 200;
  receiver.answer.body = 'ok';
  await sendEvent(request, own, 'warning', 75);
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
  expect(receiver.bodies).toHaveLength(3);
  expect(receiver.bodies[2]).toBe('{"text": "Evaluation in dev finished with result pass and score 100."}');

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
  const subscriptionId = await seed(request, own, receiver);
  await sendEvent(request, own, 'fail', 10);
  await sendEvent(request, own, 'fail', 20);
  await expect.poll(() => statuses(request, own)).toEqual(['failed', 'failed']);

  await login(page, '/uniform/integrations');
  await waitForHydration(page);
  await page.getByRole('row', { name: /webhook-service/ }).click();
  const tile = page.getByRole('region', { name: 'Subscriptions' });
  await tile.getByRole('button', { name: 'Retry all failed deliveries of subscription 1' }).click();
  const dialog = page.getByRole('dialog', { name: 'Retry failed deliveries confirmation' });
  await expect(dialog).toContainText('Retry 2 failed deliveries');
  // Cancel leaves them alone.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  expect(receiver.bodies).toHaveLength(2);

  receiver.answer.status = 200;
  receiver.answer.body = 'ok';
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
