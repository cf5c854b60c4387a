/**
 * Every command wharf has: names, group aliases (`container ls`, `image rm`, ...), the
 * one-line descriptions for help, and loaders that require a command's module only when
 * that command runs.
 */
import type { CommandDef } from "./command";
import { FlagSpec, renderFlagUsages } from "./flags";

type Loader = () => Promise<CommandDef>;

export interface Entry {
  short: string;
  load: Loader;
}

const load = {
  run: () => import("./commands/run"),
  attach: () => import("./commands/attach"),
  pull: () => import("./commands/pull"),
  push: () => import("./commands/push"),
  login: () => import("./commands/login"),
  lifecycle: () => import("./commands/lifecycle"),
  logs: () => import("./commands/logs"),
  inspect: () => import("./commands/inspect"),
  ps: () => import("./commands/ps"),
  images: () => import("./commands/images"),
  imageOps: () => import("./commands/image-ops"),
  system: () => import("./commands/system"),
  version: () => import("./commands/version"),
  info: () => import("./commands/info"),
  events: () => import("./commands/events"),
  top: () => import("./commands/top"),
  update: () => import("./commands/update"),
  port: () => import("./commands/port"),
  network: () => import("./commands/network"),
  volume: () => import("./commands/volume"),
  exec: () => import("./commands/exec"),
  stats: () => import("./commands/stats"),
  containerFs: () => import("./commands/container-fs"),
  cp: () => import("./commands/cp"),
  prune: () => import("./commands/prune"),
  registryServer: () => import("./commands/registry-server"),
  build: () => import("./commands/build"),
};

const RUN: Entry = { short: "Create and run a new container from an image", load: async () => (await load.run()).runCommand };
const CREATE: Entry = { short: "Create a new container", load: async () => (await load.run()).createCommand };
const ATTACH: Entry = {
  short: "Attach local standard input, output, and error streams to a running container",
  load: async () => (await load.attach()).attachCommand,
};
const PULL: Entry = { short: "Download an image from a registry", load: async () => (await load.pull()).pullCommand };
const PUSH: Entry = { short: "Upload an image to a registry", load: async () => (await load.push()).pushCommand };
const START: Entry = { short: "Start one or more stopped containers", load: async () => (await load.lifecycle()).startCommand };
const STOP: Entry = { short: "Stop one or more running containers", load: async () => (await load.lifecycle()).stopCommand };
const KILL: Entry = { short: "Kill one or more running containers", load: async () => (await load.lifecycle()).killCommand };
const RESTART: Entry = { short: "Restart one or more containers", load: async () => (await load.lifecycle()).restartCommand };
const WAIT: Entry = {
  short: "Block until one or more containers stop, then print their exit codes",
  load: async () => (await load.lifecycle()).waitCommand,
};
const RENAME: Entry = { short: "Rename a container", load: async () => (await load.lifecycle()).renameCommand };
const RM: Entry = { short: "Remove one or more containers", load: async () => (await load.lifecycle()).rmCommand };
const LOGS: Entry = { short: "Fetch the logs of a container", load: async () => (await load.logs()).logsCommand };
const PS: Entry = { short: "List containers", load: async () => (await load.ps()).psCommand };
const IMAGES: Entry = { short: "List images", load: async () => (await load.images()).imagesCommand };
const HISTORY: Entry = { short: "Show the history of an image", load: async () => (await load.images()).historyCommand };
const TAG: Entry = {
  short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
  load: async () => (await load.imageOps()).tagCommand,
};
const BUILD: Entry = { short: "Build an image from a Dockerfile", load: async () => (await load.build()).buildCommand };
const RMI: Entry = { short: "Remove one or more images", load: async () => (await load.imageOps()).rmiCommand };
const IMPORT: Entry = {
  short: "Import the contents from a tarball to create a filesystem image",
  load: async () => (await load.imageOps()).importCommand,
};
const LOAD: Entry = { short: "Load an image from a tar archive or STDIN", load: async () => (await load.imageOps()).loadCommand };
const SAVE: Entry = {
  short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
  load: async () => (await load.imageOps()).saveCommand,
};
const PAUSE: Entry = { short: "Pause all processes within one or more containers", load: async () => (await load.lifecycle()).pauseCommand };
const UNPAUSE: Entry = { short: "Unpause all processes within one or more containers", load: async () => (await load.lifecycle()).unpauseCommand };
const TOP: Entry = { short: "Display the running processes of a container", load: async () => (await load.top()).topCommand };
const UPDATE: Entry = { short: "Update configuration of one or more containers", load: async () => (await load.update()).updateCommand };
const PORT: Entry = { short: "List port mappings or a specific mapping for the container", load: async () => (await load.port()).portCommand };
const EXEC: Entry = { short: "Execute a command in a running container", load: async () => (await load.exec()).execCommand };
const STATS: Entry = { short: "Display a live stream of container(s) resource usage statistics", load: async () => (await load.stats()).statsCommand };
const DIFF: Entry = { short: "Inspect changes to files or directories on a container's filesystem", load: async () => (await load.containerFs()).diffCommand };
const EXPORT: Entry = { short: "Export a container's filesystem as a tar archive", load: async () => (await load.containerFs()).exportCommand };
const COMMIT: Entry = { short: "Create a new image from a container's changes", load: async () => (await load.containerFs()).commitCommand };
const CP: Entry = { short: "Copy files/folders between a container and the local filesystem", load: async () => (await load.cp()).cpCommand };
const EVENTS: Entry = { short: "Get real time events from the server", load: async () => (await load.events()).eventsCommand };
const INFO: Entry = { short: "Display system-wide information", load: async () => (await load.info()).infoCommand };

