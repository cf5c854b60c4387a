/*
 * wharf-vm-agent: PID 1 of a `--runtime vm` guest.
 *
 * Boots from the initramfs, loads the virtio/virtiofs modules packed beside it, mounts the
 * container's root filesystem (virtiofs tag "rootfs"), then talks to the host shim over one
 * virtio-serial port named "wharf". Everything on that port is a frame:
 *   1 byte type, 4 bytes little-endian payload length, payload.
 * host -> guest: 'N' network (before 'C', only with a network), 'C' config (starts the
 *                process), 'I' stdin data, 'E' stdin EOF, 'S' signal,
 *                'W' window size (2 bytes rows, 2 bytes columns, little-endian; TTY only)
 * guest -> host: 'R' ready, 'O' stdout, 'F' stderr, 'L' agent message, 'X' exit status
 * One port (not one per stream) keeps output and the exit status in order.
 * Execs (more processes in the running container) use the same frames in lowercase, each
 * payload led by the exec's id (4 bytes, little-endian): 'c' 'i' 'e' 's' 'w' in, 'o' 'f' 'x'
 * out, and 'p' (started; its guest pid) once the process runs: an 'x' without it is a start
 * failure, its reason in the 'f' before. The shim gives each `wharf-vm-runtime exec` its id.
 *
 * The config payload is NUL-terminated strings:
 *   uid gid ngroups group... cwd hostname stdin(0/1) argc arg... envc env... tty(0/1) rows cols
 * The network payload is NUL-terminated strings: mac address prefix-length gateway mtu
 * (the address and MAC of the container's veth on the host, whose traffic the host redirects
 * to and from the guest's NIC). Without it the guest has no NIC: virtio_net lets go of it.
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
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
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

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/*
 * Loads every module in /lib/modules in the order of their names: build-vm-assets.sh numbers
 * them in dependency order, so one pass loads them all (a failed load costs as much as one that
 * works: the signature is checked first). Should a dependency still be missing, passes repeat
 * while any module loads.
 */
static void load_modules(void) {
  char *names[64];
  int count = 0;
  DIR *d = opendir("/lib/modules");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) && count < 64)
    if (strstr(e->d_name, ".ko")) names[count++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)count, sizeof *names, by_name);
  char done[64] = {0};
  for (int pass = 0; pass < 8; pass++) {
    int progress = 0, pending = 0;
    for (int i = 0; i < count; i++) {
      if (done[i]) continue;
      char path[300];
      snprintf(path, sizeof path, "/lib/modules/%s", names[i]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      if (finit_module(fd) == 0 || errno == EEXIST) {
        done[i] = 1;
        progress = 1;
      } else {
        pending = 1;
      }
      close(fd);
    }
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

static void set_ipv4(struct sockaddr *sa, in_addr_t addr) {
  struct sockaddr_in *in = (struct sockaddr_in *)sa;
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = addr;
}

/* Brings an interface up (and sets its MTU when given). */
static int link_up(int sock, const char *name, int mtu) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (mtu > 0) {
    ifr.ifr_mtu = mtu;
    if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) say("mtu %d on %s: %s", mtu, name, strerror(errno));
  }
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return -1;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

/* The first NIC the virtio_net driver made (eth0 on these guests). */
static int first_nic(char *name, size_t size) {
  DIR *d = opendir("/sys/class/net");
  if (!d) return -1;
  struct dirent *e;
  int found = -1;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0) continue;
    if (found < 0 || strcmp(e->d_name, name) < 0) snprintf(name, size, "%.15s", e->d_name);
    found = 0;
  }
  closedir(d);
  return found;
}

