/**
 * Executes a parsed template against data, with Go text/template's semantics: dot and
 * variables, field chains and method calls, pipelines passing their value as the last
 * argument, if/with/range (sorted map keys, break/continue), template calls, and Go's error
 * messages pointing at the node that failed.
 */
import {
  nodeString,
  type ArgNode,
  type BranchNode,
  type ChainNode,
  type CommandNode,
  type FieldNode,
  type IdentifierNode,
  type Node,
  type PipeNode,
  type TemplateCallNode,
  type TreeSet,
  type VariableNode,
} from "./template-ast";
import { locationOf, TemplateError } from "./template-error";
import type { FuncSpec, ParamKind } from "./template-funcs";
import { formatValue } from "./template-printf";
import { goTypeName, isMapLike, isTruthy, lookupField, sortedEntries } from "./template-values";

/** Go allows 100000 nested template calls; JavaScript's stack allows fewer. */
export const MAX_TEMPLATE_DEPTH = 1000;

/** What a function name resolves to: a builtin with a signature, or a plain JS function. */
export type ResolvedFunc = { spec: FuncSpec; builtin: boolean } | { fn: (...args: unknown[]) => unknown };

export interface ExecEnv {
  source: string;
  /** The name errors show before the location (Go's ParseName). */
  parseName: string;
  trees: TreeSet;
  findFunc(name: string): ResolvedFunc | undefined;
  /** "error": a missing map key is an error instead of "<no value>" (Go's missingkey=error). */
  missingKey: "default" | "error";
}

/** No value was piped into a command (distinct from piping "no value"). */
const NO_FINAL: unique symbol = Symbol("no final argument");
type Final = unknown;

type Signal = "break" | "continue" | undefined;

/** Runs template `name` and appends its output to `out`; on error `out` keeps what was written. */
export function execute(env: ExecEnv, name: string, data: unknown, out: string[]): void {
  const tree = env.trees.get(name);
  if (!tree) throw new TemplateError(`template: no template ${JSON.stringify(name)} associated with template ${JSON.stringify(name)}`);
  new State(env, out, name, [{ name: "$", value: data }], 0).run(data, tree);
}

interface Variable {
  name: string;
  value: unknown;
}

class State {
  /** The node being evaluated, for error locations. */
  private at: Node | ArgNode | CommandNode | undefined;

  constructor(
    private readonly env: ExecEnv,
    private readonly out: string[],
    private readonly tmplName: string,
    private readonly vars: Variable[],
    private readonly depth: number,
  ) {}

  run(dot: unknown, tree: Node): void {
    try {
      this.walk(dot, tree);
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      // A getter or method threw outside a call we wrap: still report where.
      this.fail(err instanceof Error ? err.message : String(err));
    }
  }

  private fail(message: string): never {
    if (!this.at) throw new TemplateError(`template: ${this.env.parseName}: ${message}`);
    const context = nodeString(this.at);
    const location = `${this.env.parseName}:${locationOf(this.env.source, this.at.pos)}`;
    throw new TemplateError(`template: ${location}: executing ${JSON.stringify(this.tmplName)} at <${context}>: ${message}`);
  }

  // --- walking the tree ---------------------------------------------------------------------