export const TOP_LEVEL: Record<string, Entry> = {
  run: RUN,
  attach: ATTACH,
  create: CREATE,
  start: START,
  stop: STOP,
  kill: KILL,
  restart: RESTART,
  wait: WAIT,
  rename: RENAME,
  rm: RM,
  logs: LOGS,
  inspect: { short: "Return low-level information on Docker objects", load: async () => (await load.inspect()).inspectCommand },
  ps: PS,
  images: IMAGES,
  pull: PULL,
  push: PUSH,
  login: { short: "Authenticate to a registry", load: async () => (await load.login()).loginCommand },
  logout: { short: "Log out from a registry", load: async () => (await load.login()).logoutCommand },
  history: HISTORY,
  tag: TAG,
  rmi: RMI,
  build: BUILD,
  import: IMPORT,
  load: LOAD,
  save: SAVE,
  version: { short: "Show the wharf version information", load: async () => (await load.version()).versionCommand },
  info: INFO,
  events: EVENTS,
  pause: PAUSE,
  unpause: UNPAUSE,
  top: TOP,
  update: UPDATE,
  exec: EXEC,
  stats: STATS,
  diff: DIFF,
  export: EXPORT,
  commit: COMMIT,
  cp: CP,
  port: PORT,
};

export interface Group {
  short: string;
  commands: Record<string, Entry>;
  /** Invocations that are the same command, left out of the group's help listing. */
  hidden?: string[];
}

