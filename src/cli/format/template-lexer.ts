/**
 * Splits a Go text/template source into tokens, following Go's text/template/parse lexer:
 * text outside `{{ }}`, trim markers (`{{- ` and ` -}}`), comments, and the tokens inside an
 * action. A lexical error becomes an "error" token so the parser reports it in source order.
 */

export type TokenKind =
  | "text"
  | "leftDelim"
  | "rightDelim"
  | "space"
  | "field" // .Name
  | "variable" // $ or $name
  | "identifier" // function name
  | "keyword" // block break continue define else end if range template with
  | "dot"
  | "bool"
  | "nil"
  | "number"
  | "charConstant" // 'a'
  | "string" // "..."
  | "rawString" // `...`
  | "pipe"
  | "declare" // :=
  | "assign" // =
  | "leftParen"
  | "rightParen"
  | "char" // any other printable ASCII character, e.g. ","
  | "eof"
  | "error";

export interface Token {
  kind: TokenKind;
  /** Source text of the token; for "error" the message. */
  value: string;
  pos: number;
}

const KEYWORDS = new Set(["block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"]);
const SPACE = " \t\r\n";

function isSpace(c: string | undefined): boolean {
  return c !== undefined && c !== "" && SPACE.includes(c);
}

function isAlphaNumeric(c: string | undefined): boolean {
  return c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);
}

/** Go's %#U: U+0021 '!' */
function describeChar(c: string): string {
  const code = (c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, "0");
  return `U+${code} '${c}'`;
}

export function lex(source: string): Token[] {
  return new Lexer(source).run();
}

class Lexer {
  private pos = 0;
  private start = 0;
  private parenDepth = 0;
  private readonly tokens: Token[] = [];

  constructor(private readonly src: string) {}

  run(): Token[] {
    // Each step returns false once an error or EOF token has been emitted.
    while (this.lexText() && this.lexAction()) {
      // keep going
    }
    return this.tokens;
  }

  private emit(kind: TokenKind): void {
    this.tokens.push({ kind, value: this.src.slice(this.start, this.pos), pos: this.start });
    this.start = this.pos;
  }

