/**
 * ESS subscription management: GET /events/v4/topics, PUT
 * /events/v4/subscriptions/webhook (create or update by id), GET list, GET one
 * (object or one-element array, configurable) and DELETE. The swagger's paths
 * without the /events prefix are accepted too.
 *
 * As documented at https://developer.concur.com/event-topics/index.html and
 * https://developer.concur.com/api-reference/ess/v4.event-subscription.html:
 * the token needs scope `events.topic.read` (403 otherwise) and the topic's own
 * scope (expense.report.read for public.concur.expense.report: without it the
 * topic is not listed and cannot be subscribed to); `scope` and `groups` are
 * read-only ("reserved", the sample shows "" and []). Error bodies are
 * `{ message }` (no shape is documented). There is no test / ping endpoint.
 */
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import type { Subscription } from './model';
import { jsonBody, requireKind, type RequestContext, type Route } from './routes';

export const MAX_SUBSCRIPTIONS_PER_APP = 5;
const ID_RE = /^[a-z0-9.-]{1,100}$/;

/** Topic scopes the reference names (a topic not listed here needs only events.topic.read). */
const TOPIC_SCOPES: Record<string, string[]> = {
  'public.concur.expense.report': ['expense.report.read', 'expense.report.readwrite'],
};

function scopesOf(ctx: RequestContext): string[] | undefined {
  const s = ctx.token?.scope;
  return typeof s === 'string' ? s.split(/\s+/).filter(Boolean) : undefined;
}

/** "The Application needs to contain the scope events.topic.read in order to access the ESS API." */
function requireEssScope(ctx: RequestContext): void {
  const scopes = scopesOf(ctx);
  if (scopes && !scopes.includes('events.topic.read'))
    throw new ApiError(403, 'the token lacks scope events.topic.read (needed for the Event Subscription Service API)');
}

function topicAllowed(ctx: RequestContext, topic: string): boolean {
  if (!ctx.sim.state.topics.includes(topic)) return false;
  const need = TOPIC_SCOPES[topic];
  const scopes = scopesOf(ctx);
  return !need || !scopes || need.some((n) => scopes.includes(n));
}

function topics(ctx: RequestContext): Reply {
  requireEssScope(ctx);
  return { status: 200, body: ctx.sim.state.topics.filter((t) => topicAllowed(ctx, t)) };
}

function appOf(ctx: RequestContext): string {
  return ctx.token?.clientId ?? 'unknown';
}

function put(ctx: RequestContext): Reply {
  requireKind(ctx, ['app'], 'the subscription API');
  requireEssScope(ctx);
  const b = jsonBody(ctx);
  const id = b.id;
  if (typeof id !== 'string' || !ID_RE.test(id)) throw new ApiError(400, 'id is required: lowercase letters, digits, "." and "-" only');
  const topic = b.topic;
  if (typeof topic !== 'string' || !topic) throw new ApiError(400, 'topic is required');
  if (!topicAllowed(ctx, topic)) throw new ApiError(403, `the application has no access to topic ${topic}`);
  const filter = b.filter ?? '.*';
  if (typeof filter !== 'string') throw new ApiError(400, 'filter must be a regular expression string');
  try {
    new RegExp(filter);
  } catch (e) {
    throw new ApiError(400, `filter is not a valid regular expression: ${(e as Error).message}`);
  }
  const hook = b.webHookConfig as { endpoint?: unknown } | undefined;
  const endpoint = hook && typeof hook === 'object' ? hook.endpoint : undefined;
  if (typeof endpoint !== 'string') throw new ApiError(400, 'webHookConfig.endpoint is required');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ApiError(400, `webHookConfig.endpoint is not a valid URL: ${endpoint}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ApiError(400, 'webHookConfig.endpoint must be an http(s) URL');
  const app = appOf(ctx);
  const subs = ctx.sim.state.subscriptions;
  const existing = subs.get(id);
  if (existing && existing.applicationId !== app) throw new ApiError(409, `subscription id ${id} is already used by another application`);
  if (!existing && [...subs.values()].filter((s) => s.applicationId === app).length >= MAX_SUBSCRIPTIONS_PER_APP) {
    throw new ApiError(400, `an application can have at most ${MAX_SUBSCRIPTIONS_PER_APP} subscriptions`);
  }
  const sub: Subscription = {
    id,
    filter,
    topic,
    webHookConfig: { endpoint },
    applicationId: app,
    // The simulated company has connected the app, so its UUID is filled in (no events flow without it).
    companyIds: existing?.companyIds ?? [ctx.sim.state.companyId],
    groups: existing?.groups ?? [],
    scope: existing?.scope ?? '',
  };
  subs.set(id, sub);
  return { status: 200, body: { message: `Subscription '${id}' saved successfully` } };
}

function listMine(ctx: RequestContext): Reply {
  requireKind(ctx, ['app'], 'the subscription API');
  requireEssScope(ctx);
  const app = appOf(ctx);
  return { status: 200, body: [...ctx.sim.state.subscriptions.values()].filter((s) => s.applicationId === app) };
}

function findMine(ctx: RequestContext): Subscription {
  requireKind(ctx, ['app'], 'the subscription API');
  requireEssScope(ctx);
  const id = safeDecode(ctx.params[0]);
  const sub = ctx.sim.state.subscriptions.get(id);
  if (!sub || sub.applicationId !== appOf(ctx)) throw new ApiError(404, `subscription ${id} was not found`);
  return sub;
}

export function essSubscriptionRoutes(): Route[] {
  const P = '^(?:/events)?/v4';
  return [
    { method: 'GET', pattern: new RegExp(`${P}/topics/?$`), family: 'ess', auth: true, handler: topics },
    { method: 'PUT', pattern: new RegExp(`${P}/subscriptions/webhook/?$`), family: 'ess', auth: true, handler: put },
    { method: 'GET', pattern: new RegExp(`${P}/subscriptions(?:/webhook)?/?$`), family: 'ess', auth: true, handler: listMine },
    {
      method: 'GET',
      pattern: new RegExp(`${P}/subscriptions/([^/]+)$`),
      family: 'ess',
      auth: true,
      handler: (ctx) => {
        const sub = findMine(ctx);
        return { status: 200, body: ctx.sim.subscriptionGetShape === 'array' ? [sub] : sub };
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`${P}/subscriptions/([^/]+)$`),
      family: 'ess',
      auth: true,
      handler: (ctx) => {
        const sub = findMine(ctx);
        ctx.sim.state.subscriptions.delete(sub.id);
        return { status: 200, body: { message: `Subscription '${sub.id}' marked for deletion` } };
      },
    },
  ];
}
