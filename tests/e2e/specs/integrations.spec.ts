// Integrations and webhook subscriptions as a user meets them: the Slack walkthrough of the
// Keptn docs (../shared/reference/slack-integration.md) step by step — secret, subscription
// with a secret inserted at the caret, the payload stored byte for byte, edit, delete — plus
// the empty secret picker, the pending-changes guard and the server's field errors.
//
// Every test gets its own server (fresh data directory): what secrets exist matters here, and
// the worker-scoped server may already hold secrets from other spec files.
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { apiHeaders, expect, login, takeRefusal, waitForHydration, withOwnServer, integrationRow } from '../fixtures';
import { SECRET_REF, WALKTHROUGH_PAYLOAD as PAYLOAD, createSlackSecret } from '../slack';

const test = withOwnServer();

const SLACK_URL = 'https://hooks.slack.com/services/T00000000/B00000000/';
const SUMMARY =
  'subscribes to: sh.keptn.event.evaluation.finished in projects: all in stages: dev, staging for services: all';

/** Opens the integrations page, selects webhook-service and returns its id. */
async function openWebhookService(page: Page): Promise<string> {
  await login(page, '/uniform/integrations');
  await waitForHydration(page);
  await integrationRow(page).click();
  await expect(page).toHaveURL(/\/uniform\/integrations\/[0-9a-f]{40}$/);
  await expect(page.getByRole('heading', { level: 2, name: 'webhook-service' })).toBeVisible();
  return new URL(page.url()).pathname.split('/').pop() ?? '';
}

