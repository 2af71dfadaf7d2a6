// The subscription form's "Preview" pane with the Slack walkthrough's subscription
// (../shared/reference/slack-integration.md): the unsaved form rendered against an example
// evaluation.finished event — the request with the secret as ***, the Slack message, the
// preview following edits of the example event and of the payload (template errors with line
// and column) — and "Send test" through the real sender to a real HTTP receiver on 127.0.0.1
// (allow-listed; see ../slack.ts) standing in for Slack.
import path from 'node:path';
import { expect, login, waitForHydration } from '../fixtures';
import { WALKTHROUGH_PAYLOAD as PAYLOAD, seedWalkthrough, test } from '../slack';

// Wide enough for the pane to sit beside the form.
test.use({ viewport: { width: 1600, height: 1000 } });

const SECRET_VALUE = 'T0SECRET/B0SECRET/XXXXXXXXXXXXXXXXXXXXXXXX';

test('preview and test send of the Slack walkthrough subscription', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  const {
    headers,
    integrationId: id,
    subscriptionId,
  } = await seedWalkthrough(request, own, receiver.url, {
    identifier: SECRET_VALUE,
    payload: PAYLOAD,
    stages: ['dev', 'staging'],
    path: '/services/',
  });

  await login(page, `/uniform/integrations/${id}/subscriptions/${subscriptionId}/edit`);
  await waitForHydration(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Edit subscription' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Preview' })).toHaveCount(0);
  const open = page.getByRole('button', { name: 'Preview' });
  await expect(open).toHaveAttribute('aria-expanded', 'false');
  await open.click();
  await expect(open).toHaveAttribute('aria-expanded', 'true');
  const pane = page.getByRole('region', { name: 'Preview' });
  await expect(pane.getByRole('heading', { level: 2, name: 'Preview' })).toBeVisible();

  // The example evaluation.finished event; the walkthrough's message.
  const event = pane.getByLabel('Example event');
  await expect(event).toHaveValue(/"type": "sh\.keptn\.event\.evaluation\.finished"/);
  await expect(event).toHaveValue(/"stage": "dev"/);
  const slack = pane.getByRole('region', { name: 'Slack message' });
  await expect(slack.locator('.mrkdwn')).toHaveText('Evaluation in dev finished with result pass and score 100.');
  await expect(pane.getByText('Valid JSON', { exact: true })).toBeVisible();

  // The request as it would be sent: the secret as ***, never its value.
  await expect(pane.getByLabel('Method and URL')).toHaveText(`POST ${receiver.url}/services/***`);
  await expect(pane.getByLabel('Body', { exact: true })).toHaveText(
    '{\n  "text": "Evaluation in dev finished with result pass and score 100."\n}',
  );
  await expect(page.locator('body')).not.toContainText(SECRET_VALUE);

  // The preview follows the example event.
  const original = await event.inputValue();
  await event.fill(original.replace('"stage": "dev"', '"stage": "staging"'));
  await expect(slack.locator('.mrkdwn')).toHaveText(
    'Evaluation in staging finished with result pass and score 100.',
  );
  // A broken example event: where the JSON breaks.
  await event.fill(original.replace('"stage": "dev",', '"stage": "dev"'));
  await expect(pane.getByText(/^event, line \d+, column \d+: /)).toBeVisible();
  await event.fill(original.replace('"stage": "dev"', '"stage": "staging"'));
  await expect(slack.locator('.mrkdwn')).toContainText('Evaluation in staging');

  // ... and the form: a broken template shows where it breaks, then the payload is restored.
  const payload = page.getByLabel('Custom payload');
  await payload.fill(PAYLOAD.replace('{{.data.stage}}', '{{.data.stage'));
  await expect(pane.getByText(/^webhook\.payload, line 2, column \d+: /)).toBeVisible();
  await expect(slack).toHaveCount(0);
  await payload.fill(PAYLOAD.replace('finished with', '*finished* with'));
  await expect(slack.locator('.mrkdwn strong')).toHaveText('finished');
  await payload.fill(PAYLOAD);
  await expect(pane.getByLabel('Body', { exact: true })).toHaveText(
    '{\n  "text": "Evaluation in staging finished with result pass and score 100."\n}',
  );
  await expect(slack.locator('.mrkdwn')).toHaveText(
    'Evaluation in staging finished with result pass and score 100.',
  );
  await expect(slack.locator('.mrkdwn strong')).toHaveCount(0);
  await expect(pane.getByText(/^webhook\.payload/)).toHaveCount(0);

  await page.screenshot({
    path: path.join(__dirname, '..', 'screenshots', 'preview.png'),
    fullPage: true,
  });

  // "Send test": once, through the real sender, with the secret's value; the answer inline.
  expect(receiver.requests).toEqual([]);
  const send = pane.getByRole('button', { name: 'Send test' });
  await send.click();
  const result = pane.getByRole('region', { name: 'Test send result' });
  await expect(result).toContainText('HTTP 200');
  await expect(result.getByLabel('Response body')).toHaveText('ok');
  await expect(result.locator('.test-status')).toHaveText(/^HTTP 200 in \d+ ms: the receiver accepted it\.$/);
  await expect(result.locator('.test-status')).toHaveClass(/\bok\b/);
  await expect(send).toBeEnabled();
  expect(receiver.requests).toHaveLength(1);
  expect(receiver.requests[0].method).toBe('POST');
  expect(receiver.requests[0].path).toBe(`/services/${SECRET_VALUE}`);
  expect(receiver.requests[0].body).toBe(
    '{\n  "text": "Evaluation in staging finished with result pass and score 100."\n}',
  );
  await expect(page.locator('body')).not.toContainText(SECRET_VALUE);

  // A refusal reads as one; a change to the form takes the old answer away.
  receiver.answerWith(500, 'oops');
  await send.click();
  await expect(result.locator('.test-status')).toHaveText(
    /^HTTP 500 in \d+ ms: the receiver refused it: a delivery like this would not arrive\.$/,
  );
  await expect(result.locator('.test-status')).toHaveClass(/\bfailed\b/);
  await expect(result.getByLabel('Response body')).toHaveText('oops');
  await page.getByLabel('Request Method').selectOption('PUT');
  await expect(result).toBeEmpty();
  await page.getByLabel('Request Method').selectOption('POST');

  // Nothing was saved: the stored subscription is unchanged.
  const stored = await (
    await request.get(`/api/controlPlane/v1/uniform/registration/${id}/subscription/${subscriptionId}`, { headers })
  ).json();
  expect(stored.webhook.payload).toBe(PAYLOAD);

  // Closing the pane.
  await open.click();
  await expect(pane).toHaveCount(0);
  expect(browserProblems).toEqual([]);
});
