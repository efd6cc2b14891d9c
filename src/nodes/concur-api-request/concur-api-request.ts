/**
 * concur-api-request: any Concur REST call through a concur-config connection
 * (token, geolocation, retries, host guard and correlation id as in the other
 * API nodes), with optional paging. Thin adapter over concur/api-request.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs, priorConcur } from '../shared/concur-action';
import { numberOption } from '../shared/options';
import { evaluateInputs, typedInput } from '../shared/typed-input';
import { buildGenericRequest, normalizeMethod, pageItems, runGenericRequest, type Page } from '../../concur/api-request';
import type { HttpMethod } from '../../concur/api-client';

interface Def extends NodeDef {
  server?: string;
  method?: string;
  accept?: string;
  bodyFormat?: string;
  paging?: string;
  maxPages?: number | string;
  output?: string;
}

function safeHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !/^(set-cookie|authorization)$/i.test(k)) out[k] = v;
  return out;
}

export = function (RED: RED) {
  function ConcurApiRequest(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const methodFromMsg = def.method === 'msg';
    const method: HttpMethod = methodFromMsg ? 'GET' : safeMethod(def.method);
    const paging = def.paging === 'each' || def.paging === 'merge' ? def.paging : 'none';
    const maxPages = numberOption('concur-api-request', 'maxPages', def.maxPages);
    const output = def.output === 'text' || def.output === 'buffer' ? def.output : 'parsed';
    const bodyFormat = def.bodyFormat === 'json' || def.bodyFormat === 'xml' ? def.bodyFormat : 'auto';
    const inputs = {
      path: typedInput(def, { name: 'path', defaultValue: 'path', label: 'path' }),
      query: typedInput(def, { name: 'query', defaultValue: 'query', label: 'query' }),
      body: typedInput(def, { name: 'body', defaultValue: 'payload', label: 'body' }),
      // Extra request headers (Authorization, Host and framing headers are refused); none by default.
      headers: typedInput(def, { name: 'headers', defaultValue: '', defaultType: 'json', label: 'headers' }),
    };

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const v = await evaluateInputs(RED, node, msg, inputs);
        const m = methodFromMsg ? normalizeMethod(msg.method) : method;
        // The dialog's path may be empty: then msg.path (or msg.url, as for the core http request node) is used.
        const path = v.path === undefined || v.path === '' ? (msg.path ?? msg.url) : v.path;
        const req = buildGenericRequest({
          method: m,
          path,
          query: v.query,
          body: v.body,
          headers: v.headers,
          bodyFormat,
          accept: typeof def.accept === 'string' && def.accept.trim() ? def.accept : typeof msg.accept === 'string' ? msg.accept : undefined,
          correlationId: correlationIdOf(msg),
        });
        const shape = (p: Page) => {
          const r = p.response;
          if (output === 'buffer') return r.raw ?? Buffer.from(r.text, 'utf8');
          if (output === 'text') return r.text;
          return r.data;
        };
        const meta = (p: Page) => ({
          method: p.index === 0 ? req.method : 'GET',
          url: r0url(p.response.url),
          status: p.response.status,
          correlationId: p.response.correlationId ?? null,
          attempts: p.response.attempts,
          page: p.index + 1,
          nextPage: p.nextPage ?? null,
        });
        const prev = priorConcur(msg);
        if (paging === 'each') {
          const result = await runGenericRequest(api, req, {
            follow: true,
            maxPages,
            onPage: (p) => {
              const out = RED.util.cloneMessage(msg);
              // Same _msgid as the input (like the core split node), so flow-completion tracking covers every page.
              out.payload = shape(p);
              out.statusCode = p.response.status;
              out.headers = safeHeaders(p.response.headers);
              out.concur = { ...prev, request: meta(p) };
              send(out);
            },
          });
          if (result.truncated) node.warn(`stopped after ${maxPages} page(s); more pages were available`);
          return `${req.method} ${result.pages.length} page(s)`;
        }
        const result = await runGenericRequest(api, req, { follow: paging === 'merge', maxPages });
        const last = result.pages[result.pages.length - 1];
        if (paging === 'merge') {
          msg.payload = result.pages.flatMap((p) => pageItems(p.response.data));
          msg.concur = {
            ...prev,
            request: { ...meta(result.pages[0]), pages: result.pages.length, truncated: result.truncated, nextPage: last.nextPage ?? null },
          };
          if (result.truncated) node.warn(`stopped after ${maxPages} page(s); more pages were available`);
        } else {
          msg.payload = shape(last);
          if (last.response.xmlRoot && output === 'parsed') msg.responseXml = last.response.text;
          msg.concur = { ...prev, request: meta(last) };
        }
        msg.statusCode = last.response.status;
        msg.headers = safeHeaders(last.response.headers);
        send(msg);
        return `${req.method} ${last.response.status}${paging === 'merge' ? ` · ${result.pages.length} page(s)` : ''}`;
      },
    );
  }
  RED.nodes.registerType('concur-api-request', ConcurApiRequest);
};

function safeMethod(v: unknown): HttpMethod {
  try {
    return normalizeMethod(v ?? 'GET');
  } catch {
    return 'GET';
  }
}

/** The URL without its query (it can hold user ids or login ids). */
function r0url(u: string): string {
  const i = u.indexOf('?');
  return i >= 0 ? u.slice(0, i) : u;
}
