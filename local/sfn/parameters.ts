/**
 * Payload templates (a Task's `Parameters` and `ResultSelector`): keys ending in `.$` take
 * their value from a JSONPath on the state's input (`$...`), from the Context object
 * (`$$...`), or from an intrinsic function (`States.X(...)`); other values are copied.
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
 * https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
 *
 * Templates are checked when the state machine is created (unknown intrinsic functions and
 * malformed expressions are InvalidDefinition, as on AWS), and evaluated when the state
 * runs; a path that finds nothing or a bad argument is `States.Runtime`, which fails the
 * execution.
 */
import { invalidDefinition } from './errors';

/** The intrinsic functions the stand-in evaluates; any other is rejected at CreateStateMachine. */
export const SUPPORTED_INTRINSICS = ['States.Array', 'States.ArrayGetItem', 'States.Format'] as const;

/** A runtime failure of a path or an intrinsic function: fails the execution with States.Runtime. */
export class StatesRuntimeError extends Error {
  readonly error = 'States.Runtime';
}

/** The Context object's fields the stand-in provides (input-output-contextobject.html). */
export interface ContextObject {
  Execution: { Id: string; Input: unknown; Name: string; RoleArn: string; StartTime: string; RedriveCount: number; RedriveTime?: string };
  State: { EnteredTime: string; Name: string; RetryCount: number };
  StateMachine: { Id: string; Name: string };
}

/** One parsed `.$` value. */
type Expression =
  | { kind: 'path'; root: 'input' | 'context'; path: string; steps: Array<string | number> }
  | { kind: 'literal'; value: unknown }
  | { kind: 'call'; name: string; args: Expression[] };

// ---- checking (CreateStateMachine) ---------------------------------------------------

/** Throws InvalidDefinition for a template the stand-in cannot evaluate; `at` names the field. */
export function checkTemplate(template: unknown, at: string): void {
  if (Array.isArray(template)) return template.forEach((v, i) => checkTemplate(v, `${at}[${i}]`));
  if (!isObject(template)) return;
  for (const [key, value] of Object.entries(template)) {
    if (!key.endsWith('.$')) {
      checkTemplate(value, `${at}/${key}`);
      continue;
    }
    if (typeof value !== 'string') throw invalidDefinition(`SCHEMA_VALIDATION_FAILED: the value of ${key} must be a string at ${at}`);
    try {
      parseExpression(value);
    } catch (err) {
      throw invalidDefinition(`${(err as Error).message} at ${at}/${key}`);
    }
  }
}

// ---- evaluating (the state runs) -----------------------------------------------------

/** The template filled in from the input and the Context object. Throws StatesRuntimeError. */
export function evaluateTemplate(template: unknown, input: unknown, context: ContextObject): unknown {
  if (Array.isArray(template)) return template.map((v) => evaluateTemplate(v, input, context));
  if (!isObject(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) out[key.slice(0, -2)] = evaluate(parseExpression(value as string), input, context, key);
    else out[key] = evaluateTemplate(value, input, context);
  }
  return out;
}

function evaluate(e: Expression, input: unknown, context: ContextObject, field: string): unknown {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'path': {
      const found = follow(e.root === 'input' ? input : context, e.steps);
      if (!found.ok) {
        const where = e.root === 'input' ? 'the input' : 'the Context object';
        throw new StatesRuntimeError(`The JSONPath '${e.path}' specified for the field '${field}' could not be found in ${where}`);
      }
      return found.value;
    }
    case 'call':
      return INTRINSICS[e.name](e.args.map((a) => evaluate(a, input, context, field)), field);
  }
}

function follow(root: unknown, steps: ReadonlyArray<string | number>): { ok: true; value: unknown } | { ok: false } {
  let cursor = root;
  for (const step of steps) {
    if (typeof step === 'number' ? !Array.isArray(cursor) || step >= cursor.length : !isObject(cursor) || !(step in cursor)) return { ok: false };
    cursor = (cursor as Record<string | number, unknown>)[step];
  }
  return { ok: true, value: cursor };
}

const INTRINSICS: Record<string, (args: unknown[], field: string) => unknown> = {
  'States.Array': (args) => args,
  'States.ArrayGetItem': ([array, index, ...rest], field) => {
    if (rest.length > 0 || !Array.isArray(array)) throw new StatesRuntimeError(`States.ArrayGetItem in '${field}' takes an array and an index`);
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= array.length) {
      throw new StatesRuntimeError(`States.ArrayGetItem in '${field}': index ${JSON.stringify(index)} is not within the array of length ${array.length}`);
    }
    return array[index];
  },
  'States.Format': ([format, ...args], field) => {
    if (typeof format !== 'string') throw new StatesRuntimeError(`States.Format in '${field}': the first argument must be a string`);
    const parts = format.split('{}');
    if (parts.length - 1 !== args.length) {
      throw new StatesRuntimeError(`States.Format in '${field}': ${parts.length - 1} placeholders but ${args.length} arguments`);
    }
    return parts.reduce((s, part, i) => s + (i === 0 ? '' : formatArg(args[i - 1])) + part, '');
  },
};

