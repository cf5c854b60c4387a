import { z } from "zod";

/**
 * The body of POST /containers/create as Docker clients send it. Clients send many fields as
 * null, so everything is nullable; fields the engine does not act on yet pass through and
 * are kept in the stored HostConfig so inspect shows what was asked for.
 */
const nullish = <T extends z.ZodTypeAny>(t: T) => t.nullable().optional();

const stringList = nullish(z.array(z.string()));
const emptyObjectMap = nullish(z.record(z.string(), z.object({}).passthrough().nullable()));

export const hostConfigSchema = z
  .object({
    NetworkMode: nullish(z.string()),
    PidMode: nullish(z.string()),
    IpcMode: nullish(z.string()),
    UTSMode: nullish(z.string()),
    RestartPolicy: nullish(
      z.object({
        Name: nullish(z.string()),
        MaximumRetryCount: nullish(z.number().int()),
      }),
    ),
    AutoRemove: nullish(z.boolean()),
    Privileged: nullish(z.boolean()),
    ReadonlyRootfs: nullish(z.boolean()),
    CapAdd: stringList,
    CapDrop: stringList,
    SecurityOpt: stringList,
    Init: nullish(z.boolean()),
    Memory: nullish(z.number().int()),
    MemorySwap: nullish(z.number().int()),
    MemoryReservation: nullish(z.number().int()),
    NanoCpus: nullish(z.number().int()),
    CpuShares: nullish(z.number().int()),
    CpuPeriod: nullish(z.number().int()),
    CpuQuota: nullish(z.number().int()),
    CpusetCpus: nullish(z.string()),
    CpusetMems: nullish(z.string()),
    PidsLimit: nullish(z.number().int()),
    Ulimits: nullish(
      z.array(z.object({ Name: z.string(), Soft: z.number().int(), Hard: z.number().int() })),
    ),
    ShmSize: nullish(z.number().int()),
    Runtime: nullish(z.string()),
    Binds: stringList,
    Mounts: nullish(z.array(z.object({}).passthrough())),
    Tmpfs: nullish(z.record(z.string(), z.string())),
    PortBindings: nullish(z.record(z.string(), z.array(z.object({ HostIp: nullish(z.string()), HostPort: nullish(z.string()) })).nullable())),
    PublishAllPorts: nullish(z.boolean()),
    Dns: stringList,
    DnsOptions: stringList,
    DnsSearch: stringList,
    ExtraHosts: stringList,
    Sysctls: nullish(z.record(z.string(), z.string())),
    VolumesFrom: stringList,
    /** [height, width] of the client's terminal (API 1.42+), set on the pty before the process runs. */
    ConsoleSize: nullish(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
    LogConfig: nullish(z.object({ Type: nullish(z.string()), Config: nullish(z.record(z.string(), z.string())) })),
  })
  .passthrough();

export const createContainerSchema = z
  .object({
    Hostname: nullish(z.string()),
    Domainname: nullish(z.string()),
    User: nullish(z.string()),
    AttachStdin: nullish(z.boolean()),
    AttachStdout: nullish(z.boolean()),
    AttachStderr: nullish(z.boolean()),
    ExposedPorts: emptyObjectMap,
    Tty: nullish(z.boolean()),
    OpenStdin: nullish(z.boolean()),
    StdinOnce: nullish(z.boolean()),
    Env: stringList,
    Cmd: nullish(z.union([z.array(z.string()), z.string().transform((s) => [s])])),
    Healthcheck: nullish(z.object({}).passthrough()),
    ArgsEscaped: nullish(z.boolean()),
    Image: nullish(z.string()),
    Volumes: emptyObjectMap,
    WorkingDir: nullish(z.string()),
    Entrypoint: nullish(z.union([z.array(z.string()), z.string().transform((s) => [s])])),
    NetworkDisabled: nullish(z.boolean()),
    OnBuild: stringList,
    Labels: nullish(z.record(z.string(), z.string())),
    StopSignal: nullish(z.string()),
    StopTimeout: nullish(z.number().int()),
    Shell: stringList,
    HostConfig: nullish(hostConfigSchema),
    NetworkingConfig: nullish(z.object({}).passthrough()),
  })
  .passthrough();

export type CreateContainerRequest = z.infer<typeof createContainerSchema>;
export type HostConfigRequest = z.infer<typeof hostConfigSchema>;

/** The body of POST /containers/{id}/update: the resource fields and restart policy of HostConfig. */
export const updateContainerSchema = hostConfigSchema
  .pick({
    Memory: true,
    MemorySwap: true,
    MemoryReservation: true,
    NanoCpus: true,
    CpuShares: true,
    CpuPeriod: true,
    CpuQuota: true,
    CpusetCpus: true,
    CpusetMems: true,
    PidsLimit: true,
    RestartPolicy: true,
  })
  .extend({ BlkioWeight: nullish(z.number().int()) })
  .passthrough();

export type UpdateContainerRequest = z.infer<typeof updateContainerSchema>;
