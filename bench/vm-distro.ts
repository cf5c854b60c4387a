import { spawn } from "node:child_process";
import * as path from "node:path";
import { TCG_CPU } from "../src/runtime/vm/qemu-args";
import { type Ctx, type Deadline, type Row, type Scenario, ROOT, now, procMem, run, stats } from "./harness";

/**
 * The seeds' comparison: a whole distribution booted in a VM (Debian 12 minbase with systemd,
 * Debian's cloud kernel and its initramfs, a q35 machine with a virtio disk: what "a VM" usually
 * is) until its serial console shows the login prompt, beside `--runtime vm` running a container
 * (the vm scenario's row). Same accelerator as wharf's VM runtime; the disk is opened read-only
 * (snapshot=on), so every boot is a first boot of the same image.
 */

const BOOT_LIMIT_MS = 300_000;
const GUEST_MEMORY_MIB = 512;

async function bootToLogin(cacheDir: string, accel: string, deadline: Deadline): Promise<{ ms: number; rssKiB: number }> {
  const args = [
    "-machine", "q35", "-accel", accel, "-cpu", accel === "kvm" ? "host" : TCG_CPU,
    "-m", String(GUEST_MEMORY_MIB), "-smp", "1", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
    "-kernel", path.join(cacheDir, "vmlinuz"), "-initrd", path.join(cacheDir, "initrd.img"),
    "-append", "root=/dev/vda rw console=ttyS0",
    "-drive", `file=${path.join(cacheDir, "distro.img")},if=virtio,format=raw,snapshot=on`,
  ];
  const t0 = now();
  const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
  try {
    return await new Promise((resolve, reject) => {
      let tail = "";
      const timer = setTimeout(() => reject(new Error(`vm-distro: no login prompt within ${BOOT_LIMIT_MS / 1000} s: ${tail.slice(-300)}`)), Math.min(BOOT_LIMIT_MS, deadline.remaining()));
      qemu.stdout.setEncoding("utf8");
      qemu.stdout.on("data", (chunk: string) => {
        tail = (tail + chunk).slice(-4096);
        if (!/login: /.test(tail)) return;
        clearTimeout(timer);
        resolve({ ms: now() - t0, rssKiB: procMem(qemu.pid as number)?.rssKiB ?? 0 });
      });
      qemu.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`vm-distro: qemu exited (${code}) before the login prompt: ${tail.slice(-300)}`));
      });
    });
  } finally {
    qemu.kill("SIGKILL");
  }
}

export const vmDistro: Scenario = {
  name: "vm-distro",
  budgetSeconds: (ctx) => (ctx.quick ? 400 : 1200),
  async run(ctx: Ctx, deadline: Deadline) {
    const runs = Number(process.env.BENCH_RUNS ?? (ctx.quick ? 1 : 3));
    ctx.log("vm-distro: the Debian image (debootstrap once, then cached)");
    const made = await run("bash", [path.join(ROOT, "bench", "make-distro-image.sh")], { timeoutMs: 900_000 });
    if (made.code !== 0) throw new Error(`vm-distro: making the image failed: ${made.stderr.slice(-500)}`);
    const cacheDir = made.stdout.trim().split("\n").pop() as string;
    const info = JSON.parse((await ctx.wharf.api("GET", "/info")).body) as { Runtimes?: Record<string, { status?: Record<string, string> }> };
    const accel = info.Runtimes?.vm?.status?.accelerator ?? "tcg";
    const boots: number[] = [];
    let rssKiB = 0;
    for (let i = 0; i < runs; i++) {
      deadline.check();
      ctx.log(`vm-distro: boot ${i + 1}/${runs} (${accel})`);
      const boot = await bootToLogin(cacheDir, accel, deadline);
      boots.push(boot.ms);
      rssKiB = Math.max(rssKiB, boot.rssKiB);
    }
    const boot = stats(boots);
    const rows: Row[] = [
      { scenario: `full Debian VM (${accel}): boot to login`, unit: "ms", better: "lower", wharf: boot.median, docker: null, note: "compare: vm run --rm true" },
      { scenario: `full Debian VM (${accel}): qemu RSS`, unit: "MiB", better: "lower", wharf: rssKiB / 1024, docker: null, note: `${GUEST_MEMORY_MIB} MiB guest` },
    ];
    return { rows, detail: { runs, accelerator: accel, boot, qemuRssKiB: rssKiB } };
  },
};
