// A receiver answering 500 is retried for hours before the delivery fails: meanwhile the
// integration shows the subscription's deliveries waiting to be retried with the last error,
// and the Overview counts them. A real HTTP receiver on 127.0.0.1 stands in for Slack.
import { expect, login, waitForHydration, integrationRow } from '../fixtures';
import { seedWalkthrough, sendEvaluationFinished, test } from '../slack';

test.use({ receiverAnswer: { status: 500, body: 'oops' } });

test('retrying deliveries show on the integration and in the overview', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  await seedWalkthrough(request, own, receiver.url, {
    identifier: 'R1',
    payload: '{"text": "Evaluation in {{.data.stage}} finished."}',
  });
  await sendEvaluationFinished(request, own, { result: 'pass' });
  await expect.poll(() => receiver.requests.length).toBe(1);

  await login(page, '/uniform/integrations');
  await waitForHydration(page);
  await integrationRow(page).click();
  await expect(page.getByText('1 delivery waiting to be retried · last error: HTTP 500: oops')).toBeVisible();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  const tile = page.getByRole('list', { name: 'Figures' }).getByRole('listitem').filter({ hasText: 'Waiting or retrying' });
  await expect(tile).toContainText('0 waiting, 1 retrying');
  const row = page.getByRole('table', { name: 'Subscriptions in the last 24 hours' }).getByRole('row').nth(1);
  await expect(row.getByRole('cell').nth(3)).toHaveText('1');
  await expect(row.getByRole('cell').nth(6)).toContainText('HTTP 500: oops');
  expect(browserProblems).toEqual([]);
});
