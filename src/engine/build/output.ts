import type { BuildMessage } from "./types";

interface StageWriter {
  index: number;
  buffer: string[];
  finished: boolean;
}

/**
 * The build's output when stages run side by side: the classic builder's stream has no room for
 * interleaving (the docker CLI prints `stream` text as is), so one running stage at a time owns
 * the stream and writes live; the others keep their lines and hand them over as one group when
 * they take the stream over (the owner finished). Each stage's steps keep their `Step N/M` numbers.
 */
export class BuildOutput {
  private readonly active: StageWriter[] = [];
  private owner: StageWriter | undefined;

  constructor(
    private readonly out: (m: BuildMessage) => void,
    private readonly quiet: boolean,
  ) {}

  /** Text outside any stage (the final lines). */
  emit(text: string): void {
    if (!this.quiet) this.out({ stream: text });
  }

  message(m: BuildMessage): void {
    this.out(m);
  }

  /** A stage starts: its writer streams live if no other stage does, else buffers. */
  stage(index: number): { emit: (text: string) => void; done: () => void } {
    const w: StageWriter = { index, buffer: [], finished: false };
    this.active.push(w);
    if (!this.owner) this.owner = w;
    return {
      emit: (text: string) => {
        if (this.owner === w) this.emit(text);
        else w.buffer.push(text);
      },
      done: () => this.finish(w),
    };
  }

  private finish(w: StageWriter): void {
    w.finished = true;
    if (this.owner !== w) return;
    this.active.splice(this.active.indexOf(w), 1);
    this.owner = undefined;
    // Stages that finished meanwhile go out whole, then the next running one takes over live.
    while (this.active.length) {
      const next = this.active[0];
      for (const text of next.buffer) this.emit(text);
      next.buffer = [];
      if (!next.finished) {
        this.owner = next;
        return;
      }
      this.active.shift();
    }
  }
}
