/**
 * concur-config: the connection's settings from the editor fields (pure, apart
 * from the host rules in concur/concur-hosts and the option table).
 */
import { ConcurError } from '../../concur/concur-error';
import { GLZ_BASE, normaliseBaseUrl, resolveBaseUrl } from '../../concur/concur-hosts';
import { GRANT_TYPES, type GrantType } from '../../concur/token-manager';
import { numberOption, choiceOption } from '../shared/options';
import type { NodeDef } from '../shared/red-types';

export const TYPE = 'concur-config';

export interface ConfigDef extends NodeDef {
  geolocation?: string;
  baseUrl?: string;
  tokenEndpoint?: 'api' | 'glz' | 'custom';
  tokenUrl?: string;
  grantType?: string;
  credtype?: string;
  scope?: string;
  followGeolocation?: boolean;
  timeout?: number | string;
  retries?: number | string;
  retryDelay?: number | string;
  retryMaxDelay?: number | string;
  expirySkew?: number | string;
  /** id of a concur-store config node: tokens shared by every instance running this flow. */
  store?: string;
}

export interface Settings {
  baseUrl: string;
  tokenBaseUrl?: string;
  grantType: GrantType;
  credtype: 'authtoken' | 'password';
  scope?: string;
  followGeolocation: boolean;
  timeoutMs: number;
  retry: { maxRetries: number; baseDelayMs: number; maxDelayMs: number };
  expirySkewSec: number;
}

/** Reads and checks the editor fields; throws a ConcurError with a readable message. */
export function readSettings(def: ConfigDef): Settings {
  let baseUrl: string;
  let tokenBaseUrl: string | undefined;
  try {
    baseUrl = resolveBaseUrl(def.geolocation || 'us2', def.baseUrl);
    if (def.tokenEndpoint === 'glz') tokenBaseUrl = GLZ_BASE;
    else if (def.tokenEndpoint === 'custom') tokenBaseUrl = normaliseBaseUrl(String(def.tokenUrl ?? ''));
  } catch (err) {
    throw new ConcurError({ status: 0, code: 'CONFIG', message: (err as Error).message, notSent: true });
  }
  const grantType = choiceOption(GRANT_TYPES, def.grantType, 'refresh_token');
  return {
    baseUrl,
    tokenBaseUrl,
    grantType,
    credtype: def.credtype === 'password' ? 'password' : 'authtoken',
    scope: typeof def.scope === 'string' && def.scope.trim() ? def.scope.trim() : undefined,
    followGeolocation: def.followGeolocation !== false,
    timeoutMs: Math.round(numberOption(TYPE, 'timeout', def.timeout) * 1000),
    retry: {
      maxRetries: Math.round(numberOption(TYPE, 'retries', def.retries)),
      baseDelayMs: Math.round(numberOption(TYPE, 'retryDelay', def.retryDelay)),
      maxDelayMs: Math.round(numberOption(TYPE, 'retryMaxDelay', def.retryMaxDelay)),
    },
    expirySkewSec: numberOption(TYPE, 'expirySkew', def.expirySkew),
  };
}
