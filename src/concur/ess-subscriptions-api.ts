/**
 * Event Subscription Service (ESS) v4 subscription management: request
 * builders, input checks and response parsing. No Node-RED import.
 *
 * Published reference (Event Subscription Management):
 *   https://developer.concur.com/event-topics/index.html
 *   https://developer.concur.com/api-reference/ess/v4.event-subscription.html (scopes, limits)
 *   the swagger, src/api-explorer/v4-0/EventSubscriptionService.swagger.json in
 *   https://github.com/SAP-docs/preview.developer.concur.com (one object for GET {id})
 *
 * What the reference says, and what we do with it:
 * - Auth: an app JWT from the client_credentials grant; the application needs
 *   scope `events.topic.read` (ESS API access) plus the topic's own scope
 *   (e.g. `expense.report.read` for `public.concur.expense.report`). With only
 *   `events.topic.read`, GET /topics answers an empty list.
 * - `GET /events/v4/topics` → `["public.test", …]`.
 * - `PUT /events/v4/subscriptions/webhook` `{ id, filter, topic, webHookConfig: { endpoint } }`
 *   creates or updates (same id = update) → `{ message: "Subscription 'x' saved successfully" }`.
 * - `GET /events/v4/subscriptions` → array of the application's subscriptions.
 * - `GET /events/v4/subscriptions/{id}` → the docs' sample is a one-element
 *   array, the swagger says one object: both are accepted.
 * - `DELETE /events/v4/subscriptions/{id}` → `{ message: "Subscription 'x' marked for deletion" }`.
 * - Read-only fields: `applicationId`, `companyIds` (no events until the company
 *   connected the app), `groups`, `scope`.
 * - `id`: lowercase letters, digits, "." and "-"; globally unique.
 * - No error body shape is documented: errors go through describeErrorBody
 *   (which also reads `{ message }`), so any JSON or text answer is shown.
 * - No test / ping event exists in the reference: nothing here sends one.
 * - Limit: 5 subscriptions per application.
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ConcurApi } from './api-types';
import { pathSegment } from './path-segment';
import type { ApiRequest } from './api-client';

export const ESS_TOPICS_PATH = '/events/v4/topics';
export const ESS_SUBSCRIPTIONS_PATH = '/events/v4/subscriptions';
export const ESS_WEBHOOK_PATH = '/events/v4/subscriptions/webhook';
/** Scopes the reference names: ESS API access, plus the topic's own scope. */
export const ESS_API_SCOPE = 'events.topic.read';
export const ESS_TOPIC_SCOPES: Readonly<Record<string, string>> = Object.freeze({
  'public.concur.expense.report': 'expense.report.read',
});
export const MAX_SUBSCRIPTIONS_PER_APPLICATION = 5;
export const SUBSCRIPTION_ID_RE = /^[a-z0-9.-]{1,255}$/;
export const DEFAULT_TOPIC = 'public.concur.expense.report';

export interface EssSubscription {
  id: string;
  topic: string;
  filter: string;
  webHookConfig: { endpoint: string };
  applicationId?: string;
  companyIds?: string[];
  groups?: string[];
  scope?: string;
}

/** What a PUT sends (the swagger's PublicWebhookSubscriptionApiAdapter). */
export interface EssSubscriptionInput {
  id: string;
  topic: string;
  filter: string;
  webHookConfig: { endpoint: string };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v.trim() : undefined;
}

/** Checks an id for a URL path or a PUT body. */
export function checkSubscriptionId(v: unknown, what = 'subscription id'): string {
  const id = typeof v === 'number' ? String(v) : str(v);
  if (!id) throw invalidInput(`${what} is required`);
  if (!SUBSCRIPTION_ID_RE.test(id)) throw invalidInput(`${what} "${id.slice(0, 80)}" is not valid: use lowercase letters, digits, "." and "-" only`);
  return id;
}