/* eth0 gets the veth's MAC and address, a default route via the gateway; lo comes up. */
static void configure_network(char *buf, uint32_t len) {
  char *f[5];
  int n = 0;
  for (char *p = buf; p < buf + len && n < 5; p += strlen(p) + 1) f[n++] = p;
  if (n < 5) fail(125, "bad network config from the host");
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  char nic[IFNAMSIZ] = {0};
  if (sock < 0 || first_nic(nic, sizeof nic) < 0) fail(125, "the guest has no network interface");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", nic);
  unsigned int mac[6];
  if (sscanf(f[0], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) == 6) {
    ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
    for (int i = 0; i < 6; i++) ifr.ifr_hwaddr.sa_data[i] = (char)mac[i];
    if (ioctl(sock, SIOCSIFHWADDR, &ifr) < 0) say("mac %s on %s: %s", f[0], nic, strerror(errno));
  }
  int prefix = atoi(f[2]);
  in_addr_t mask = prefix <= 0 ? 0 : htonl(prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1));
  set_ipv4(&ifr.ifr_addr, inet_addr(f[1]));
  if (ioctl(sock, SIOCSIFADDR, &ifr) < 0) fail(125, "address %s on %s: %s", f[1], nic, strerror(errno));
  set_ipv4(&ifr.ifr_netmask, mask);
  if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0) say("netmask /%d on %s: %s", prefix, nic, strerror(errno));
  if (link_up(sock, nic, atoi(f[4])) < 0) fail(125, "cannot bring %s up: %s", nic, strerror(errno));
  if (*f[3]) {
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    set_ipv4(&rt.rt_dst, INADDR_ANY);
    set_ipv4(&rt.rt_genmask, INADDR_ANY);
    set_ipv4(&rt.rt_gateway, inet_addr(f[3]));
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = nic;
    if (ioctl(sock, SIOCADDRT, &rt) < 0) say("default route via %s: %s", f[3], strerror(errno));
  }
  close(sock);
}

/* --network none: the NIC qemu always has is let go, so the guest has none (as runc's netns). */
static void release_nics(void) {
  DIR *d = opendir("/sys/bus/virtio/drivers/virtio_net");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "virtio", 6) != 0) continue;
    int fd = open("/sys/bus/virtio/drivers/virtio_net/unbind", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      write_all(fd, e->d_name, strlen(e->d_name));
      close(fd);
    }
  }
  closedir(d);
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

/* A process in the container's root: its first (id 0, frames 'O' 'F' 'X') or an exec (id > 0). */
#define MAX_PROCS 33
struct proc {
  int used;
  uint32_t id;
  pid_t pid;
  int in_fd, out_fd, err_fd, master;
  int status; /* -1 while it runs */
};
static struct proc procs[MAX_PROCS];

/* An exec's frames are the lowercase letters, its id (4 bytes, little-endian) before the data. */
static void send_proc_frame(struct proc *pr, char type, const void *data, uint32_t len) {
  if (pr->id == 0) {
    send_frame(type, data, len);
    return;
  }
  unsigned char *b = malloc((size_t)len + 4);
  if (!b) return;
  b[0] = pr->id & 0xff, b[1] = (pr->id >> 8) & 0xff, b[2] = (pr->id >> 16) & 0xff, b[3] = (pr->id >> 24) & 0xff;
  if (len) memcpy(b + 4, data, len);
  send_frame((char)(type + ('a' - 'A')), b, len + 4);
  free(b);
}

static struct proc *proc_by_pid(pid_t pid) {
  for (int i = 0; i < MAX_PROCS; i++)
    if (procs[i].used && procs[i].pid == pid && procs[i].status < 0) return &procs[i];
  return NULL;
}

static struct proc *proc_by_id(uint32_t id) {
  for (int i = 0; i < MAX_PROCS; i++)
    if (procs[i].used && procs[i].id == id) return &procs[i];
  return NULL;
}

static void release_proc(struct proc *pr) {
  int fds[] = {pr->in_fd, pr->out_fd, pr->err_fd, pr->master};
  for (int i = 0; i < 4; i++)
    if (fds[i] >= 0) close(fds[i]);
  memset(pr, 0, sizeof *pr);
}

/*
 * Starts `c` in the container's root with pipes (or, with c->tty, a pty of the container's own
 * devpts instance) for its stdio, filling pr's fds. A process that could not start reports its
 * reason on its stderr, as runc's would. NULL, or why nothing could be started.
 */
