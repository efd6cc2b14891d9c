/**
 * A synchronous evaluator for the common subset of JSONata that validation
 * rules use (paths, comparisons, and/or, arithmetic, `in`, `? :`, filters on
 * variables, and a few functions), built from the AST that `jsonata(expr).ast()`
 * returns.
 *
 * Why: jsonata 2.x evaluates asynchronously, and one `await evaluate()` costs
 * tens of microseconds; 500 rules x 200 entries is 100,000 evaluations, which
 * cannot fit the 50 ms budget that way. This evaluator follows JSONata's
 * semantics (https://docs.jsonata.org/) for what it accepts and gives up
 * (returns BAIL) on anything else, at compile time (unsupported syntax) or at
 * run time (an array where it expects a single value, a type JSONata would
 * reject, a non-finite number). On BAIL the caller evaluates the same input
 * with jsonata itself, so results and errors are always JSONata's.
 */

export const BAIL: unique symbol = Symbol('bail');
export type Value = unknown;
export type Vars = Record<string, unknown>;
export type FastFn = (input: unknown, vars: Vars) => Value | typeof BAIL;

type Node = Record<string, any>;

class Unsupported extends Error {}

const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);

/** JSONata's $boolean (may be undefined for undefined). */
export function jsonataBoolean(arg: unknown): boolean | undefined {
  if (arg === undefined) return undefined;
  if (Array.isArray(arg)) {
    if (arg.length === 1) return jsonataBoolean(arg[0]);
    if (arg.length > 1) return arg.some((x) => jsonataBoolean(x) === true);
    return false;
  }
  if (typeof arg === 'string') return arg.length > 0;
  if (isNum(arg)) return arg !== 0;
  if (arg !== null && typeof arg === 'object') return Object.keys(arg).length > 0;
  return arg === true;
}

/** How `and`, `or`, `? :` and filters treat a value. */
export function truthy(v: unknown): boolean {
  return jsonataBoolean(v) === true;
}

/** Plain name / variable steps only; each step must yield a single non-array value (else BAIL). */
function compilePath(node: Node): FastFn {
  const steps: Node[] = node.steps;
  if (node.keepSingletonArray || node.tuple || node.group) throw new Unsupported('path option');
  let varName: string | undefined;
  const keys: string[] = [];
  steps.forEach((s: Node, i: number) => {
    if (s.stages || s.predicate || s.group || s.focus || s.index || s.tuple || s.keepArray || s.consarray) throw new Unsupported('step option');
    if (s.type === 'variable' && i === 0 && s.value !== '' && s.value !== '$') {
      varName = String(s.value);
      return;
    }
    if (s.type !== 'name') throw new Unsupported(`step ${s.type}`);
    const key = String(s.value);
    // Names Object.prototype has (constructor, __proto__, toString, ...) follow jsonata's own rules.
    if (key in Object.prototype) throw new Unsupported(`inherited name ${key}`);
    keys.push(key);
  });
  const n = keys.length;
  const k0 = keys[0];
  const k1 = keys[1];
  const step = (cur: unknown, key: string): unknown => {
    if (typeof cur !== 'object' || cur === null) return undefined;
    if (Array.isArray(cur)) return BAIL;
    const v = (cur as Record<string, unknown>)[key];
    return Array.isArray(v) ? BAIL : v;
  };
  const start = varName === undefined ? (input: unknown) => input : (_input: unknown, vars: Vars) => vars[varName!];
  if (n === 0) {
    return (input, vars) => {
      const v = start(input, vars);
      return Array.isArray(v) ? BAIL : v;
    };
  }
  if (n === 1) {
    return (input, vars) => step(start(input, vars), k0);
  }
  if (n === 2) {
    return (input, vars) => {
      const a = step(start(input, vars), k0);
      return a === BAIL || a === undefined ? a : step(a, k1);
    };
  }
  return (input, vars) => {
    let cur: unknown = start(input, vars);
    for (let i = 0; i < n; i++) {
      cur = step(cur, keys[i]);
      if (cur === BAIL || cur === undefined) return cur;
    }
    return cur;
  };
}

