/*
 * wharf-vm-shim: the process conmon watches for a `--runtime vm` container (the C twin of
 * src/runtime/vm/shim.ts, ~1 MB instead of a Node process's ~47 MB). Run by
 * `wharf-vm-runtime create` as `wharf-vm-shim <state dir>` with conmon's stdio on fds 0-2 and
 * a report pipe on fd 3. It reads what create decided from the state dir:
 *   qemu.argv, virtiofsd.argv   NUL-terminated argv (argv[0] is the binary)
 *   process.bin                 the guest process, as the agent reads it
 *   describe.txt                one line for the debug log
 *   console.path                (-t only) conmon's console socket: it gets the host pty's
 *                               master; the shim relays the slave to the guest's pty
 *   net.bin                     (written by `start` when the container has a network) the
 *                               guest's NIC settings, sent to the agent before the process
 * starts virtiofsd and qemu, reports {"qemuPid":N,"virtiofsdPid":M} (or {"error":"..."}) on
 * fd 3, relays stdio and signals to the guest agent over the agent socket (frames: 1 byte
 * type, 4 bytes little-endian length, payload), takes "start" and "kill N" lines on shim.sock,
 * and exits with the status the agent reports once qemu and virtiofsd are gone.
 * An "exec" line on shim.sock (answered "ok") turns that connection into one exec's channel:
 * the runtime's `exec` sends C/I/E/S/W frames and gets P/O/F/X back; the shim relays them to the
 * agent as the lowercase frames with an exec id (4 bytes, little-endian) before the payload.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define AGENT_SOCKET "agent.sock"
#define CONTROL_SOCKET "shim.sock"

static int debug_fd = -1;
static pid_t qemu_pid = -1, vfs_pid = -1;
static int qemu_done, vfs_done;
static int agent_fd = -1, agent_ready, started, stdin_open = 1, exit_status = -1;
static char *process_buf, *vfs_socket, *vfs_pidfile;
static size_t process_len;
static int pending_signals[64], npending;
/* -t: the host pty's slave (its master went to conmon); -1 without a TTY. */
static int tty_fd = -1;

/* One `wharf-vm-runtime exec` connected on shim.sock, and the frames it sent so far. */
#define MAX_EXECS 32
struct exec_conn {
  int fd;
  uint32_t id;
  /* The status went out: the connection waits for the runtime to close it (closing first could
   * reset it, and the runtime lose the last frames). */
  int done;
  unsigned char *buf;
  size_t len, cap;
};
static struct exec_conn execs[MAX_EXECS];
static uint32_t next_exec_id = 1;

static void debug(const char *fmt, ...) {
  char buf[1024];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  int n = (int)strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  n += snprintf(buf + n, sizeof buf - (size_t)n, ".%03ldZ ", ts.tv_nsec / 1000000);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  if (debug_fd >= 0 && write(debug_fd, buf, (size_t)n) < 0) {
  }
}

static void write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        poll(&pfd, 1, 1000);
        continue;
      }
      return; /* EPIPE: nobody reads any more */
    }
    p += n;
    len -= (size_t)n;
  }
}

static void report(const char *json) {
  write_all(3, json, strlen(json));
  close(3);
}

static char *read_file(const char *name, size_t *len) {
  int fd = open(name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) return NULL;
  char *buf = malloc((size_t)st.st_size + 1);
  size_t off = 0;
  while (off < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
    if (n <= 0) break;
    off += (size_t)n;
  }
  close(fd);
  buf[off] = 0;
  if (len) *len = off;
  return buf;
}

/* A NUL-terminated argv file as an argv array. */
static char **read_argv(const char *name) {
  size_t len;
  char *buf = read_file(name, &len);
  if (!buf) return NULL;
  size_t count = 0;
  for (size_t i = 0; i < len; i++)
    if (!buf[i]) count++;
  char **argv = calloc(count + 1, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; i < len && k < count; i += strlen(buf + i) + 1) argv[k++] = buf + i;
  return argv;
}

static int listen_unix(const char *name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", name);
  unlink(name);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 8) < 0) return -1;
  return fd;
}

static pid_t spawn(char **argv, int log_fd, sigset_t *oldmask) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  sigprocmask(SIG_SETMASK, oldmask, NULL);
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(log_fd, 1);
  dup2(log_fd, 2);
  execv(argv[0], argv);
  dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

static void send_frame(char type, const void *data, uint32_t len) {
  if (agent_fd < 0) return;
  unsigned char hdr[5] = {(unsigned char)type, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >> 24) & 0xff};
  write_all(agent_fd, hdr, 5);
  if (len) write_all(agent_fd, data, len);
}

