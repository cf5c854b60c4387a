/**
 * Builds the parse tree of a Go text/template from the lexer's tokens, following the grammar
 * and checks of Go's text/template/parse: pipelines and declarations, control structures,
 * define/template/block, undefined functions and variables, {{break}} outside {{range}}.
 */
import type {
  ArgNode,
  BranchNode,
  CommandNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  StringNode,
  TemplateCallNode,
  TreeSet,
} from "./template-ast";
import { lineOf, TemplateError } from "./template-error";
import { lex, type Token } from "./template-lexer";

/** {{end}} and {{else}} end a list; they never stay in the tree. */
interface EndMarker {
  type: "end" | "else";
  pos: number;
}

type ListItem = Node | EndMarker;

function isMarker(n: ListItem): n is EndMarker {
  return n.type === "end" || n.type === "else";
}

function markerString(m: EndMarker): string {
  return `{{${m.type}}}`;
}

/** Go's item.String(): how a token is named in "unexpected ..." messages. */
function tokenString(t: Token): string {
  if (t.kind === "eof") return "EOF";
  if (t.kind === "error") return t.value;
  if (t.kind === "keyword" || t.kind === "dot" || t.kind === "nil") return `<${t.value}>`;
  const runes = Array.from(t.value);
  if (runes.length > 10) return JSON.stringify(runes.slice(0, 10).join("")) + "...";
  return JSON.stringify(t.value);
}

/** Go's strconv.Unquote for "...", `...` and '...' literals; undefined when malformed. */
export function unquote(text: string): string | undefined {
  const q = text[0];
  if (text.length < 2 || text[text.length - 1] !== q) return undefined;
  const body = text.slice(1, -1);
  if (q === "`") return body.includes("`") ? undefined : body.replace(/\r/g, "");
  // Escapes may produce raw bytes (\xff); collect UTF-8 bytes and decode once.
  const bytes: number[] = [];
  const pushText = (s: string): void => {
    for (const b of Buffer.from(s, "utf8")) bytes.push(b);
  };
  const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\" };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === q || c === "\n") return undefined;
    if (c !== "\\") {
      pushText(c);
      continue;
    }
    const e = body[++i];
    if (e === undefined) return undefined;
    if (simple[e] !== undefined) pushText(simple[e]);
    else if (e === q) pushText(q);
    else if (e === "x") {
      const hex = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (e >= "0" && e <= "7") {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) return undefined;
      bytes.push(parseInt(oct, 8));
      i += 2;
    } else if (e === "u" || e === "U") {
      const n = e === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      const code = parseInt(hex, 16);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        return undefined;
      }
      pushText(String.fromCodePoint(code));
      i += n;
    } else return undefined;
  }
  const s = Buffer.from(bytes).toString("utf8");
  if (q === "'" && Array.from(s).length !== 1) return undefined;
  return s;
}

/** Go's number literal syntax: ints in any base, floats, char constants. */
function parseNumber(token: Token): number | undefined {
  if (token.kind === "charConstant") {
    const s = unquote(token.value);
    return s === undefined ? undefined : (s.codePointAt(0) as number);
  }
  let text = token.value;
  if (/_/.test(text)) {
    // Underscores only between digits (or after a base prefix).
    if (/(^[+-]?_)|_$|__|_\.|\._|_[eEpP]/.test(text)) return undefined;
    text = text.replace(/_/g, "");
  }
  const m = /^([+-]?)(.*)$/.exec(text) as RegExpExecArray;
  const sign = m[1] === "-" ? -1 : 1;
  const body = m[2];
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^0[oO][0-7]+$/.test(body)) return sign * parseInt(body.slice(2), 8);
  if (/^0[bB][01]+$/.test(body)) return sign * parseInt(body.slice(2), 2);
  if (/^0[0-7]+$/.test(body)) return sign * parseInt(body, 8); // a leading 0 means octal
  if (/^0[xX]/.test(body)) return undefined; // hex floats are not worth supporting
  if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) return sign * Number(body);
  return undefined;
}

export interface ParseResult {
  trees: TreeSet;
  /** The top-level template's name (the `name` parsed under). */
  root: string;
}