test('the Slack walkthrough: create, check, edit and delete a webhook subscription', async ({
  page,
  request,
  own,
  browserProblems,
}) => {
  await createSlackSecret(request, own, 'XXXXXXXXXXXXXXXXXXXXXXXX');

  // Integrations → webhook-service.
  await login(page, '/uniform/integrations');
  await waitForHydration(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Integrations' })).toBeVisible();
  await expect(page.getByRole('columnheader')).toHaveText([
    'Name',
    'Version',
    'Cluster / Host',
    'Location',
    'Active subscriptions',
  ]);
  await expect(page.getByText('Select an integration to show error events')).toBeVisible();
  const row = integrationRow(page);
  await expect(row.getByRole('cell').nth(3)).toHaveText('control-plane');
  await row.click();
  await expect(page).toHaveURL(/\/uniform\/integrations\/[0-9a-f]{40}$/);
  const id = new URL(page.url()).pathname.split('/').pop();
  await expect(page.getByRole('heading', { level: 2, name: 'webhook-service' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Subscriptions' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Error events' })).toHaveText(
    /No events for this integration available/,
  );

  // "Add subscription".
  await page.getByRole('button', { name: 'Add subscription' }).click();
  await expect(page).toHaveURL(new RegExp(`/uniform/integrations/${id}/subscriptions/add$`));
  await expect(page.getByRole('heading', { level: 1, name: 'Create subscription' })).toBeVisible();
  const create = page.getByRole('button', { name: 'Create subscription' });
  await expect(create).toBeDisabled();

  // Task evaluation, suffix finished.
  const task = page.getByLabel('Task', { exact: true });
  await expect(task).toHaveAttribute('placeholder', 'Choose your task');
  await expect(page.getByRole('button', { name: 'Add payload variable' }).first()).toBeDisabled();
  await task.fill('evaluation');
  await page.getByLabel('Task suffix').selectOption('finished');

  // Filter Stage:dev, Stage:staging (suggestions show while typing).
  const filter = page.getByLabel('Filter by stages and services');
  await filter.fill('St');
  await expect(page.getByRole('option', { name: 'Stage:' })).toBeVisible();
  // Enter takes the first suggestion shown (no ArrowDown needed): the category, to go on typing.
  await filter.press('Enter');
  await expect(filter).toHaveValue('Stage:');
  // A word that is no tag and suggests nothing: the hint shows, and no list covers it.
  await filter.fill('nothing-like-it');
  await filter.press('Enter');
  await expect(page.getByText('Start with Project:, Stage: or Service:, e.g. Stage:dev')).toBeVisible();
  await expect(page.getByRole('listbox', { name: 'Suggestions' })).toHaveCount(0);
  await filter.fill('Stage:dev');
  await filter.press('Enter');
  await filter.fill('Stage:staging');
  await filter.press('Enter');
  await expect(page.getByRole('listbox', { name: 'Suggestions' })).toHaveCount(0);
  const tags = page.getByRole('list', { name: 'Filters' });
  await expect(tags.getByText('Stage: dev', { exact: true })).toBeVisible();
  await expect(tags.getByText('Stage: staging', { exact: true })).toBeVisible();
  await expect(tags.getByRole('button', { name: 'Remove Stage: staging' })).toBeVisible();

  // Webhook: POST to the Slack URL with the identifier from the secret, inserted at the caret.
  await expect(page.getByRole('heading', { name: 'Webhook configuration' })).toBeVisible();
  await page.getByLabel('Request Method').selectOption('POST');
  const url = page.getByLabel('URL', { exact: true });
  await expect(url).toHaveAttribute('placeholder', 'https://keptn.sh/');
  await url.fill(SLACK_URL);
  await url.press('End');
  const secretButtons = page.getByRole('button', { name: 'Add secret' });
  await secretButtons.nth(0).click();
  const secrets = page.getByRole('dialog', { name: 'Select secret' });
  await expect(secrets).toBeVisible();
  // The picker opens below the field it inserts into, never over it.
  await expectBelow(secrets, url);
  await secrets.getByRole('button', { name: 'slack-secret' }).click();
  await secrets.getByRole('button', { name: 'webhook-identifier' }).click();
  await expect(secrets).toHaveCount(0);
  await expect(url).toHaveValue(`${SLACK_URL}${SECRET_REF}`);

  // Custom headers: Content-Type, and a second one proving the insertion happens at the caret.
  await page.getByRole('button', { name: 'Add custom header' }).click();
  const first = page.getByRole('group', { name: 'Custom header 1' });
  await expect(first.getByLabel('Key')).toHaveAttribute('placeholder', 'e.g. Content-Type');
  await expect(first.getByLabel('Value')).toHaveAttribute('placeholder', 'e.g. application/json');
  await first.getByLabel('Key').fill('Content-Type');
  await first.getByLabel('Value').fill('application/json');
  await page.getByRole('button', { name: 'Add custom header' }).click();
  const second = page.getByRole('group', { name: 'Custom header 2' });
  await second.getByLabel('Key').fill('Authorization');
  const bearer = second.getByLabel('Value');
  await bearer.fill('Bearer XY');
  await bearer.press('End');
  await bearer.press('ArrowLeft');
  await bearer.press('ArrowLeft');
  // The lock buttons come in the order URL, header values, payload.
  await expect(secretButtons).toHaveCount(4);
  await expect(page.getByRole('button', { name: 'Add payload variable' })).toHaveCount(4);
  await secretButtons.nth(2).click();
  await secrets.getByRole('button', { name: 'slack-secret' }).click();
  await secrets.getByRole('button', { name: 'webhook-identifier' }).click();
  await expect(bearer).toHaveValue(`Bearer ${SECRET_REF}XY`);
  await expect(first.getByLabel('Value')).toHaveValue('application/json');
  await second.getByRole('button', { name: 'Remove Header' }).click();
  await expect(page.getByRole('group', { name: /^Custom header \d+$/ })).toHaveCount(1);

  // The payload, verbatim; the variable picker offers the evaluation's fields.
  const payload = page.getByLabel('Custom payload');
  await payload.fill(PAYLOAD);
  await page.getByRole('button', { name: 'Add payload variable' }).last().click();
  const variables = page.getByRole('dialog', { name: 'Select payload variable' });
  await expectBelow(variables, payload);
  await variables.getByRole('button', { name: 'data', exact: true }).click();
  await variables.getByRole('button', { name: 'evaluation', exact: true }).click();
  // A leaf shows its path: the two `result` fields tell apart; `labels` is a branch of keys.
  await expect(variables.getByRole('button', { name: 'score .data.evaluation.score', exact: true })).toBeVisible();
  await expect(variables.getByRole('button', { name: 'result .data.result', exact: true })).toBeVisible();
  await expect(
    variables.getByRole('button', { name: 'result .data.evaluation.result', exact: true }),
  ).toBeVisible();
  await variables.getByRole('button', { name: 'labels', exact: true }).click();
  await expect(variables.getByRole('button', { name: 'labels', exact: true })).toHaveAttribute('aria-expanded', 'true');
  await expect(variables.getByRole('button', { name: 'buildId .data.labels.buildId', exact: true })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(variables).toHaveCount(0);
  await expect(payload).toHaveValue(PAYLOAD);

  // Started/finished events only apply to triggered (and *) subscriptions.
  const started = page.getByRole('radiogroup', { name: 'Send started event' });
  await expect(started.getByRole('radio', { name: 'automatically' })).toBeChecked();
  await expect(started.getByRole('radio', { name: 'automatically' })).toBeDisabled();

  await page.screenshot({
    path: path.join(__dirname, '..', 'screenshots', 'subscription-form.png'),
    fullPage: true,
  });

  // "Create subscription" → back at the integration, which lists it.
  await expect(create).toBeEnabled();
  await create.click();
  await expect(page).toHaveURL(new RegExp(`/uniform/integrations/${id}$`));
  await expect(page.getByRole('status')).toHaveText('Subscription successfully created!');
  await expect(page.getByText(SUMMARY)).toBeVisible();
  // Named by its task and filter, not by a number.
  await expect(page.getByRole('heading', { level: 4, name: 'evaluation.finished · stages dev, staging' })).toBeVisible();
  await page.screenshot({
    path: path.join(__dirname, '..', 'screenshots', 'integration-view.png'),
    fullPage: true,
  });
  await expect(integrationRow(page).getByRole('cell').nth(4)).toHaveText(
    'sh.keptn.event.evaluation.finished',
  );

  // Stored as written: the payload byte for byte, the URL with the secret reference.
  const listed = await request.get(`/api/controlPlane/v1/uniform/registration/${id}/subscription`, {
    headers: apiHeaders(own),
  });
  expect(listed.status()).toBe(200);
  const subscriptions = await listed.json();
  expect(subscriptions).toHaveLength(1);
  const [stored] = subscriptions;
  expect(stored.event).toBe('sh.keptn.event.evaluation.finished');
  expect(stored.filter).toEqual({ projects: [], stages: ['dev', 'staging'], services: [] });
  expect(stored.webhook.method).toBe('POST');
  expect(stored.webhook.url).toBe(`${SLACK_URL}${SECRET_REF}`);
  expect(stored.webhook.payload).toBe(PAYLOAD);
  expect(stored.webhook.headers).toEqual([{ key: 'Content-Type', value: 'application/json' }]);
  expect(stored.webhook.sendStarted).toBe(true);
  expect(stored.webhook.sendFinished).toBe(true);

  // Edit: add Stage:production.
  await page.getByRole('button', { name: 'Edit subscription' }).click();
  await expect(page).toHaveURL(new RegExp(`/uniform/integrations/${id}/subscriptions/${stored.id}/edit$`));
  await expect(page.getByRole('heading', { level: 1, name: 'Edit subscription' })).toBeVisible();
  await expect(page.getByLabel('Task', { exact: true })).toHaveValue('evaluation');
  // Rendered by the server too.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel('Task', { exact: true })).toHaveValue('evaluation');
  await expect(page.getByLabel('Task suffix')).toHaveValue('finished');
  await expect(page.getByLabel('URL', { exact: true })).toHaveValue(`${SLACK_URL}${SECRET_REF}`);
  await expect(page.getByLabel('Custom payload')).toHaveValue(PAYLOAD);
  await page.getByLabel('Filter by stages and services').fill('Stage:production');
  await page.getByLabel('Filter by stages and services').press('Enter');
  await page.getByRole('button', { name: 'Update subscription' }).click();
  await expect(page).toHaveURL(new RegExp(`/uniform/integrations/${id}$`));
  await expect(page.getByRole('status')).toHaveText('Subscription successfully updated!');
  const updated = page.getByText(
    'subscribes to: sh.keptn.event.evaluation.finished in projects: all in stages: dev, staging, production for services: all',
  );
  await expect(updated).toBeVisible();
  await page.reload();
  await waitForHydration(page);
  await expect(updated).toBeVisible();

  // Delete, after the confirmation.
  await page.getByRole('button', { name: 'Delete subscription' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete subscription confirmation' });
  await expect(confirm).toContainText(
    'Are you sure you want to delete the subscription "evaluation.finished · stages dev, staging, production"?',
  );
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(confirm).toHaveCount(0);
  await expect(page.getByRole('status')).toHaveText('Subscription deleted successfully!');
  await expect(page.getByText(/subscribes to:/)).toHaveCount(0);
  const after = await request.get(`/api/controlPlane/v1/uniform/registration/${id}/subscription`, {
    headers: apiHeaders(own),
  });
  expect(await after.json()).toEqual([]);
  expect(browserProblems).toEqual([]);
});

test('without webhook secrets the picker says so and links to the secret form', async ({
  page,
  browserProblems,
}) => {
  await openWebhookService(page);
  await page.getByRole('button', { name: 'Add subscription' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Create subscription' })).toBeVisible();
  await page.getByRole('button', { name: 'Add secret' }).first().click();
  const secrets = page.getByRole('dialog', { name: 'Select secret' });
  await expect(secrets.getByText('No secrets for the scope keptn-webhook-service are available.')).toBeVisible();
  await secrets.getByRole('link', { name: 'Create secret' }).click();
  await expect(page).toHaveURL(/\/uniform\/secrets\/add\?scope=keptn-webhook-service$/);
  expect(browserProblems).toEqual([]);
});

test('leaving the form with pending changes asks first', async ({ page, browserProblems }) => {
  const id = await openWebhookService(page);
  const integration = new RegExp(`/uniform/integrations/${id}$`);
  const form = new RegExp(`/uniform/integrations/${id}/subscriptions/add$`);

  // Nothing changed: Cancel just leaves.
  await page.getByRole('button', { name: 'Add subscription' }).click();
  await expect(page).toHaveURL(form);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(integration);

  // Changed: Cancel asks; "Stay" stays.
  await page.getByRole('button', { name: 'Add subscription' }).click();
  await page.getByLabel('Task', { exact: true }).fill('deployment');
  await page.getByRole('button', { name: 'Cancel' }).click();
  const dialog = page.getByRole('dialog', {
    name: 'You have pending changes. Are you sure you want to leave this page?',
  });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Stay' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page).toHaveURL(form);
  await expect(page.getByLabel('Task', { exact: true })).toHaveValue('deployment');

  // A navigation link asks too.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Secrets' }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Stay' }).click();
  await expect(page).toHaveURL(form);

  // "Discard changes and leave page" leaves.
  await page.getByRole('button', { name: 'Cancel' }).click();
  await dialog.getByRole('button', { name: 'Discard changes and leave page' }).click();
  await expect(page).toHaveURL(integration);
  await expect(page.getByText(/subscribes to:/)).toHaveCount(0);
  expect(browserProblems).toEqual([]);

  // Closing (or reloading) the tab with pending changes asks the browser to confirm.
  await page.getByRole('button', { name: 'Add subscription' }).click();
  await page.getByLabel('Task', { exact: true }).fill('test');
  await page.getByLabel('Task suffix').selectOption('*');
  await page.getByLabel('Task', { exact: true }).click();
  const asked = page.waitForEvent('dialog');
  await page.close({ runBeforeUnload: true });
  const confirmation = await asked;
  expect(confirmation.type()).toBe('beforeunload');
  await confirmation.accept();
});

test('the form checks as the user types and shows the server’s errors next to their field', async ({
  page,
  browserProblems,
}) => {
  await openWebhookService(page);
  await page.getByRole('button', { name: 'Add subscription' }).click();
  const create = page.getByRole('button', { name: 'Create subscription' });
  await page.getByLabel('Task', { exact: true }).fill('evaluation');
  await page.getByLabel('Task suffix').selectOption('triggered');
  await expect(
    page.getByRole('radiogroup', { name: 'Send finished event' }).getByRole('radio', { name: 'by webhook receiver' }),
  ).toBeEnabled();
  const method = page.getByLabel('Request Method');
  await method.focus();
  await method.blur();
  await expect(method).toHaveAccessibleDescription('Method must not be empty');
  await method.selectOption('POST');
  await expect(method).toHaveAccessibleDescription('');

  // A service needs a stage.
  const filter = page.getByLabel('Filter by stages and services');
  await filter.fill('Service:carts');
  await filter.press('Enter');
  await expect(filter).toHaveAccessibleDescription('If you add a service you must add a stage');
  await filter.fill('Stage:dev');
  await filter.press('Enter');
  await expect(filter).toHaveAccessibleDescription('');
  await page.getByRole('button', { name: 'Clear all' }).click();
  await expect(page.getByRole('list', { name: 'Filters' })).toHaveCount(0);

  // The URL's rules.
  const url = page.getByLabel('URL', { exact: true });
  await url.fill('hooks.slack.com');
  await expect(url).toHaveAccessibleDescription(
    'Must either be a URL starting with http(s):// or a reference to a secret. A combination of both is possible too: https://{{.secret.a.b}}',
  );
  await url.fill('https://a b');
  await expect(url).toHaveAccessibleDescription('URL must not contain spaces');
  await url.fill('');
  await expect(url).toHaveAccessibleDescription('URL must not be empty');
  await expect(create).toBeDisabled();

  // A secret that does not exist: the server says so next to the URL.
  await url.fill('https://x/{{.secret.missing.k}}');
  await expect(create).toBeEnabled();
  await create.click();
  await expect(url).toHaveAccessibleDescription('secret missing does not exist in scope keptn-webhook-service');
  await expect(url).toHaveAttribute('aria-invalid', 'true');
  await takeRefusal(browserProblems, '/rpc/uniform/subscription/create');

  // A template error in the payload: line and column, next to the payload.
  await url.fill('https://x/');
  await expect(url).toHaveAccessibleDescription('');
  const payload = page.getByLabel('Custom payload');
  await payload.fill('{"text": "{{.data.stage"}');
  await create.click();
  await expect(payload).toHaveAccessibleDescription(/^line 1, column \d+: /);
  await takeRefusal(browserProblems, '/rpc/uniform/subscription/create');
  await expect(page).toHaveURL(/\/subscriptions\/add$/);
  expect(browserProblems).toEqual([]);
});

test('a payload that renders to no JSON is said at save and saved only when the user says so', async ({
  page,
  request,
  own,
  browserProblems,
}) => {
  const id = await openWebhookService(page);
  await page.getByRole('button', { name: 'Add subscription' }).click();
  await page.getByLabel('Task', { exact: true }).fill('evaluation');
  await page.getByLabel('Task suffix').selectOption('finished');
  await page.getByLabel('Request Method').selectOption('POST');
  await page.getByLabel('URL', { exact: true }).fill(SLACK_URL);
  const payload = page.getByLabel('Custom payload');
  await payload.fill('{"text": "Evaluation in {{.data.stage}}",}');
  const create = page.getByRole('button', { name: 'Create subscription' });
  await create.click();

  const warning = page.getByRole('alert').filter({ hasText: 'this payload is not valid JSON' });
  await expect(warning).toHaveText(
    /^Rendered with an example sh\.keptn\.event\.evaluation\.finished event, this payload is not valid JSON \(.+\)\. Receivers that expect JSON, such as Slack, would refuse every delivery\. Check it with Preview, or save it as it is\.Save anyway$/,
  );
  const listed = async () =>
    (
      await (
        await request.get(`/api/controlPlane/v1/uniform/registration/${id}/subscription`, { headers: apiHeaders(own) })
      ).json()
    ).length;
  expect(await listed()).toBe(0);
  await expect(page).toHaveURL(new RegExp(`/subscriptions/add$`));

  // Mending the payload takes the warning away, and valid JSON saves at once.
  await payload.fill('{"text": "Evaluation in {{.data.stage}}"}');
  await expect(warning).toHaveCount(0);
  await payload.fill('{"text": "Evaluation in {{.data.stage}}",}');
  await create.click();
  await expect(warning).toBeVisible();
  await warning.getByRole('button', { name: 'Save anyway' }).click();
  await expect(page.getByRole('status')).toHaveText('Subscription successfully created!');
  expect(await listed()).toBe(1);
  expect(browserProblems).toEqual([]);
});

/** `popup` lies wholly below `field` on the page: it covers none of the field's text. */
async function expectBelow(popup: Locator, field: Locator) {
  const popupBox = await popup.boundingBox();
  const fieldBox = await field.boundingBox();
  expect(popupBox).not.toBeNull();
  expect(fieldBox).not.toBeNull();
  if (popupBox && fieldBox) expect(popupBox.y).toBeGreaterThanOrEqual(fieldBox.y + fieldBox.height);
}
