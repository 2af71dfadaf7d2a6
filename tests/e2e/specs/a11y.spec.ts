// Every page, seeded with the Slack walkthrough and one delivered event, passes axe-core with no
// serious or critical violation (open popups and dialogs included), and holds at 800 and 390 px
// wide without scrolling sideways. A real receiver on 127.0.0.1 stands in for Slack.
import AxeBuilder from '@axe-core/playwright';
import type { APIRequestContext, Page } from '@playwright/test';
import { expect, login, takeRefusal, waitForHydration, type Uniform } from '../fixtures';
import { seedWalkthrough, sendEvaluationFinished, test, WALKTHROUGH_PAYLOAD } from '../slack';

/** The pages of a seeded server, by a name for the report. */
async function seededPages(request: APIRequestContext, uniform: Uniform, receiverUrl: string) {
  const { headers, integrationId, subscriptionId } = await seedWalkthrough(request, uniform, receiverUrl, {
    identifier: 'id-a11y',
    payload: WALKTHROUGH_PAYLOAD,
  });
  await sendEvaluationFinished(request, uniform, { result: 'pass', score: 95 });
  let deliveries: { id: string; eventId: string; status: string }[] = [];
  await expect
    .poll(async () => {
      deliveries = (await (await request.get('/api/v1/deliveries', { headers })).json()).deliveries;
      return deliveries.map((delivery) => delivery.status);
    })
    .toEqual(['delivered']);
  const [delivery] = deliveries;
  return {
    overview: '/uniform',
    integrations: '/uniform/integrations',
    integration: `/uniform/integrations/${integrationId}`,
    'new subscription': `/uniform/integrations/${integrationId}/subscriptions/add`,
    'edit subscription': `/uniform/integrations/${integrationId}/subscriptions/${subscriptionId}/edit`,
    events: '/uniform/events',
    event: `/uniform/events/${delivery.eventId}`,
    secrets: '/uniform/secrets',
    'new secret': '/uniform/secrets/add',
    'edit secret': '/uniform/secrets/edit/slack-secret',
    deliveries: '/uniform/deliveries',
    delivery: `/uniform/deliveries/${delivery.id}`,
    tokens: '/uniform/tokens',
    'not found': '/uniform/no-such-page',
  };
}

/** axe's serious and critical findings on the page as it is now, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .flatMap((violation) =>
      violation.nodes.map((node) => `${violation.id} (${violation.impact}): ${violation.help} at ${node.target.join(' ')}`),
    );
}

/**
 * Opens the login page, logs in, then opens every page of `pages`, running `look` on each once
 * it has hydrated (the login page: once loaded).
 */
async function visitEveryPage(
  page: Page,
  pages: Record<string, string>,
  browserProblems: string[],
  look: (name: string) => Promise<void>,
): Promise<void> {
  await page.goto('/login');
  await look('login');
  await login(page, '/uniform');
  for (const [name, path] of Object.entries(pages)) {
    await page.goto(path);
    await waitForHydration(page);
    await look(name);
    // The browser logs the page's 404 answer as an error.
    if (name === 'not found') await takeRefusal(browserProblems, path);
  }
}

test('every page passes axe with no serious or critical violation', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  test.setTimeout(120_000);
  const pages = await seededPages(request, own, receiver.url);
  const found: Record<string, string[]> = {};
  const check = async (name: string) => {
    const violations = await seriousViolations(page);
    if (violations.length > 0) found[name] = violations;
  };

  await visitEveryPage(page, pages, browserProblems, check);

  // What opens over a page: the lock-icon picker, the preview, the delete dialog.
  await page.goto(pages['edit subscription']);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Add secret' }).first().click();
  await expect(page.getByRole('dialog', { name: 'Select secret' })).toBeVisible();
  await check('secret picker');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await expect(page.locator('#preview-heading')).toBeFocused();
  await expect(page.locator('.preview-output')).toHaveAttribute('aria-busy', 'false');
  await check('preview');
  await page.goto(pages.secrets);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Delete secret' }).first().click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await check('delete dialog');

  expect(found).toEqual({});
  expect(browserProblems).toEqual([]);
});

for (const width of [800, 390]) {
  test(`every page holds at ${width} px wide without scrolling sideways`, async ({
    page,
    request,
    own,
    receiver,
    browserProblems,
  }) => {
    test.setTimeout(120_000);
    const pages = await seededPages(request, own, receiver.url);
    await page.setViewportSize({ width, height: 900 });
    const overflowing: Record<string, number> = {};
    const measure = async (name: string) => {
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      if (scrollWidth > width) overflowing[name] = scrollWidth;
    };
    await visitEveryPage(page, pages, browserProblems, measure);
    expect(overflowing).toEqual({});

    // The delivery log's actions stay on screen.
    await page.goto(pages.deliveries);
    await waitForHydration(page);
    const details = page.getByRole('link', { name: 'Details' }).first();
    await expect(details).toBeInViewport();
    const box = await details.boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(width);
    expect(browserProblems).toEqual([]);
  });
}