static const char *start_proc(struct config *c, struct proc *pr, sigset_t *mask) {
  static char why[128];
  pr->in_fd = pr->out_fd = pr->err_fd = pr->master = -1;
  pr->status = -1;
  int in[2], out[2], err[2], errpipe[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(errpipe, O_CLOEXEC)) {
    snprintf(why, sizeof why, "pipe: %s", strerror(errno));
    return why;
  }
  int master = -1, slave = -1;
  if (c->tty) {
    master = open(NEWROOT "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int unlock = 0, n = -1;
    char name[64];
    if (master >= 0 && ioctl(master, TIOCSPTLCK, &unlock) == 0 && ioctl(master, TIOCGPTN, &n) == 0) {
      snprintf(name, sizeof name, NEWROOT "/dev/pts/%d", n);
      slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    }
    if (slave < 0) {
      snprintf(why, sizeof why, "cannot open a pty: %s", strerror(errno));
      return why;
    }
    struct winsize ws = {c->rows ? c->rows : 24, c->cols ? c->cols : 80, 0, 0};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  pid_t child = fork();
  if (child < 0) {
    snprintf(why, sizeof why, "fork: %s", strerror(errno));
    return why;
  }
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, mask, NULL);
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
    if (chroot(NEWROOT) == 0 && (step = "chdir", chdir(c->cwd) == 0) &&
        (step = "setgroups", setgroups((size_t)c->ngroups, c->groups) == 0) && (step = "setgid", setgid(c->gid) == 0) &&
        (step = "setuid", setuid(c->uid) == 0)) {
      step = "exec";
      exec_process(c);
    }
    char msg[600];
    int e = errno;
    if (strcmp(step, "exec") == 0 && e == ENOENT)
      snprintf(msg, sizeof msg, "exec: \"%s\": executable file not found in $PATH", c->argv[0]);
    else if (strcmp(step, "chdir") == 0)
      snprintf(msg, sizeof msg, "chdir to cwd (\"%s\") set in config.json failed: %s", c->cwd, strerror(e));
    else
      snprintf(msg, sizeof msg, "%s %s: %s", step, c->argv[0], strerror(e));
    write_all(errpipe[1], msg, strlen(msg));
    _exit(e == ENOENT ? 127 : 126);
  }
  pr->pid = child;
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(errpipe[1]);
  pr->in_fd = c->stdin_open ? in[1] : -1;
  if (!c->stdin_open) close(in[1]);
  pr->out_fd = out[0];
  pr->err_fd = err[0];
  if (master >= 0) {
    close(slave);
    close(out[0]);
    close(err[0]);
    if (pr->in_fd >= 0) close(pr->in_fd);
    /* Input is written to the master, output read from a dup of it (closed at EIO). */
    pr->master = master;
    pr->out_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
    pr->err_fd = -1;
    pr->in_fd = -1;
  }
  char msg[600];
  ssize_t n = read(errpipe[0], msg, sizeof msg - 1);
  if (n > 0) {
    msg[n++] = '\n';
    send_proc_frame(pr, 'F', msg, (uint32_t)n);
  } else if (pr->id > 0) {
    /* An exec learns it started (its runtime writes the pid file then, as runc does). */
    uint32_t guest_pid = (uint32_t)child;
    send_proc_frame(pr, 'P', &guest_pid, 4);
  }
  close(errpipe[0]);
  return NULL;
}

/* stdin, EOF, window size, a signal: for the first process, or (lowercase, id first) an exec. */
static void handle_input(struct proc *pr, char type, const char *data, uint32_t len) {
  if (!pr) return;
  if (type == 'I') {
    if (pr->master >= 0) write_all(pr->master, data, len);
    else if (pr->in_fd >= 0) write_all(pr->in_fd, data, len);
  } else if (type == 'W' && len == 4 && pr->master >= 0) {
    const unsigned char *w = (const unsigned char *)data;
    struct winsize ws = {(unsigned short)(w[0] | (w[1] << 8)), (unsigned short)(w[2] | (w[3] << 8)), 0, 0};
    ioctl(pr->master, TIOCSWINSZ, &ws);
  } else if (type == 'E' && pr->in_fd >= 0 && pr->master < 0) {
    close(pr->in_fd);
    pr->in_fd = -1;
  } else if (type == 'S' && len == 4) {
    int sig = (unsigned char)data[0] | ((unsigned char)data[1] << 8);
    if (pr->status < 0) kill(pr->pid, sig);
  }
}

