/*
 * The few syscalls Node lacks: mount(2), umount2(2), mknod(2), xattrs, connecting to a
 * SOCK_SEQPACKET unix socket (conmon's attach socket), opening and sizing a pty (exec -t), and
 * idmapped mounts for user-namespaced containers (open_tree, mount_setattr, move_mount).
 * Nothing else belongs here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sched.h>
#include <termios.h>
#include <unistd.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "wharf_native: N-API call failed");      \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static char *get_string(napi_env env, napi_value value) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return NULL;
  if (type == napi_null || type == napi_undefined) return NULL;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *buf = malloc(len + 1);
  if (buf == NULL) return NULL;
  napi_get_value_string_utf8(env, value, buf, len + 1, &len);
  return buf;
}

static napi_value throw_errno(napi_env env, const char *what, const char *path, int err) {
  char msg[4096];
  snprintf(msg, sizeof msg, "%s %s: %s", what, path ? path : "", strerror(err));
  napi_value message, code, error, errnum;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, "ESYSCALL", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

/* mount(source, target, fstype, flags, data) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data)");
    return NULL;
  }
  char *source = get_string(env, argv[0]);
  char *target = get_string(env, argv[1]);
  char *fstype = get_string(env, argv[2]);
  double flags = 0;
  napi_get_value_double(env, argv[3], &flags);
  char *data = get_string(env, argv[4]);
  int rc = mount(source, target, fstype, (unsigned long)flags, data);
  int err = errno;
  napi_value result = NULL;
  if (rc != 0) throw_errno(env, "mount", target, err);
  free(source);
  free(target);
  free(fstype);
  free(data);
  return result;
}

/* umount2(target, flags) */
static napi_value js_umount2(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *target = get_string(env, argv[0]);
  int32_t flags = 0;
  if (argc > 1) napi_get_value_int32(env, argv[1], &flags);
  int rc = umount2(target, flags);
  int err = errno;
  if (rc != 0) throw_errno(env, "umount2", target, err);
  free(target);
  return NULL;
}

/* seqpacketConnect(path) -> fd (blocking socket, close-on-exec) */
static napi_value js_seqpacket_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  if (path == NULL) {
    napi_throw_type_error(env, NULL, "seqpacketConnect(path)");
    return NULL;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) {
    free(path);
    return throw_errno(env, "connect", "(path too long)", ENAMETOOLONG);
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    free(path);
    return throw_errno(env, "socket", NULL, err);
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int err = errno;
    close(fd);
    napi_value r = throw_errno(env, "connect", path, err);
    free(path);
    return r;
  }
  free(path);
  napi_value result;
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

/* shutdownWrite(fd): half-close, so conmon sees EOF on the container's stdin. */
static napi_value js_shutdown_write(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  napi_get_value_int32(env, argv[0], &fd);
  if (shutdown(fd, SHUT_WR) != 0) return throw_errno(env, "shutdown", NULL, errno);
  return NULL;
}

/* mknod(path, mode, major, minor): overlay whiteouts are 0:0 character devices. */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  uint32_t mode = 0, major_n = 0, minor_n = 0;
  napi_get_value_uint32(env, argv[1], &mode);
  napi_get_value_uint32(env, argv[2], &major_n);
  napi_get_value_uint32(env, argv[3], &minor_n);
  int rc = mknod(path, (mode_t)mode, makedev(major_n, minor_n));
  int err = errno;
  if (rc != 0) throw_errno(env, "mknod", path, err);
  free(path);
  return NULL;
}

/* lsetxattr(path, name, valueBuffer): never follows a symlink. */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  char *name = get_string(env, argv[1]);
  void *data = NULL;
  size_t len = 0;
  CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
  int rc = lsetxattr(path, name, data, len, 0);
  int err = errno;
  if (rc != 0) throw_errno(env, "lsetxattr", path, err);
  free(path);
  free(name);
  return NULL;
}