function compileVariable(node: Node): FastFn {
  const name = String(node.value);
  if (name === '' || name === '$') throw new Unsupported('context variables $ and $$');
  if (node.stages || node.group || node.focus || node.index || node.tuple) throw new Unsupported('variable option');
  const preds: Node[] | undefined = node.predicate;
  if (!preds) {
    return (_input, vars) => {
      const v = vars[name];
      return Array.isArray(v) ? BAIL : v;
    };
  }
  if (preds.length !== 1 || preds[0].type !== 'filter') throw new Unsupported('predicate');
  const filter = compileNode(preds[0].expr);
  // $list[condition]: the matching items, as a JSONata sequence (none: undefined, one: the item).
  return (_input, vars) => {
    const list = vars[name];
    if (!Array.isArray(list)) return BAIL;
    const out: unknown[] = [];
    for (const item of list) {
      if (Array.isArray(item)) return BAIL;
      const r = filter(item, vars);
      if (r === BAIL || isNum(r) || Array.isArray(r) || r instanceof Seq || r instanceof Arr) return BAIL; // numbers are index selections
      if (truthy(r)) out.push(item);
    }
    return out.length === 0 ? undefined : out.length === 1 ? out[0] : new Seq(out);
  };
}

/** A multi-item result of a filter; only $count, $exists and $sum accept it, anything else BAILs. */
class Seq {
  constructor(readonly items: unknown[]) {}
}

/** Sequence or array-literal values where a single value is expected: let jsonata decide. */
const unseq = (v: unknown) => (v instanceof Seq || v instanceof Arr ? BAIL : v);

interface FnDef {
  arity: number;
  /** Whether a multi-item filter result is a valid argument (else BAIL). */
  seq?: boolean;
  fn: (a: unknown, b?: unknown) => unknown;
}

const FUNCTIONS: Record<string, FnDef> = {
  count: { arity: 1, seq: true, fn: (a) => (a === undefined ? 0 : a instanceof Seq ? a.items.length : 1) },
  exists: { arity: 1, seq: true, fn: (a) => a !== undefined },
  not: { arity: 1, fn: (a) => (a === undefined ? undefined : !truthy(a)) },
  boolean: { arity: 1, fn: (a) => jsonataBoolean(a) },
  lowercase: { arity: 1, fn: strFn((s) => s.toLowerCase()) },
  uppercase: { arity: 1, fn: strFn((s) => s.toUpperCase()) },
  trim: { arity: 1, fn: strFn(jsonataTrim) },
  length: { arity: 1, fn: strFn((s) => Array.from(s).length) },
  string: { arity: 1, fn: strFn((s) => s) },
  contains: { arity: 2, fn: (s, p) => (s === undefined ? undefined : typeof s === 'string' && typeof p === 'string' ? s.includes(p) : BAIL) },
  abs: { arity: 1, fn: (a) => (a === undefined ? undefined : isNum(a) ? Math.abs(a) : BAIL) },
  sum: {
    arity: 1,
    seq: true,
    fn: (a) => {
      if (a === undefined) return undefined;
      const items = a instanceof Seq ? a.items : [a];
      let t = 0;
      for (const x of items) {
        if (!isNum(x)) return BAIL;
        t += x;
      }
      return t;
    },
  },
};

/** $trim: runs of space, tab, CR, LF become one space, then one leading / trailing space goes (not String.trim). */
function jsonataTrim(s: string): string {
  let r = s.replace(/[ \t\n\r]+/gm, ' ');
  if (r.charAt(0) === ' ') r = r.substring(1);
  if (r.charAt(r.length - 1) === ' ') r = r.substring(0, r.length - 1);
  return r;
}

function strFn(f: (s: string) => unknown): (a: unknown) => unknown {
  return (a) => (a === undefined ? undefined : typeof a === 'string' ? f(a) : BAIL);
}

