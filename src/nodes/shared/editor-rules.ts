/**
 * What the editor must know of the runtime's rules, from the same modules the
 * runtime uses: the numeric option table (limits and defaults), the receiver
 * path rule, the ESS subscription id rule, and the published Concur keys (ids, editor properties, defaults;
 * the keys themselves stay on the server). scripts/build.js writes it into the
 * shared editor resource (resources/concur-editor.js), which every node's .html
 * loads, so the dialogs never carry their own copies.
 */
import { CONCUR_PUBLISHED_KEYS } from '../../concur/ess-keys';
import { DEFAULT_TOPIC, SUBSCRIPTION_ID_RE } from '../../concur/ess-subscriptions-api';
import { NUMBER_OPTIONS } from './options';
import { RECEIVER_PATH_PATTERN } from './receiver-path';
import { TEST_CONNECTION_PATH } from './testconnection-route';

export function editorRules() {
  return {
    numberOptions: NUMBER_OPTIONS,
    receiverPath: { pattern: RECEIVER_PATH_PATTERN, testConnectionPath: TEST_CONNECTION_PATH },
    essSubscription: { idPattern: SUBSCRIPTION_ID_RE.source, defaultTopic: DEFAULT_TOPIC },
    publishedKeys: CONCUR_PUBLISHED_KEYS.map((k) => ({ id: k.id, property: k.property, label: k.label, enabledByDefault: k.enabledByDefault })),
  };
}

export type EditorRules = ReturnType<typeof editorRules>;