static void send_signal(int sig) {
  uint32_t v = (uint32_t)sig;
  send_frame('S', &v, 4);
}

static void send_winsize(void) {
  struct winsize ws;
  if (tty_fd < 0 || ioctl(tty_fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0) return;
  unsigned char w[4] = {ws.ws_row & 0xff, ws.ws_row >> 8, ws.ws_col & 0xff, ws.ws_col >> 8};
  send_frame('W', w, 4);
}

static void start_process(void) {
  size_t net_len;
  char *net = read_file("net.bin", &net_len);
  if (net) {
    send_frame('N', net, (uint32_t)net_len);
    free(net);
  }
  send_frame('C', process_buf, (uint32_t)process_len);
  send_winsize();
  for (int i = 0; i < npending; i++) send_signal(pending_signals[i]);
  npending = 0;
}

static void finish(int status);

static void signal_guest(int sig) {
  if (!started) finish(128 + sig); /* nothing runs yet: the container just ends */
  else if (agent_ready) send_signal(sig);
  else if (npending < 64) pending_signals[npending++] = sig;
}

static void reap(void) {
  int ws;
  pid_t p;
  while ((p = waitpid(-1, &ws, WNOHANG)) > 0) {
    if (p == qemu_pid) qemu_done = 1;
    if (p == vfs_pid) vfs_done = 1;
  }
}

static void wait_or_kill(pid_t pid, int *done) {
  for (int i = 0; i < 300 && !*done; i++) {
    reap();
    if (*done) break;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (!*done && pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    *done = 1;
  }
}

static void finish(int status) {
  if (exit_status < 0) exit_status = status;
  debug("exit status %d; stopping qemu and virtiofsd", exit_status);
  /* The agent reboots the guest right after the status (qemu runs with -no-reboot). */
  wait_or_kill(qemu_pid, &qemu_done);
  wait_or_kill(vfs_pid, &vfs_done);
  unlink(AGENT_SOCKET);
  unlink(CONTROL_SOCKET);
  unlink(vfs_socket);
  unlink(vfs_pidfile);
  _exit(exit_status);
}

static void mark_started(void) {
  /* state.json's "started" is set by the runtime CLI's start after our "ok". */
  started = 1;
  if (agent_ready) start_process();
}

static void handle_control(int listen_fd) {
  int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return;
  char line[128] = {0};
  size_t off = 0;
  struct pollfd pfd = {c, POLLIN, 0};
  while (off < sizeof line - 1 && !memchr(line, '\n', off) && poll(&pfd, 1, 2000) > 0) {
    ssize_t n = read(c, line + off, sizeof line - 1 - off);
    if (n <= 0) break;
    off += (size_t)n;
  }
  int sig;
  if (strncmp(line, "start", 5) == 0) {
    if (!started) mark_started();
    write_all(c, "ok\n", 3);
  } else if (strncmp(line, "exec", 4) == 0) {
    struct exec_conn *e = NULL;
    for (int i = 0; i < MAX_EXECS && !e; i++)
      if (execs[i].fd <= 0) e = &execs[i];
    if (!started) { const char *m = "error container is not running\n"; write_all(c, m, strlen(m)); }
    else if (!e) { const char *m = "error too many execs at once\n"; write_all(c, m, strlen(m)); }
    else {
      write_all(c, "ok\n", 3);
      e->fd = c;
      e->id = next_exec_id++;
      e->len = 0;
      return;
    }
  } else if (sscanf(line, "kill %d", &sig) == 1 && sig > 0 && sig < 65) {
    write_all(c, "ok\n", 3);
    close(c);
    signal_guest(sig);
    return;
  } else {
    write_all(c, "error unknown command\n", 22);
  }
  close(c);
}

static void close_exec(struct exec_conn *e) {
  close(e->fd);
  free(e->buf);
  memset(e, 0, sizeof *e);
}

/* A frame with an exec id before the payload. */
static void send_exec_frame(char type, uint32_t id, const unsigned char *data, uint32_t len) {
  unsigned char *b = malloc((size_t)len + 4);
  if (!b) return;
  b[0] = id & 0xff, b[1] = (id >> 8) & 0xff, b[2] = (id >> 16) & 0xff, b[3] = (id >> 24) & 0xff;
  if (len) memcpy(b + 4, data, len);
  send_frame(type, b, len + 4);
  free(b);
}

/* Frames from an exec's runtime go to the agent, lowercased, with the exec's id. */
static void handle_exec_data(struct exec_conn *e) {
  if (e->cap - e->len < 65536) {
    e->cap = e->cap * 2 + 65536;
    e->buf = realloc(e->buf, e->cap);
  }
  ssize_t n = read(e->fd, e->buf + e->len, e->cap - e->len);
  if (n <= 0) {
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    /* The runtime went away (killed with the daemon?): its process goes too. */
    uint32_t sig = SIGKILL;
    if (!e->done) send_exec_frame('s', e->id, (unsigned char *)&sig, 4);
    close_exec(e);
    return;
  }
  e->len += (size_t)n;
  size_t off = 0;
  while (e->len - off >= 5) {
    uint32_t len = e->buf[off + 1] | (e->buf[off + 2] << 8) | (e->buf[off + 3] << 16) | ((uint32_t)e->buf[off + 4] << 24);
    if (e->len - off < 5 + (size_t)len) break;
    char type = (char)e->buf[off];
    if (type >= 'A' && type <= 'Z' && !e->done) send_exec_frame((char)(type + ('a' - 'A')), e->id, e->buf + off + 5, len);
    off += 5 + len;
  }
  memmove(e->buf, e->buf + off, e->len - off);
  e->len -= off;
}

/* An exec's output or status from the agent, to its runtime (uppercase, without the id). */
static void relay_to_exec(char type, const unsigned char *p, uint32_t len) {
  if (len < 4) return;
  uint32_t id = p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
  for (int i = 0; i < MAX_EXECS; i++) {
    struct exec_conn *e = &execs[i];
    if (e->fd <= 0 || e->id != id || e->done) continue;
    char upper = (char)(type - ('a' - 'A'));
    unsigned char hdr[5] = {(unsigned char)upper, (len - 4) & 0xff, ((len - 4) >> 8) & 0xff, ((len - 4) >> 16) & 0xff, ((len - 4) >> 24) & 0xff};
    write_all(e->fd, hdr, 5);
    write_all(e->fd, p + 4, len - 4);
    if (upper == 'X') {
      e->done = 1;
      shutdown(e->fd, SHUT_WR);
    }
    return;
  }
}

/* Frames from the agent, possibly split across reads. */
static unsigned char *inbuf;
static size_t inlen, incap;

static void handle_agent_data(void) {
  if (incap - inlen < 65536) {
    incap = incap * 2 + 65536;
    inbuf = realloc(inbuf, incap);
  }
  ssize_t n = read(agent_fd, inbuf + inlen, incap - inlen);
  if (n <= 0) {
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    close(agent_fd);
    agent_fd = -1;
    return;
  }
  inlen += (size_t)n;
  size_t off = 0;
  while (inlen - off >= 5) {
    uint32_t len = inbuf[off + 1] | (inbuf[off + 2] << 8) | (inbuf[off + 3] << 16) | ((uint32_t)inbuf[off + 4] << 24);
    if (inlen - off < 5 + (size_t)len) break;
    char type = (char)inbuf[off];
    unsigned char *p = inbuf + off + 5;
    if (type == 'O') write_all(tty_fd >= 0 ? tty_fd : 1, p, len);
    else if (type == 'F') write_all(2, p, len);
    else if (type == 'L') debug("agent: %.*s", (int)len, p);
    else if (type == 'R') {
      debug("agent ready");
      agent_ready = 1;
      if (started) start_process();
    } else if (type == 'o' || type == 'f' || type == 'x' || type == 'p') {
      relay_to_exec(type, p, len);
    } else if (type == 'X' && len >= 4) {
      finish((int)(p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24)));
    }
    off += 5 + len;
  }
  memmove(inbuf, inbuf + off, inlen - off);
  inlen -= off;
}

/* Makes the host pty, hands its master to conmon (SCM_RIGHTS on the console socket), keeps the slave. */
static int setup_console(const char *socket_path) {
  int master, slave;
  if (openpty(&master, &slave, NULL, NULL, NULL) < 0) return -1;
  struct termios t;
  if (tcgetattr(slave, &t) == 0) {
    cfmakeraw(&t); /* the guest's pty does the line discipline */
    tcsetattr(slave, TCSANOW, &t);
  }
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) return -1;
  char name[] = "/dev/ptmx";
  struct iovec iov = {name, sizeof name};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (sendmsg(sock, &msg, 0) < 0) return -1;
  close(sock);
  close(master);
  /* As our controlling terminal, the slave brings SIGWINCH when conmon resizes the master. */
  ioctl(slave, TIOCSCTTY, 0);
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFL, fcntl(slave, F_GETFL) | O_NONBLOCK);
  return slave;
}

