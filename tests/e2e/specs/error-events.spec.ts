// Events in, Slack message out — and when Slack says no: a real HTTP receiver on 127.0.0.1
// (allow-listed; see ../slack.ts) stands in for Slack, answers 400 invalid_payload, and the
// failure shows as an error event of webhook-service with an unread badge on "Integrations"
// that clears once the tile has been viewed.
import { expect, login, waitForHydration, integrationRow } from '../fixtures';
import { seedWalkthrough, sendEvaluationFinished, test } from '../slack';

test.use({ receiverAnswer: { status: 400, body: 'invalid_payload' } });

test('a delivery Slack refuses shows as an error event with an unread badge', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  const { headers } = await seedWalkthrough(request, own, receiver.url, {
    identifier: 'XYZ',
    payload: '{"text": "Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}}."}',
  });
  await sendEvaluationFinished(request, own, { result: 'fail' });
  await expect.poll(() => receiver.requests.length).toBe(1);
  expect(receiver.requests[0].body).toBe('{"text": "Evaluation in dev finished with result fail."}');
  await expect
    .poll(async () => (await (await request.get('/api/controlPlane/v1/log', { headers })).json()).totalCount)
    .toBe(1);

  await login(page, '/uniform/secrets');
  await waitForHydration(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByText('1 unread error event')).toBeAttached();

  await nav.getByRole('link', { name: 'Integrations' }).click();
  await integrationRow(page).click();
  const tile = page.getByRole('region', { name: 'Error events' });
  const row = tile.getByRole('row', { name: /evaluation/ });
  await expect(row).toContainText('HTTP 400: invalid_payload');
  // The one time format of every page: `2026-12-01 03:47:06`, UTC named in the header.
  await expect(tile.getByRole('columnheader').first()).toHaveText('Time (UTC)');
  await expect(row.getByRole('cell').first()).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  // The error names its subscription (linking to its form) and links to the delivery.
  await expect(tile.getByRole('columnheader')).toHaveText(['Time (UTC)', 'Task', 'Subscription', 'Message', 'Delivery']);
  await expect(row.getByRole('cell').nth(2)).toHaveText('evaluation.finished · stages dev');
  await expect(row.getByRole('link', { name: 'evaluation.finished · stages dev' })).toHaveAttribute(
    'href',
    /^\/uniform\/integrations\/[^/]+\/subscriptions\/[^/]+\/edit$/,
  );
  const { deliveries } = await (await request.get('/api/v1/deliveries', { headers })).json();
  await expect(row.getByRole('link', { name: /^Details of the delivery at / })).toHaveAttribute(
    'href',
    `/uniform/deliveries/${deliveries[0].id}`,
  );
  await expect(nav.getByText('1 unread error event')).toHaveCount(0);
  expect(browserProblems).toEqual([]);
});