  private walk(dot: unknown, node: Node): Signal {
    this.at = node;
    switch (node.type) {
      case "text":
        this.out.push(node.text);
        return undefined;
      case "action": {
        const value = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, value);
        return undefined;
      }
      case "list":
        for (const n of node.nodes) {
          const signal = this.walk(dot, n);
          if (signal) return signal;
        }
        return undefined;
      case "if":
      case "with":
        return this.walkIfOrWith(dot, node);
      case "range":
        this.walkRange(dot, node);
        return undefined;
      case "template":
        this.walkTemplate(dot, node);
        return undefined;
      case "break":
      case "continue":
        return node.type;
    }
  }

  private printValue(node: Node, value: unknown): void {
    if (value === undefined || value === null) {
      this.out.push("<no value>");
      return;
    }
    if (typeof value === "function") {
      this.at = node;
      this.fail(`can't print ${nodeString(node)} of type func`);
    }
    this.out.push(formatValue(value));
  }

  private walkIfOrWith(dot: unknown, node: BranchNode): Signal {
    const mark = this.vars.length;
    try {
      const value = this.evalPipeline(dot, node.pipe);
      if (isTruthy(value)) return this.walk(node.type === "with" ? value : dot, node.list);
      if (node.elseList) return this.walk(dot, node.elseList);
      return undefined;
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: unknown, node: BranchNode): void {
    const outerMark = this.vars.length;
    try {
      const value = this.evalPipeline(dot, node.pipe);
      const mark = this.vars.length;
      const decl = node.pipe.decl;
      const iteration = (key: unknown, elem: unknown): Signal => {
        // Declared variables were pushed by evalPipeline: $v alone, or $i then $v.
        if (decl.length > 0) {
          if (node.pipe.isAssign) this.setVar(decl[0].ident[0], decl.length > 1 ? key : elem);
          else this.vars[this.vars.length - 1].value = elem;
        }
        if (decl.length > 1) {
          if (node.pipe.isAssign) this.setVar(decl[1].ident[0], elem);
          else this.vars[this.vars.length - 2].value = key;
        }
        try {
          return this.walk(elem, node.list);
        } finally {
          this.vars.length = mark;
        }
      };
      const items = this.rangeItems(node, value);
      if (items.length === 0) {
        if (node.elseList) this.walk(dot, node.elseList);
        return;
      }
      for (const [key, elem] of items) {
        if (iteration(key, elem) === "break") break;
      }
    } finally {
      this.vars.length = outerMark;
    }
  }

  /** What range iterates over, as [index or key, element] pairs. */
  private rangeItems(node: BranchNode, value: unknown): [unknown, unknown][] {
    if (value === undefined || value === null) return []; // a nil slice or map: not an error
    if (Array.isArray(value) || value instanceof Uint8Array) return [...value].map((e, i) => [i, e]);
    if (isMapLike(value)) return sortedEntries(value);
    if (typeof value === "number" && Number.isInteger(value)) {
      if (node.pipe.decl.length > 1) this.fail(`can't use ${value} to iterate over more than one variable`);
      return Array.from({ length: Math.max(value, 0) }, (_, i) => [i, i]);
    }
    if (typeof value === "object" && Symbol.iterator in value && typeof value !== "string") {
      return [...(value as Iterable<unknown>)].map((e, i) => [i, e]);
    }
    this.at = node.pipe;
    return this.fail(`range can't iterate over ${formatValue(value)}`);
  }

  private walkTemplate(dot: unknown, node: TemplateCallNode): void {
    this.at = node;
    const tree = this.env.trees.get(node.name);
    if (!tree) this.fail(`template ${JSON.stringify(node.name)} not defined`);
    if (this.depth >= MAX_TEMPLATE_DEPTH) this.fail(`exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`);
    const newDot = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined;
    const callee = new State(this.env, this.out, node.name, [{ name: "$", value: newDot }], this.depth + 1);
    callee.walk(newDot, tree);
  }

  // --- variables ----------------------------------------------------------------------------

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    return this.fail(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }

  // --- pipelines and commands ---------------------------------------------------------------

  private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at = pipe;
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // Go unwraps a nil interface into "no value" between commands.
      if (value === null) value = undefined;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.vars.push({ name: v.ident[0], value });
    }
    return value;
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.type) {
      case "field":
        return this.evalFieldNode(dot, first, cmd.args, final);
      case "chain":
        return this.evalChainNode(dot, first, cmd.args, final);
      case "identifier":
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case "pipe":
        // Go reports this at the enclosing pipeline, which evalPipeline has just set.
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case "variable":
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at = first;
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case "bool":
      case "number":
      case "string":
        return first.value;
      case "dot":
        return dot;
      case "nil":
        return this.fail("nil is not a command");
    }
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== NO_FINAL) this.fail(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: ArgNode[], final: Final): unknown {
    this.at = field;
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: ArgNode[], final: Final): unknown {
    this.at = chain;
    if (chain.node.type === "nil") this.fail(`indirection through explicit nil in ${nodeString(chain)}`);
    const receiver = this.evalArg(dot, chain.node, "any");
    return this.evalFieldChain(dot, receiver, chain, chain.fields, args, final);
  }

  private evalVariableNode(dot: unknown, variable: VariableNode, args: ArgNode[], final: Final): unknown {
    this.at = variable;
    const value = this.varValue(variable.ident[0]);
    if (variable.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final);
  }

  /** .A.B.C: every step but the last takes no arguments. */
  private evalFieldChain(
    dot: unknown,
    receiver: unknown,
    node: ArgNode,
    ident: string[],
    args: ArgNode[],
    final: Final,
  ): unknown {
    for (let i = 0; i < ident.length - 1; i++) receiver = this.evalField(dot, ident[i], node, [node], NO_FINAL, receiver);
    return this.evalField(dot, ident[ident.length - 1], node, args, final, receiver);
  }

  private evalField(dot: unknown, name: string, node: ArgNode, args: ArgNode[], final: Final, receiver: unknown): unknown {
    // No `this.at = node` here: like Go, a failing (pipeline).Field reports the last node
    // evaluated; .Field and $x.Field set their own position before getting here.
    if (receiver === undefined) {
      if (this.env.missingKey === "error") this.fail(`nil data; no entry for key ${JSON.stringify(name)}`);
      return undefined;
    }
    if (receiver === null) this.fail(`nil pointer evaluating interface {}.${name}`);
    const hasArgs = args.length > 1 || final !== NO_FINAL;
    const found = lookupField(receiver, name);
    if (found.kind === "value") {
      if (typeof found.value === "function") {
        const method = found.value as (...a: unknown[]) => unknown;
        return this.callPlain(dot, method, receiver, node, name, args.slice(1), final);
      }
      if (hasArgs) {
        this.fail(found.fromMap ? `${name} is not a method but has arguments` : `${name} has arguments but cannot be invoked as function`);
      }
      return found.value;
    }
    if (found.kind === "missingKey") {
      if (hasArgs) this.fail(`${name} is not a method but has arguments`);
      if (this.env.missingKey === "error") this.fail(`map has no entry for key ${JSON.stringify(name)}`);
      return undefined;
    }
    return this.fail(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  // --- calls --------------------------------------------------------------------------------

  private evalFunction(dot: unknown, ident: IdentifierNode, cmd: CommandNode | IdentifierNode, args: ArgNode[], final: Final): unknown {
    this.at = ident;
    const name = ident.name;
    const resolved = this.env.findFunc(name);
    if (!resolved) return this.fail(`${JSON.stringify(name)} is not a defined function`);
    const argNodes = args.slice(1);
    if ("fn" in resolved) return this.callPlain(dot, resolved.fn, undefined, cmd, name, argNodes, final);

    const { spec } = resolved;
    const given = argNodes.length + (final === NO_FINAL ? 0 : 1);
    const want = spec.params.length;
    if (spec.variadic === undefined ? given !== want : given < want) {
      this.fail(`wrong number of args for ${name}: want ${spec.variadic === undefined ? "" : "at least "}${want} got ${given}`);
    }
    if (resolved.builtin && (name === "and" || name === "or")) return this.andOr(dot, name, argNodes, final);
    if (resolved.builtin && name === "call") return this.callFunc(dot, cmd, argNodes, final);

    const kindAt = (i: number): ParamKind => (i < want ? spec.params[i] : (spec.variadic as ParamKind));
    const argv = argNodes.map((a, i) => this.evalArg(dot, a, kindAt(i)));
    if (final !== NO_FINAL) {
      this.at = ident;
      argv.push(this.checkType(final, kindAt(argv.length)));
    }
    try {
      return spec.fn(...argv);
    } catch (err) {
      this.at = cmd;
      return this.fail(`error calling ${name}: ${errorMessage(err)}`);
    }
  }

  /** A method or a caller-supplied function: no signature, just the values. */
  private callPlain(
    dot: unknown,
    fn: (...a: unknown[]) => unknown,
    thisArg: unknown,
    node: ArgNode | CommandNode,
    name: string,
    argNodes: ArgNode[],
    final: Final,
  ): unknown {
    const argv = argNodes.map((a) => this.evalArg(dot, a, "any"));
    if (final !== NO_FINAL) argv.push(final);
    try {
      return fn.apply(thisArg, argv);
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      this.at = node;
      return this.fail(`error calling ${name}: ${errorMessage(err)}`);
    }
  }

  /** and/or stop at the first falsy/truthy argument and return that argument. */
  private andOr(dot: unknown, name: "and" | "or", argNodes: ArgNode[], final: Final): unknown {
    let value: unknown;
    for (const a of argNodes) {
      value = this.evalArg(dot, a, "any");
      if (isTruthy(value) === (name === "or")) return value;
    }
    return final === NO_FINAL ? value : final;
  }

  /** call fn args...: the first argument must be a function value. */
  private callFunc(dot: unknown, cmd: CommandNode | IdentifierNode, argNodes: ArgNode[], final: Final): unknown {
    const fnNode = argNodes.length > 0 ? argNodes[0] : undefined;
    const fn = fnNode ? this.evalCallee(dot, fnNode) : final;
    const argv = argNodes.slice(1).map((a) => this.evalArg(dot, a, "any"));
    if (fnNode && final !== NO_FINAL) argv.push(final);
    this.at = cmd;
    if (fn === undefined || fn === null) this.fail("error calling call: call of nil");
    if (typeof fn !== "function") {
      this.fail(`error calling call: non-function ${fnNode ? nodeString(fnNode) : "value"} of type ${goTypeName(fn)}`);
    }
    try {
      return (fn as (...a: unknown[]) => unknown)(...argv);
    } catch (err) {
      this.at = cmd;
      return this.fail(`error calling call: ${errorMessage(err)}`);
    }
  }

  /**
   * `call`'s first argument: like evalArg, except that a function found at the end of a
   * field chain is returned, not called (Go never calls func-valued fields).
   */
  private evalCallee(dot: unknown, node: ArgNode): unknown {
    let receiver: unknown;
    let fields: string[];
    this.at = node;
    if (node.type === "field") {
      [receiver, fields] = [dot, node.ident];
    } else if (node.type === "variable" && node.ident.length > 1) {
      [receiver, fields] = [this.varValue(node.ident[0]), node.ident.slice(1)];
    } else if (node.type === "chain") {
      [receiver, fields] = [this.evalArg(dot, node.node, "any"), node.fields];
    } else {
      return this.evalArg(dot, node, "any");
    }
    for (const name of fields.slice(0, -1)) receiver = this.evalField(dot, name, node, [node], NO_FINAL, receiver);
    const last = fields[fields.length - 1];
    if (receiver === undefined || receiver === null) return this.evalField(dot, last, node, [node], NO_FINAL, receiver);
    const found = lookupField(receiver, last);
    if (found.kind === "value") return found.value;
    if (found.kind === "missingKey") return undefined;
    return this.fail(`can't evaluate field ${last} in type ${goTypeName(receiver)}`);
  }

  /** An argument's value, checked against the parameter kind as Go's evalArg does. */
  private evalArg(dot: unknown, node: ArgNode, kind: ParamKind): unknown {
    this.at = node;
    switch (node.type) {
      case "dot":
        return this.checkType(dot, kind);
      case "nil":
        if (kind !== "any") this.fail(`cannot assign nil to ${kind}`);
        return null;
      case "field":
        return this.checkType(this.evalFieldNode(dot, node, [node], NO_FINAL), kind);
      case "variable":
        return this.checkType(this.evalVariableNode(dot, node, [], NO_FINAL), kind);
      case "pipe":
        return this.checkType(this.evalPipeline(dot, node), kind);
      case "identifier":
        return this.checkType(this.evalFunction(dot, node, node, [node], NO_FINAL), kind);
      case "chain":
        return this.checkType(this.evalChainNode(dot, node, [], NO_FINAL), kind);
    }
    // A literal: Go checks it against the parameter type at its own position.
    this.at = node;
    if (kind === "string" && node.type !== "string") this.fail(`expected string; found ${nodeString(node)}`);
    if (kind === "int" && !(node.type === "number" && Number.isInteger(node.value))) {
      this.fail(`expected integer; found ${nodeString(node)}`);
    }
    return node.value;
  }

  private checkType(value: unknown, kind: ParamKind): unknown {
    if (kind === "any") return value;
    if (value === undefined || value === null) return this.fail(`invalid value; expected ${kind}`);
    const ok = kind === "string" ? typeof value === "string" : typeof value === "number" && Number.isInteger(value);
    if (!ok) this.fail(`wrong type for value; expected ${kind}; got ${goTypeName(value)}`);
    return value;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
