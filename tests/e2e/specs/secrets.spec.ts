// Secrets as a user meets them: create one, edit its keys, the inline validation, a duplicate
// name, and deleting with a confirmation. The plaintext value never comes back to the browser
// and never reaches the server log.
import { test, expect, login, takeRefusal, waitForHydration } from '../fixtures';

const VALUE = 'secretvalue!@#$%^&*(';
const NAME_PATTERN =
  "Name must consist of lower case alphanumeric characters and '-' and must start and end with an alphanumeric character";
const KEY_PATTERN = "Key must consist of alphanumeric characters, '-', '_' or '.'";
const DUPLICATE =
  'A secret with the name slack-secret already exists. Please use another name for this secret to continue.';

test('a secret is created, edited, refused twice and deleted after confirmation', async ({
  page,
  uniform,
  browserProblems,
}) => {
  await login(page, '/uniform/integrations');
  await waitForHydration(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Secrets' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Secrets' })).toBeVisible();
  await expect(page.getByText('No secrets available.')).toBeVisible();

  // Create.
  await page.getByRole('link', { name: 'Add secret' }).click();
  await expect(page).toHaveURL(/\/uniform\/secrets\/add$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Create Secret' })).toBeVisible();
  const submit = page.getByRole('button', { name: 'Add secret' });
  await expect(submit).toBeDisabled();
  await expect(page.getByLabel('Name', { exact: true })).toHaveAttribute('placeholder', 'e.g. API');
  await page.getByLabel('Name', { exact: true }).fill('slack-secret');
  const scope = page.getByLabel('Scope', { exact: true });
  await expect(scope).toBeEnabled();
  await scope.selectOption('keptn-webhook-service');
  const first = page.getByRole('group', { name: 'Key-value pair 1' });
  await expect(first.getByLabel('Key')).toHaveAttribute('placeholder', 'e.g. Token');
  await first.getByLabel('Key').fill('webhook-identifier');
  const value = first.getByLabel('Value');
  await value.fill(VALUE);
  await expect(value).toHaveAttribute('type', 'password');
  await first.getByRole('button', { name: 'Show value' }).click();
  await expect(value).toHaveAttribute('type', 'text');
  await first.getByRole('button', { name: 'Hide value' }).click();
  await expect(value).toHaveAttribute('type', 'password');
  await expect(first.getByRole('button', { name: 'Remove key-value pair' })).toBeDisabled();
  await expect(submit).toBeEnabled();
  await submit.click();

  await expect(page).toHaveURL(/\/uniform\/secrets$/);
  await expect(page.getByRole('status')).toHaveText('Secret created successfully!');
  const row = page.getByRole('row', { name: /slack-secret/ });
  await expect(row.getByRole('cell').nth(0)).toHaveText('slack-secret');
  await expect(row.getByRole('cell').nth(1)).toHaveText('keptn-webhook-service');
  await expect(row.getByRole('cell').nth(2)).toHaveText('webhook-identifier');
  expect(await page.content()).not.toContain('secretvalue');

  // Edit: keep the first value, add a second key.
  await row.getByRole('button', { name: 'Edit secret' }).click();
  await expect(page).toHaveURL(/\/uniform\/secrets\/edit\/slack-secret$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Edit Secret' })).toBeVisible();
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('slack-secret');
  await expect(page.getByLabel('Scope', { exact: true })).toHaveValue('keptn-webhook-service');
  const kept = page.getByRole('group', { name: 'Key-value pair 1' });
  await expect(kept.getByLabel('Key')).toHaveValue('webhook-identifier');
  await expect(kept.getByLabel('Value')).toHaveValue('');
  await expect(kept.getByLabel('Value')).toHaveAttribute('placeholder', 'Unchanged');
  // Rendered by the server too.
  await page.reload();
  await waitForHydration(page);
  await expect(kept.getByLabel('Key')).toHaveValue('webhook-identifier');
  expect(await page.content()).not.toContain('secretvalue');
  await page.getByRole('button', { name: 'Add key-value pair' }).click();
  const added = page.getByRole('group', { name: 'Key-value pair 2' });
  await added.getByLabel('Key').fill('token');
  await added.getByLabel('Value').fill('t0k3n');
  await page.getByRole('button', { name: 'Update secret' }).click();
  await expect(page).toHaveURL(/\/uniform\/secrets$/);
  await expect(page.getByRole('status')).toHaveText('Secret updated successfully!');
  await expect(row.getByRole('cell').nth(2)).toHaveText('token, webhook-identifier');

  // A name against Keptn's rule.
  await page.getByRole('link', { name: 'Add secret' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Create Secret' })).toBeVisible();
  const name = page.getByLabel('Name', { exact: true });
  await name.fill('Slack_Secret');
  await expect(name).toHaveAccessibleDescription(NAME_PATTERN);
  await expect(name).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByRole('button', { name: 'Add secret' })).toBeDisabled();

  // A name already taken.
  await name.fill('slack-secret');
  await expect(name).toHaveAccessibleDescription('');
  await page.getByLabel('Scope', { exact: true }).selectOption('keptn-default');
  const pair = page.getByRole('group', { name: 'Key-value pair 1' });
  await pair.getByLabel('Key').fill('user');
  await pair.getByLabel('Value').fill('someone');
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(name).toHaveAccessibleDescription(DUPLICATE);
  await expect(page).toHaveURL(/\/uniform\/secrets\/add$/);
  await takeRefusal(browserProblems, '/rpc/secrets/create');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(/\/uniform\/secrets$/);

  // Delete: cancel first, then confirm.
  await row.getByRole('button', { name: 'Delete secret' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete secret confirmation' });
  await expect(dialog).toContainText('Are you sure you want to delete "slack-secret"?');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(row).toBeVisible();
  await expect(row.getByRole('button', { name: 'Delete secret' })).toBeFocused();
  await row.getByRole('button', { name: 'Delete secret' }).click();
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);

  await row.getByRole('button', { name: 'Delete secret' }).click();
  await expect(dialog).toContainText('Are you sure you want to delete "slack-secret"?');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole('row', { name: /slack-secret/ })).toHaveCount(0);
  await expect(page.getByRole('status')).toHaveText('Secret deleted successfully!');
  await expect(page.getByText('No secrets available.')).toBeVisible();

  expect(await page.content()).not.toContain('secretvalue');
  expect(uniform.log()).not.toContain('secretvalue');
  expect(uniform.log()).not.toContain('t0k3n');
  expect(browserProblems).toEqual([]);
});

test('the form checks each field as it is filled in', async ({ page, browserProblems }) => {
  await login(page, '/uniform/secrets/add?scope=keptn-webhook-service');
  await waitForHydration(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Create Secret' })).toBeVisible();
  await expect(page.getByLabel('Scope', { exact: true })).toHaveValue('keptn-webhook-service');

  // Touched and left empty.
  const name = page.getByLabel('Name', { exact: true });
  await name.fill('a');
  await name.fill('');
  await expect(name).toHaveAccessibleDescription('Must not be empty');
  await name.fill('a'.repeat(254));
  await expect(name).toHaveAccessibleDescription('Name must not have more than 253 characters');
  await name.fill('-api');
  await expect(name).toHaveAccessibleDescription(NAME_PATTERN);
  await name.fill('api');
  await expect(name).toHaveAccessibleDescription('');

  const first = page.getByRole('group', { name: 'Key-value pair 1' });
  await first.getByLabel('Key').fill('a b');
  await expect(first.getByLabel('Key')).toHaveAccessibleDescription(KEY_PATTERN);
  await first.getByLabel('Key').fill('k'.repeat(254));
  await expect(first.getByLabel('Key')).toHaveAccessibleDescription(
    'Key must not have more than 253 characters',
  );
  await first.getByLabel('Key').fill('user.name_1-x');
  await expect(first.getByLabel('Key')).toHaveAccessibleDescription('');
  await first.getByLabel('Value').focus();
  await first.getByLabel('Value').blur();
  await expect(first.getByLabel('Value')).toHaveAccessibleDescription('Must not be empty');
  await expect(page.getByRole('button', { name: 'Add secret' })).toBeDisabled();
  await first.getByLabel('Value').fill(VALUE);
  await expect(page.getByRole('button', { name: 'Add secret' })).toBeEnabled();

  // A second row: both can be removed until one is left.
  await page.getByRole('button', { name: 'Add key-value pair' }).click();
  const second = page.getByRole('group', { name: 'Key-value pair 2' });
  await expect(page.getByLabel('Key', { exact: true })).toHaveCount(2);
  await expect(page.getByRole('button', { name: 'Add secret' })).toBeDisabled();
  await second.getByLabel('Key').fill('user.name_1-x');
  await second.getByLabel('Value').fill('other');
  await expect(second.getByLabel('Key')).toHaveAccessibleDescription(
    'Key user.name_1-x is given more than once',
  );
  await expect(first.getByRole('button', { name: 'Remove key-value pair' })).toBeEnabled();
  await second.getByRole('button', { name: 'Remove key-value pair' }).click();
  await expect(page.getByLabel('Key', { exact: true })).toHaveCount(1);
  await expect(first.getByRole('button', { name: 'Remove key-value pair' })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Add secret' })).toBeEnabled();

  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(/\/uniform\/secrets$/);
  await expect(page.getByText('No secrets available.')).toBeVisible();

  // A scope that is none preselects nothing; a secret that does not exist cannot be edited.
  await page.goto('/uniform/secrets/add?scope=no-such-scope');
  await waitForHydration(page);
  await expect(page.getByLabel('Scope', { exact: true })).toHaveValue('');
  await page.goto('/uniform/secrets/edit/no-such-secret');
  await expect(page.getByRole('heading', { level: 1, name: 'Edit Secret' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('no-such-secret');
  // Looking the secret up answers 404, which Chromium reports when the browser asked.
  browserProblems.splice(
    0,
    browserProblems.length,
    ...browserProblems.filter((p) => !p.includes('the server responded with a status of 404')),
  );
  await expect(page.getByRole('button', { name: 'Update secret' })).toHaveCount(0);
  expect(browserProblems).toEqual([]);
});