/* lgetxattr(path, name) -> Buffer | null when the attribute is absent. */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  char *name = get_string(env, argv[1]);
  char buf[65536];
  ssize_t n = lgetxattr(path, name, buf, sizeof buf);
  int err = errno;
  napi_value result = NULL;
  if (n < 0) {
    if (err == ENODATA || err == ENOTSUP) {
      napi_get_null(env, &result);
    } else {
      throw_errno(env, "lgetxattr", path, err);
    }
  } else {
    void *out = NULL;
    napi_create_buffer_copy(env, (size_t)n, buf, &out, &result);
  }
  free(path);
  free(name);
  return result;
}

/* llistxattr(path) -> string[] */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  char buf[65536];
  ssize_t n = llistxattr(path, buf, sizeof buf);
  int err = errno;
  napi_value result = NULL;
  if (n < 0) {
    if (err == ENOTSUP) {
      napi_create_array(env, &result);
    } else {
      throw_errno(env, "llistxattr", path, err);
    }
  } else {
    napi_create_array(env, &result);
    uint32_t i = 0;
    for (ssize_t off = 0; off < n;) {
      size_t l = strlen(buf + off);
      napi_value name;
      napi_create_string_utf8(env, buf + off, l, &name);
      napi_set_element(env, result, i++, name);
      off += (ssize_t)l + 1;
    }
  }
  free(path);
  return result;
}

/* shutdownReadWrite(fd): wakes a read blocked on the socket in another thread (it returns 0),
 * so a reader on the libuv threadpool can be stopped before its fd is closed. */
static napi_value js_shutdown_read_write(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  napi_get_value_int32(env, argv[0], &fd);
  if (shutdown(fd, SHUT_RDWR) != 0) return throw_errno(env, "shutdown", NULL, errno);
  return NULL;
}

/* openPty() -> [master, slave]: a pty pair, both close-on-exec, the slave without becoming our
 * controlling terminal. exec -t runs the runtime on the slave. */
static napi_value js_open_pty(napi_env env, napi_callback_info info) {
  (void)info;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return throw_errno(env, "posix_openpt", NULL, errno);
  char name[128];
  if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, sizeof name) != 0) {
    int err = errno;
    close(master);
    return throw_errno(env, "pty setup", NULL, err);
  }
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    close(master);
    return throw_errno(env, "open", name, err);
  }
  napi_value result, m, sl;
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_create_int32(env, master, &m));
  CHECK(napi_create_int32(env, slave, &sl));
  CHECK(napi_set_element(env, result, 0, m));
  CHECK(napi_set_element(env, result, 1, sl));
  return result;
}

/* setWinsize(fd, rows, cols): TIOCSWINSZ on a pty master (exec -t resize). */
static napi_value js_set_winsize(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1, rows = 0, cols = 0;
  napi_get_value_int32(env, argv[0], &fd);
  napi_get_value_int32(env, argv[1], &rows);
  napi_get_value_int32(env, argv[2], &cols);
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0) return throw_errno(env, "ioctl TIOCSWINSZ", NULL, errno);
  return NULL;
}

/* ---- idmapped mounts (user namespaces): open_tree + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount ---- */

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int err = errno;
  close(fd);
  if (n != (ssize_t)len) {
    errno = n < 0 ? err : EIO;
    return -1;
  }
  return 0;
}

/* userNamespaceFd(uidMap, gidMap) -> fd of a new user namespace with those maps (uid_map text,
 * "inside outside count" lines). A forked child unshares into the namespace and waits; we write
 * its maps as root, open its ns/user and let it exit. The child only calls unshare, read, write
 * and _exit, which is safe after fork in a threaded process. */