static void handle_host_frame(char type, char *payload, uint32_t len, sigset_t *mask) {
  if (type >= 'A' && type <= 'Z') {
    handle_input(&procs[0], type, payload, len);
    return;
  }
  if (len < 4) return;
  const unsigned char *u = (const unsigned char *)payload;
  uint32_t id = u[0] | (u[1] << 8) | (u[2] << 16) | ((uint32_t)u[3] << 24);
  if (type != 'c') {
    handle_input(proc_by_id(id), (char)(type - ('a' - 'A')), payload + 4, len - 4);
    return;
  }
  /* 'c': an exec's process, as the first one's config. */
  struct proc *pr = NULL;
  for (int i = 1; i < MAX_PROCS && !pr; i++)
    if (!procs[i].used) pr = &procs[i];
  struct proc failed = {.used = 1, .id = id};
  struct config c;
  const char *why = NULL;
  if (id == 0 || proc_by_id(id)) why = "bad exec id";
  else if (!pr) why = "too many execs at once";
  else if (parse_config(payload + 4, len - 4, &c) < 0) why = "bad exec config from the host";
  if (!why) {
    pr->used = 1;
    pr->id = id;
    why = start_proc(&c, pr, mask);
    free(c.argv);
    free(c.envp);
    if (!why) return;
    release_proc(pr);
  }
  char msg[160];
  int n = snprintf(msg, sizeof msg, "%s\n", why);
  send_proc_frame(&failed, 'F', msg, (uint32_t)n);
  uint32_t st = 126;
  send_proc_frame(&failed, 'X', &st, 4);
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
  int networked = 0;
  for (;;) {
    if (read_frame(&type, &payload, &len) < 0) power_off(); /* host gone before start */
    if (type == 'C') break;
    if (type == 'N') {
      configure_network(payload, len);
      networked = 1;
    }
    free(payload);
  }
  if (!networked) release_nics();
  {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || link_up(sock, "lo", 0) < 0) say("cannot bring lo up: %s", strerror(errno));
    if (sock >= 0) close(sock);
  }
  if (parse_config(payload, len, &cfg) < 0) fail(125, "bad process config from the host");
  if (*cfg.hostname) sethostname(cfg.hostname, strlen(cfg.hostname));

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  struct proc *first = &procs[0];
  first->used = 1;
  first->id = 0;
  {
    const char *why = start_proc(&cfg, first, &mask);
    if (why) fail(125, "%s", why);
  }
  free(payload);

  int host_up = 1;
  char buf[65536];
  /* Until the process has exited and its output is drained (others holding the pipes are killed). */
  while (first->status < 0 || first->out_fd >= 0 || first->err_fd >= 0) {
    struct pollfd p[2 + 2 * MAX_PROCS];
    struct proc *owner[2 + 2 * MAX_PROCS];
    int n = 0;
    p[n++] = (struct pollfd){port_fd, (short)(host_up ? POLLIN : 0), 0};
    p[n++] = (struct pollfd){sfd, POLLIN, 0};
    for (int i = 0; i < MAX_PROCS; i++) {
      if (!procs[i].used) continue;
      if (procs[i].out_fd >= 0) owner[n] = &procs[i], p[n++] = (struct pollfd){procs[i].out_fd, POLLIN, 0};
      if (procs[i].err_fd >= 0) owner[n] = &procs[i], p[n++] = (struct pollfd){procs[i].err_fd, POLLIN, 0};
    }
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      int ws;
      pid_t w;
      while ((w = waitpid(-1, &ws, WNOHANG)) > 0) {
        struct proc *pr = proc_by_pid(w);
        if (!pr) continue;
        pr->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        /* The container ends with its first process, as with runc: the rest are killed. */
        if (pr == first) kill(-1, SIGKILL);
      }
    }
    for (int k = 2; k < n; k++) {
      if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      struct proc *pr = owner[k];
      int *fd = p[k].fd == pr->out_fd ? &pr->out_fd : &pr->err_fd;
      ssize_t got = read(*fd, buf, sizeof buf);
      if (got > 0) send_proc_frame(pr, fd == &pr->out_fd ? 'O' : 'F', buf, (uint32_t)got);
      else if (got == 0 || errno != EINTR) {
        close(*fd);
        *fd = -1;
      }
    }
    /* An exec whose process has exited and whose output is all sent: its status closes it. */
    for (int i = 1; i < MAX_PROCS; i++) {
      struct proc *pr = &procs[i];
      if (!pr->used || pr->status < 0 || pr->out_fd >= 0 || pr->err_fd >= 0) continue;
      uint32_t st = (uint32_t)pr->status;
      send_proc_frame(pr, 'X', &st, 4);
      release_proc(pr);
    }
    if (host_up && (p[0].revents & (POLLIN | POLLHUP))) {
      char type;
      char *payload;
      uint32_t len;
      if (read_frame(&type, &payload, &len) < 0) {
        /* The shim is gone: nobody will read the exit status. */
        host_up = 0;
        kill(-1, SIGKILL);
        continue;
      }
      handle_host_frame(type, payload, len, &mask);
      free(payload);
    }
  }
  uint32_t st = (uint32_t)(first->status < 0 ? 137 : first->status);
  send_frame('X', &st, 4);
  power_off();
  return 0;
}
