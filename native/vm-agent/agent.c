/*
 * wharf-vm-agent: PID 1 of a `--runtime vm` guest.
 *
 * Boots from the initramfs, loads the virtio/virtiofs modules packed beside it, mounts the
 * container's root filesystem (virtiofs tag "rootfs"), then talks to the host shim over one
 * virtio-serial port named "wharf". Everything on that port is a frame:
 *   1 byte type, 4 bytes little-endian payload length, payload.
 * host -> guest: 'C' config (starts the process), 'I' stdin data, 'E' stdin EOF, 'S' signal,
 *                'W' window size (2 bytes rows, 2 bytes columns, little-endian; TTY only)
 * guest -> host: 'R' ready, 'O' stdout, 'F' stderr, 'L' agent message, 'X' exit status
 * One port (not one per stream) keeps output and the exit status in order.
 *
 * The config payload is NUL-terminated strings:
 *   uid gid ngroups group... cwd hostname stdin(0/1) argc arg... envc env... tty(0/1) rows cols
 * The exit status is what runc's users see: the code, or 128+signal.
 * Static, libc only: gcc -static -O2 -o wharf-vm-agent agent.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PORT_NAME "wharf"
#define NEWROOT "/newroot"
#define MAX_FRAME (1 << 20)

static int port_fd = -1;

static void power_off(void) {
  sync();
  /* qemu runs with -no-reboot: a reboot ends it at once (microvm has no ACPI power button). */
  reboot(RB_AUTOBOOT);
  for (;;) pause();
}

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;
    }
    p += n;
    len -= (size_t)n;
  }
}

static void send_frame(char type, const void *data, uint32_t len) {
  unsigned char hdr[5] = {(unsigned char)type, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >> 24) & 0xff};
  if (port_fd < 0) return;
  write_all(port_fd, hdr, 5);
  if (len) write_all(port_fd, data, len);
}

/* A message for the host's debug log (and the user, for start failures). */
static void say(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  if (port_fd >= 0) send_frame('L', buf, (uint32_t)n);
  else {
    write_all(2, buf, (size_t)n);
    write_all(2, "\n", 1);
  }
}

static void fail(int status, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  say("%s", buf);
  uint32_t st = (uint32_t)status;
  send_frame('X', &st, 4);
  power_off();
}

static int read_full(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pfd = {fd, POLLIN, 0};
        poll(&pfd, 1, -1);
        continue;
      }
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* One whole frame from the host; -1 when the host went away. */
static int read_frame(char *type, char **payload, uint32_t *len) {
  unsigned char hdr[5];
  if (read_full(port_fd, hdr, 5) < 0) return -1;
  *type = (char)hdr[0];
  *len = hdr[1] | (hdr[2] << 8) | (hdr[3] << 16) | ((uint32_t)hdr[4] << 24);
  if (*len > MAX_FRAME) return -1;
  *payload = malloc(*len + 1);
  if (!*payload) return -1;
  if (*len && read_full(port_fd, *payload, *len) < 0) return -1;
  (*payload)[*len] = 0;
  return 0;
}

static int finit_module(int fd) { return (int)syscall(SYS_finit_module, fd, "", 0); }

/*
 * Loads every module in /lib/modules. The order of dependencies is not known here, so passes repeat
 * while any module loads; a module whose symbols are missing fails until its dependency is in.
 */
static void load_modules(void) {
  char done[64] = {0};
  for (int pass = 0; pass < 8; pass++) {
    int progress = 0, pending = 0, i = 0;
    DIR *d = opendir("/lib/modules");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && i < 64) {
      if (!strstr(e->d_name, ".ko")) continue;
      if (done[i]) { i++; continue; }
      char path[300];
      snprintf(path, sizeof path, "/lib/modules/%s", e->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        if (finit_module(fd) == 0 || errno == EEXIST) {
          done[i] = 1;
          progress = 1;
        } else {
          pending = 1;
        }
        close(fd);
      }
      i++;
    }
    closedir(d);
    if (!pending || !progress) return;
  }
}

/* The /dev node of the virtio-serial port named PORT_NAME, once the driver has made it. */
static int open_port(void) {
  for (int attempt = 0; attempt < 2000; attempt++) {
    DIR *d = opendir("/sys/class/virtio-ports");
    if (d) {
      struct dirent *e;
      while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[300], name[64] = {0};
        snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, name, sizeof name - 1);
        close(fd);
        if (n > 0 && name[n - 1] == '\n') name[n - 1] = 0;
        if (strcmp(name, PORT_NAME) != 0) continue;
        snprintf(path, sizeof path, "/dev/%s", e->d_name);
        int port = open(path, O_RDWR | O_CLOEXEC);
        if (port >= 0) {
          closedir(d);
          return port;
        }
      }
      closedir(d);
    }
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