const formatArg = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

// ---- parsing ---------------------------------------------------------------------------

/** Parses a `.$` value: a path or an intrinsic function call. Throws Error with the problem. */
export function parseExpression(text: string): Expression {
  const p = new Parser(text);
  const e = text.trim().startsWith('States.') ? p.call() : p.path();
  p.end();
  return e;
}

const PATH_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*/;

class Parser {
  private i = 0;
  constructor(private readonly text: string) {}

  call(): Expression {
    this.space();
    const name = /^States\.[A-Za-z]+/.exec(this.rest())?.[0];
    if (!name) throw new Error(`INVALID_INTRINSIC: expected an intrinsic function in '${this.text}'`);
    if (!(SUPPORTED_INTRINSICS as readonly string[]).includes(name)) {
      throw new Error(`UNSUPPORTED_INTRINSIC: the local stand-in does not support ${name} (supported: ${SUPPORTED_INTRINSICS.join(', ')})`);
    }
    this.i += name.length;
    this.expect('(');
    const args: Expression[] = [];
    this.space();
    if (this.peek() !== ')') {
      for (;;) {
        args.push(this.argument());
        this.space();
        if (this.peek() !== ',') break;
        this.i += 1;
      }
    }
    this.expect(')');
    return { kind: 'call', name, args };
  }

  path(): Expression {
    this.space();
    const start = this.i;
    if (this.peek() !== '$') throw new Error(`INVALID_JSONPATH: '${this.text}' is not a path (it must start with $)`);
    this.i += 1;
    let root: 'input' | 'context' = 'input';
    if (this.peek() === '$') {
      root = 'context';
      this.i += 1;
    }
    const steps: Array<string | number> = [];
    for (;;) {
      const c = this.peek();
      if (c === '.') {
        this.i += 1;
        const segment = PATH_SEGMENT.exec(this.rest())?.[0];
        if (!segment) throw new Error(`INVALID_JSONPATH: bad segment in '${this.text}'`);
        steps.push(segment);
        this.i += segment.length;
      } else if (c === '[') {
        const index = /^\[(\d+)\]/.exec(this.rest());
        const name = /^\['([^']+)'\]/.exec(this.rest());
        if (!index && !name) throw new Error(`INVALID_JSONPATH: only [n] and ['name'] subscripts are supported in '${this.text}'`);
        steps.push(index ? Number(index[1]) : (name as RegExpExecArray)[1]);
        this.i += (index ?? (name as RegExpExecArray))[0].length;
      } else break;
    }
    if (root === 'context' && steps.length === 0) throw new Error(`INVALID_JSONPATH: '$$' alone is not supported in '${this.text}'`);
    return { kind: 'path', root, path: this.text.slice(start, this.i), steps };
  }

  end(): void {
    this.space();
    if (this.i < this.text.length) throw new Error(`INVALID_JSONPATH: unexpected '${this.rest()}' in '${this.text}'`);
  }

  private argument(): Expression {
    this.space();
    const c = this.peek();
    if (c === "'") return this.string();
    if (c === '$') return this.path();
    if (this.rest().startsWith('States.')) return this.call();
    const m = /^(-?\d+(\.\d+)?|true|false|null)/.exec(this.rest());
    if (!m) throw new Error(`INVALID_INTRINSIC: unexpected argument '${this.rest()}' in '${this.text}'`);
    this.i += m[0].length;
    return { kind: 'literal', value: JSON.parse(m[0]) };
  }

  /** A single-quoted string; `\'`, `\{`, `\}` and `\\` are escapes (intrinsic-functions.html). */
  private string(): Expression {
    this.i += 1;
    let value = '';
    while (this.i < this.text.length && this.peek() !== "'") {
      if (this.peek() === '\\') this.i += 1;
      value += this.text[this.i];
      this.i += 1;
    }
    if (this.peek() !== "'") throw new Error(`INVALID_INTRINSIC: unterminated string in '${this.text}'`);
    this.i += 1;
    return { kind: 'literal', value };
  }

  private expect(c: string): void {
    this.space();
    if (this.peek() !== c) throw new Error(`INVALID_INTRINSIC: expected '${c}' at position ${this.i} of '${this.text}'`);
    this.i += 1;
  }
  private space(): void {
    while (this.peek() === ' ') this.i += 1;
  }
  private peek(): string {
    return this.text[this.i] ?? '';
  }
  private rest(): string {
    return this.text.slice(this.i);
  }
}

/** A JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