/**
 * Parses `source` into its templates: "" for the top level plus any {{define}}d ones.
 * `hasFunction` says which identifiers are callable.
 */
export function parse(source: string, name: string, hasFunction: (name: string) => boolean): ParseResult {
  const trees: TreeSet = new Map();
  new Parser(source, name, hasFunction, trees).parseTop();
  return { trees, root: name };
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  private vars: string[] = ["$"];
  private rangeDepth = 0;
  /** The last token handed out, for the line number in error messages. */
  private last: Token | undefined;

  constructor(
    private readonly source: string,
    private readonly name: string,
    private readonly hasFunction: (name: string) => boolean,
    private readonly trees: TreeSet,
  ) {
    this.tokens = lex(source);
  }

  // --- token stream -------------------------------------------------------------------------

  private next(): Token {
    const t = this.tokens[Math.min(this.i, this.tokens.length - 1)];
    this.i++;
    this.last = t;
    if (t.kind === "error") this.fail(t.value);
    return t;
  }

  private backup(n = 1): void {
    this.i -= n;
  }

  private peek(): Token {
    const t = this.next();
    this.backup();
    return t;
  }

  private nextNonSpace(): Token {
    let t = this.next();
    while (t.kind === "space") t = this.next();
    return t;
  }

  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private fail(message: string): never {
    const line = lineOf(this.source, this.last ? this.last.pos : 0);
    throw new TemplateError(`template: ${this.name}:${line}: ${message}`);
  }

  private unexpected(t: Token, context: string): never {
    if (t.kind === "error") this.fail(t.value);
    this.fail(`unexpected ${tokenString(t)} in ${context}`);
  }

  private expect(kind: Token["kind"], context: string): Token {
    const t = this.nextNonSpace();
    if (t.kind !== kind) this.unexpected(t, context);
    return t;
  }

  private isKeyword(t: Token, word: string): boolean {
    return t.kind === "keyword" && t.value === word;
  }

  // --- templates ----------------------------------------------------------------------------

  parseTop(): void {
    const root: ListNode = { type: "list", pos: 0, nodes: [] };
    while (this.peek().kind !== "eof") {
      if (this.peek().kind === "leftDelim") {
        const save = this.i;
        this.next();
        if (this.isKeyword(this.nextNonSpace(), "define")) {
          this.parseDefinition();
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (isMarker(n)) this.fail(`unexpected ${markerString(n)}`);
      root.nodes.push(n);
    }
    this.add(this.name, root);
  }

  /** Records a template; an empty body never replaces nor conflicts with a real one. */
  private add(name: string, list: ListNode): void {
    const existing = this.trees.get(name);
    if (existing === undefined || isEmptyTree(existing)) this.trees.set(name, list);
    else if (!isEmptyTree(list)) this.fail(`template: multiple definition of template "${name}"`);
  }

  /** {{define "name"}} ... {{end}}; the `{{define` has been read. */
  private parseDefinition(): void {
    const context = "define clause";
    const nameToken = this.nextNonSpace();
    const name = this.templateName(nameToken, context);
    this.expect("rightDelim", context);
    const list = this.withFreshScope(() => {
      const [body, end] = this.itemList();
      if (end.type !== "end") this.fail(`unexpected ${markerString(end)} in ${context}`);
      return body;
    });
    this.add(name, list);
  }

  /** A defined template's body sees only `$` and is outside any range. */
  private withFreshScope<T>(parseBody: () => T): T {
    const [vars, depth] = [this.vars, this.rangeDepth];
    this.vars = ["$"];
    this.rangeDepth = 0;
    try {
      return parseBody();
    } finally {
      this.vars = vars;
      this.rangeDepth = depth;
    }
  }

  private templateName(t: Token, context: string): string {
    if (t.kind !== "string" && t.kind !== "rawString") this.unexpected(t, context);
    const s = unquote(t.value);
    if (s === undefined) this.fail("invalid syntax");
    return s;
  }

  /** Nodes up to {{end}} or {{else}}, which is returned too. */
  private itemList(): [ListNode, EndMarker] {
    const list: ListNode = { type: "list", pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().kind !== "eof") {
      const n = this.textOrAction();
      if (isMarker(n)) return [list, n];
      list.nodes.push(n);
    }
    this.fail("unexpected EOF");
  }

  private textOrAction(): ListItem {
    const t = this.nextNonSpace();
    if (t.kind === "text") return { type: "text", pos: t.pos, text: t.value };
    if (t.kind === "leftDelim") return this.action();
    this.unexpected(t, "input");
  }

  private action(): ListItem {
    const t = this.nextNonSpace();
    if (t.kind === "keyword") {
      switch (t.value) {
        case "block":
          return this.blockControl();
        case "break":
        case "continue":
          return this.loopControl(t);
        case "else":
          return this.elseControl();
        case "end":
          return { type: "end", pos: this.expect("rightDelim", "end").pos };
        case "if":
        case "range":
        case "with":
          return this.branchControl(t.value);
        case "template":
          return this.templateControl();
      }
    }
    this.backup();
    const pos = this.peek().pos;
    // Variables declared here persist until the enclosing {{end}}.
    return { type: "action", pos, pipe: this.pipeline("command", "rightDelim") };
  }

  private loopControl(t: Token): Node {
    const word = t.value as "break" | "continue";
    const after = this.nextNonSpace();
    if (after.kind !== "rightDelim") this.unexpected(after, `{{${word}}}`);
    if (this.rangeDepth === 0) this.fail(`{{${word}}} outside {{range}}`);
    return { type: word, pos: t.pos };
  }

  private elseControl(): EndMarker {
    const next = this.peekNonSpace();
    // "else if" / "else with": leave the keyword for branchControl to chain.
    if (this.isKeyword(next, "if") || this.isKeyword(next, "with")) return { type: "else", pos: next.pos };
    return { type: "else", pos: this.expect("rightDelim", "else").pos };
  }

  private branchControl(context: "if" | "range" | "with"): BranchNode {
    const savedVars = this.vars.length;
    try {
      const pipe = this.pipeline(context, "rightDelim");
      if (context === "range") this.rangeDepth++;
      const [list, next] = this.itemList();
      if (context === "range") this.rangeDepth--;
      let elseList: ListNode | undefined;
      if (next.type === "else") {
        const after = this.peek();
        if ((context === "if" || context === "with") && this.isKeyword(after, context)) {
          // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} with one shared {{end}}.
          this.next();
          elseList = { type: "list", pos: next.pos, nodes: [this.branchControl(context)] };
        } else {
          let end: EndMarker;
          [elseList, end] = this.itemList();
          if (end.type !== "end") this.fail(`expected end; found ${markerString(end)}`);
        }
      }
      return { type: context, pos: pipe.pos, pipe, list, elseList };
    } finally {
      this.vars.length = savedVars;
    }
  }

  private templateControl(): TemplateCallNode {
    const context = "template clause";
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().kind !== "rightDelim") {
      this.backup();
      pipe = this.pipeline(context, "rightDelim");
    }
    return { type: "template", pos: t.pos, name, pipe };
  }

  /** {{block "name" pipeline}} body {{end}} defines "name" and calls it. */
  private blockControl(): TemplateCallNode {
    const context = "block clause";
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    const pipe = this.pipeline(context, "rightDelim");
    const body = this.withFreshScope(() => {
      const [list, end] = this.itemList();
      if (end.type !== "end") this.fail(`unexpected ${markerString(end)} in ${context}`);
      return list;
    });
    this.add(name, body);
    return { type: "template", pos: t.pos, name, pipe };
  }

  // --- pipelines ----------------------------------------------------------------------------

  private pipeline(context: string, end: "rightDelim" | "rightParen"): PipeNode {
    const pipe: PipeNode = { type: "pipe", pos: this.peekNonSpace().pos, isAssign: false, decl: [], cmds: [] };
    this.declarations(pipe, context);
    for (;;) {
      const t = this.nextNonSpace();
      if (t.kind === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.kind) {
        case "bool":
        case "charConstant":
        case "dot":
        case "field":
        case "identifier":
        case "number":
        case "nil":
        case "rawString":
        case "string":
        case "variable":
        case "leftParen":
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  /** `$x :=`, `$x =`, or in range `$i, $v :=`. */
  private declarations(pipe: PipeNode, context: string): void {
    for (;;) {
      const v = this.peekNonSpace();
      if (v.kind !== "variable") return;
      const start = this.i;
      this.nextNonSpace();
      const next = this.nextNonSpace();
      if (next.kind === "assign" || next.kind === "declare") {
        pipe.isAssign = next.kind === "assign";
        pipe.decl.push({ type: "variable", pos: v.pos, ident: [v.value] });
        this.vars.push(v.value);
        return;
      }
      if (next.kind === "char" && next.value === ",") {
        pipe.decl.push({ type: "variable", pos: v.pos, ident: [v.value] });
        this.vars.push(v.value);
        if (context === "range" && pipe.decl.length < 2) {
          const k = this.peekNonSpace().kind;
          if (k === "variable" || k === "rightDelim" || k === "rightParen") continue;
          this.fail("range can only initialize variables");
        }
        this.fail(`too many declarations in ${context}`);
      }
      // Not a declaration: $x is the pipeline's first operand.
      this.i = start;
      return;
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const first = c.args[0].type;
      if (first === "bool" || first === "dot" || first === "nil" || first === "number" || first === "string") {
        this.fail(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: "command", pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.kind === "space") continue;
      if (t.kind === "rightDelim" || t.kind === "rightParen") this.backup();
      else if (t.kind !== "pipe") this.unexpected(t, "operand");
      break;
    }
    if (cmd.args.length === 0) this.fail("empty command");
    return cmd;
  }

  /** A term followed by any number of .Field accesses. */
  private operand(): ArgNode | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().kind !== "field") return node;
    const pos = this.peek().pos; // Go reports chains at their first .Field
    const fields: string[] = [];
    while (this.peek().kind === "field") fields.push(this.next().value.slice(1));
    switch (node.type) {
      case "field":
        return { type: "field", pos, ident: [...node.ident, ...fields] };
      case "variable":
        return { type: "variable", pos, ident: [...node.ident, ...fields] };
      case "bool":
      case "string":
      case "number":
      case "nil":
      case "dot":
        return this.fail(`unexpected . after term ${JSON.stringify(nodeText(node))}`);
      default:
        return { type: "chain", pos, node, fields };
    }
  }

  private term(): ArgNode | undefined {
    const t = this.nextNonSpace();
    switch (t.kind) {
      case "identifier":
        if (!this.hasFunction(t.value)) this.fail(`function ${JSON.stringify(t.value)} not defined`);
        return { type: "identifier", pos: t.pos, name: t.value };
      case "dot":
        return { type: "dot", pos: t.pos };
      case "nil":
        return { type: "nil", pos: t.pos };
      case "variable":
        if (!this.vars.includes(t.value)) this.fail(`undefined variable ${JSON.stringify(t.value)}`);
        return { type: "variable", pos: t.pos, ident: [t.value] };
      case "field":
        return { type: "field", pos: t.pos, ident: [t.value.slice(1)] };
      case "bool":
        return { type: "bool", pos: t.pos, value: t.value === "true" };
      case "number":
      case "charConstant": {
        const value = parseNumber(t);
        if (value === undefined && t.kind === "charConstant") this.fail(`malformed character constant: ${t.value}`);
        if (value === undefined) this.fail(`illegal number syntax: ${JSON.stringify(t.value)}`);
        return { type: "number", pos: t.pos, value, text: t.value } satisfies NumberNode;
      }
      case "leftParen":
        return this.pipeline("parenthesized pipeline", "rightParen");
      case "string":
      case "rawString": {
        const value = unquote(t.value);
        if (value === undefined) this.fail("invalid syntax");
        return { type: "string", pos: t.pos, value, quoted: t.value } satisfies StringNode;
      }
    }
    this.backup();
    return undefined;
  }
}

function nodeText(node: ArgNode): string {
  switch (node.type) {
    case "string":
      return node.quoted;
    case "number":
      return node.text;
    case "bool":
      return String(node.value);
    case "nil":
      return "nil";
    default:
      return ".";
  }
}

/** Only whitespace text: such a tree neither overrides nor conflicts with another. */
function isEmptyTree(list: ListNode): boolean {
  return list.nodes.every((n) => (n.type === "text" ? n.text.trim() === "" : n.type === "list" && isEmptyTree(n)));
}
