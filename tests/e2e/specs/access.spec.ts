// Access control as a user meets it: the login page, wrong and right passwords, logging out,
// and the API tokens page.
import { test, expect, ADMIN_PASSWORD, login, waitForHydration } from '../fixtures';

test('a logged-out visit lands on the login page and returns after login', async ({
  page,
  browserProblems,
}) => {
  await page.goto('/uniform/secrets');
  await expect(page).toHaveURL(/\/login\?next=\/uniform\/secrets$/);
  await expect(page.getByRole('heading', { name: 'Log in to Uniform' })).toBeVisible();

  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Invalid username or password.');
  await expect(page).toHaveURL(/\/login\?error=invalid&next=\/uniform\/secrets&username=admin$/);
  // The username is kept; the password is not.
  await expect(page.getByLabel('Username')).toHaveValue('admin');
  await expect(page.getByLabel('Password')).toHaveValue('');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/uniform\/secrets$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Secrets' })).toBeVisible();
  expect(browserProblems).toEqual([]);
});

test('"Log out" returns to login and the back button shows nothing protected', async ({ page }) => {
  await login(page, '/uniform/secrets');
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { name: 'Log in to Uniform' })).toBeVisible();

  await page.goBack();
  await expect(page).toHaveURL(/\/login\?next=\/uniform\/secrets$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Secrets' })).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Log in to Uniform' })).toBeVisible();
});

test('API tokens: create one (shown once), use it, revoke it', async ({ page, request, browserProblems }) => {
  await login(page, '/uniform/tokens');
  await expect(page.getByRole('heading', { level: 1, name: 'API tokens' })).toBeVisible();
  await waitForHydration(page);

  await page.getByLabel('Token name').fill('e2e-pipeline');
  await page.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByLabel('New API token');
  await expect(shown).toHaveValue(/^uni_[A-Za-z0-9_-]{43}$/);
  const token = await shown.inputValue();
  await expect(page.getByText('Copy this token now: it will not be shown again.')).toBeVisible();
  const row = page.getByRole('row', { name: /e2e-pipeline/ });
  await expect(row).toBeVisible();
  await expect(row.getByRole('cell').nth(2)).toHaveText('never');

  // The token works against the REST API.
  const listed = await request.get('/api/v1/tokens', { headers: { 'x-token': token } });
  expect(listed.status()).toBe(200);

  await page.reload();
  await expect(page.getByLabel('New API token')).toHaveCount(0);
  await waitForHydration(page);
  const usedRow = page.getByRole('row', { name: /e2e-pipeline/ });
  await expect(usedRow.getByRole('cell').nth(2)).not.toHaveText('never');
  await expect(usedRow.getByRole('cell').nth(2)).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  // Revoking asks first; "Cancel" keeps the token.
  await usedRow.getByRole('button', { name: 'Revoke the token e2e-pipeline' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke API token confirmation' });
  await expect(dialog).toContainText('Revoke the API token e2e-pipeline?');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(usedRow).toBeVisible();
  await usedRow.getByRole('button', { name: 'Revoke the token e2e-pipeline' }).click();
  await dialog.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'API token e2e-pipeline revoked.' })).toBeVisible();
  await expect(page.getByRole('row', { name: /e2e-pipeline/ })).toHaveCount(0);

  const afterRevoke = await request.get('/api/v1/tokens', { headers: { 'x-token': token } });
  expect(afterRevoke.status()).toBe(401);
  expect(browserProblems).toEqual([]);
});