export const GROUPS: Record<string, Group> = {
  network: {
    short: "Manage networks",
    commands: {
      connect: { short: "Connect a container to a network", load: async () => (await load.network()).networkConnectCommand },
      create: { short: "Create a network", load: async () => (await load.network()).networkCreateCommand },
      disconnect: { short: "Disconnect a container from a network", load: async () => (await load.network()).networkDisconnectCommand },
      inspect: { short: "Display detailed information on one or more networks", load: async () => (await load.network()).networkInspectCommand },
      ls: { short: "List networks", load: async () => (await load.network()).networkLsCommand },
      list: { short: "List networks", load: async () => (await load.network()).networkLsCommand },
      prune: { short: "Remove all unused networks", load: async () => (await load.network()).networkPruneCommand },
      rm: { short: "Remove one or more networks", load: async () => (await load.network()).networkRmCommand },
      remove: { short: "Remove one or more networks", load: async () => (await load.network()).networkRmCommand },
    },
    hidden: ["list", "remove"],
  },
  registry: {
    short: "Run the built-in registry server",
    commands: {
      serve: { short: "Run an OCI distribution registry server", load: async () => (await load.registryServer()).registryServeCommand },
      gc: { short: "Remove blobs that no manifest references", load: async () => (await load.registryServer()).registryGcCommand },
    },
  },
  volume: {
    short: "Manage volumes",
    commands: {
      create: { short: "Create a volume", load: async () => (await load.volume()).volumeCreateCommand },
      inspect: { short: "Display detailed information on one or more volumes", load: async () => (await load.volume()).volumeInspectCommand },
      ls: { short: "List volumes", load: async () => (await load.volume()).volumeLsCommand },
      list: { short: "List volumes", load: async () => (await load.volume()).volumeLsCommand },
      prune: { short: "Remove unused local volumes", load: async () => (await load.volume()).volumePruneCommand },
      rm: { short: "Remove one or more volumes", load: async () => (await load.volume()).volumeRmCommand },
      remove: { short: "Remove one or more volumes", load: async () => (await load.volume()).volumeRmCommand },
    },
    hidden: ["list", "remove"],
  },
  container: {
    short: "Manage containers",
    commands: {
      attach: ATTACH,
      create: CREATE,
      inspect: {
        short: "Display detailed information on one or more containers",
        load: async () => (await load.inspect()).containerInspectCommand,
      },
      kill: KILL,
      logs: LOGS,
      ls: PS,
      list: PS,
      ps: PS,
      rename: RENAME,
      restart: RESTART,
      rm: RM,
      remove: RM,
      run: RUN,
      start: START,
      stop: STOP,
      wait: WAIT,
      pause: PAUSE,
      unpause: UNPAUSE,
      top: TOP,
      update: UPDATE,
      exec: EXEC,
      stats: STATS,
      diff: DIFF,
      export: EXPORT,
      commit: COMMIT,
      cp: CP,
      port: PORT,
      prune: { short: "Remove all stopped containers", load: async () => (await load.prune()).containerPruneCommand },
    },
    hidden: ["list", "ps", "remove"],
  },
  image: {
    short: "Manage images",
    commands: {
      build: BUILD,
      history: HISTORY,
      import: IMPORT,
      pull: PULL,
      push: PUSH,
      inspect: {
        short: "Display detailed information on one or more images",
        load: async () => (await load.inspect()).imageInspectCommand,
      },
      load: LOAD,
      ls: IMAGES,
      list: IMAGES,
      prune: { short: "Remove unused images", load: async () => (await load.imageOps()).imagePruneCommand },
      rm: RMI,
      remove: RMI,
      save: SAVE,
      tag: TAG,
    },
    hidden: ["list", "remove"],
  },
  builder: {
    short: "Manage builds",
    commands: {
      build: BUILD,
      prune: { short: "Remove build cache", load: async () => (await load.build()).builderPruneCommand },
    },
  },
  system: {
    short: "Manage wharf",
    commands: {
      df: { short: "Show wharf disk usage", load: async () => (await load.system()).dfCommand },
      events: EVENTS,
      info: INFO,
      prune: { short: "Remove unused data", load: async () => (await load.prune()).systemPruneCommand },
      ping: {
        short: "Check that the daemon answers (prints OK; wharf only)",
        load: async () => (await load.system()).pingCommand,
      },
    },
  },
};

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: "config", type: "string", description: "Location of client config files (accepted, unused)" },
  { name: "context", short: "c", type: "string", description: "Name of the context to use (accepted, unused)" },
  { name: "debug", short: "D", bool: true, description: "Enable debug mode" },
  { name: "host", short: "H", type: "list", repeat: true, description: "Daemon socket to connect to" },
  {
    name: "log-level",
    short: "l",
    type: "string",
    description: 'Set the logging level ("debug", "info", "warn", "error", "fatal")',
    defaultText: '"info"',
  },
  { name: "version", short: "v", bool: true, description: "Print version information and quit" },
];

export function rootHelp(): string {
  const line = (name: string, short: string): string => `  ${name.padEnd(11)} ${short}`;
  const common = Object.entries(TOP_LEVEL).map(([name, e]) => line(name, e.short));
  const management = Object.entries(GROUPS).map(([name, g]) => line(name, g.short));
  return [
    "Usage:  wharf [OPTIONS] COMMAND",
    "",
    "A Docker-compatible container engine",
    "",
    "Commands:",
    ...common,
    "",
    "Management Commands:",
    ...management,
    "",
    "Global Options:",
    renderFlagUsages(GLOBAL_FLAGS),
    "",
    "Run 'wharf COMMAND --help' for more information on a command.",
    "",
  ].join("\n");
}

export function groupHelp(name: string, group: Group): string {
  const hidden = new Set(group.hidden ?? []);
  const lines = Object.entries(group.commands)
    .filter(([sub]) => !hidden.has(sub))
    .map(([sub, e]) => `  ${sub.padEnd(11)} ${e.short}`);
  return [
    `Usage:  wharf ${name} COMMAND`,
    "",
    group.short,
    "",
    "Commands:",
    ...lines,
    "",
    `Run 'wharf ${name} COMMAND --help' for more information on a command.`,
    "",
  ].join("\n");
}