static void mount_or_say(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, flags, data) < 0) say("mount %s on %s: %s", type, dst, strerror(errno));
}

struct config {
  uid_t uid;
  gid_t gid;
  int ngroups;
  gid_t groups[64];
  char *cwd, *hostname;
  int stdin_open;
  char **argv, **envp;
  int tty;
  unsigned short rows, cols;
};

static int parse_config(char *buf, uint32_t len, struct config *c) {
  char *fields[4096];
  int n = 0;
  for (char *p = buf; p < buf + len && n < 4096; p += strlen(p) + 1) fields[n++] = p;
  int i = 0;
#define NEED(k) do { if (i + (k) > n) return -1; } while (0)
  NEED(3);
  c->uid = (uid_t)strtoul(fields[i++], NULL, 10);
  c->gid = (gid_t)strtoul(fields[i++], NULL, 10);
  c->ngroups = atoi(fields[i++]);
  if (c->ngroups < 0 || c->ngroups > 64) return -1;
  NEED(c->ngroups);
  for (int g = 0; g < c->ngroups; g++) c->groups[g] = (gid_t)strtoul(fields[i++], NULL, 10);
  NEED(4);
  c->cwd = fields[i++];
  c->hostname = fields[i++];
  c->stdin_open = atoi(fields[i++]);
  int argc = atoi(fields[i++]);
  if (argc < 1) return -1;
  NEED(argc);
  c->argv = calloc((size_t)argc + 1, sizeof(char *));
  for (int a = 0; a < argc; a++) c->argv[a] = fields[i++];
  NEED(1);
  int envc = atoi(fields[i++]);
  if (envc < 0) return -1;
  NEED(envc);
  c->envp = calloc((size_t)envc + 1, sizeof(char *));
  for (int a = 0; a < envc; a++) c->envp[a] = fields[i++];
  NEED(3);
  c->tty = atoi(fields[i++]);
  c->rows = (unsigned short)atoi(fields[i++]);
  c->cols = (unsigned short)atoi(fields[i++]);
#undef NEED
  return 0;
}

