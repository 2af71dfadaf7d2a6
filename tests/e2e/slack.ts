// Slack, stood in for: a real HTTP receiver on 127.0.0.1 port 0 that records every request and
// answers what the test tells it to, a `test` with a server of its own per test that allows
// webhooks to 127.0.0.1 plus such a receiver, and the Slack walkthrough
// (../shared/reference/slack-integration.md) seeded through the REST API — the secret
// `slack-secret` with its `webhook-identifier`, and webhook-service's subscription to
// sh.keptn.event.evaluation.finished that posts to the receiver.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIRequestContext } from '@playwright/test';
import { apiHeaders, expect, withOwnServer, type Uniform } from './fixtures';

/** One request the receiver got. */
export type Received = { method: string; path: string; body: string };

/** A stand-in for Slack. */
export type Receiver = {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Everything received so far, oldest first. */
  requests: Received[];
  /** From now on, answers `status` with `body` (text/plain). */
  answerWith: (status: number, body: string) => void;
  close: () => Promise<void>;
};

/** Starts a receiver on 127.0.0.1 port 0 that answers `status` with `body` until told otherwise. */
export async function startReceiver(status = 200, body = 'ok'): Promise<Receiver> {
  const requests: Received[] = [];
  const answer = { status, body };
  const server = createServer((request: IncomingMessage, response) => {
    let received = '';
    request.on('data', (chunk) => (received += chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', path: request.url ?? '', body: received });
      response.writeHead(answer.status, { 'content-type': 'text/plain' });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answerWith: (status, body) => Object.assign(answer, { status, body }),
    close: async () => {
      // Uniform's client keeps its connection open: close it, or close() waits for it.
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * `test` with a server of its own per test (`own`) that may send webhooks to 127.0.0.1, and a
 * `receiver` that answers `receiverAnswer` (200 "ok" unless a spec's `test.use` says otherwise).
 */
export const test = withOwnServer({ UNIFORM_WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32' }).extend<{
  receiverAnswer: { status: number; body: string };
  receiver: Receiver;
}>({
  receiverAnswer: [{ status: 200, body: 'ok' }, { option: true }],
  receiver: async ({ receiverAnswer }, use) => {
    const receiver = await startReceiver(receiverAnswer.status, receiverAnswer.body);
    await use(receiver);
    await receiver.close();
  },
});

/** Where the walkthrough's webhook puts the secret. */
export const SECRET_REF = '{{.secret.slack-secret.webhook-identifier}}';
/** The payload of the walkthrough, verbatim. */
export const WALKTHROUGH_PAYLOAD = `{
  "text": "Evaluation in {{.data.stage}} finished with result {{.data.evaluation.result}} and score {{.data.evaluation.score}}."
}`;

/** Creates the walkthrough's secret `slack-secret` (scope keptn-webhook-service) through the REST API. */
export async function createSlackSecret(
  request: APIRequestContext,
  uniform: Uniform,
  identifier: string,
): Promise<void> {
  const created = await request.post('/api/secrets/v1/secret', {
    headers: apiHeaders(uniform),
    data: { name: 'slack-secret', scope: 'keptn-webhook-service', data: { 'webhook-identifier': identifier } },
  });
  expect(created.status()).toBe(201);
}

export type WalkthroughOptions = {
  /** The secret's `webhook-identifier`. */
  identifier: string;
  /** The webhook's payload template. */
  payload: string;
  /** The subscription's stage filter; `['dev']` unless given. */
  stages?: string[];
  /** The URL path before the secret; `/services/T00000000/B00000000/` unless given. */
  path?: string;
};

/**
 * The walkthrough's secret and webhook-service's subscription to evaluation.finished, posting
 * to `<receiverUrl><path><secret>`, through the REST API.
 */
export async function seedWalkthrough(
  request: APIRequestContext,
  uniform: Uniform,
  receiverUrl: string,
  { identifier, payload, stages = ['dev'], path = '/services/T00000000/B00000000/' }: WalkthroughOptions,
): Promise<{ headers: Record<string, string>; integrationId: string; subscriptionId: string }> {
  const headers = apiHeaders(uniform);
  await createSlackSecret(request, uniform, identifier);
  const integrations = await (
    await request.get('/api/controlPlane/v1/uniform/registration?name=webhook-service', { headers })
  ).json();
  const integrationId: string = integrations[0].id;
  const created = await request.post(`/api/controlPlane/v1/uniform/registration/${integrationId}/subscription`, {
    headers,
    data: {
      event: 'sh.keptn.event.evaluation.finished',
      filter: { stages },
      webhook: { method: 'POST', url: `${receiverUrl}${path}${SECRET_REF}`, payload },
    },
  });
  expect(created.status()).toBe(201);
  return { headers, integrationId, subscriptionId: (await created.json()).id };
}

/** Sends an evaluation.finished event for sockshop/dev/carts with `evaluation` as its result. */
export async function sendEvaluationFinished(
  request: APIRequestContext,
  uniform: Uniform,
  evaluation: { result: string; score?: number },
): Promise<void> {
  const accepted = await request.post('/api/v1/event', {
    headers: apiHeaders(uniform),
    data: {
      type: 'sh.keptn.event.evaluation.finished',
      specversion: '1.0',
      source: 'lighthouse-service',
      data: { project: 'sockshop', stage: 'dev', service: 'carts', evaluation },
    },
  });
  expect(accepted.status()).toBe(200);
}
