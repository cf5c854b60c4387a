import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/**
 * A real terminal for TTY tests: a private tmux server (its own socket, so nothing else's
 * sessions are touched) running one command in a window of a given size. Keys go in with
 * send-keys, the screen comes out with capture-pane.
 */
export interface Terminal {
  /** tmux key names: "Enter", "C-c", "BSpace", or literal text. Each call is one write. */
  keys(...keys: string[]): void;
  /** Text typed literally (no key-name lookup), then Enter. */
  line(text: string): void;
  screen(): string;
  /** Polls the screen until `pattern` shows (bounded); returns the screen. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  resize(width: number, height: number): void;
  /** "ROWS COLS" of the pane, as `stty size` inside should print it. */
  paneSize(): string;
  close(): void;
}

const TMUX = "tmux";

export function openTerminal(command: string, size: { width: number; height: number }): Terminal {
  const socket = `wharf-test-${randomBytes(4).toString("hex")}`;
  const tmux = (...args: string[]): string => execFileSync(TMUX, ["-L", socket, ...args], { encoding: "utf8" });
  // After the command ends the pane stays, with its exit status printed, until close().
  tmux("new-session", "-d", "-s", "t", "-x", String(size.width), "-y", String(size.height), `${command}; echo "EXIT=$?"; sleep 600`);
  tmux("set-option", "-t", "t", "status", "off");
  const screen = (): string => tmux("capture-pane", "-p", "-t", "t");
  return {
    keys: (...keys) => void tmux("send-keys", "-t", "t", ...keys),
    line: (text) => {
      tmux("send-keys", "-t", "t", "-l", text);
      tmux("send-keys", "-t", "t", "Enter");
    },
    screen,
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        last = screen();
        if (pattern.test(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`terminal never showed ${pattern}; screen:\n${last}`);
    },
    resize: (width, height) => void tmux("resize-window", "-t", "t", "-x", String(width), "-y", String(height)),
    paneSize: () => tmux("display-message", "-p", "-t", "t", "#{pane_height} #{pane_width}").trim(),
    close: () => {
      try {
        tmux("kill-server");
      } catch {
        // already gone
      }
    },
  };
}