/* Mounts the container's root and the kernel filesystems a process expects inside it. */
static void prepare_root(void) {
  mkdir(NEWROOT, 0755);
  if (mount("rootfs", NEWROOT, "virtiofs", 0, NULL) < 0) fail(125, "cannot mount the container root (virtiofs): %s", strerror(errno));
  mount_or_say("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_or_say("sysfs", NEWROOT "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_or_say("devtmpfs", NEWROOT "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_or_say("devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  mount_or_say("shm", NEWROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
}

/* PATH lookup with the container's PATH (execvpe would use ours). */
static void exec_process(struct config *c) {
  const char *file = c->argv[0];
  if (strchr(file, '/')) {
    execve(file, c->argv, c->envp);
    return;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char **e = c->envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  char *copy = strdup(path), *save = NULL;
  int saw_eacces = 0;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", *dir ? dir : ".", file);
    execve(full, c->argv, c->envp);
    if (errno == EACCES) saw_eacces = 1;
  }
  errno = saw_eacces ? EACCES : ENOENT;
}

int main(void) {
  mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  /* The KVM probe only needs to see the guest reach userspace. */
  {
    char cmdline[1024] = {0};
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
      ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
      (void)n;
      close(fd);
    }
    if (strstr(cmdline, "wharf.probe=1")) power_off();
  }
  load_modules();
  port_fd = open_port();
  if (port_fd < 0) {
    say("wharf-vm-agent: no virtio-serial port named %s", PORT_NAME);
    power_off();
  }
  prepare_root();
  send_frame('R', NULL, 0);

  char type, *payload;
  uint32_t len;
  struct config cfg;
  for (;;) {
    if (read_frame(&type, &payload, &len) < 0) power_off(); /* host gone before start */
    if (type == 'C') break;
    free(payload);
  }
  if (parse_config(payload, len, &cfg) < 0) fail(125, "bad process config from the host");
  if (*cfg.hostname) sethostname(cfg.hostname, strlen(cfg.hostname));

  int in[2], out[2], err[2], errpipe[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(errpipe, O_CLOEXEC))
    fail(125, "pipe: %s", strerror(errno));
  /* -t: a pty of the container's own devpts instance; the shim relays the host's pty to it. */
  int master = -1, slave = -1;
  if (cfg.tty) {
    master = open(NEWROOT "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int unlock = 0, n = -1;
    if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) fail(125, "cannot open a pty: %s", strerror(errno));
    char name[64];
    snprintf(name, sizeof name, NEWROOT "/dev/pts/%d", n);
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) fail(125, "cannot open %s: %s", name, strerror(errno));
    struct winsize ws = {cfg.rows ? cfg.rows : 24, cfg.cols ? cfg.cols : 80, 0, 0};
    ioctl(master, TIOCSWINSZ, &ws);
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  pid_t child = fork();
  if (child < 0) fail(125, "fork: %s", strerror(errno));
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    setsid();
    if (slave >= 0) {
      ioctl(slave, TIOCSCTTY, 0);
      dup2(slave, 0);
      dup2(slave, 1);
      dup2(slave, 2);
    } else {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
    }
    const char *step = "chroot";
    if (chroot(NEWROOT) == 0 && (step = "chdir", chdir(cfg.cwd) == 0) &&
        (step = "setgroups", setgroups((size_t)cfg.ngroups, cfg.groups) == 0) && (step = "setgid", setgid(cfg.gid) == 0) &&
        (step = "setuid", setuid(cfg.uid) == 0)) {
      step = "exec";
      exec_process(&cfg);
    }
    char msg[600];
    int e = errno;
    if (strcmp(step, "exec") == 0 && e == ENOENT)
      snprintf(msg, sizeof msg, "exec: \"%s\": executable file not found in $PATH", cfg.argv[0]);
    else if (strcmp(step, "chdir") == 0)
      snprintf(msg, sizeof msg, "chdir to cwd (\"%s\") set in config.json failed: %s", cfg.cwd, strerror(e));
    else
      snprintf(msg, sizeof msg, "%s %s: %s", step, cfg.argv[0], strerror(e));
    write_all(errpipe[1], msg, strlen(msg));
    _exit(e == ENOENT ? 127 : 126);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(errpipe[1]);
  int in_fd = in[1];
  if (!cfg.stdin_open || master >= 0) {
    close(in_fd);
    in_fd = -1;
  }
  if (master >= 0) {
    close(slave);
    close(out[0]);
    close(err[0]);
    /* One fd for both directions: output is read from it, input written to a dup. */
    out[0] = master;
    err[0] = -1;
    in_fd = dup(master);
  }
  {
    /* A process that could not start: its reason goes to its stderr, as runc's would. */
    char msg[600];
    ssize_t n = read(errpipe[0], msg, sizeof msg - 1);
    if (n > 0) {
      msg[n++] = '\n';
      send_frame('F', msg, (uint32_t)n);
    }
    close(errpipe[0]);
  }

  int status = -1;
  int out_fd = out[0], err_fd = err[0];
  int host_up = 1;
  char buf[65536];
  /* Until the process has exited and its output is drained (others holding the pipes are killed). */
  while (status < 0 || out_fd >= 0 || err_fd >= 0) {
    struct pollfd p[4] = {{port_fd, host_up ? POLLIN : 0, 0}, {out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 4, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[3].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      int ws;
      pid_t w;
      while ((w = waitpid(-1, &ws, WNOHANG)) > 0) {
        if (w != child) continue;
        status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        /* The container ends with its first process, as with runc: the rest are killed. */
        kill(-1, SIGKILL);
      }
    }
    for (int s = 1; s <= 2; s++) {
      int *fd = s == 1 ? &out_fd : &err_fd;
      if (*fd < 0 || !(p[s].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(*fd, buf, sizeof buf);
      if (n > 0) send_frame(s == 1 ? 'O' : 'F', buf, (uint32_t)n);
      else if (n == 0 || errno != EINTR) {
        close(*fd);
        *fd = -1;
      }
    }
    if (host_up && (p[0].revents & (POLLIN | POLLHUP))) {
      if (read_frame(&type, &payload, &len) < 0) {
        /* The shim is gone: nobody will read the exit status. */
        host_up = 0;
        kill(-1, SIGKILL);
        continue;
      }
      if (type == 'I' && in_fd >= 0) write_all(in_fd, payload, len);
      else if (type == 'W' && len == 4 && master >= 0) {
        unsigned char *w = (unsigned char *)payload;
        struct winsize ws = {(unsigned short)(w[0] | (w[1] << 8)), (unsigned short)(w[2] | (w[3] << 8)), 0, 0};
        ioctl(master, TIOCSWINSZ, &ws);
      } else if (type == 'E' && in_fd >= 0 && master < 0) {
        close(in_fd);
        in_fd = -1;
      } else if (type == 'S' && len == 4) {
        int sig = payload[0] | (payload[1] << 8);
        if (status < 0) kill(child, sig);
      }
      free(payload);
    }
  }
  if (status < 0) status = 137;
  uint32_t st = (uint32_t)status;
  send_frame('X', &st, 4);
  power_off();
  return 0;
}
