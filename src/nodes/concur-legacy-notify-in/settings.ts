/**
 * concur-legacy-notify-in: the node's settings from its properties, and what is
 * wrong with them (pure: the adapter reports the problems as status and log).
 */
import { concurCredentialProblems } from '../../concur/basic-auth';
import { numberOption } from '../shared/options';
import { configuredPath, isValidPath } from '../shared/receiver-path';
import type { NodeDef } from '../shared/red-types';
import { TEST_CONNECTION_PATH } from '../shared/testconnection-route';

export const TYPE = 'concur-legacy-notify-in';
export const DEFAULT_PATH = '/concur/v1.0/notify';

export interface LegacyNotifyDef extends NodeDef {
  path?: string;
  ackMode?: 'receipt' | 'complete';
  ackTimeout?: number | string;
  maxBodyKiB?: number | string;
  testConnection?: boolean;
}

export interface Credentials {
  username?: string;
  password?: string;
}

export interface LegacySettings {
  path: string;
  ackMode: 'receipt' | 'complete';
  ackTimeoutMs: number;
  maxBodyBytes: number;
  testConnection: boolean;
}

export function legacySettings(def: LegacyNotifyDef): LegacySettings {
  return {
    path: configuredPath(def.path, DEFAULT_PATH),
    ackMode: def.ackMode === 'complete' ? 'complete' : 'receipt',
    ackTimeoutMs: Math.round(numberOption(TYPE, 'ackTimeout', def.ackTimeout) * 1000),
    maxBodyBytes: Math.round(numberOption(TYPE, 'maxBodyKiB', def.maxBodyKiB) * 1024),
    testConnection: def.testConnection !== false,
  };
}

/** A problem with the configuration: `status` for the badge, `log` for the node's log. */
export interface ConfigProblem {
  status: string;
  log: string;
}

/**
 * What stops the receiver from listening (fatal: red badge, node error), and what
 * only degrades it (credentials Concur would refuse: yellow badge, warning).
 */
export function configProblems(
  s: LegacySettings,
  creds: Credentials,
  credentialsSet: boolean,
  hasHooks: boolean,
): { fatal?: ConfigProblem; credentials?: ConfigProblem; credentialWarning?: ConfigProblem } {
  const out: { fatal?: ConfigProblem; credentials?: ConfigProblem; credentialWarning?: ConfigProblem } = {};
  const problems = concurCredentialProblems(creds);
  if (!credentialsSet) {
    out.credentials = {
      status: 'credentials not set: every request is refused (401)',
      log: 'user name and password are not set; every callout will be refused with 401',
    };
  } else if (problems.length) {
    out.credentialWarning = {
      status: 'credentials outside Concur 10–50 chars',
      log: `Concur will not accept these connector credentials: ${problems.join('; ')}`,
    };
  }
  if (!isValidPath(s.path)) {
    out.fatal = { status: `invalid path "${s.path}"`, log: `invalid path "${s.path}": use letters, digits and . _ ~ - / % only` };
  } else if (s.path === TEST_CONNECTION_PATH) {
    out.fatal = {
      status: 'path is reserved for testconnection',
      log: `${TEST_CONNECTION_PATH} is served by the receiver itself; choose another notification path`,
    };
  } else if (s.ackMode === 'complete' && !hasHooks) {
    out.fatal = {
      status: 'ack after flow completes needs Node-RED hooks',
      log: '"ack after flow completes" needs Node-RED message hooks (Node-RED 2 or later)',
    };
  }
  return out;
}
