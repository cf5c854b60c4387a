/**
 * The one error type the template engine throws, for syntax and execution errors alike.
 * Messages keep Go's shape ("template: :1:2: executing "" at <.Foo>: ...") so users see
 * what docker would show.
 */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

/** Go's 1-based line of a source offset. */
export function lineOf(source: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

/** Go's "line:column", the column being the byte offset (0-based) within the line. */
export function locationOf(source: string, pos: number): string {
  const lineStart = source.lastIndexOf("\n", pos - 1) + 1;
  const column = Buffer.byteLength(source.slice(lineStart, pos), "utf8");
  return `${lineOf(source, pos)}:${column}`;
}