/** Checks an endpoint URL: absolute http(s), no credentials in it. */
export function checkEndpoint(v: unknown, what = 'webHookConfig.endpoint'): string {
  const s = str(v);
  if (!s) throw invalidInput(`${what} is required (the public URL of the ESS receiver)`);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw invalidInput(`${what} "${s.slice(0, 120)}" is not an absolute URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalidInput(`${what} must be an https URL`);
  if (u.username || u.password) throw invalidInput(`${what} must not contain a user name or password`);
  return s;
}

/**
 * Builds the PUT body from loose input (msg.payload, editor fields). Accepts
 * `webHookConfig.endpoint` or a flat `endpoint`; `filter` defaults to `.*`
 * (the reference: "Set to .* to receive ALL events").
 */
export function subscriptionInput(raw: unknown, defaults: Partial<{ id: string; topic: string; filter: string; endpoint: string }> = {}): EssSubscriptionInput {
  const o = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const hook = o.webHookConfig && typeof o.webHookConfig === 'object' ? (o.webHookConfig as Record<string, unknown>) : {};
  const id = checkSubscriptionId(o.id ?? defaults.id);
  const topic = str(o.topic) || defaults.topic || '';
  if (!topic) throw invalidInput('topic is required (e.g. public.concur.expense.report)');
  if (/\s/.test(topic)) throw invalidInput(`topic "${topic.slice(0, 80)}" must not contain spaces`);
  const f = o.filter === undefined || o.filter === null || o.filter === '' ? (defaults.filter ?? '.*') : o.filter;
  if (typeof f !== 'string') throw invalidInput('filter must be a regular expression string (".*" for every event type)');
  const filter = f.trim() || '.*';
  try {
    new RegExp(filter);
  } catch (e) {
    throw invalidInput(`filter is not a valid regular expression: ${(e as Error).message}`);
  }
  const endpoint = checkEndpoint(hook.endpoint ?? o.endpoint ?? defaults.endpoint);
  return { id, filter, topic, webHookConfig: { endpoint } };
}

// ---- request builders (https://developer.concur.com/event-topics/index.html) ----

/** `GET /events/v4/topics` (#get-topics). */
export function topicsRequest(correlationId?: string): ApiRequest {
  return { method: 'GET', url: ESS_TOPICS_PATH, accept: 'application/json', correlationId };
}

/** `GET /events/v4/subscriptions` (#get-subscription-list). */
export function listRequest(correlationId?: string): ApiRequest {
  return { method: 'GET', url: ESS_SUBSCRIPTIONS_PATH, accept: 'application/json', correlationId };
}

/** `GET /events/v4/subscriptions/{id}` (#get-subscription). */
export function getRequest(id: string, correlationId?: string): ApiRequest {
  return {
    method: 'GET',
    url: `${ESS_SUBSCRIPTIONS_PATH}/${pathSegment(checkSubscriptionId(id), 'subscription id')}`,
    accept: 'application/json',
    correlationId,
  };
}

/** `PUT /events/v4/subscriptions/webhook` (#put-subscription): create, or update the same id. */
export function putRequest(sub: EssSubscriptionInput, correlationId?: string): ApiRequest {
  const body = subscriptionInput(sub);
  return { method: 'PUT', url: ESS_WEBHOOK_PATH, json: body, accept: 'application/json, */*;q=0.5', correlationId };
}

/** `DELETE /events/v4/subscriptions/{id}` (#delete-subscription). */
export function deleteRequest(id: string, correlationId?: string): ApiRequest {
  return {
    method: 'DELETE',
    url: `${ESS_SUBSCRIPTIONS_PATH}/${pathSegment(checkSubscriptionId(id), 'subscription id')}`,
    accept: 'application/json',
    correlationId,
  };
}

// ---- response parsing ----

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

/** One subscription object, or undefined when it is not one. Unknown fields are dropped. */
export function parseSubscription(v: unknown): EssSubscription | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const hook = o.webHookConfig && typeof o.webHookConfig === 'object' ? (o.webHookConfig as Record<string, unknown>) : undefined;
  if (typeof o.id !== 'string' || !o.id) return undefined;
  const sub: EssSubscription = {
    id: o.id,
    topic: typeof o.topic === 'string' ? o.topic : '',
    filter: typeof o.filter === 'string' ? o.filter : '',
    webHookConfig: { endpoint: typeof hook?.endpoint === 'string' ? hook.endpoint : '' },
  };
  if (typeof o.applicationId === 'string') sub.applicationId = o.applicationId;
  const companyIds = strings(o.companyIds);
  if (companyIds) sub.companyIds = companyIds;
  const groups = strings(o.groups);
  if (groups) sub.groups = groups;
  if (typeof o.scope === 'string') sub.scope = o.scope;
  return sub;
}

function badResponse(what: string): ConcurError {
  return new ConcurError({ status: 200, code: 'BAD_RESPONSE', message: `the subscription API answered ${what}` });
}

/** GET /subscriptions: an array (a `{ items }` / `{ subscriptions }` wrapper is tolerated). */
export function parseSubscriptionList(data: unknown): EssSubscription[] {
  let items: unknown = data;
  if (data === undefined || data === '') return [];
  if (items && typeof items === 'object' && !Array.isArray(items)) {
    const o = items as Record<string, unknown>;
    items = o.items ?? o.subscriptions ?? o.Items;
  }
  if (!Array.isArray(items)) throw badResponse('something that is not a list of subscriptions');
  return items.map(parseSubscription).filter((s): s is EssSubscription => Boolean(s));
}

/** GET /subscriptions/{id}: one object (swagger) or a one-element array (the docs' sample). */
export function parseOneSubscription(data: unknown, id: string): EssSubscription | undefined {
  const v = Array.isArray(data) ? (data.find((x) => x && typeof x === 'object' && (x as { id?: unknown }).id === id) ?? data[0]) : data;
  if (v === undefined) return undefined;
  const sub = parseSubscription(v);
  if (!sub) throw badResponse('something that is not a subscription');
  return sub;
}

export function parseTopics(data: unknown): string[] {
  if (data === undefined || data === '') return [];
  if (!Array.isArray(data)) throw badResponse('something that is not a list of topics');
  return data
    .map((t) =>
      typeof t === 'string' ? t : t && typeof t === 'object' && typeof (t as { name?: unknown }).name === 'string' ? (t as { name: string }).name : undefined,
    )
    .filter((t): t is string => Boolean(t));
}

/** The `{ message }` of a save / delete answer (or the text). */
export function messageOf(data: unknown): string | undefined {
  if (typeof data === 'string') return data.trim() || undefined;
  if (data && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string') return (data as { message: string }).message;
  return undefined;
}

// ---- endpoint matching ----

/**
 * Normalizes a webhook URL for comparison: scheme and host lowercased, default
 * port dropped, trailing slashes removed, query kept. Express (and so the
 * receiver's route) matches paths case-insensitively, so the path is lowercased too.
 */
export function normalizeEndpoint(u: string): string {
  try {
    const p = new URL(u.trim());
    const path = p.pathname.replace(/\/+$/, '').toLowerCase() || '';
    return `${p.protocol}//${p.host.toLowerCase()}${path}${p.search}`;
  } catch {
    return u.trim().replace(/\/+$/, '').toLowerCase();
  }
}

