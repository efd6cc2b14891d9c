/**
 * Admin routes for the concur-ess-event-in edit dialog (editor only, behind
 * Node-RED's admin auth):
 *   GET  <httpAdminRoot>/concur-ess-event-in/key-info  → the built-in Concur keys with their fingerprints
 *   POST <httpAdminRoot>/concur-ess-event-in/key-info  { text } → what each pasted PEM block is (concur/key-info)
 * Done on the server so it works on plain-http editors too, where the browser
 * has no crypto.subtle.
 */
import type { RED } from './red-types';
import type { RouteResponse } from './http-routes';
import { needsPermission } from './permissions';
import { CONCUR_PUBLISHED_KEYS } from '../../concur/ess-keys';
import { describeKeyText, MAX_KEY_TEXT_CHARS } from '../../concur/key-info';

const PATH = '/concur-ess-event-in/key-info';
/** Several copies of the node module may be loaded (tests); register once per admin app. */
const REGISTERED = Symbol.for('node-red-contrib-sap-concur.essKeyInfoRoute');

export function registerEssKeyInfoRoute(RED: RED): void {
  const app = RED.httpAdmin as unknown as { [REGISTERED]?: boolean };
  if (app[REGISTERED]) return;
  app[REGISTERED] = true;
  const needsRead = needsPermission(RED, 'concur-ess-event-in.read');

  let published: unknown[] | undefined; // computed on first use, then kept
  RED.httpAdmin.get(PATH, needsRead, (_req: unknown, res: RouteResponse & { json(b: unknown): void }) => {
    try {
      published ??= CONCUR_PUBLISHED_KEYS.map((k) => {
        const info = describeKeyText(k.pem).keys[0];
        return {
          id: k.id,
          property: k.property,
          label: k.label,
          fingerprint: info?.fingerprint ?? null,
          bits: info?.bits ?? null,
          documentedForSignatures: k.documentedForSignatures,
        };
      });
      res.json({ published });
    } catch (err) {
      res.statusCode = 500;
      res.json({ error: `could not read the built-in keys: ${(err as Error).message}` });
    }
  });
  RED.httpAdmin.post(PATH, needsRead, (req: { body?: { text?: unknown } }, res: RouteResponse & { json(b: unknown): void }) => {
    const text = req.body && typeof req.body === 'object' ? req.body.text : undefined;
    if (typeof text !== 'string') {
      res.statusCode = 400;
      return res.json({ error: 'send { "text": "<PEM>" } as JSON' });
    }
    if (text.length > MAX_KEY_TEXT_CHARS) {
      res.statusCode = 413;
      return res.json({ error: `the text is longer than ${MAX_KEY_TEXT_CHARS} characters` });
    }
    try {
      res.json(describeKeyText(text));
    } catch (err) {
      // describeKeyText reports bad input itself; this is only for the unexpected.
      res.statusCode = 500;
      res.json({ error: (err as Error).message });
    }
  });
}
