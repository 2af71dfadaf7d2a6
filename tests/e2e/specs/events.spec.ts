// "Why didn't I get a message?": the Events page lists every received event with the
// deliveries it caused, its filters narrow the list (kept in the URL), and an event's detail
// says for each webhook subscription of its task whether it fired and, if not, why — the same
// words as GET /api/v1/event/{id}/matches. "Preview with this event" opens the subscription's
// form with its preview rendering that event. A real receiver on 127.0.0.1 stands in for Slack.
import path from 'node:path';
import type { APIRequestContext } from '@playwright/test';
import { apiHeaders, expect, login, waitForHydration, type Uniform } from '../fixtures';
import { seedWalkthrough, test } from '../slack';

const PAYLOAD = '{"text": "Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}}."}';

/** Posts an evaluation event of `suffix` for sockshop/`stage`/carts; returns its id. */
async function sendEvaluation(
  request: APIRequestContext,
  uniform: Uniform,
  suffix: string,
  stage: string,
): Promise<string> {
  const id = `e2e-${suffix}-${stage}`;
  const accepted = await request.post('/api/v1/event', {
    headers: apiHeaders(uniform),
    data: {
      id,
      type: `sh.keptn.event.evaluation.${suffix}`,
      specversion: '1.0',
      source: 'lighthouse-service',
      data: { project: 'sockshop', stage, service: 'carts', evaluation: { result: 'pass', score: 95 } },
    },
  });
  expect(accepted.status()).toBe(200);
  return id;
}

test('events list what they caused, filter by stage and type, and explain why a subscription did not fire', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  await seedWalkthrough(request, own, receiver.url, {
    identifier: 'id-42',
    payload: PAYLOAD,
    stages: ['dev', 'staging'],
  });
  const matched = await sendEvaluation(request, own, 'finished', 'dev');
  const production = await sendEvaluation(request, own, 'finished', 'production');
  const started = await sendEvaluation(request, own, 'started', 'dev');
  await expect.poll(() => receiver.requests.length).toBe(1);

  await login(page, '/uniform/events');
  await waitForHydration(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Events' })).toHaveAttribute('aria-current', 'page');
  await expect(page.getByRole('heading', { level: 1, name: 'Events' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Events' });
  await expect(table.getByRole('columnheader')).toHaveText([
    'Received (UTC)',
    'Type',
    'Project / Stage / Service',
    'Source',
    'Keptn context',
    'Deliveries',
    'Actions',
  ]);
  const rows = table.getByRole('row');
  // Newest first, each with how many deliveries it caused.
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(1)).toContainText('evaluation.started');
  await expect(rows.nth(1).getByRole('cell').nth(5)).toHaveText('0');
  await expect(rows.nth(2)).toContainText('sockshop / production / carts');
  await expect(rows.nth(2).getByRole('cell').nth(5)).toHaveText('0');
  await expect(rows.nth(3)).toContainText('sockshop / dev / carts');
  await expect(rows.nth(3).getByRole('cell').nth(5)).toHaveText('1');
  await expect(page.getByText('3 events')).toBeVisible();

  // Filters narrow the list and live in the URL.
  const filters = page.getByRole('search', { name: 'Filter events' });
  await filters.getByLabel('Stage').fill('production');
  await filters.getByLabel('Stage').press('Enter');
  await expect(page).toHaveURL(/\/uniform\/events\?stage=production$/);
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1)).toContainText('sockshop / production / carts');
  await page.getByRole('link', { name: 'Clear filters' }).click();
  await expect(rows).toHaveCount(4);
  await filters.getByLabel('Type').fill('evaluation.started');
  await filters.getByLabel('Type').press('Enter');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1)).toContainText('evaluation.started');
  await filters.getByLabel('Type').fill('deployment.finished');
  await filters.getByLabel('Type').press('Enter');
  await expect(page.getByText('No events match these filters.')).toBeVisible();
  await page.getByRole('link', { name: 'Clear filters' }).click();
  await expect(rows).toHaveCount(4);

  // The event that matched nothing: why, in words.
  await rows.nth(2).getByRole('link', { name: /Details/ }).click();
  await expect(page).toHaveURL(new RegExp(`/uniform/events/${production}$`));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Event evaluation.finished');
  const subscriptions = page.getByRole('table', { name: 'Subscriptions' });
  await expect(subscriptions.getByRole('row')).toHaveCount(2);
  const row = subscriptions.getByRole('row').nth(1);
  await expect(row).toContainText('evaluation.finished · stages dev, staging');
  await expect(row).toContainText('Did not fire');
  await expect(row).toContainText('stage `production` not in [dev, staging]');
  await expect(page.getByText('This event caused no delivery.')).toBeVisible();
  await page.screenshot({ path: path.join(__dirname, '..', 'screenshots', 'event-detail.png') });
  // The event as stored, collapsed until asked for.
  const json = page.locator('details.event-json pre');
  await expect(json).toBeHidden();
  await page.getByText('Event JSON').click();
  await expect(json).toContainText('"stage": "production"');
  await expect(json).toContainText(`"id": "${production}"`);

  // The other suffix.
  await page.goto(`/uniform/events/${started}`);
  await expect(page.getByRole('table', { name: 'Subscriptions' }).getByRole('row').nth(1)).toContainText(
    'suffix `started` ≠ `finished`',
  );

  // The event that matched: it fired, with its delivery linking to the delivery log.
  await page.goto(`/uniform/events/${matched}`);
  await waitForHydration(page);
  const fired = page.getByRole('table', { name: 'Subscriptions' }).getByRole('row').nth(1);
  await expect(fired).toContainText('Fired');
  const deliveries = page.getByRole('table', { name: 'Deliveries of this event' });
  await expect(deliveries.getByRole('row')).toHaveCount(2);
  await expect(deliveries.getByRole('row').nth(1)).toContainText('delivered');
  await fired.getByRole('link', { name: /^Delivery / }).click();
  await expect(page).toHaveURL(/\/uniform\/deliveries\/[^/?]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Delivery');

  // "Preview with this event": the subscription's form, its preview rendering that event.
  await page.goto(`/uniform/events/${production}`);
  await waitForHydration(page);
  await page.getByRole('link', { name: /Preview with this event/ }).click();
  await expect(page).toHaveURL(new RegExp(`/subscriptions/[^/]+/edit\\?previewEvent=${production}$`));
  await expect(page.getByLabel('Received event')).toHaveValue(/"stage": "production"/);
  await expect(page.getByRole('region', { name: 'Preview' })).toContainText(
    'Evaluation in production finished with result pass.',
  );
  expect(browserProblems).toEqual([]);
});
