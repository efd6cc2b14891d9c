/**
 * TypedInput inputs (the Node-RED convention: msg / flow / global / env /
 * JSONata / string …): a node stores `<prop>` and `<prop>Type`, and reads the
 * value per message with `RED.util.evaluateNodeProperty`. A flow saved before
 * the property existed has neither: the node then reads the msg property it
 * always read, so existing flows keep working.
 * https://nodered.org/docs/creating-nodes/properties#typed-input
 */
import type { RED, Node, NodeDef, NodeMessage } from './red-types';
import { invalidInput } from '../../concur/concur-error';

/** Types a dialog offers for an input; the runtime accepts these only. */
export const INPUT_TYPES = ['msg', 'flow', 'global', 'env', 'jsonata', 'str', 'num', 'json', 'bool'] as const;
export type InputType = (typeof INPUT_TYPES)[number];

export interface TypedInputSpec {
  /** Property name in the node definition (its type lives in `<name>Type`). */
  name: string;
  /** What the node read before the property existed: a msg property path. */
  defaultValue: string;
  defaultType?: InputType;
  /** Shown in error messages, e.g. "report id". */
  label: string;
}

export interface TypedInput {
  type: InputType;
  value: string;
  label: string;
  /** Human description, e.g. `msg.reportId` or `flow.approver`. */
  describe(): string;
}

/** Reads `<name>`/`<name>Type` from the definition, falling back to the legacy msg property. */
export function typedInput(def: NodeDef, spec: TypedInputSpec): TypedInput {
  const rawType = def[`${spec.name}Type`];
  const rawValue = def[spec.name];
  let type: InputType;
  let value: string;
  if (typeof rawType === 'string' && (INPUT_TYPES as readonly string[]).includes(rawType)) {
    type = rawType as InputType;
    value = typeof rawValue === 'string' ? rawValue : rawValue === undefined || rawValue === null ? '' : String(rawValue);
  } else {
    type = spec.defaultType ?? 'msg';
    value = spec.defaultValue;
  }
  // An empty msg/flow/global/env path means "not set": read nothing.
  return {
    type,
    value,
    label: spec.label,
    describe: () =>
      type === 'jsonata'
        ? 'a JSONata expression'
        : type === 'str' || type === 'num' || type === 'json' || type === 'bool'
          ? 'the configured value'
          : `${type}.${value}`,
  };
}

/** Evaluates one input for a message (undefined when its source is empty). */
export function evaluateInput(RED: RED, node: Node, msg: NodeMessage, input: TypedInput): Promise<unknown> {
  if ((input.type === 'msg' || input.type === 'flow' || input.type === 'global' || input.type === 'env') && !input.value.trim())
    return Promise.resolve(undefined);
  if (input.type === 'str') return Promise.resolve(input.value === '' ? undefined : input.value);
  // An empty JSON / JSONata / number field means "not set" too (evaluating it would be an error).
  if ((input.type === 'json' || input.type === 'jsonata' || input.type === 'num') && !input.value.trim()) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    try {
      RED.util.evaluateNodeProperty(input.value, input.type, node, msg, (err, v) => {
        if (err) fail(err);
        else resolve(v);
      });
    } catch (err) {
      fail(err as Error);
    }
    function fail(err: Error) {
      // A msg path through a missing parent (msg.payload.facts.href without facts) is simply not set.
      if (input.type === 'msg' && err instanceof TypeError) return resolve(undefined);
      reject(invalidInput(`could not read the ${input.label} from ${input.describe()}: ${err.message}`));
    }
  });
}

/** Evaluates several inputs; keys are the spec names. */
export async function evaluateInputs<K extends string>(RED: RED, node: Node, msg: NodeMessage, inputs: Record<K, TypedInput>): Promise<Record<K, unknown>> {
  const out = {} as Record<K, unknown>;
  for (const k of Object.keys(inputs) as K[]) out[k] = await evaluateInput(RED, node, msg, inputs[k]);
  return out;
}
