// Events in, Slack message out — and when Slack says no: a real HTTP receiver on 127.0.0.1
// (allow-listed) stands in for Slack, answers 400 invalid_payload, and the failure shows as
// an error event of webhook-service with an unread badge on "Integrations" that clears once
// the tile has been viewed.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test as base, expect, login, startUniform, waitForHydration, type Uniform } from '../fixtures';

type Receiver = { url: string; bodies: string[]; server: Server };

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
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        bodies.push(body);
        response.writeHead(400, { 'content-type': 'text/plain' });
        response.end('invalid_payload');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await use({ url: `http://127.0.0.1:${port}`, bodies, server });
    await new Promise((resolve) => server.close(resolve));
  },
});

test('a delivery Slack refuses shows as an error event with an unread badge', async ({
  page,
  request,
  own,
  receiver,
  browserProblems,
}) => {
  const headers = { 'x-token': readFileSync(path.join(own.dataDir, 'api-token'), 'utf8').trim() };
  expect(
    (
      await request.post('/api/secrets/v1/secret', {
        headers,
        data: { name: 'slack-secret', scope: 'keptn-webhook-service', data: { 'webhook-identifier': 'XYZ' } },
      })
    ).status(),
  ).toBe(201);
  const integrations = await (
    await request.get('/api/controlPlane/v1/uniform/registration?name=webhook-service', { headers })
  ).json();
  const id = integrations[0].id;
  const created = await request.post(`/api/controlPlane/v1/uniform/registration/${id}/subscription`, {
    headers,
    data: {
      event: 'sh.keptn.event.evaluation.finished',
      filter: { stages: ['dev'] },
      webhook: {
        method: 'POST',
        url: `${receiver.url}/services/T00000000/B00000000/{{.secret.slack-secret.webhook-identifier}}`,
        payload: '{"text": "Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}}."}',
      },
    },
  });
  expect(created.status()).toBe(201);
  const accepted = await request.post('/api/v1/event', {
    headers,
    data: {
      type: 'sh.keptn.event.evaluation.finished',
      specversion: '1.0',
      source: 'lighthouse-service',
      data: { project: 'sockshop', stage: 'dev', service: 'carts', evaluation: { result: 'fail' } },
    },
  });
  expect(accepted.status()).toBe(200);
  await expect.poll(() => receiver.bodies.length).toBe(1);
  expect(receiver.bodies[0]).toBe('{"text": "Evaluation in dev finished with result fail."}');
  await expect
    .poll(async () => (await (await request.get('/api/controlPlane/v1/log', { headers })).json()).totalCount)
    .toBe(1);

  await login(page, '/uniform/secrets');
  await waitForHydration(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByText('1 unread error event')).toBeAttached();

  await nav.getByRole('link', { name: 'Integrations' }).click();
  await page.getByRole('row', { name: /webhook-service/ }).click();
  const tile = page.getByRole('region', { name: 'Error events' });
  const row = tile.getByRole('row', { name: /evaluation/ });
  await expect(row).toContainText('HTTP 400: invalid_payload');
  await expect(nav.getByText('1 unread error event')).toHaveCount(0);
  expect(browserProblems).toEqual([]);
});
