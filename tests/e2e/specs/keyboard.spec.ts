// The Slack walkthrough (../shared/reference/slack-integration.md) with the keyboard alone:
// after the first page load nothing is clicked — Tab moves, Enter and Space act, the arrow keys
// walk the lock-icon picker's tree. The subscription it makes then delivers the walkthrough's
// message to a real receiver on 127.0.0.1 standing in for Slack.
import type { Locator, Page } from '@playwright/test';
import { ADMIN_PASSWORD, expect, waitForHydration } from '../fixtures';
import { sendEvaluationFinished, test, WALKTHROUGH_PAYLOAD } from '../slack';

const IDENTIFIER = 'KeYbOaRdIdEnTiFiEr';

/** Presses Tab until `target` has the focus; fails after `limit` presses. */
async function tabTo(page: Page, target: Locator, limit = 60): Promise<void> {
  await expect(target).toBeVisible();
  for (let presses = 0; presses <= limit; presses++) {
    if (await target.evaluate((element) => element === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${limit} presses of Tab did not reach ${target}`);
}

/** The element that has the focus, as its accessible text (for the failure message). */
async function focused(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
}

test('the walkthrough works with the keyboard alone, lock-icon picker included', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  test.setTimeout(90_000);
  await page.goto('/login');

  // Log in (a plain form: it works before the wasm has loaded).
  await tabTo(page, page.getByLabel('Username'));
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/uniform$/);
  await waitForHydration(page);

  // The skip link is the first stop and leads into the content.
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('main')).toBeFocused();

  // Secrets → Add secret: slack-secret, keptn-webhook-service, webhook-identifier = the identifier.
  const nav = page.getByRole('navigation', { name: 'Main' });
  await page.keyboard.press('Shift+Tab');
  await tabTo(page, nav.getByRole('link', { name: 'Secrets' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Secrets' })).toBeVisible();
  // After the navigation the focus is in the new content, so Tab goes on from there.
  await expect(page.locator('main')).toBeFocused();
  await tabTo(page, page.getByRole('link', { name: 'Add secret' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Create Secret' })).toBeVisible();
  await tabTo(page, page.getByLabel('Name', { exact: true }));
  await page.keyboard.type('slack-secret');
  const scope = page.getByLabel('Scope', { exact: true });
  await tabTo(page, scope);
  await expect(scope).toBeEnabled();
  await page.keyboard.type('keptn-webhook');
  await expect(scope).toHaveValue('keptn-webhook-service');
  const pair = page.getByRole('group', { name: 'Key-value pair 1' });
  await tabTo(page, pair.getByLabel('Key'));
  await page.keyboard.type('webhook-identifier');
  await tabTo(page, pair.getByLabel('Value'));
  await page.keyboard.type(IDENTIFIER);
  await tabTo(page, page.getByRole('button', { name: 'Add secret' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('status')).toHaveText('Secret created successfully!');

  // Integrations → webhook-service → Add subscription.
  await page.keyboard.press('Shift+Tab');
  await tabTo(page, nav.getByRole('link', { name: 'Integrations' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Integrations' })).toBeVisible();
  await tabTo(page, page.getByRole('link', { name: 'webhook-service' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 2, name: 'webhook-service' })).toBeVisible();
  await tabTo(page, page.getByRole('button', { name: 'Add subscription' }));
  await page.keyboard.press('Space');
  await expect(page.getByRole('heading', { level: 1, name: 'Create subscription' })).toBeVisible();

  // Task evaluation, suffix finished, filter Stage:dev and Stage:staging.
  await tabTo(page, page.getByLabel('Task', { exact: true }));
  await page.keyboard.type('evaluation');
  const suffix = page.getByLabel('Task suffix');
  await tabTo(page, suffix);
  await page.keyboard.type('finished');
  await expect(suffix).toHaveValue('finished');
  await tabTo(page, page.getByLabel('Filter by stages and services'));
  await page.keyboard.type('Stage:dev');
  await page.keyboard.press('Enter');
  await page.keyboard.type('Stage:staging');
  await page.keyboard.press('Enter');
  const tags = page.getByRole('list', { name: 'Filters' });
  await expect(tags.getByText('Stage: dev', { exact: true })).toBeVisible();
  await expect(tags.getByText('Stage: staging', { exact: true })).toBeVisible();

  // POST to the Slack URL (here the receiver), the identifier from the lock icon's tree.
  const method = page.getByLabel('Request Method');
  await tabTo(page, method);
  await page.keyboard.type('POST');
  await expect(method).toHaveValue('POST');
  const url = page.getByLabel('URL', { exact: true });
  await tabTo(page, url);
  await page.keyboard.type(`${receiver.url}/services/T00000000/B00000000/`);
  await tabTo(page, page.getByRole('button', { name: 'Add secret' }).first());
  await page.keyboard.press('Enter');
  const picker = page.getByRole('dialog', { name: 'Select secret' });
  await expect(picker).toBeFocused();
  // The tree comes with the secrets' list; until then ("Loading secrets…") there is nothing for
  // the arrow keys to walk, so wait for it as a user would before pressing one.
  const secret = picker.getByRole('button', { name: 'slack-secret' });
  await expect(secret).toBeVisible();
  await page.keyboard.press('ArrowDown');
  await expect(secret, await focused(page)).toBeFocused();
  await expect(secret).toHaveAttribute('aria-expanded', 'false');
  await page.keyboard.press('ArrowRight');
  await expect(secret).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowLeft');
  await expect(secret).toHaveAttribute('aria-expanded', 'false');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  const key = picker.getByRole('button', { name: 'webhook-identifier' });
  await expect(key).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(secret).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(key).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(picker).toHaveCount(0);
  await expect(url).toBeFocused();
  await expect(url).toHaveValue(`${receiver.url}/services/T00000000/B00000000/{{.secret.slack-secret.webhook-identifier}}`);

  // The payload, then Create subscription.
  await tabTo(page, page.getByLabel('Custom payload'));
  await page.keyboard.insertText(WALKTHROUGH_PAYLOAD);
  await tabTo(page, page.getByRole('button', { name: 'Create subscription' }));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('status')).toHaveText('Subscription successfully created!');

  // It delivers.
  await sendEvaluationFinished(request, own, { result: 'pass', score: 95 });
  await expect.poll(() => receiver.requests.length).toBe(1);
  expect(receiver.requests[0].path).toBe(`/services/T00000000/B00000000/${IDENTIFIER}`);
  expect(JSON.parse(receiver.requests[0].body)).toEqual({
    text: 'Evaluation in dev finished with result pass and score 95.',
  });
  expect(browserProblems).toEqual([]);
});
