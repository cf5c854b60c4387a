/*
 * wharf-hide-cgroup2 PROGRAM [ARG...]: runs PROGRAM in a mount namespace of its own in which
 * the cgroup2 mount at /sys/fs/cgroup/unified is gone.
 *
 * Why: on a cgroup v1 "hybrid" host whose v2 mount holds a controller (hugetlb on these
 * machines), crun refuses every container ("cgroups in hybrid mode not supported"). Without
 * that mount it sees a plain v1 host and places the container in the v1 controllers, as runc
 * does, in about half of runc's time. The container's mount namespace is made from this one,
 * so it does not see the v2 mount either; nothing on the host changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define UNIFIED "/sys/fs/cgroup/unified"

static int fail(const char *what) {
  fprintf(stderr, "wharf-hide-cgroup2: %s: %s\n", what, strerror(errno));
  return 125;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: wharf-hide-cgroup2 PROGRAM [ARG...]\n");
    return 125;
  }
  if (unshare(CLONE_NEWNS) != 0) return fail("unshare(CLONE_NEWNS)");
  /* The copy of a shared mount is a peer of the host's: unmounting it there would unmount the
   * host's too. Made private first, the unmount stays in this namespace. */
  if (mount(NULL, UNIFIED, NULL, MS_PRIVATE, NULL) != 0) {
    if (errno != EINVAL && errno != ENOENT) return fail("make " UNIFIED " private");
  } else if (umount2(UNIFIED, MNT_DETACH) != 0) {
    return fail("unmount " UNIFIED);
  }
  execv(argv[1], argv + 1);
  return fail(argv[1]);
}
