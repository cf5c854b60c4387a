/** `login` and `logout`: registry credentials checked by the daemon, kept where docker keeps them. */
import type { CliIO, CommandDef } from "../command";
import { StatusError } from "../errors";
import { removeCredentials, storeCredentials } from "../docker-config";
import { registryDomain } from "../../lib/registry-domain";

async function readAll(io: CliIO): Promise<string> {
  let text = "";
  for await (const chunk of io.stdin) text += (chunk as Buffer).toString("utf8");
  return text;
}

/** Reads one line from a terminal, echoing nothing when `secret` (the password prompt). */
async function prompt(io: CliIO, label: string, secret: boolean): Promise<string> {
  io.stdout.write(label);
  const input = io.stdin;
  if (secret) input.setRawMode?.(true);
  try {
    let line = "";
    for await (const chunk of input) {
      for (const ch of (chunk as Buffer).toString("utf8")) {
        if (ch === "\r" || ch === "\n") return line;
        if (ch === "\u0003") throw new StatusError("", 130);
        if (ch === "\u007f") line = line.slice(0, -1);
        else line += ch;
      }
    }
    return line;
  } finally {
    if (secret) {
      input.setRawMode?.(false);
      io.stdout.write("\n");
    }
    input.pause();
  }
}

export const loginCommand: CommandDef = {
  usage: "[OPTIONS] [SERVER]",
  short: "Authenticate to a registry",
  aliases: ["login"],
  flags: [
    { name: "password", short: "p", type: "string", description: "Password or Personal Access Token (PAT)" },
    { name: "password-stdin", bool: true, description: "Take the Password or Personal Access Token (PAT) from stdin" },
    { name: "username", short: "u", type: "string", description: "Username" },
  ],
  args: { max: 1 },
  run: async (ctx, flags, [server]) => {
    const domain = registryDomain(server);
    let username = flags.string("username");
    let password = flags.string("password");
    if (password) ctx.io.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    if (flags.bool("password-stdin")) {
      if (password) throw new StatusError("--password and --password-stdin are mutually exclusive", 1);
      if (!username) throw new StatusError("Must provide --username with --password-stdin", 1);
      password = (await readAll(ctx.io)).replace(/\r?\n$/, "");
    }
    if (!username || !password) {
      if (!ctx.io.stdin.isTTY) throw new StatusError("Error: Cannot perform an interactive login from a non TTY device", 1);
      if (!username) username = (await prompt(ctx.io, "Username: ", false)).trim();
      if (!username) throw new StatusError("Error: Non-null Username Required", 1);
      if (!password) password = await prompt(ctx.io, "Password: ", true);
      if (!password) throw new StatusError("Error: Password Required", 1);
    }
    await ctx.client().json("POST", "/auth", { body: { username, password, serveraddress: domain === "docker.io" ? "https://index.docker.io/v1/" : domain } });
    const file = storeCredentials(ctx.io.env, domain, { username, password });
    ctx.io.stderr.write(`WARNING! Your credentials are stored unencrypted in '${file}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`);
    ctx.io.stdout.write("Login Succeeded\n");
    return 0;
  },
};

export const logoutCommand: CommandDef = {
  usage: "[SERVER]",
  short: "Log out from a registry",
  aliases: ["logout"],
  flags: [],
  args: { max: 1 },
  run: async (ctx, _flags, [server]) => {
    const domain = registryDomain(server);
    const shown = domain === "docker.io" ? "https://index.docker.io/v1/" : domain;
    if (removeCredentials(ctx.io.env, domain)) ctx.io.stdout.write(`Removing login credentials for ${shown}\n`);
    else ctx.io.stdout.write(`Not logged in to ${shown}\n`);
    return 0;
  },
};