function compileFunction(node: Node): FastFn {
  const proc = node.procedure;
  if (node.value !== '(' || !proc || proc.type !== 'variable' || proc.predicate || proc.stages) throw new Unsupported('function form');
  const def = Object.hasOwn(FUNCTIONS, String(proc.value)) ? FUNCTIONS[String(proc.value)] : undefined;
  const args: Node[] = node.arguments ?? [];
  if (!def || def.arity !== args.length) throw new Unsupported(`function $${proc.value}`);
  if (args.some((a) => a.type === 'placeholder' || a.type === 'regex')) throw new Unsupported('placeholder / regex argument');
  const seqOk = def.seq === true;
  const arg = (f: FastFn, i: unknown, v: Vars) => {
    const x = f(i, v);
    return x === BAIL || x instanceof Arr || (x instanceof Seq && !seqOk) ? BAIL : x;
  };
  const f0 = compileNode(args[0]);
  const fn = def.fn;
  if (args.length === 1) {
    return (i, v) => {
      const a = arg(f0, i, v);
      return a === BAIL ? BAIL : fn(a);
    };
  }
  const f1 = compileNode(args[1]);
  return (i, v) => {
    const a = arg(f0, i, v);
    if (a === BAIL) return BAIL;
    const b = arg(f1, i, v);
    return b === BAIL ? BAIL : fn(a, b);
  };
}

const primitive = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function compileBinary(node: Node): FastFn {
  const op = String(node.value);
  const l = compileNode(node.lhs);
  const r = compileNode(node.rhs);
  switch (op) {
    case 'and':
      return (i, v) => {
        const a = unseq(l(i, v));
        if (a === BAIL) return BAIL;
        if (!truthy(a)) return false;
        const b = unseq(r(i, v));
        return b === BAIL ? BAIL : truthy(b);
      };
    case 'or':
      return (i, v) => {
        const a = unseq(l(i, v));
        if (a === BAIL) return BAIL;
        if (truthy(a)) return true;
        const b = unseq(r(i, v));
        return b === BAIL ? BAIL : truthy(b);
      };
    case '=':
    case '!=':
      return (i, v) => {
        const a = unseq(l(i, v));
        const b = unseq(r(i, v));
        if (a === BAIL || b === BAIL) return BAIL;
        if (a === undefined || b === undefined) return false;
        if (!primitive(a) || !primitive(b)) return BAIL; // objects: JSONata's deep equality
        return op === '=' ? a === b : a !== b;
      };
    case '<':
    case '<=':
    case '>':
    case '>=':
      return (i, v) => {
        const a = unseq(l(i, v));
        const b = unseq(r(i, v));
        if (a === BAIL || b === BAIL) return BAIL;
        const comparable = (x: unknown) => x === undefined || isNum(x) || typeof x === 'string';
        if (!comparable(a) || !comparable(b)) return BAIL; // JSONata raises T2010
        if (a === undefined || b === undefined) return undefined;
        const bothNum = isNum(a) && isNum(b);
        const bothStr = typeof a === 'string' && typeof b === 'string';
        if (!bothNum && !bothStr) return BAIL; // JSONata raises T2009 / T2010
        const x = a as number | string;
        const y = b as number | string;
        return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
      };
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
      return (i, v) => {
        const a = unseq(l(i, v));
        const b = unseq(r(i, v));
        if (a === BAIL || b === BAIL) return BAIL;
        if (a === undefined || b === undefined) return isNum(a) || isNum(b) || a === b ? undefined : BAIL;
        if (!isNum(a) || !isNum(b)) return BAIL;
        const n = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
        return Number.isFinite(n) ? n : BAIL;
      };
    case '&':
      return (i, v) => {
        const a = unseq(l(i, v));
        const b = unseq(r(i, v));
        if (a === BAIL || b === BAIL) return BAIL;
        if ((a !== undefined && typeof a !== 'string') || (b !== undefined && typeof b !== 'string')) return BAIL; // $string() formatting
        return (a ?? '') + (b ?? '');
      };
    case 'in':
      return (i, v) => {
        const a = unseq(l(i, v));
        if (a === BAIL) return BAIL;
        if (a === undefined) return false;
        if (!primitive(a)) return BAIL;
        const b = r(i, v);
        if (b === BAIL || b instanceof Seq) return BAIL;
        const list = b instanceof Arr ? b.items : b === undefined ? [] : [b];
        for (const x of list) {
          if (!primitive(x)) return BAIL;
          if (x === a) return true;
        }
        return false;
      };
    default:
      throw new Unsupported(`operator ${op}`);
  }
}