export function sameEndpoint(a: string, b: string): boolean {
  return Boolean(a && b) && normalizeEndpoint(a) === normalizeEndpoint(b);
}

/** The subscriptions whose webhook points at `endpoint`. */
export function subscriptionsFor(list: EssSubscription[], endpoint: string): EssSubscription[] {
  return list.filter((s) => sameEndpoint(s.webHookConfig.endpoint, endpoint));
}

/** What the editor shows as the subscription's state. */
export type SubscriptionState = 'active' | 'waiting-for-company';
export function subscriptionState(s: EssSubscription): SubscriptionState {
  // "companyIds: list of Company UUIDs who have connected to a partner application allowing events to be delivered."
  if (!s.companyIds || s.companyIds.length === 0) return 'waiting-for-company';
  return 'active';
}

/** True when a saved subscription already has these settings (nothing to PUT). */
export function sameSettings(s: EssSubscription, want: EssSubscriptionInput): boolean {
  return s.id === want.id && s.topic === want.topic && (s.filter || '.*') === want.filter && s.webHookConfig.endpoint === want.webHookConfig.endpoint;
}

// ---- calls through a ConcurApi (concur-config) ----

export async function listTopics(api: ConcurApi, correlationId?: string): Promise<string[]> {
  const r = await api.request(topicsRequest(correlationId));
  return parseTopics(r.data);
}

export async function listSubscriptions(api: ConcurApi, correlationId?: string): Promise<EssSubscription[]> {
  const r = await api.request(listRequest(correlationId));
  return parseSubscriptionList(r.data);
}

/** One subscription; a 404 (or an empty answer) is `undefined`. */
export async function getSubscription(api: ConcurApi, id: string, correlationId?: string): Promise<EssSubscription | undefined> {
  try {
    const r = await api.request(getRequest(id, correlationId));
    return parseOneSubscription(r.data, id);
  } catch (err) {
    if (err instanceof ConcurError && err.status === 404) return undefined;
    throw err;
  }
}

export async function putSubscription(
  api: ConcurApi,
  sub: EssSubscriptionInput,
  correlationId?: string,
): Promise<{ status: number; message?: string; subscription: EssSubscriptionInput }> {
  const req = putRequest(sub, correlationId);
  const r = await api.request(req);
  return { status: r.status, message: messageOf(r.data), subscription: req.json as EssSubscriptionInput };
}

/** Deletes one; `missingOk` turns a 404 into `{ deleted: false }`. */
export async function deleteSubscription(
  api: ConcurApi,
  id: string,
  opts: { correlationId?: string; missingOk?: boolean } = {},
): Promise<{ status: number; deleted: boolean; message?: string }> {
  try {
    const r = await api.request(deleteRequest(id, opts.correlationId));
    return { status: r.status, deleted: true, message: messageOf(r.data) };
  } catch (err) {
    if (opts.missingOk && err instanceof ConcurError && err.status === 404) return { status: 404, deleted: false };
    throw err;
  }
}

/**
 * Creates or updates the subscription `want` (register on deploy): PUT only when
 * nothing with this id exists or its settings differ.
 */
export async function ensureSubscription(
  api: ConcurApi,
  want: EssSubscriptionInput,
): Promise<{ action: 'created' | 'updated' | 'unchanged'; subscription: EssSubscription | EssSubscriptionInput }> {
  const body = subscriptionInput(want);
  const list = await listSubscriptions(api);
  const existing = list.find((s) => s.id === body.id);
  if (existing && sameSettings(existing, body)) return { action: 'unchanged', subscription: existing };
  await putSubscription(api, body);
  return { action: existing ? 'updated' : 'created', subscription: body };
}