int main(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1]) < 0) {
    report("{\"error\":\"wharf-vm-shim: bad state dir\"}\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  /* qemu and virtiofsd must not hold the report pipe: create waits for its end. */
  fcntl(3, F_SETFD, FD_CLOEXEC);
  debug_fd = open("shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  char **qemu_argv = read_argv("qemu.argv"), **vfs_argv = read_argv("virtiofsd.argv");
  process_buf = read_file("process.bin", &process_len);
  char *describe = read_file("describe.txt", NULL);
  vfs_socket = read_file("virtiofs.name", NULL);
  if (!qemu_argv || !vfs_argv || !process_buf || !vfs_socket) {
    report("{\"error\":\"wharf-vm-shim: launch files missing\"}\n");
    return 1;
  }
  if (asprintf(&vfs_pidfile, "/run/virtiofsd/%s.pid", vfs_socket) < 0) return 1;
  char *console = read_file("console.path", NULL);
  if (console && (tty_fd = setup_console(console)) < 0) {
    report("{\"error\":\"cannot hand a terminal to the console socket\"}\n");
    return 1;
  }
  debug("%s", describe ? describe : "");

  sigset_t mask, oldmask;
  sigemptyset(&mask);
  int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaddset(&mask, forwarded[i]);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, &oldmask);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int agent_listen = listen_unix(AGENT_SOCKET), control_listen = listen_unix(CONTROL_SOCKET);
  if (agent_listen < 0 || control_listen < 0) {
    report("{\"error\":\"wharf-vm-shim: cannot listen on its sockets\"}\n");
    return 1;
  }
  int log_fd = open("vm.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  vfs_pid = spawn(vfs_argv, log_fd, &oldmask);
  int up = 0;
  for (int i = 0; i < 2000 && !up; i++) {
    struct stat st;
    if (stat(vfs_socket, &st) == 0) up = 1;
    else {
      reap();
      if (vfs_done) break;
      struct timespec ts = {0, 5 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  if (!up) {
    report("{\"error\":\"virtiofsd did not start (see vm.log in the state dir)\"}\n");
    kill(vfs_pid, SIGKILL);
    unlink(vfs_pidfile);
    return 1;
  }
  qemu_pid = spawn(qemu_argv, log_fd, &oldmask);
  char msg[128];
  snprintf(msg, sizeof msg, "{\"qemuPid\":%d,\"virtiofsdPid\":%d}\n", qemu_pid, vfs_pid);
  report(msg);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);

  char buf[65536];
  for (;;) {
    struct pollfd p[5 + MAX_EXECS] = {
        {sfd, POLLIN, 0},
        {agent_listen, agent_fd < 0 ? POLLIN : 0, 0},
        {control_listen, POLLIN, 0},
        {agent_fd, POLLIN, 0},
        {stdin_open && started && agent_ready ? (tty_fd >= 0 ? tty_fd : 0) : -1, POLLIN, 0},
    };
    /* An exec that came while the guest boots waits (its frames in the socket) for the agent. */
    for (int i = 0; i < MAX_EXECS; i++) p[5 + i] = (struct pollfd){execs[i].fd > 0 && agent_ready ? execs[i].fd : -1, POLLIN, 0};
    if (poll(p, 5 + MAX_EXECS, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) continue;
        if (si.ssi_signo == SIGWINCH && tty_fd >= 0) {
          if (started && agent_ready) send_winsize();
          continue;
        }
        signal_guest((int)si.ssi_signo);
      }
      reap();
      if (qemu_done && exit_status < 0) {
        debug("qemu exited without a status");
        const char *m = "wharf-vm-runtime: the VM stopped without reporting an exit status (see console.log in the state dir)\n";
        write_all(2, m, strlen(m));
        finish(255);
      }
    }
    if (p[1].revents & POLLIN) {
      agent_fd = accept4(agent_listen, NULL, NULL, SOCK_CLOEXEC);
    }
    if (p[2].revents & POLLIN) handle_control(control_listen);
    for (int i = 0; i < MAX_EXECS; i++)
      if (execs[i].fd > 0 && p[5 + i].fd == execs[i].fd && (p[5 + i].revents & (POLLIN | POLLHUP | POLLERR))) handle_exec_data(&execs[i]);
    if (agent_fd >= 0 && (p[3].revents & (POLLIN | POLLHUP | POLLERR))) handle_agent_data();
    if (p[4].fd >= 0 && (p[4].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(p[4].fd, buf, sizeof buf);
      if (n > 0) send_frame('I', buf, (uint32_t)n);
      else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        send_frame('E', NULL, 0); /* ignored by the agent under a TTY */
        stdin_open = 0;
      }
    }
  }
  finish(255);
  return 0;
}