  private error(message: string): false {
    this.tokens.push({ kind: "error", value: message, pos: this.start });
    return false;
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  /** `{{- ` : a dash and a space right after the delimiter. */
  private hasLeftTrim(at: number): boolean {
    return this.src[at] === "-" && isSpace(this.src[at + 1]);
  }

  /** ` -}}` at `at`, or plain `}}`: returns [isDelimiter, trims]. */
  private atRightDelim(at: number): [boolean, boolean] {
    if (isSpace(this.src[at]) && this.src[at + 1] === "-" && this.src.startsWith("}}", at + 2)) return [true, true];
    return [this.src.startsWith("}}", at), false];
  }

  /** Text up to the next `{{`; returns false at end of input. */
  private lexText(): boolean {
    const open = this.src.indexOf("{{", this.pos);
    if (open < 0) {
      this.pos = this.src.length;
      if (this.pos > this.start) this.emit("text");
      this.tokens.push({ kind: "eof", value: "", pos: this.pos });
      return false;
    }
    let end = open;
    if (this.hasLeftTrim(open + 2)) {
      while (end > this.start && isSpace(this.src[end - 1])) end--;
    }
    if (end > this.start) {
      this.pos = end;
      this.emit("text");
    }
    this.pos = open;
    this.start = open;
    return true;
  }

  /** From `{{` through the matching `}}`; returns false on error. */
  private lexAction(): boolean {
    const trimmedLeft = this.hasLeftTrim(this.pos + 2);
    const afterMarker = trimmedLeft ? 2 : 0;
    if (this.src.startsWith("/*", this.pos + 2 + afterMarker)) {
      this.pos += 2 + afterMarker;
      this.start = this.pos;
      return this.lexComment();
    }
    this.pos += 2;
    this.emit("leftDelim");
    this.pos += afterMarker;
    this.start = this.pos;
    this.parenDepth = 0;
    for (;;) {
      const [delim, trims] = this.atRightDelim(this.pos);
      if (delim) {
        if (this.parenDepth > 0) return this.error("unclosed left paren");
        return this.lexRightDelim(trims);
      }
      if (!this.lexInsideAction()) return false;
    }
  }

  private lexRightDelim(trims: boolean): boolean {
    if (trims) {
      this.pos += 2; // the space and the dash
      this.start = this.pos;
    }
    this.pos += 2;
    this.emit("rightDelim");
    if (trims) {
      while (isSpace(this.src[this.pos])) this.pos++;
      this.start = this.pos;
    }
    return true;
  }

  private lexComment(): boolean {
    const close = this.src.indexOf("*/", this.pos + 2);
    if (close < 0) return this.error("unclosed comment");
    this.pos = close + 2;
    const [delim, trims] = this.atRightDelim(this.pos);
    if (!delim) return this.error("comment ends before closing delimiter");
    // Comments produce no token; only the delimiter (and its trimming) matters.
    this.pos += (trims ? 2 : 0) + 2;
    if (trims) while (isSpace(this.src[this.pos])) this.pos++;
    this.start = this.pos;
    return true;
  }

  /** One token inside an action. */
  private lexInsideAction(): boolean {
    const c = this.src[this.pos];
    if (c === undefined) return this.error("unclosed action");
    if (isSpace(c)) {
      // Spaces up to (not including) a ` -}}` trim marker.
      // (lexAction has already ruled out a ` -}}` here, so at least one space is consumed.)
      while (isSpace(this.src[this.pos]) && !this.atRightDelim(this.pos)[1]) this.pos++;
      this.emit("space");
      return true;
    }
    this.pos++;
    switch (c) {
      case "=":
        this.emit("assign");
        return true;
      case ":":
        if (this.src[this.pos] !== "=") return this.error("expected :=");
        this.pos++;
        this.emit("declare");
        return true;
      case "|":
        this.emit("pipe");
        return true;
      case '"':
        return this.lexQuote();
      case "`":
        return this.lexRawQuote();
      case "'":
        return this.lexCharConstant();
      case "$":
        return this.lexFieldOrVariable("variable");
      case "(":
        this.parenDepth++;
        this.emit("leftParen");
        return true;
      case ")":
        this.parenDepth--;
        if (this.parenDepth < 0) return this.error("unexpected right paren");
        this.emit("rightParen");
        return true;
    }
    if (c === "." && !(this.peek() !== undefined && /[0-9]/.test(this.peek() as string))) {
      return this.lexFieldOrVariable("field");
    }
    if (c === "." || c === "+" || c === "-" || (c >= "0" && c <= "9")) {
      this.pos--;
      return this.lexNumber();
    }
    if (isAlphaNumeric(c)) {
      this.pos--;
      return this.lexIdentifier();
    }
    const code = c.charCodeAt(0);
    if (code >= 0x20 && code < 0x7f) {
      this.emit("char");
      return true;
    }
    const full = String.fromCodePoint(this.src.codePointAt(this.pos - 1) as number);
    return this.error(`unrecognized character in action: ${describeChar(full)}`);
  }

  /** After a term: space, end of action, or one of . , | : ( ) */
  private atTerminator(): boolean {
    const c = this.src[this.pos];
    if (c === undefined || isSpace(c) || ".,|:()".includes(c)) return true;
    return this.src.startsWith("}}", this.pos);
  }

  private lexFieldOrVariable(kind: "field" | "variable"): boolean {
    if (this.atTerminator()) {
      this.emit(kind === "variable" ? "variable" : "dot");
      return true;
    }
    while (isAlphaNumeric(this.src[this.pos])) this.pos++;
    if (!this.atTerminator()) return this.error(`bad character ${describeChar(this.src[this.pos])}`);
    this.emit(kind);
    return true;
  }

  private lexIdentifier(): boolean {
    while (isAlphaNumeric(this.src[this.pos])) this.pos++;
    if (!this.atTerminator()) return this.error(`bad character ${describeChar(this.src[this.pos])}`);
    const word = this.src.slice(this.start, this.pos);
    if (KEYWORDS.has(word)) this.emit("keyword");
    else if (word === "true" || word === "false") this.emit("bool");
    else if (word === "nil") this.emit("nil");
    else this.emit("identifier");
    return true;
  }

  private lexNumber(): boolean {
    const rest = this.src.slice(this.pos);
    // Go's scanNumber: sign, base prefix, digits with underscores, fraction, exponent.
    const m =
      /^[+-]?(0[xX][0-9a-fA-F_]*(\.[0-9a-fA-F_]*)?([pP][+-]?[0-9_]*)?|0[oO][0-7_]*|0[bB][01_]*|[0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9_]*)?)/.exec(
        rest,
      ) as RegExpExecArray;
    this.pos += m[0].length;
    if (isAlphaNumeric(this.src[this.pos])) {
      this.pos++;
      return this.error(`bad number syntax: "${this.src.slice(this.start, this.pos)}"`);
    }
    const c = this.src[this.pos];
    if (c === "+" || c === "-") {
      // Go would read a complex number (1+2i) here; we do not support those.
      this.pos++;
      while (/[0-9a-zA-Z_.]/.test(this.src[this.pos] ?? "")) this.pos++;
      return this.error(`bad number syntax: "${this.src.slice(this.start, this.pos)}"`);
    }
    this.emit("number");
    return true;
  }

  private lexQuote(): boolean {
    for (;;) {
      const c = this.src[this.pos++];
      if (c === "\\" && this.src[this.pos] !== undefined && this.src[this.pos] !== "\n") {
        this.pos++;
        continue;
      }
      if (c === undefined || c === "\n") return this.error("unterminated quoted string");
      if (c === '"') break;
    }
    this.emit("string");
    return true;
  }

  private lexRawQuote(): boolean {
    const close = this.src.indexOf("`", this.pos);
    if (close < 0) return this.error("unterminated raw quoted string");
    this.pos = close + 1;
    this.emit("rawString");
    return true;
  }

  private lexCharConstant(): boolean {
    for (;;) {
      const c = this.src[this.pos++];
      if (c === "\\" && this.src[this.pos] !== undefined && this.src[this.pos] !== "\n") {
        this.pos++;
        continue;
      }
      if (c === undefined || c === "\n") return this.error("unterminated character constant");
      if (c === "'") break;
    }
    this.emit("charConstant");
    return true;
  }
}