static napi_value js_user_namespace_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "userNamespaceFd(uidMap, gidMap)");
    return NULL;
  }
  char *uid_map = get_string(env, argv[0]);
  char *gid_map = get_string(env, argv[1]);
  if (uid_map == NULL || gid_map == NULL) {
    free(uid_map);
    free(gid_map);
    napi_throw_type_error(env, NULL, "userNamespaceFd: maps must be strings");
    return NULL;
  }
  int ready[2], release[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    free(uid_map);
    free(gid_map);
    return throw_errno(env, "pipe2", NULL, errno);
  }
  if (pipe2(release, O_CLOEXEC) != 0) {
    int err = errno;
    close(ready[0]);
    close(ready[1]);
    free(uid_map);
    free(gid_map);
    return throw_errno(env, "pipe2", NULL, err);
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    close(release[1]);
    char status = unshare(CLONE_NEWUSER) == 0 ? 'k' : 'e';
    if (write(ready[1], &status, 1) != 1) _exit(1);
    char dummy;
    while (read(release[0], &dummy, 1) > 0) {
    }
    _exit(0);
  }
  int err = errno;
  close(ready[1]);
  close(release[0]);
  int result_fd = -1;
  const char *what = "fork";
  if (pid > 0) {
    char status = 0;
    ssize_t n;
    do {
      n = read(ready[0], &status, 1);
    } while (n < 0 && errno == EINTR);
    char path[64];
    if (n != 1 || status != 'k') {
      what = "unshare(CLONE_NEWUSER)";
      err = n == 1 ? EPERM : EIO;
    } else {
      snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
      if (write_file(path, uid_map) != 0) {
        what = "write uid_map";
        err = errno;
      } else {
        snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
        if (write_file(path, gid_map) != 0) {
          what = "write gid_map";
          err = errno;
        } else {
          snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
          result_fd = open(path, O_RDONLY | O_CLOEXEC);
          if (result_fd < 0) {
            what = "open ns/user";
            err = errno;
          }
        }
      }
    }
    close(release[1]);
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  } else {
    close(release[1]);
  }
  close(ready[0]);
  free(uid_map);
  free(gid_map);
  if (result_fd < 0) return throw_errno(env, what, NULL, err);
  napi_value result;
  CHECK(napi_create_int32(env, result_fd, &result));
  return result;
}

/* openTreeClone(path) -> fd of a detached clone of the mount tree at path (recursive). */
static napi_value js_open_tree_clone(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *source = get_string(env, argv[0]);
  if (source == NULL) {
    napi_throw_type_error(env, NULL, "openTreeClone(path)");
    return NULL;
  }
  int fd = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  int err = errno;
  napi_value result = NULL;
  if (fd < 0) throw_errno(env, "open_tree", source, err);
  else napi_create_int32(env, fd, &result);
  free(source);
  return result;
}

/* mountSetattrIdmap(treeFd, usernsFd): makes a detached mount idmapped through the namespace. */
static napi_value js_mount_setattr_idmap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t tree_fd = -1, userns_fd = -1;
  napi_get_value_int32(env, argv[0], &tree_fd);
  napi_get_value_int32(env, argv[1], &userns_fd);
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (uint64_t)userns_fd;
  if (mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    return throw_errno(env, "mount_setattr(MOUNT_ATTR_IDMAP)", NULL, errno);
  }
  return NULL;
}

/* moveMount(treeFd, target): attaches a detached mount at target. */
static napi_value js_move_mount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t tree_fd = -1;
  napi_get_value_int32(env, argv[0], &tree_fd);
  char *target = get_string(env, argv[1]);
  if (target == NULL) {
    napi_throw_type_error(env, NULL, "moveMount(treeFd, target)");
    return NULL;
  }
  int rc = move_mount(tree_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
  int err = errno;
  if (rc != 0) throw_errno(env, "move_mount", target, err);
  free(target);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
      {"umount2", NULL, js_umount2, NULL, NULL, NULL, napi_default, NULL},
      {"seqpacketConnect", NULL, js_seqpacket_connect, NULL, NULL, NULL, napi_default, NULL},
      {"shutdownWrite", NULL, js_shutdown_write, NULL, NULL, NULL, napi_default, NULL},
      {"shutdownReadWrite", NULL, js_shutdown_read_write, NULL, NULL, NULL, napi_default, NULL},
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL},
      {"openPty", NULL, js_open_pty, NULL, NULL, NULL, napi_default, NULL},
      {"setWinsize", NULL, js_set_winsize, NULL, NULL, NULL, napi_default, NULL},
      {"userNamespaceFd", NULL, js_user_namespace_fd, NULL, NULL, NULL, napi_default, NULL},
      {"openTreeClone", NULL, js_open_tree_clone, NULL, NULL, NULL, napi_default, NULL},
      {"mountSetattrIdmap", NULL, js_mount_setattr_idmap, NULL, NULL, NULL, napi_default, NULL},
      {"moveMount", NULL, js_move_mount, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
