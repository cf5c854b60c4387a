/**
 * The parse tree of a Go text/template, in the shape of Go's text/template/parse nodes.
 * `pos` is the offset (in UTF-16 units) of the node's first token in the source; error messages
 * turn it into Go's line:byte-column.
 */

export interface TextNode {
  type: "text";
  pos: number;
  text: string;
}

export interface ActionNode {
  type: "action";
  pos: number;
  pipe: PipeNode;
}

/** if / with / range share a shape; `elseList` is the {{else}} branch. */
export interface BranchNode {
  type: "if" | "with" | "range";
  pos: number;
  pipe: PipeNode;
  list: ListNode;
  elseList?: ListNode;
}

export interface TemplateCallNode {
  type: "template";
  pos: number;
  name: string;
  pipe?: PipeNode;
}

export interface LoopControlNode {
  type: "break" | "continue";
  pos: number;
}

export interface ListNode {
  type: "list";
  pos: number;
  nodes: Node[];
}

export type Node = TextNode | ActionNode | BranchNode | TemplateCallNode | LoopControlNode | ListNode;

/** `$x := cmd | cmd`, or a parenthesised pipeline used as an argument. */
export interface PipeNode {
  type: "pipe";
  pos: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}

export interface CommandNode {
  type: "command";
  pos: number;
  args: ArgNode[];
}

/** `.A.B` */
export interface FieldNode {
  type: "field";
  pos: number;
  ident: string[];
}

/** `$x.A.B` ($x is ident[0]) */
export interface VariableNode {
  type: "variable";
  pos: number;
  ident: string[];
}

/** `(pipeline).A.B` */
export interface ChainNode {
  type: "chain";
  pos: number;
  node: ArgNode;
  fields: string[];
}

/** A function name: `printf`, `json`. */
export interface IdentifierNode {
  type: "identifier";
  pos: number;
  name: string;
}

export interface DotNode {
  type: "dot";
  pos: number;
}

export interface NilNode {
  type: "nil";
  pos: number;
}

export interface BoolNode {
  type: "bool";
  pos: number;
  value: boolean;
}

export interface NumberNode {
  type: "number";
  pos: number;
  value: number;
  /** Source text, for error messages. */
  text: string;
}

export interface StringNode {
  type: "string";
  pos: number;
  value: string;
  /** Source text including quotes, for error messages. */
  quoted: string;
}

export type ArgNode =
  | FieldNode
  | VariableNode
  | ChainNode
  | IdentifierNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;

/** Templates by name; the one named "" is the top level. */
export type TreeSet = Map<string, ListNode>;

/** Go's String() of a node: how error messages show "at <...>". */
export function nodeString(node: ArgNode | CommandNode | Node): string {
  switch (node.type) {
    case "field":
      return "." + node.ident.join(".");
    case "variable":
      return node.ident.join(".");
    case "chain": {
      const inner = node.node.type === "pipe" ? `(${nodeString(node.node)})` : nodeString(node.node);
      return inner + "." + node.fields.join(".");
    }
    case "identifier":
      return node.name;
    case "dot":
      return ".";
    case "nil":
      return "nil";
    case "bool":
      return String(node.value);
    case "number":
      return node.text;
    case "string":
      return node.quoted;
    case "command":
      return node.args.map((a) => (a.type === "pipe" ? `(${nodeString(a)})` : nodeString(a))).join(" ");
    case "pipe": {
      const decl = node.decl.length ? node.decl.map(nodeString).join(", ") + (node.isAssign ? " = " : " := ") : "";
      return decl + node.cmds.map(nodeString).join(" | ");
    }
    case "template":
      return node.pipe ? `{{template "${node.name}" ${nodeString(node.pipe)}}}` : `{{template "${node.name}"}}`;
    case "action":
      return `{{${nodeString(node.pipe)}}}`;
    case "text":
      return node.text;
    case "list":
      return node.nodes.map(nodeString).join("");
    case "break":
    case "continue":
      return `{{${node.type}}}`;
    default:
      return `{{${node.type} ${nodeString(node.pipe)}}}`;
  }
}