/** A literal array constructor's value; only `in` accepts it (anything else BAILs). */
class Arr {
  constructor(readonly items: unknown[]) {}
}

function compileUnary(node: Node): FastFn {
  if (node.value === '-') {
    const e = compileNode(node.expression);
    return (i, v) => {
      const a = unseq(e(i, v));
      if (a === BAIL) return BAIL;
      if (a === undefined) return undefined;
      return isNum(a) ? -a : BAIL;
    };
  }
  if (node.value === '[') {
    if (node.consarray === false && node.keepArray) throw new Unsupported('array option');
    const exprs = node.expressions as Node[];
    const items = exprs.map(compileNode);
    if (exprs.every((e) => e.type === 'string' || e.type === 'number' || (e.type === 'value' && e.value !== undefined))) {
      const constant = new Arr(exprs.map((e) => e.value)); // a literal list: built once
      return () => constant;
    }
    return (i, v) => {
      const out: unknown[] = [];
      for (const f of items) {
        const x = f(i, v);
        if (x === BAIL || x instanceof Seq || x instanceof Arr || Array.isArray(x)) return BAIL;
        if (x !== undefined) out.push(x);
      }
      return new Arr(out);
    };
  }
  throw new Unsupported(`unary ${node.value}`);
}

function compileNode(node: Node): FastFn {
  if (!node || typeof node !== 'object') throw new Unsupported('node');
  if (node.predicate && node.type !== 'variable') throw new Unsupported('predicate');
  if (node.stages || node.group || node.keepArray) throw new Unsupported('stages');
  switch (node.type) {
    case 'string':
    case 'number': {
      const val = node.value;
      return () => val;
    }
    case 'value': {
      const val = node.value;
      return () => val;
    }
    case 'name':
      return compilePath({ type: 'path', steps: [node] });
    case 'path':
      return compilePath(node);
    case 'variable':
      return compileVariable(node);
    case 'binary':
      return compileBinary(node);
    case 'unary':
      return compileUnary(node);
    case 'function':
      return compileFunction(node);
    case 'condition': {
      const c = compileNode(node.condition);
      const t = compileNode(node.then);
      const e = node.else ? compileNode(node.else) : undefined;
      return (i, v) => {
        const x = unseq(c(i, v));
        if (x === BAIL) return BAIL;
        return truthy(x) ? t(i, v) : e ? e(i, v) : undefined;
      };
    }
    case 'block': {
      const list = (node.expressions as Node[]).map(compileNode);
      if (list.length === 0) return () => undefined;
      return (i, v) => {
        let r: unknown;
        for (const f of list) {
          r = f(i, v);
          if (r === BAIL) return BAIL;
        }
        return r;
      };
    }
    default:
      throw new Unsupported(`node ${node.type}`);
  }
}

/**
 * Compiles a JSONata AST into a synchronous function, or returns undefined when
 * the expression uses anything outside the subset (the caller then always uses jsonata).
 * The function's top-level result is a plain value or BAIL (never an internal wrapper).
 */
export function compileFast(ast: unknown): FastFn | undefined {
  let fn: FastFn;
  try {
    fn = compileNode(ast as Node);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  return (input, vars) => {
    if (Array.isArray(input)) return BAIL;
    const r = fn(input, vars);
    if (r instanceof Seq) return BAIL;
    if (r instanceof Arr) return BAIL;
    return r;
  };
}
