// plain-passthrough IMAGE MOUNTDIR [FUSE OPTION...]: serves one image file
// as MOUNTDIR/data through libfuse3's high-level API and nothing else.
//
// This is the benchmark's reference: the most a FUSE daemon that must hold
// every written byte in its own memory (as a replicator that ships them
// does) can get out of the kernel with libfuse's defaults. Hence the plain
// write callback rather than write_buf (which would let libfuse splice the
// data past user memory), pread/pwrite on one descriptor, fsync mapped to
// fdatasync (the image's size never changes, so its metadata need not be
// synced, as for rvg), libfuse's multi-threaded loop with its default
// thread limits, and no writeback cache, direct_io or kernel_cache.
//
// Prints "ready" on stdout once the kernel has initialised the mount, then
// serves in the foreground until SIGTERM or SIGINT, when libfuse unmounts.
// libfuse 3.14.0's fuse_main prints "Ignoring invalid max threads value
// 4294967295" at start (libfuse issue #1003); it keeps its default limit.
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char kFilePath[] = "/data";

static int image_fd = -1;
static off_t image_size;

static void *pp_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  (void)cfg;
  // FUSE_INIT is the kernel's first request on a live mount, and requests
  // wait for its reply: whoever reads this line may use the file at once.
  fputs("ready\n", stdout);
  fflush(stdout);
  return NULL;
}

static int pp_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
  memset(st, 0, sizeof(*st));
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (strcmp(path, kFilePath) != 0) return -ENOENT;
  st->st_mode = S_IFREG | 0644;
  st->st_nlink = 1;
  st->st_size = image_size;
  return 0;
}

static int pp_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)offset;
  (void)fi;
  (void)flags;
  if (strcmp(path, "/") != 0) return -ENOTDIR;
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  fill(buf, kFilePath + 1, NULL, 0, 0);
  return 0;
}

static int pp_open(const char *path, struct fuse_file_info *fi) {
  (void)fi;
  return strcmp(path, kFilePath) == 0 ? 0 : -ENOENT;
}

// fio may ftruncate its file to the size it was told; the image's size is
// fixed, so only that size is accepted.
static int pp_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  (void)fi;
  if (strcmp(path, kFilePath) != 0) return -ENOENT;
  return size == image_size ? 0 : -EPERM;
}

static int pp_read(const char *path, char *buf, size_t size, off_t offset,
                   struct fuse_file_info *fi) {
  (void)path;
  (void)fi;
  ssize_t done = pread(image_fd, buf, size, offset);
  return done < 0 ? -errno : (int)done;
}

static int pp_write(const char *path, const char *buf, size_t size, off_t offset,
                    struct fuse_file_info *fi) {
  (void)path;
  (void)fi;
  ssize_t done = pwrite(image_fd, buf, size, offset);
  return done < 0 ? -errno : (int)done;
}

static int pp_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  (void)path;
  (void)datasync;
  (void)fi;
  return fdatasync(image_fd) != 0 ? -errno : 0;
}

static const struct fuse_operations kOperations = {
    .getattr = pp_getattr,
    .truncate = pp_truncate,
    .open = pp_open,
    .read = pp_read,
    .write = pp_write,
    .fsync = pp_fsync,
    .readdir = pp_readdir,
    .init = pp_init,
};

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: plain-passthrough IMAGE MOUNTDIR [FUSE OPTION...]\n");
    return 2;
  }
  image_fd = open(argv[1], O_RDWR | O_CLOEXEC);
  struct stat st;
  if (image_fd < 0 || fstat(image_fd, &st) != 0) {
    fprintf(stderr, "plain-passthrough: error: %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  if (!S_ISREG(st.st_mode)) {
    fprintf(stderr, "plain-passthrough: error: %s is not a regular file\n", argv[1]);
    return 1;
  }
  image_size = st.st_size;

  // fuse_main sees: program, mountpoint, -f (stay in the foreground, so the
  // benchmark owns the process), and whatever options followed.
  char **fuse_argv = calloc((size_t)argc + 1, sizeof(char *));
  if (fuse_argv == NULL) return 1;
  int fuse_argc = 0;
  fuse_argv[fuse_argc++] = argv[0];
  fuse_argv[fuse_argc++] = argv[2];
  fuse_argv[fuse_argc++] = "-f";
  for (int i = 3; i < argc; ++i) fuse_argv[fuse_argc++] = argv[i];
  int status = fuse_main(fuse_argc, fuse_argv, &kOperations, NULL);
  free(fuse_argv);
  close(image_fd);
  return status;
}
