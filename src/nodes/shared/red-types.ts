/**
 * The small part of Node-RED's runtime API our node adapters use. Declared here
 * (instead of @types/node-red) so the adapters type-check against what Node-RED
 * 4 and 5 actually provide.
 */

export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  topic?: string;
  [key: string]: unknown;
}

export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null> | null) => void;
export type DoneFn = (err?: Error) => void;

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface Node<TCreds = Record<string, string>> {
  id: string;
  type: string;
  name?: string;
  z?: string;
  credentials: TCreds;
  send: SendFn;
  status(s: NodeStatus | Record<string, never>): void;
  log(msg: unknown): void;
  warn(msg: unknown): void;
  error(err: unknown, msg?: NodeMessage): void;
  debug(msg: unknown): void;
  on(event: 'input', fn: (msg: NodeMessage, send: SendFn, done: DoneFn) => void | Promise<void>): void;
  on(event: 'close', fn: ((removed: boolean, done: () => void) => void) | ((done: () => void) => void) | (() => void)): void;
  on(event: string, fn: (...args: any[]) => void): void;
  context(): { get(k: string): unknown; set(k: string, v: unknown): void };
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface RED {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(
      type: string,
      ctor: (this: any, def: any) => void,
      opts?: { credentials?: Record<string, { type: 'text' | 'password' }>; settings?: Record<string, { value: unknown; exportable?: boolean }> },
    ): void;
    getNode(id: string): unknown;
  };
  httpNode: unknown;
  httpAdmin: {
    get(path: string, ...handlers: unknown[]): void;
    post(path: string, ...handlers: unknown[]): void;
  };
  auth?: { needsPermission(perm: string): unknown };
  settings: Record<string, any> & { userDir?: string };
  util: {
    cloneMessage<T>(msg: T): T;
    generateId(): string;
    evaluateNodeProperty(value: string, type: string, node: object, msg: NodeMessage, cb?: (err: Error | null, v: unknown) => void): unknown;
  };
  log: { info(m: unknown): void; warn(m: unknown): void; error(m: unknown): void; debug(m: unknown): void };
  _: (key: string, subs?: Record<string, unknown>) => string;
  version?: () => string;
  /** Message hooks; `onComplete` fires with { msg, error, node } when a node calls done(). */
  hooks?: { add(id: string, fn: (event: any) => unknown): void; remove(id: string): void };
  events?: { on(e: string, fn: (...a: any[]) => void): void; removeListener(e: string, fn: (...a: any[]) => void): void };
}
